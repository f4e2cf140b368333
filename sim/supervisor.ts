/**
 * The per-host supervisor: the simulated host's "PID 1". Started as `node supervisor.js DIR/<host>` inside the
 * host's own mount and UTS namespaces (see `renderNamespaceScript` in host.ts), it
 * - boots the host: empties /run, boots the pending rpm-ostree deployment, writes a new boot id, runs tmpfiles,
 *   starts the enabled units, then starts sshd (and the latency relay);
 * - owns unit processes (`systemctl start/stop` are forwarded to it, so it can reap them and record exit codes);
 * - reboots, powers off and breaks the host on request (control socket `DIR/<host>/supervisor.sock`, one JSON line
 *   each way, see `ControlRequest` in host.ts).
 *
 * "Every process of the host" is every process in the supervisor's mount namespace: SSH sessions, the commands
 * they run, unit processes, and whatever those started, however they detached.
 */
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type {
  ControlRequest,
  ControlResponse,
  HostJson,
  HostPaths,
  HostRuntime,
  HostState,
  HostStatus,
} from "./host";
import {
  generateKey,
  hostPathsFromDir,
  loadRpmOstreeState,
  publicKeyLine,
  readJson,
  writeJson,
} from "./host";
import type { Relay } from "./relay";
import { startRelay } from "./relay";
import { ToolServer } from "./toolServer";
import type { SystemdContext } from "./tools/systemctl";
import {
  contextFromEnv,
  processStartTicks,
  resetAllRuntime,
  runUnitAction,
  startUnit,
  unitsEnabledAtBoot,
} from "./tools/systemctl";
import { runTmpfiles } from "./tools/systemd-tmpfiles";

// ---------------------------------------------------------------------------------------------------------------
// Processes of a mount namespace (also used by `down` to sweep up after a supervisor that died)

/** `mnt:[inode]` of a process's mount namespace, or null when it is gone or not ours to read. */
export function mountNamespaceOf(pid: number | "self"): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/** Live pids whose mount namespace is `ns`, except `exclude`. */
export function processesInMountNamespace(ns: string, exclude: number[] = []): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.includes(pid)) continue;
    if (mountNamespaceOf(pid) === ns && processStartTicks(pid) !== null) pids.push(pid);
  }
  return pids;
}

/**
 * Live pids that belong to a host: their mount table shows the host's folders (its bind mounts and /etc overlay),
 * or their command line names the host folder. Unlike a namespace inode, which the kernel reuses once a namespace
 * is gone, this cannot match another program's processes after the host has stopped.
 */
export function processesOfHost(hostDir: string, exclude: number[] = []): number[] {
  const needle = `${hostDir.replace(/\/+$/, "")}/`;
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.includes(pid) || processStartTicks(pid) === null) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmdline.includes(needle) || fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(needle))
        pids.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** SIGKILLs every process of a host (see `processesOfHost`) until none is left. */
export async function killHostProcesses(hostDir: string, exclude: number[] = []): Promise<void> {
  for (let round = 0; round < 200; round++) {
    const left = processesOfHost(hostDir, exclude);
    if (left.length === 0) return;
    signal(left, "SIGKILL");
    await sleep(25);
  }
  throw new Error(`processes of ${hostDir} survive SIGKILL: ${processesOfHost(hostDir, exclude).join(" ")}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
}

/**
 * Ends every process of namespace `ns` but `exclude`: SIGTERM first when `graceMs` > 0 (an orderly shutdown lets
 * etcd close its WAL), then SIGKILL; resolves once none is left. Processes started meanwhile are caught too.
 */
export async function killNamespace(ns: string, exclude: number[], graceMs: number): Promise<void> {
  if (graceMs > 0) {
    signal(processesInMountNamespace(ns, exclude), "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && processesInMountNamespace(ns, exclude).length > 0) await sleep(50);
  }
  for (let round = 0; round < 200; round++) {
    const left = processesInMountNamespace(ns, exclude);
    if (left.length === 0) return;
    signal(left, "SIGKILL");
    await sleep(25);
  }
  throw new Error(`processes of ${ns} survive SIGKILL: ${processesInMountNamespace(ns, exclude).join(" ")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The supervisor

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

/** Waits until sshd logs that it listens (after `offset` in its log), or fails with the log's tail. */
async function waitSshdListening(
  p: HostPaths,
  offset: number,
  child: childProcess.ChildProcess,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    let tail = "";
    try {
      const fd = fs.openSync(p.sshdLog, "r");
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      fs.closeSync(fd);
      tail = buf.toString("utf8");
    } catch {
      // not written yet
    }
    if (/Server listening on 127\.0\.0\.1 port/.test(tail)) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `sshd exited (${child.exitCode ?? child.signalCode}) before listening: ${tail.trim().slice(-500)}`,
      );
    }
    await sleep(15);
  }
  throw new Error("sshd did not start listening within 20 s");
}

