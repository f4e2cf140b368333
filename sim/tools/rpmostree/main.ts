/**
 * The `rpm-ostree` stand-in: v2017.10 behaviour by default, v2018.7 when `state/host.json` says so.
 *
 * Map from command to what it does to `state/rpm-ostree.json`:
 *  - `status [--json] [-v]`          read only
 *  - `install|uninstall PKG... [-r]` PkgChange transaction: new default deployment with the origin's packages edited
 *  - `rebase REFSPEC [--install P]... [--uninstall P]... [-r]`  Rebase transaction: new origin (+ package edits)
 *  - `upgrade [-r]`                  Upgrade transaction: "No upgrade available." (one commit per ref here)
 *  - `deploy REVISION [-r]`          Deploy transaction: the origin ref's commit by checksum or version
 *
 * rebase, upgrade and deploy pull from the origin's remote first, and the remote is the host's real one
 * (`/ostree/repo` and `/etc/ostree/remotes.d`, written by Debian's real `ostree remote add`): a remote the host
 * lacks, a ref its URL does not serve, or a missing gpgkeypath fail the pull with libostree's own message and leave
 * the host unchanged (remotes.ts).
 *  - `rollback [-r]`                 Rollback transaction: reorder deployments
 *  - `cancel` (2018.x only)          end the running transaction
 *
 * Transactions run on the daemon side (daemon.ts): they outlive the client, an identical request joins the running
 * one, any other fails with "error: System transaction in progress" (v2017.10 sysroot lock). `-r` makes the
 * daemon side run `systemctl reboot` after the transaction. Errors are `error: <msg>` on stderr with exit status 1
 * (rpm-ostree main.c:430; the transaction's `Finished` error message with the D-Bus error name stripped,
 * rpmostree-dbus-helpers.c:530-542).
 */
import { baseImageForRef, nevra } from "../../catalog";
import { HostEnv, hostEnvFromProcess } from "../atomic/hostEnv";
import { ToolIo, processToolIo } from "../atomic/toolIo";
import {
  DBUS_OBJPATH,
  OriginChange,
  RpmOstreeState,
  RpmOstreeVersion,
  applyOriginChange,
  baseOf,
  deploymentPackages,
  diffPackages,
  parseRefspec,
  releaseOf,
  renderPackageDiff,
  resolveRequests,
  rollbackDeployments,
  writeDeployment,
} from "./model";
import { OptionValues, parseOptions } from "./options";
import * as fs from "fs";
import {
  DAEMON_ENV,
  TransactionResult,
  logPath,
  logSize,
  pruneFinished,
  readRequest,
  readResult,
  spawnTransactionProcess,
  writeRequest,
  writeResult,
} from "./daemon";
import { F26_TO_F27_PULL, renderDeployProgress } from "./progress";
import { pullError } from "./remotes";
import { repoSpaceError } from "./space";
import { localeIsUtf8, renderStatusJson, renderStatusText } from "./status";
import {
  holdTransactionFault,
  hostRpmOstreeVersion,
  liveTransaction,
  loadState,
  saveState,
  sleepMs,
  withStateLock,
} from "./state";

/** A failure printed as `error: <message>`, exit 1. */
class RpmOstreeError extends Error {}

const COMMANDS_2017 = [
  "compose",
  "db",
  "deploy",
  "initramfs",
  "install",
  "rebase",
  "reload",
  "rollback",
  "status",
  "uninstall",
  "upgrade",
];
const COMMANDS_2018 = [...COMMANDS_2017, "cancel", "cleanup", "ex", "kargs", "override", "refresh-md"];

/** What a transaction body returns: lines to print and, optionally, the new state and an exit status. */
interface TxnOutcome {
  lines: string[];
  state?: RpmOstreeState;
  exit: number;
  /** Print the booted→default package diff and the reboot hint afterwards (unless -r). */
  printDiff: boolean;
}

