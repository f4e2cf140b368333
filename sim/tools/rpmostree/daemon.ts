/**
 * rpm-ostree's daemon side, as far as a client can tell (rpm-ostree v2017.10 `src/daemon/rpmostreed-os.c`,
 * `rpmostreed-transaction.c`): a transaction runs in the daemon, not in the client that asked for it.
 *
 *  - The client calls a D-Bus method (`PkgChange`, `Rebase`, `UpdateDeployment`, `Upgrade`, `Deploy`,
 *    `Rollback`); the daemon starts a transaction and the client follows its progress to `Finished`.
 *  - The transaction keeps running when its client goes away: only a transaction that is no longer active and has
 *    no peers is closed (`transaction_maybe_emit_closed`, rpmostreed-transaction.c:87-98), and the sysroot lock
 *    is held for the whole execution. `status` shows it until it ends.
 *  - A request with the same method name and the same parameters joins the running transaction
 *    (`merge_compatible_txn`, rpmostreed-os.c:440-454; `rpmostreed_transaction_is_compatible`,
 *    rpmostreed-transaction.c:774-796): the second client gets the same bus address and follows it to the end.
 *  - Any other request fails to take the sysroot lock: `System transaction in progress`
 *    (rpmostreed-transaction.c:535-537).
 *
 * Here the daemon's transaction is a detached process per transaction (the same tool, run with
 * `ATOMIC_SIM_RPMOSTREED=<id>`): it belongs to the host (a reboot ends it with every other process of the host),
 * survives the SSH session of the client that started it, writes its progress lines to
 * `state/rpmostreed/<id>.log` and its outcome to `<id>.result`. A client prints the log from where it joined and
 * exits with the outcome, as `rpmostree_transaction_client_run` does.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stateDir } from "./state";

/** Environment variable that turns the tool into the daemon side of transaction `<id>`. */
export const DAEMON_ENV = "ATOMIC_SIM_RPMOSTREED";

/** What the client asked for: enough for the daemon process to run it, and to tell compatible requests apart. */
export interface TransactionRequest {
  id: string;
  /** The builtin's argv (command first). */
  argv: string[];
  /** D-Bus method name. */
  method: string;
  /** D-Bus parameters, canonical (for `rpmostreed_transaction_is_compatible`). */
  parameters: string;
}

/** How a transaction ended (`Finished (bs)` plus what the client needs to print the diff). */
export interface TransactionResult {
  success: boolean;
  errorMessage: string;
  /** The client prints the booted → new default package diff (and the reboot hint unless -r). */
  printDiff: boolean;
  exit: number;
}

export function daemonDir(hostDir: string): string {
  return path.join(stateDir(hostDir), "rpmostreed");
}

const file = (hostDir: string, id: string, ext: string) => path.join(daemonDir(hostDir), `${id}.${ext}`);

export function writeRequest(hostDir: string, req: TransactionRequest): void {
  fs.mkdirSync(daemonDir(hostDir), { recursive: true });
  fs.writeFileSync(file(hostDir, req.id, "json"), JSON.stringify(req));
}

export function readRequest(hostDir: string, id: string): TransactionRequest {
  return JSON.parse(fs.readFileSync(file(hostDir, id, "json"), "utf8")) as TransactionRequest;
}

export function writeResult(hostDir: string, id: string, result: TransactionResult): void {
  const f = file(hostDir, id, "result");
  fs.writeFileSync(`${f}.tmp`, JSON.stringify(result));
  fs.renameSync(`${f}.tmp`, f);
}

export function readResult(hostDir: string, id: string): TransactionResult | undefined {
  try {
    return JSON.parse(fs.readFileSync(file(hostDir, id, "result"), "utf8")) as TransactionResult;
  } catch {
    return undefined;
  }
}

export function logPath(hostDir: string, id: string): string {
  return file(hostDir, id, "log");
}

/** Bytes of the transaction's log so far (where a joining client starts following). */
export function logSize(hostDir: string, id: string): number {
  try {
    return fs.statSync(logPath(hostDir, id)).size;
  } catch {
    return 0;
  }
}

/**
 * Start the daemon side of a transaction: this same script, detached into its own session (so the client's SSH
 * session ending does not end it), stdout and stderr into the transaction's log. Returns its pid.
 */
export function spawnTransactionProcess(hostDir: string, id: string, env: NodeJS.ProcessEnv): number {
  fs.mkdirSync(daemonDir(hostDir), { recursive: true });
  const fd = fs.openSync(logPath(hostDir, id), "a");
  try {
    const child = spawn(process.execPath, [process.argv[1]], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...env, [DAEMON_ENV]: id },
    });
    child.unref();
    if (child.pid === undefined) throw new Error("Failed to start the transaction");
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Remove what transactions that ended over a minute ago left (a client still following one has long read it),
 * called when a new one starts, so while none runs: one with no outcome was killed (`killRpmOstreed`).
 */
export function pruneFinished(hostDir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(daemonDir(hostDir));
  } catch {
    return;
  }
  const cutoff = Date.now() - 60_000;
  const old = (e: string) => {
    try {
      return fs.statSync(path.join(daemonDir(hostDir), e)).mtimeMs < cutoff;
    } catch {
      return false; // removed meanwhile
    }
  };
  const ids = new Set(entries.filter((e) => e.endsWith(".json")).map((e) => e.slice(0, -".json".length)));
  const finished = new Set(
    [...ids].filter((id) =>
      entries.includes(`${id}.result`)
        ? old(`${id}.result`)
        : old(`${id}.json`) && (!entries.includes(`${id}.log`) || old(`${id}.log`)),
    ),
  );
  for (const e of entries) {
    const id = e.replace(/\.(json|log|result)(\.tmp)?$/, "");
    if (finished.has(id)) fs.rmSync(path.join(daemonDir(hostDir), e), { force: true });
  }
}
