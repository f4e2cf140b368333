/**
 * rpm-ostree's persistent state for one simulated host: `<hostDir>/state/rpm-ostree.json` (deployments and the
 * transaction lock), plus what the host runtime calls at creation and at boot (sim/CONTRACT.md):
 *
 *  - {@link initRpmOstree}: seed one booted deployment of the release's base and materialise its units.
 *  - {@link bootPendingDeployment}: at boot, the default deployment (`[0]`) becomes the booted one and its unit
 *    files replace `<hostDir>/usr-lib-systemd/` (the host's /usr/lib/systemd/system).
 *
 * Read-modify-write of the JSON is serialised by an exclusive lock file (`rpm-ostree.json.lock`), so concurrent
 * `rpm-ostree` processes see one transaction at a time like the real daemon.
 */
import * as fs from "fs";
import * as path from "path";
import { Release, baseImage, unitFilesForPackages } from "../../catalog";
import {
  DBUS_OBJPATH,
  Deployment,
  RpmOstreeState,
  RpmOstreeVersion,
  TransactionLock,
  baseOf,
  deploymentPackages,
  initialState,
} from "./model";

/** Options of {@link initRpmOstree} (the host's Fedora release and which rpm-ostree it runs). */
export interface InitOptions {
  release: 26 | 27;
  rpmOstreeVersion: "2017.10" | "2018.7";
}

export function stateDir(hostDir: string): string {
  return path.join(hostDir, "state");
}

function statePath(hostDir: string): string {
  return path.join(stateDir(hostDir), "rpm-ostree.json");
}

/** Block the thread for `ms` (the tools are synchronous CLIs). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Whether process `pid` still runs. A zombie does not: a killed transaction process stays one until the thread that
 * spawned it reaps it, and that thread may be the client blocked following the very transaction (main.ts).
 */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/PID/stat: "PID (COMM) STATE ...", COMM may hold spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false; // gone between the two looks
  }
}