/**
 * The D-Bus method each builtin calls in v2017.10: `install`/`uninstall` → PkgChange
 * (rpmostree-pkg-builtins.c:113; UpdateDeployment only for local .rpm files), `rebase` → Rebase, or
 * UpdateDeployment with --install/--uninstall (rpmostree-builtin-rebase.c:129-168), `upgrade` → Upgrade, or
 * UpdateDeployment with packages (rpmostree-builtin-upgrade.c:136-161), `deploy` → Deploy, `rollback` → Rollback.
 *
 * The title `status` shows (deploy_transaction_execute, rpmostreed-transaction-types.c:646-686 and 810): the kind
 * (`install` for a package change, `rebase`, `deploy`, `upgrade`), then `; uninstall: N` and `; install: N`.
 */
export function transactionTitle(
  kind: "install" | "rebase" | "deploy" | "upgrade",
  pkgs: { install: readonly string[]; uninstall: readonly string[] },
): string {
  let t: string = kind;
  if (pkgs.uninstall.length) t += `; uninstall: ${pkgs.uninstall.length}`;
  if (pkgs.install.length) t += `; install: ${pkgs.install.length}`;
  return t;
}

export class RpmOstreeTool {
  /** The builtin's argv and its canonical D-Bus parameters (set by `run`). */
  private argv: string[] = [];
  private parameters = "";

  /**
   * @param daemonTransaction set when this process is the daemon side of that transaction (daemon.ts): the body
   *   runs here, its output goes to the transaction's log, and no client logic runs.
   */
  constructor(
    private readonly env: HostEnv,
    private readonly io: ToolIo,
    private readonly hostDir: string,
    private readonly version: RpmOstreeVersion,
    private readonly daemonTransaction?: string,
  ) {}

  run(argv: readonly string[]): number {
    this.argv = [...argv];
    const [command, ...rest] = argv;
    const known = this.version === "2017.10" ? COMMANDS_2017 : COMMANDS_2018;
    if (command === undefined || command.startsWith("-")) {
      if (command === "--version") {
        this.io.out(`rpm-ostree:\n Version: ${this.version}\n Features:\n  - compose`);
        return 0;
      }
      this.usage();
      throw new RpmOstreeError("No command specified");
    }
    if (
      !known.includes(command) ||
      !["status", "install", "uninstall", "rebase", "upgrade", "deploy", "rollback", "cancel"].includes(
        command,
      )
    ) {
      this.usage();
      throw new RpmOstreeError(`Unknown command '${command}'`);
    }
    const parsed = parseOptions(command, rest, this.version);
    if (!parsed.ok) throw new RpmOstreeError(parsed.error);
    const o = parsed.values;
    // What the D-Bus call carries: the builtin's arguments and its options dict (order-free).
    this.parameters = JSON.stringify({
      args: parsed.args,
      options: Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    });
    switch (command) {
      case "status":
        return this.status(o);
      case "install":
        if (parsed.args.length < 1)
          return this.usageError("install", "At least one PACKAGE must be specified");
        return this.pkgChange(o, { install: parsed.args, uninstall: (o.uninstall as string[]) ?? [] });
      case "uninstall":
        if (parsed.args.length < 1)
          return this.usageError("uninstall", "At least one PACKAGE must be specified");
        return this.pkgChange(o, { install: (o.install as string[]) ?? [], uninstall: parsed.args });
      case "rebase":
        // rpm-ostree v2017.10 src/app/rpmostree-builtin-rebase.c:86-99 (context "REFSPEC [REVISION]").
        if (parsed.args.length > 2) return this.usageError("rebase", "Too many arguments");
        if (parsed.args.length === 0)
          return this.usageError("rebase", "Must specify refspec, or -b branch or -r remote");
        if (parsed.args.length === 2)
          throw new RpmOstreeError("atomic-host-sim: a rebase to a given REVISION is not simulated");
        return this.rebase(o, parsed.args[0]);
      case "upgrade":
        return this.upgrade(o);
      case "deploy":
        // rpmostree-builtin-deploy.c:80-83 (argc < 2).
        if (parsed.args.length < 1) return this.usageError("deploy", "REVISION must be specified");
        return this.deployRevision(o, parsed.args[0]);
      case "rollback":
        return this.rollback(o);
      case "cancel":
        return this.cancel();
      default:
        throw new RpmOstreeError(`Unknown command '${command}'`);
    }
  }