export class HostSupervisor {
  private readonly paths: HostPaths;
  private readonly runtime: HostRuntime;
  private readonly ctx: SystemdContext;
  private readonly mountNs: string;
  private state: HostState = "starting";
  private since = new Date().toISOString();
  private boots = 0;
  private failedUnits: string[] = [];
  private lastError: string | undefined;
  private sshd: childProcess.ChildProcess | null = null;
  private relay: Relay | null = null;
  private server: net.Server | null = null;
  /** Host-level operations (boot, reboot, kill...) run one at a time, in arrival order. */
  private hostQueue: Promise<unknown> = Promise.resolve();
  /** Unit jobs run one at a time too, apart from host operations (a reboot must not wait for a slow start). */
  private unitQueue: Promise<unknown> = Promise.resolve();
  private sshdTimer: NodeJS.Timeout | null = null;
  /** Runs the stand-in commands of the host's processes (toolServer.ts). */
  private readonly tools: ToolServer;

  constructor(hostDir: string) {
    this.paths = hostPathsFromDir(hostDir);
    this.runtime =
      readJson<HostRuntime | null>(this.paths.runtimeJson, null) ?? fail(`no ${this.paths.runtimeJson}`);
    process.env.ATOMIC_SIM_HOST_DIR = this.paths.dir;
    process.env.ATOMIC_SIM_CLUSTER_DIR = this.paths.clusterDir;
    delete process.env.ATOMIC_SIM_ROOT; // inside the namespace every path is already the host's
    this.ctx = contextFromEnv("supervisor");
    this.mountNs = mountNamespaceOf("self") ?? fail("cannot read /proc/self/ns/mnt");
    this.tools = new ToolServer(this.paths, log);
  }

  /** Opens the control socket and boots the host. */
  async run(): Promise<void> {
    await this.listenControl();
    this.watchHostDir();
    this.setState("starting");
    await this.enqueue(() => this.boot());
  }

  status(): HostStatus {
    return {
      name: this.runtime.name,
      state: this.state,
      port: this.runtime.sshPort,
      sshdPort: this.runtime.sshdPort,
      bootId: readBootId(this.paths),
      supervisorPid: process.pid,
      sshdPid: this.sshd?.pid ?? null,
      mountNamespace: this.mountNs,
      since: this.since,
      boots: this.boots,
      failedUnits: this.failedUnits,
      lastError: this.lastError,
    };
  }