/** Run `fn` holding the state lock (an O_EXCL lock file; a lock left by a dead process is broken). */
export function withStateLock<T>(hostDir: string, fn: () => T): T {
  const lock = statePath(hostDir) + ".lock";
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(fs.readFileSync(lock, "utf8") || "0");
      if (holder && !pidAlive(holder)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      sleepMs(10);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export function loadState(hostDir: string): RpmOstreeState {
  const file = statePath(hostDir);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new Error(`rpm-ostree state not initialised: ${file} is missing (initRpmOstree was not called)`);
  }
  return JSON.parse(text) as RpmOstreeState;
}

export function saveState(hostDir: string, state: RpmOstreeState): void {
  const file = statePath(hostDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

/** The transaction that is really running: one whose process died is stale and ignored. */
export function liveTransaction(state: RpmOstreeState): TransactionLock | null {
  const t = state.transaction;
  if (!t) return null;
  if (t.pid !== null && !pidAlive(t.pid)) return null;
  return t;
}

/**
 * Which rpm-ostree the host runs: `state/host.json` `rpmOstreeVersion` (written by the host runtime), else what
 * {@link initRpmOstree} recorded, else 2017.10.
 */
export function hostRpmOstreeVersion(hostDir: string, state?: RpmOstreeState): RpmOstreeVersion {
  try {
    const host = JSON.parse(fs.readFileSync(path.join(stateDir(hostDir), "host.json"), "utf8"));
    if (host.rpmOstreeVersion === "2018.7" || host.rpmOstreeVersion === "2017.10")
      return host.rpmOstreeVersion;
  } catch {
    // no host.json: a bare test host
  }
  return state?.rpmOstreeVersion ?? "2017.10";
}

/**
 * Kills rpm-ostreed with `signal` (default SIGKILL), as `systemctl kill -s KILL rpm-ostreed.service` or the OOM
 * killer would, while it runs a transaction: the process running the host's transaction (daemon.ts) dies at once.
 * What follows is the real one's: nothing finishes the transaction, so libostree never swaps the bootloader
 * configuration and no new deployment exists (the sysroot lists the deployments its boot loader entries name, and a
 * new one is added only by that swap: `swap_bootloader`, ostree-sysroot-deploy.c:2129 at v2017.12); the client following it fails with "Bus owner changed, aborting." (main.ts);
 * the sysroot lock dies with the process (a flock), so the record left in rpm-ostree.json names a dead pid, which
 * {@link liveTransaction} ignores: the next client activates a fresh daemon with no transaction.
 * Returns the pid killed, or undefined when no daemon-side transaction runs (an idle rpm-ostreed has nothing to
 * lose; one marked by {@link beginExternalTransaction} has no process).
 */
export function killRpmOstreed(hostDir: string, signal: NodeJS.Signals = "SIGKILL"): number | undefined {
  const t = liveTransaction(loadState(hostDir));
  if (!t || t.pid === null) return undefined;
  process.kill(t.pid, signal);
  return t.pid;
}

/**
 * `state/faults.json` `holdTransaction` (stage "start": a transaction waits before it changes anything) or
 * `holdTransactionCleanup` (stage "cleanup": it waits after writing its deployment, before it finishes).
 */
export function holdTransactionFault(hostDir: string, stage: "start" | "cleanup" = "start"): boolean {
  try {
    const faults = JSON.parse(fs.readFileSync(path.join(stateDir(hostDir), "faults.json"), "utf8"));
    return (stage === "start" ? faults.holdTransaction : faults.holdTransactionCleanup) === true;
  } catch {
    return false;
  }
}

/** Unit files of a deployment: the base image's packages plus the layered ones (unit name → text). */
export function deploymentUnitFiles(d: Deployment): Record<string, string> {
  const release: Release = baseOf(d).release;
  return unitFilesForPackages(release, deploymentPackages(d).keys());
}

/** Replace `<hostDir>/usr-lib-systemd/` with the given deployment's unit files. */
export function materialiseUnits(hostDir: string, d: Deployment): void {
  const dir = path.join(hostDir, "usr-lib-systemd");
  fs.mkdirSync(dir, { recursive: true });
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  for (const [unit, text] of Object.entries(deploymentUnitFiles(d)))
    fs.writeFileSync(path.join(dir, unit), text);
}

/**
 * Seed a host's rpm-ostree state: one booted deployment of the release's base (Fedora 26 with kubernetes,
 * flannel and etcd in the base; Fedora 27 without), and materialise its units.
 */
export function initRpmOstree(hostDir: string, opts: InitOptions): void {
  const state: RpmOstreeState = {
    ...initialState(baseImage(opts.release)),
    rpmOstreeVersion: opts.rpmOstreeVersion,
  };
  withStateLock(hostDir, () => saveState(hostDir, state));
  materialiseUnits(hostDir, state.deployments[0]);
}

/**
 * Boot the default deployment: `deployments[0]` becomes the booted one (the previous booted one, now at `[1]`,
 * is the rollback), any transaction dies with the old boot, and the booted tree's units replace
 * `<hostDir>/usr-lib-systemd/`. Returns the booted checksum.
 */
export function bootPendingDeployment(hostDir: string): { booted: string } {
  return withStateLock(hostDir, () => {
    const state = loadState(hostDir);
    state.deployments = state.deployments.map((d, i) => ({ ...d, booted: i === 0 }));
    state.transaction = null;
    saveState(hostDir, state);
    materialiseUnits(hostDir, state.deployments[0]);
    return { booted: state.deployments[0].checksum };
  });
}

/**
 * Mark a transaction as running on behalf of something other than an `rpm-ostree` client of this simulator
 * (a timer such as rpm-ostreed-automatic, or another tool). It shows in `status` and blocks other transactions
 * until {@link endExternalTransaction}. Fails when one is already running.
 */
export function beginExternalTransaction(
  hostDir: string,
  opts: { method: string; title: string },
): TransactionLock {
  return withStateLock(hostDir, () => {
    const state = loadState(hostDir);
    if (liveTransaction(state)) throw new Error("System transaction in progress");
    const t: TransactionLock = {
      method: opts.method,
      sender: `:1.${state.nextSender++}`,
      objpath: DBUS_OBJPATH,
      title: opts.title,
      pid: null,
      started: Math.floor(Date.now() / 1000),
    };
    state.transaction = t;
    saveState(hostDir, state);
    return t;
  });
}

export function endExternalTransaction(hostDir: string): void {
  withStateLock(hostDir, () => {
    const state = loadState(hostDir);
    state.transaction = null;
    saveState(hostDir, state);
  });
}