  private usage(): void {
    this.io.errRaw(
      "Usage:\n  rpm-ostree [OPTION...] COMMAND\n\nBuiltin Commands:\n  status\n  install\n  uninstall\n  rebase\n  upgrade\n  rollback\n\n",
    );
  }

  private usageError(command: string, message: string): number {
    const args =
      command === "rebase"
        ? "REFSPEC [REVISION]"
        : command === "deploy"
          ? "REVISION"
          : "PACKAGE [PACKAGE...]";
    // rpmostree_usage_error (rpm-ostree v2017.10 src/app/rpmostree-libbuiltin.c:32-43) prints the context's
    // help, then fails with "usage error: MESSAGE", which main.c:430 prints as "error: usage error: MESSAGE".
    // Deviation: of the help (g_option_context_get_help with main_help), only its Usage line is printed here, not
    // the summary and option groups that follow it on a real host.
    this.io.errRaw(`Usage:\n  rpm-ostree ${command} [OPTION...] ${args}\n\n`);
    throw new RpmOstreeError(`usage error: ${message}`);
  }

  private status(o: OptionValues): number {
    const state = loadState(this.hostDir);
    const view: RpmOstreeState = { ...state, transaction: liveTransaction(state) };
    if (o.json) this.io.outRaw(renderStatusJson(view, this.version));
    else {
      this.io.outRaw(
        renderStatusText(view, {
          version: this.version,
          utf8: localeIsUtf8(this.env.env),
          verbose: o.verbose === true,
        }),
      );
    }
    return 0;
  }

  /**
   * Run `body` as the host's one transaction. In the client: join a running transaction with the same method and
   * parameters, refuse any other ("System transaction in progress"), or start one in a daemon-side process; then
   * follow it to its end (daemon.ts). In that daemon-side process: honour the holdTransaction fault, run `body`
   * over the state, commit, reboot if asked (the daemon reboots, not the client), record the outcome.
   */
  private transaction(
    method: string,
    title: string,
    body: (s: RpmOstreeState) => TxnOutcome,
    reboot: boolean,
  ): number {
    if (this.daemonTransaction !== undefined) return this.executeTransaction(body, reboot);
    const { id, from } = withStateLock(this.hostDir, () => {
      const s = loadState(this.hostDir);
      const live = liveTransaction(s);
      if (live) {
        if (live.id !== undefined && live.method === method && live.parameters === this.parameters)
          return { id: live.id, from: logSize(this.hostDir, live.id) };
        throw new RpmOstreeError("System transaction in progress");
      }
      pruneFinished(this.hostDir);
      const sender = `:1.${s.nextSender++}`;
      const txnId = `${this.env.now()}-${process.pid}-${sender.slice(3)}`;
      writeRequest(this.hostDir, { id: txnId, argv: this.argv, method, parameters: this.parameters });
      s.transaction = {
        method,
        sender,
        objpath: DBUS_OBJPATH,
        title,
        pid: spawnTransactionProcess(this.hostDir, txnId, this.env.env),
        started: this.env.now(),
        id: txnId,
        parameters: this.parameters,
      };
      saveState(this.hostDir, s);
      return { id: txnId, from: 0 };
    });
    return this.followTransaction(id, from, reboot);
  }