  private setState(state: HostState): void {
    const wasReachable = this.state !== "unreachable";
    this.state = state;
    this.since = new Date().toISOString();
    writeJson(this.paths.statusJson, this.status());
    if (wasReachable !== (state !== "unreachable")) {
      // host.json's `reachable` (contract) follows the unreachable fault.
      const host = readJson<HostJson | null>(this.paths.hostJson, null);
      if (host) writeJson(this.paths.hostJson, { ...host, reachable: state !== "unreachable" });
    }
    log(`state ${state}`);
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.hostQueue.then(op, op);
    this.hostQueue = next.catch(() => undefined);
    return next;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Boot and power

  /** /run is a tmpfs on a real host: it starts empty at every boot, but for what boot itself puts there. */
  private resetRun(): void {
    for (const entry of fs.readdirSync(this.paths.run)) {
      try {
        fs.rmSync(path.join(this.paths.run, entry), { recursive: true, force: true });
      } catch (err) {
        log(`cannot clear /run/${entry}: ${(err as Error).message}`);
      }
    }
    fs.mkdirSync(path.join(this.paths.run, "sshd"), { mode: 0o755, recursive: true });
    fs.writeFileSync(path.join(this.paths.run, "ostree-booted"), "");
  }

  private async boot(): Promise<void> {
    this.setState("starting");
    try {
      this.resetRun();
      await this.tools.listen();
      resetAllRuntime(this.ctx);
      await loadRpmOstreeState().bootPendingDeployment(this.paths.dir);
      fs.writeFileSync(this.paths.bootId, `${crypto.randomUUID()}\n`);
      const tmp = runTmpfiles("", { create: true, remove: true, files: [] });
      if (tmp.stderr) log(`systemd-tmpfiles at boot: ${tmp.stderr.trim()}`);
      await this.startEnabledUnits();
      await this.startSshd();
      this.boots++;
      this.lastError = undefined;
      this.setState("up");
    } catch (err) {
      this.lastError = (err as Error).message;
      log(`boot failed: ${(err as Error).stack}`);
      this.setState("failed");
    }
  }

  private async startEnabledUnits(): Promise<void> {
    this.failedUnits = [];
    for (const unit of unitsEnabledAtBoot(this.ctx)) {
      const r = await this.unitJob(() => startUnit(this.ctx, unit.name));
      if (r.exitCode !== 0) {
        this.failedUnits.push(unit.name);
        log(`boot: ${unit.name} failed to start: ${r.stderr.trim()}`);
      }
    }
  }

  /** Takes the host down: listener, relay, then every process of the namespace. Unit state is forgotten. */
  private async powerOff(graceful: boolean): Promise<void> {
    this.clearSshdTimer();
    if (this.relay) {
      await this.relay.close();
      this.relay = null;
    }
    await killNamespace(this.mountNs, [process.pid], graceful ? 3000 : 0);
    this.sshd = null;
    resetAllRuntime(this.ctx);
  }

  private async reboot(): Promise<void> {
    this.setState("rebooting");
    // Let the `systemctl reboot` that asked return its exit status first, as it usually does on a real host.
    await sleep(this.runtime.shutdownDelayMs);
    await this.powerOff(true);
    await sleep(this.runtime.rebootDownMs);
    await this.boot();
  }

  private async kill(): Promise<void> {
    await this.powerOff(false);
    this.setState("down");
  }

  // -------------------------------------------------------------------------------------------------------------
  // sshd

  private async startSshd(): Promise<void> {
    const offset = fs.existsSync(this.paths.sshdLog) ? fs.statSync(this.paths.sshdLog).size : 0;
    const child = childProcess.spawn(
      "/usr/sbin/sshd",
      ["-D", "-f", this.paths.sshdConfig, "-E", this.paths.sshdLog],
      { stdio: "ignore", cwd: "/" },
    );
    this.sshd = child;
    child.on("exit", (code, sig) => {
      if (this.sshd === child) this.sshd = null;
      log(`sshd ${child.pid} exited (${code ?? sig})`);
    });
    await waitSshdListening(this.paths, offset, child);
    if (this.runtime.latencyMs > 0 && !this.relay) {
      this.relay = await startRelay({
        listenHost: "127.0.0.1",
        listenPort: this.runtime.sshPort,
        targetHost: "127.0.0.1",
        targetPort: this.runtime.sshdPort,
        latencyMs: this.runtime.latencyMs,
      });
    }
    log(`sshd ${child.pid} listening on ${this.runtime.sshdPort}`);
  }

  /** Stops the listening sshd only; established sessions (their own sshd processes) carry on, as with OpenSSH. */
  private async stopSshdListener(): Promise<void> {
    this.clearSshdTimer();
    if (this.relay) {
      const relay = this.relay;
      this.relay = null;
      await relay.close();
    }
    const child = this.sshd;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }

  /** Kills every sshd process of the host (listener and sessions): every connection drops mid-command. */
  private async killSshd(restartAfterMs: number): Promise<void> {
    this.relay?.dropConnections();
    const sshds = processesInMountNamespace(this.mountNs, [process.pid]).filter((pid) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/exe`) === "/usr/sbin/sshd";
      } catch {
        return false;
      }
    });
    signal(sshds, "SIGKILL");
    while (sshds.some((pid) => processStartTicks(pid) !== null)) await sleep(10);
    if (this.relay) {
      await this.relay.close();
      this.relay = null;
    }
    this.sshd = null;
    if (restartAfterMs === 0) {
      // Back at once, before answering: the caller's next connection must find it listening.
      await this.startSshd();
      return;
    }
    this.setState("unreachable");
    // A negative delay leaves sshd down until a `start` request.
    if (restartAfterMs > 0) this.scheduleSshdRestart(restartAfterMs);
  }

  private scheduleSshdRestart(ms: number): void {
    this.clearSshdTimer();
    this.sshdTimer = setTimeout(() => {
      this.sshdTimer = null;
      void this.enqueue(async () => {
        if (this.state !== "unreachable") return;
        await this.startSshd();
        this.setState("up");
      }).catch((err: Error) => {
        this.lastError = err.message;
        this.setState("failed");
      });
    }, ms);
  }

  private clearSshdTimer(): void {
    if (this.sshdTimer) clearTimeout(this.sshdTimer);
    this.sshdTimer = null;
  }

  private async unreachable(seconds: number): Promise<void> {
    await this.stopSshdListener();
    this.setState("unreachable");
    this.scheduleSshdRestart(seconds * 1000);
  }

  private async changeHostKey(): Promise<string> {
    generateKey(this.paths.hostKey, `root@${this.runtime.name}`);
    if (this.state === "up") {
      await this.stopSshdListener();
      await this.startSshd();
    }
    return publicKeyLine(fs.readFileSync(this.paths.hostKeyPub, "utf8"));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Control socket

  private unitJob<T>(job: () => Promise<T>): Promise<T> {
    const next = this.unitQueue.then(job, job);
    this.unitQueue = next.catch(() => undefined);
    return next;
  }

  private async handle(req: ControlRequest): Promise<ControlResponse> {
    switch (req.op) {
      case "status":
        return { ok: true, status: this.status() };
      case "reboot":
        if (this.state === "down") return { ok: false, error: "host is powered off" };
        // Answer first: the caller (often `systemctl reboot` over SSH) is one of the processes about to die.
        void this.enqueue(() => this.reboot());
        return { ok: true, status: this.status() };
      case "kill":
        await this.enqueue(() => this.kill());
        return { ok: true, status: this.status() };
      case "start":
        await this.enqueue(async () => {
          if (this.state === "down" || this.state === "failed") await this.boot();
          else if (this.state === "unreachable") {
            await this.startSshd();
            this.setState("up");
          }
        });
        return { ok: this.state === "up", status: this.status(), error: this.lastError };
      case "shutdown":
        await this.enqueue(async () => {
          this.setState("stopping");
          await this.powerOff(true);
        });
        setImmediate(() => this.exit());
        return { ok: true };
      case "killSshd":
        await this.enqueue(() => this.killSshd(req.restartAfterMs ?? 0));
        return { ok: true, status: this.status() };
      case "unreachable":
        await this.enqueue(() => this.unreachable(req.seconds));
        return { ok: true, status: this.status() };
      case "changeHostKey": {
        const hostKey = await this.enqueue(() => this.changeHostKey());
        return { ok: true, hostKey, status: this.status() };
      }
      case "unit": {
        const unit = await this.unitJob(() => runUnitAction(this.ctx, req.action, req.units));
        return { ok: true, unit };
      }
      default:
        return { ok: false, error: `unknown op ${(req as { op: string }).op}` };
    }
  }

  private listenControl(): Promise<void> {
    fs.rmSync(this.paths.supervisorSock, { force: true });
    const server = net.createServer((conn) => {
      let buf = "";
      conn.setEncoding("utf8");
      conn.on("error", () => undefined); // a caller killed mid-request (by this very reboot) is normal
      conn.on("data", (d: string) => {
        buf += d;
        const nl = buf.indexOf("\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = "";
        void this.answer(line).then((res) => {
          if (!conn.destroyed) conn.end(`${JSON.stringify(res)}\n`);
        });
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.paths.supervisorSock, () => resolve());
    });
  }

  private async answer(line: string): Promise<ControlResponse> {
    try {
      return await this.handle(JSON.parse(line) as ControlRequest);
    } catch (err) {
      log(`control request failed: ${(err as Error).stack}`);
      return { ok: false, error: (err as Error).message };
    }
  }

  /** Graceful exit on SIGTERM/SIGINT too, so a stray `kill PID` still leaves no process of the host behind. */
  async terminate(): Promise<void> {
    await this.enqueue(async () => {
      this.setState("stopping");
      await this.powerOff(true);
    });
    this.exit();
  }

  /**
   * A host whose folder was deleted (a test cleaned up without `down`, or crashed and a later run removed its
   * temp dir) powers itself off, so no orphaned host outlives its files.
   */
  private watchHostDir(): void {
    const timer = setInterval(() => {
      if (fs.existsSync(this.paths.state)) return;
      clearInterval(timer);
      log("host folder deleted: powering off");
      void killNamespace(this.mountNs, [process.pid], 0).finally(() => process.exit(0));
    }, 2000);
  }

  private exit(): void {
    this.server?.close();
    void this.tools.close();
    fs.rmSync(this.paths.supervisorSock, { force: true });
    log("supervisor exits");
    process.exit(0);
  }
}

function readBootId(p: HostPaths): string {
  try {
    return fs.readFileSync(p.bootId, "utf8").trim();
  } catch {
    return "";
  }
}

function fail(message: string): never {
  throw new Error(message);
}

async function main(): Promise<void> {
  const hostDir = process.argv[2];
  if (!hostDir) {
    process.stderr.write("usage: supervisor.js HOST_DIR\n");
    process.exit(2);
  }
  const supervisor = new HostSupervisor(hostDir);
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.on(sig, () => void supervisor.terminate());
  }
  process.on("uncaughtException", (err) => log(`uncaught: ${err.stack}`));
  process.on("unhandledRejection", (err) =>
    log(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`),
  );
  await supervisor.run();
}

if (require.main === module) void main();
