/**
 * Faults a test can inject into a simulated host, and the `faults.json` file the stand-in tools read.
 *
 * | fault                  | how                                                                            |
 * |------------------------|--------------------------------------------------------------------------------|
 * | slow commands          | `faults.json` `slowMs`: the exec wrapper sleeps that long before each command   |
 * | held transaction       | `faults.json` `holdTransaction`: the rpm-ostree stand-in keeps a transaction open |
 * |                        | before it changes anything; `holdTransactionCleanup`: after it wrote its        |
 * |                        | deployment (the daemon's cleanup), before it finishes                           |
 * | rpm-ostreed killed     | SIGKILL to the process running the host's transaction (`killRpmOstreed`,        |
 * |                        | sim/tools/rpmostree/state.ts); with a held transaction it lands at a known step |
 * | full disk              | a tmpfs of N bytes mounted over a path inside the host's mount namespace        |
 * |                        | (over /ostree/repo, rpm-ostree's transactions meet libostree's space check)     |
 * | atomic killed mid-install | `faults.json` `pauseAt: { point, ms }`: `atomic install --system` stops at that  |
 * |                        | point of its checkout (INSTALL_PAUSE_POINTS) for `ms`, after writing            |
 * |                        | `state/atomic-paused.json` with its client's pid; the test kills that pid        |
 * | sshd killed, host down, unreachable, host key changed | supervisor operations (see supervisor.ts)        |
 *
 * `faults.json` is owned by the host runtime (contract); tools only read it.
 */
import * as childProcess from "child_process";
import * as path from "path";
import { hostPathsFromDir, hostToolEnv, readJson, shQuote, writeJson } from "./host";
import type { InstallPausePoint } from "./tools/atomic/systemContainers";

/** Contents of `DIR/<host>/state/faults.json`. */
export interface Faults {
  /** Every SSH command on the host starts this much later, ms. */
  slowMs?: number;
  /**
   * While true, a transaction rpm-ostreed starts waits before it changes anything: it shows in `rpm-ostree
   * status`, and any other request is refused as another client's transaction in progress would be.
   */
  holdTransaction?: boolean;
  /** While true, a transaction that has written its new deployment waits before it finishes (its cleanup). */
  holdTransactionCleanup?: boolean;
  /** Paths with a size-limited tmpfs mounted over them (bytes), for `status`. */
  filledDisks?: { path: string; bytes: number }[];
  /**
   * Test-only: every `atomic install --system` on the host waits `ms` at `point` of its checkout (the marker
   * `state/atomic-paused.json` says which command, by its client's pid). Real outputs are unchanged while unset.
   */
  pauseAt?: { point: InstallPausePoint; ms: number };
}

export function readFaults(hostDir: string): Faults {
  return readJson<Faults>(hostPathsFromDir(hostDir).faultsJson, {});
}

/** Merges `patch` into faults.json (keys set to undefined are removed) and returns the result. */
export function updateFaults(hostDir: string, patch: Partial<Faults>): Faults {
  const next: Faults = { ...readFaults(hostDir), ...patch };
  for (const k of Object.keys(next) as (keyof Faults)[]) if (next[k] === undefined) delete next[k];
  writeJson(hostPathsFromDir(hostDir).faultsJson, next);
  return next;
}

/** Output of a command run inside a host's namespace. */
export interface NsExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs `/bin/bash -c command` inside the mount and UTS namespaces of process `pid` (a host's supervisor), with the
 * host's tool environment. Nothing is logged to commands.log: this is the test's back door, not an SSH session.
 */
export function nsExec(
  hostDir: string,
  pid: number,
  command: string,
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<NsExecResult> {
  const env = { ...hostToolEnv(hostPathsFromDir(hostDir)), LANG: "C.UTF-8" };
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(
      "nsenter",
      ["-t", String(pid), "-m", "-u", "--", "/bin/bash", "-c", command],
      {
        env,
        cwd: "/",
        stdio: ["pipe", "pipe", "pipe"],
        timeout: opts.timeoutMs ?? 120_000,
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (exitCode, signal) =>
      resolve({
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exitCode,
        signal,
      }),
    );
    // The command may exit before reading its input: an EPIPE on stdin is not an error of the command.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * Shell script that mounts a `bytes`-sized tmpfs over `target` inside the namespace, keeping what was there (it is
 * copied in first, so a copy that does not fit fails here rather than half-mounting), and the folder's mode and
 * owner. `stage` is a scratch folder visible inside the namespace.
 */
export function fillDiskScript(target: string, bytes: number, stage: string): string {
  const t = shQuote(target);
  const s = shQuote(stage);
  return [
    "set -e",
    `mkdir -p ${t} ${s}`,
    `mount -t tmpfs -o size=${Math.max(4096, Math.floor(bytes))} atomic-sim-full-disk ${s}`,
    `if ! cp -a ${t}/. ${s}/; then umount ${s}; rmdir ${s}; echo "the content of ${target} does not fit in ${bytes} bytes" >&2; exit 1; fi`,
    `chown --reference=${t} ${s}`,
    `chmod --reference=${t} ${s}`,
    `mount --move ${s} ${t}`,
    `rmdir ${s}`,
  ].join("\n");
}

/** Mounts a small tmpfs over `target` in the host's namespace: writes beyond `bytes` fail with ENOSPC. */
export async function fillDisk(
  hostDir: string,
  supervisorPid: number,
  target: string,
  bytes: number,
): Promise<void> {
  if (!path.posix.isAbsolute(target)) throw new Error(`fillDisk: path must be absolute, got ${target}`);
  const stage = path.join(hostPathsFromDir(hostDir).state, `full-disk-${process.pid}-${Date.now()}`);
  const r = await nsExec(hostDir, supervisorPid, fillDiskScript(target, bytes, stage));
  if (r.exitCode !== 0) throw new Error(`fillDisk(${target}, ${bytes}) failed: ${r.stderr.trim()}`);
  const filled = (readFaults(hostDir).filledDisks ?? []).filter((d) => d.path !== target);
  updateFaults(hostDir, { filledDisks: [...filled, { path: target, bytes }] });
}

/** Unmounts a tmpfs `fillDisk` mounted (its content is discarded; what was underneath reappears). */
export async function clearDisk(hostDir: string, supervisorPid: number, target: string): Promise<void> {
  const r = await nsExec(hostDir, supervisorPid, `umount ${shQuote(target)}`);
  if (r.exitCode !== 0) throw new Error(`clearDisk(${target}) failed: ${r.stderr.trim()}`);
  const filled = (readFaults(hostDir).filledDisks ?? []).filter((d) => d.path !== target);
  updateFaults(hostDir, { filledDisks: filled.length ? filled : undefined });
}