  /** The client's side: print the transaction's progress from `offset` until it finishes; exit as it did. */
  private followTransaction(id: string, offset: number, reboot: boolean): number {
    let from = offset;
    const drain = () => {
      let text: Buffer;
      try {
        text = fs.readFileSync(logPath(this.hostDir, id));
      } catch {
        return;
      }
      if (text.length > from) this.io.outRaw(text.subarray(from).toString("utf8"));
      from = Math.max(from, text.length);
    };
    for (;;) {
      const result = readResult(this.hostDir, id);
      drain();
      if (result) {
        if (!result.success) throw new RpmOstreeError(result.errorMessage);
        if (result.printDiff && !reboot) {
          const after = loadState(this.hostDir);
          const booted = after.deployments.find((d) => d.booted) ?? after.deployments[0];
          const next = after.deployments[0];
          for (const line of renderPackageDiff(
            diffPackages(deploymentPackages(booted), deploymentPackages(next)),
          )) {
            this.io.out(line);
          }
          this.io.out('Run "systemctl reboot" to start a reboot');
        }
        return result.exit;
      }
      if (!liveTransaction(loadState(this.hostDir)) && !readResult(this.hostDir, id)) {
        // The daemon side died without finishing (killed, crashed): rpm-ostreed's bus name lost its owner, which
        // the client watches for the whole transaction (rpmostree_transaction_get_response_sync,
        // rpmostree-dbus-helpers.c:704-721 v2017.10) and answers by ending it with this error
        // (on_owner_changed, :550-562), printed with the D-Bus error name stripped (main.c:429-430).
        drain();
        throw new RpmOstreeError("Bus owner changed, aborting.");
      }
      sleepMs(20);
    }
  }

  /** The daemon's side of a transaction: the lock was taken by the client that started it. */
  private executeTransaction(body: (s: RpmOstreeState) => TxnOutcome, reboot: boolean): number {
    const id = this.daemonTransaction as string;
    // The outcome is written before the lock is released, so a client never sees neither.
    const finish = (r: TransactionResult) => {
      writeResult(this.hostDir, id, r);
      withStateLock(this.hostDir, () => {
        const s = loadState(this.hostDir);
        if (s.transaction?.id === id) {
          s.transaction = null;
          saveState(this.hostDir, s);
        }
      });
    };
    try {
      while (holdTransactionFault(this.hostDir)) {
        sleepMs(100);
        if (loadState(this.hostDir).transaction?.id !== id)
          throw new RpmOstreeError("Transaction was cancelled");
      }
      const outcome = withStateLock(this.hostDir, () => {
        const s = loadState(this.hostDir);
        if (s.transaction?.id !== id) throw new RpmOstreeError("Transaction was cancelled");
        const out = body(s);
        if (out.state) {
          out.state.transaction = s.transaction;
          saveState(this.hostDir, out.state);
        }
        return out;
      });
      for (const line of outcome.lines) this.io.out(line);
      const changed = outcome.exit === 0 && outcome.state !== undefined;
      // The deployment is written (the boot loader swap); the real daemon then cleans up (rpmostree_syscore_cleanup,
      // rpmostree-sysroot-core.c:406 v2017.10: the package cache, the repo's unused objects) before Finished, a
      // window in which it can die with the new deployment in place. The holdTransactionCleanup fault holds it there.
      while (changed && holdTransactionFault(this.hostDir, "cleanup")) sleepMs(100);
      // The daemon reboots after a successful transaction with the reboot option (rpmostreed-transaction-types.c
      // `rpmostreed_reboot`), whether or not a client still listens.
      if (changed && reboot) {
        this.io.run(["systemctl", "reboot"], { capture: false });
        finish({ success: true, errorMessage: "", printDiff: false, exit: 0 });
        return 0;
      }
      finish({
        success: true,
        errorMessage: "",
        printDiff: changed && outcome.printDiff,
        exit: outcome.exit,
      });
      return outcome.exit;
    } catch (e) {
      finish({
        success: false,
        errorMessage: e instanceof Error ? e.message : String(e),
        printDiff: false,
        exit: 1,
      });
      return 1;
    }
  }

  /** A deploy transaction for an origin change: progress lines and `[new, booted]`. */
  private deploy(
    s: RpmOstreeState,
    change: OriginChange,
    o: OptionValues,
    unchangedExit: number,
    pullRefspec?: string,
  ): TxnOutcome {
    const r = applyOriginChange(s, change, this.env.now());
    // deploy_transaction_execute (rpmostreed-transaction-types.c v2017.10): the origin's refspec and package
    // edits (lines 604-677) come before the pull (line 822), so "already requested" wins over a missing remote.
    if (!r.ok && r.phase === "origin") throw new RpmOstreeError(r.error);
    if (pullRefspec !== undefined) this.pull(pullRefspec);
    if (!r.ok) {
      for (const w of r.warnings ?? []) this.io.out(w);
      const target = baseImageForRef(parseRefspec(change.refspec ?? s.deployments[0].origin).ref);
      if (r.phase === "depsolve" && target) {
        // libdnf gives up after the tree is checked out and the repositories are loaded.
        const lines = renderDeployProgress({
          baseChecksum: target.checksum,
          release: target.release,
          needsRepos: true,
          newInactive: [],
          toDownload: [],
          layered: [],
          countChange: 0,
        });
        for (const l of lines.slice(
          0,
          lines.findIndex((x) => x.startsWith("Resolving")),
        ))
          this.io.out(l);
      }
      throw new RpmOstreeError(r.error);
    }
    if (r.unchanged) return { lines: [...r.warnings, "No change."], exit: unchangedExit, printDiff: false };
    // Packages layered in any existing deployment are in the package cache; the rest is downloaded.
    const cached = new Set(
      s.deployments.flatMap((d) => resolveRequests(baseOf(d), d.packages).layered.map((p) => nevra(p))),
    );
    const { deployments, countChange } = writeDeployment(s.deployments, r.deployment);
    const lines = [
      ...r.warnings,
      ...renderDeployProgress({
        version: this.version,
        baseChecksum: r.deployment.baseChecksum,
        release: releaseOf(r.deployment),
        needsRepos: r.deployment.requestedPackages.length > 0,
        newInactive: r.newInactive,
        toDownload: r.resolution.layered.filter((p) => !cached.has(nevra(p))),
        layered: r.resolution.layered,
        countChange,
        // A base commit no deployment has yet is pulled (rebase, upgrade, deploy; install/uninstall never pull).
        pulled:
          pullRefspec !== undefined &&
          !s.deployments.some((d) => d.baseChecksum === r.deployment.baseChecksum)
            ? { ...F26_TO_F27_PULL, seconds: 0 }
            : undefined,
      }),
    ];
    if (o["dry-run"]) {
      const cut = lines.findIndex((l) => l.startsWith("Resolving dependencies"));
      return {
        lines: [...lines.slice(0, cut + 1), "Exiting because of '--dry-run' option"],
        exit: 0,
        printDiff: false,
      };
    }
    // The new tree is committed into the system repo before it is deployed: a repo transaction (space.ts).
    this.requireRepoSpace();
    return { lines, state: { ...s, deployments }, exit: 0, printDiff: true };
  }

  private pkgChange(o: OptionValues, pkgs: { install: string[]; uninstall: string[] }): number {
    const change: OriginChange = {
      install: pkgs.install,
      uninstall: pkgs.uninstall,
      idempotent: o.idempotent === true,
      allowInactive: this.version === "2017.10" || o["allow-inactive"] === true,
      version: this.version,
    };
    const unchangedExit = o["unchanged-exit-77"] ? 77 : 0;
    return this.transaction(
      "PkgChange",
      transactionTitle("install", pkgs),
      (s) => this.deploy(s, change, o, unchangedExit),
      o.reboot === true,
    );
  }

  private rebase(o: OptionValues, refspec: string): number {
    const pkgs = { install: (o.install as string[]) ?? [], uninstall: (o.uninstall as string[]) ?? [] };
    return this.transaction(
      pkgs.install.length + pkgs.uninstall.length > 0 ? "UpdateDeployment" : "Rebase",
      transactionTitle("rebase", pkgs),
      (s) => {
        const current = parseRefspec(s.deployments[0].origin);
        const wanted = parseRefspec(refspec);
        // "REF" keeps the current remote; "REMOTE:" keeps the current ref.
        const remote = wanted.remote ?? current.remote;
        const ref = wanted.ref === "" ? current.ref : wanted.ref;
        const full = remote ? `${remote}:${ref}` : ref;
        // change_origin_refspec, rpmostreed-transaction-types.c:55-56 (v2017.10), before any pull.
        if (full === s.deployments[0].origin) throw new RpmOstreeError(`Old and new refs are equal: ${full}`);
        const change: OriginChange = {
          refspec: full,
          install: (o.install as string[]) ?? [],
          uninstall: (o.uninstall as string[]) ?? [],
          idempotent: false,
          allowInactive: true,
          version: this.version,
        };
        return this.deploy(s, change, o, 0, full);
      },
      o.reboot === true,
    );
  }

  private upgrade(o: OptionValues): number {
    const unchangedExit = o["upgrade-unchanged-exit-77"] ? 77 : 0;
    const pkgs = { install: (o.install as string[]) ?? [], uninstall: (o.uninstall as string[]) ?? [] };
    return this.transaction(
      pkgs.install.length + pkgs.uninstall.length > 0 ? "UpdateDeployment" : "Upgrade",
      transactionTitle("upgrade", pkgs),
      (s) => {
        const d = s.deployments[0];
        this.pull(d.origin);
        const head = baseImageForRef(parseRefspec(d.origin).ref);
        const install = (o.install as string[]) ?? [];
        const uninstall = (o.uninstall as string[]) ?? [];
        if (head && head.checksum === d.baseChecksum && install.length === 0 && uninstall.length === 0) {
          return { lines: ["No upgrade available."], exit: unchangedExit, printDiff: false };
        }
        const change: OriginChange = {
          install,
          uninstall,
          idempotent: false,
          allowInactive: true,
          version: this.version,
        };
        return this.deploy(s, change, o, unchangedExit);
      },
      o.reboot === true,
    );
  }

  /**
   * The pull every rebase, upgrade and deploy starts with (rpmostree-sysroot-upgrader.c:414 v2017.10,
   * `ostree_repo_pull_with_options (repo, origin_remote, ...)`): fails with libostree's message, before the
   * transaction changes anything. A refspec without a remote is a local ref and pulls nothing.
   */
  private pull(refspec: string): void {
    const { remote, ref } = parseRefspec(refspec);
    const base = baseImageForRef(ref);
    if (remote === undefined) {
      // ostree_repo_resolve_rev on a local ref: ostree-repo-refs.c:215 (v2017.12).
      if (!base) throw new RpmOstreeError(`Refspec '${ref}' not found`);
      return;
    }
    const err = pullError(this.env, remote, ref, base?.checksum ?? "");
    if (err) throw new RpmOstreeError(err);
    // Once the refs are resolved the pull opens a repo transaction (ostree-repo-pull.c:3983, v2017.12).
    this.requireRepoSpace();
  }

  /**
   * libostree's free-space check at the start of a repo transaction (space.ts): on a full disk the transaction
   * fails here, before anything is written, and the deployments stay as they were. Deviation: the progress lines a
   * real install prints before its commit (checkout, rpm-md, import) are not printed when it fails here.
   */
  private requireRepoSpace(): void {
    const err = repoSpaceError(this.env);
    if (err) throw new RpmOstreeError(err);
  }

  /**
   * `deploy REVISION`: the Deploy method (rpmostree-builtin-deploy.c v2017.10). The pull comes first
   * (rpmostreed_repo_pull_ancestry, rpmostreed-utils.c:415), then REVISION is matched as `rpmostreed_parse_revision`
   * reads it (`revision=`/`version=` prefixes, else a checksum if it looks like one, else a version;
   * rpmostreed-utils.c:597-630) against the ref's commit: "Version V not found in R" / "Checksum C not found in R"
   * (rpmostreed-utils.c:427-428, 497-498).
   */
  private deployRevision(o: OptionValues, revision: string): number {
    return this.transaction(
      "Deploy",
      "deploy",
      (s) => {
        const d = s.deployments[0];
        this.pull(d.origin);
        const head = baseImageForRef(parseRefspec(d.origin).ref);
        let checksum: string | undefined;
        let version: string | undefined;
        if (/^revision=/i.test(revision)) checksum = revision.slice(9);
        else if (/^version=/i.test(revision)) version = revision.slice(8);
        else if (/^[0-9a-f]{64}$/.test(revision)) checksum = revision;
        else version = revision;
        if (version !== undefined && head?.version !== version)
          throw new RpmOstreeError(`Version ${version} not found in ${d.origin}`);
        if (checksum !== undefined && head?.checksum !== checksum)
          throw new RpmOstreeError(`Checksum ${checksum} not found in ${d.origin}`);
        if (head && head.checksum === d.baseChecksum)
          return { lines: ["No change."], exit: 0, printDiff: false };
        const change: OriginChange = {
          install: [],
          uninstall: [],
          idempotent: false,
          allowInactive: true,
          version: this.version,
        };
        return this.deploy(s, change, o, 0);
      },
      o.reboot === true,
    );
  }

  private rollback(o: OptionValues): number {
    // RollbackTransaction never sets a title (only deploy_transaction_execute does, line 810).
    return this.transaction(
      "Rollback",
      "",
      (s) => {
        const r = rollbackDeployments(s.deployments);
        if (!r.ok) throw new RpmOstreeError(r.error);
        return {
          lines: [
            `Moving '${r.moved.checksum}.${r.moved.serial}' to be first deployment`,
            `Transaction complete; bootconfig swap: yes deployment count change: 0`,
          ],
          state: { ...s, deployments: r.deployments },
          exit: 0,
          printDiff: true,
        };
      },
      o.reboot === true,
    );
  }

  /** 2018.x `cancel`: end the running transaction (its client then fails). */
  private cancel(): number {
    const had = withStateLock(this.hostDir, () => {
      const s = loadState(this.hostDir);
      const t = liveTransaction(s);
      s.transaction = null;
      saveState(this.hostDir, s);
      return t;
    });
    if (!had) this.io.out("No active transaction.");
    return 0;
  }
}

/** Run `rpm-ostree ARGV...`; returns the exit status. */
export function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io?: ToolIo): number {
  const hostEnv = hostEnvFromProcess(env);
  const tio = io ?? processToolIo(env);
  try {
    if (!hostEnv.hostDir)
      throw new RpmOstreeError("ATOMIC_SIM_HOST_DIR is not set (no simulated host to talk to)");
    let state: RpmOstreeState | undefined;
    try {
      state = loadState(hostEnv.hostDir);
    } catch {
      state = undefined;
    }
    const version = hostRpmOstreeVersion(hostEnv.hostDir, state);
    const daemonId = env[DAEMON_ENV];
    if (daemonId) {
      const req = readRequest(hostEnv.hostDir, daemonId);
      return new RpmOstreeTool(hostEnv, tio, hostEnv.hostDir, version, daemonId).run(req.argv);
    }
    return new RpmOstreeTool(hostEnv, tio, hostEnv.hostDir, version).run(argv);
  } catch (e) {
    tio.errRaw(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
