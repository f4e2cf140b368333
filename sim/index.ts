/**
 * atomic-host-sim as a library for tests: start a cluster of simulated Fedora Atomic hosts, break them, look
 * inside them, stop them.
 *
 * ```ts
 * const cluster = await SimCluster.start({ dir: fs.mkdtempSync("/tmp/sim-"), hosts: 3 });
 * try {
 *   const h = cluster.host("host1");            // { host, port, user, privateKeyPath, hostKey, ... }
 *   await cluster.seedEtcd("host1", 10_000);    // keys written through etcd's own API
 *   await cluster.reboot("host1");              // resolves once it is back, with a new boot id
 * } finally {
 *   await cluster.stop();                       // leaves no process behind
 * }
 * ```
 *
 * Every method that takes `host` accepts a host name or a `cluster.json` entry.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import type { ClusterFile, ClusterHostEntry, ClusterOptions, HostReport } from "./cluster";
import {
  clusterProcesses,
  clusterStatus,
  readSimFile,
  setFlannelNetworkConfig,
  startCluster,
  stopCluster,
  writeClusterFile,
} from "./cluster";
import type { Faults, NsExecResult } from "./faults";
import type { InstallPausePoint } from "./tools/atomic/systemContainers";
import { ATOMIC_PAUSE_MARKER } from "./tools/atomic/systemContainers";
import { clearDisk, fillDisk, nsExec, updateFaults } from "./faults";
import type { HostPaths, HostStatus } from "./host";
import { hostPaths, loadRpmOstreeState, readJson, requestSupervisor, sshFingerprint } from "./host";
import type { CommandLogEntry } from "./tools/exec-wrapper";
import { parseCommandsLog } from "./tools/exec-wrapper";
import type { ToolLogEntry } from "./toolServer";
import { parseToolsLog } from "./toolServer";

export type { ClusterFile, ClusterHostEntry, ClusterOptions, HostReport } from "./cluster";
export { clusterProcesses, clusterStatus, startCluster, stopCluster } from "./cluster";
export type { Faults, NsExecResult } from "./faults";
export type { EtcdLayout, HostState, HostStatus, Release, RpmOstreeVersion } from "./host";
export type { CommandLogEntry } from "./tools/exec-wrapper";
export type { InstallPausePoint } from "./tools/atomic/systemContainers";
export { INSTALL_PAUSE_POINTS } from "./tools/atomic/systemContainers";
export { parseCommandsLog } from "./tools/exec-wrapper";
export type { ToolLogEntry } from "./toolServer";
export { parseToolsLog } from "./toolServer";
export { CONTRIB_NETWORK_CONFIG } from "./tools/flannel";

/** A host name or its cluster.json entry. */
export type HostRef = string | Pick<ClusterHostEntry, "name">;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------------------------
// etcd through its v3 JSON gateway (the real server API; no client library needed)

/** etcd caps a transaction at 128 operations (`--max-txn-ops`). */
const TXN_OPS = 128;

function b64(s: string): string {
  return Buffer.from(s, "utf8").toString("base64");
}

/** POSTs JSON to an etcd v3 gateway endpoint (`/v3/kv/txn`, `/v3/kv/range`...). */
export function etcdPost<T>(port: number, endpoint: string, body: unknown, agent?: http.Agent): Promise<T> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: endpoint,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200)
            reject(new Error(`etcd ${endpoint} on port ${port}: HTTP ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`etcd ${endpoint} on port ${port}: timed out`)));
    req.on("error", reject);
    req.end(data);
  });
}

/** The key and value `seedEtcdKeys` writes for index `i`. */
export function seedKeyValue(i: number, prefix = "/registry/sim-seed/"): [string, string] {
  return [`${prefix}${String(i).padStart(6, "0")}`, `value-${i}-${(i * 2654435761) % 4294967296}`];
}

/**
 * Writes `count` keys to the etcd listening on `port`, in 128-put transactions, a few in flight at once
 * (10,000 keys take about a second). Returns what was written.
 */
export async function seedEtcdKeys(
  port: number,
  count: number,
  prefix?: string,
): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const batches: [string, string][][] = [];
  for (let i = 0; i < count; i += TXN_OPS) {
    batches.push(Array.from({ length: Math.min(TXN_OPS, count - i) }, (_, j) => seedKeyValue(i + j, prefix)));
  }
  try {
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        await etcdPost(
          port,
          "/v3/kv/txn",
          {
            success: batch.map(([k, v]) => ({ requestPut: { key: b64(k), value: b64(v) } })),
          },
          agent,
        );
        for (const [k, v] of batch) written.set(k, v);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    agent.destroy();
  }
  return written;
}

/** Every key and value in the etcd listening on `port` (v3 keyspace). */
export async function etcdGetAllKeys(port: number): Promise<Map<string, string>> {
  const zero = Buffer.from([0]).toString("base64");
  const res = await etcdPost<{ kvs?: { key: string; value?: string }[] }>(port, "/v3/kv/range", {
    key: zero,
    range_end: zero,
  });
  const out = new Map<string, string>();
  for (const kv of res.kvs ?? []) {
    out.set(
      Buffer.from(kv.key, "base64").toString("utf8"),
      Buffer.from(kv.value ?? "", "base64").toString("utf8"),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// SimCluster

export class SimCluster {
  /** Entries of cluster.json, kept current (a host key change updates them). */
  hosts: ClusterHostEntry[];

  private constructor(
    /** Absolute cluster folder. */
    readonly dir: string,
    file: ClusterFile,
  ) {
    this.hosts = file.hosts;
  }

  /** Creates and boots a cluster (see `ClusterOptions`); resolves when every host accepts SSH. */
  static async start(opts: ClusterOptions): Promise<SimCluster> {
    const file = await startCluster(opts);
    return new SimCluster(path.resolve(opts.dir), file);
  }

  /** A handle on a cluster already running in `dir` (started by the CLI, say). */
  static attach(dir: string): SimCluster {
    const file = readJson<ClusterFile | null>(path.join(path.resolve(dir), "cluster.json"), null);
    if (!file) throw new Error(`${dir} has no cluster.json: start a cluster there first`);
    return new SimCluster(path.resolve(dir), file);
  }

  /** Stops every host; no process of the cluster is left afterwards. */
  async stop(): Promise<void> {
    await stopCluster(this.dir);
  }

  /** The cluster.json entry of a host. */
  host(ref: HostRef): ClusterHostEntry {
    const name = typeof ref === "string" ? ref : ref.name;
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host named '${name}' (hosts: ${this.hosts.map((x) => x.name).join(", ")})`);
    return h;
  }

  /** Files of a host (sshd.log, commands.log, state...). */
  paths(ref: HostRef): HostPaths {
    return hostPaths(this.dir, this.host(ref).name);
  }

  /** Status of every host, as `atomic-host-sim status` prints it. */
  status(): Promise<HostReport[]> {
    return clusterStatus(this.dir);
  }

  /** Live status of one host (throws when its supervisor is not running). */
  async hostStatus(ref: HostRef): Promise<HostStatus> {
    const res = await requestSupervisor(this.paths(ref).dir, { op: "status" }, 10_000);
    if (!res.status) throw new Error(`no status from ${this.host(ref).name}: ${res.error}`);
    return res.status;
  }

  /** Pids of every live process that belongs to the cluster (for "nothing left behind" checks). */
  processes(): number[] {
    return clusterProcesses(this.dir);
  }

  // -- logs and identity ----------------------------------------------------------------------------------------

  /** Commands the host ran over SSH, one entry per command, oldest first. */
  readCommandsLog(ref: HostRef): CommandLogEntry[] {
    return parseCommandsLog(fs.readFileSync(this.paths(ref).commandsLog, "utf8"));
  }

  /** The stand-in tools a shell on the host ran (also inside a script), one entry per command, oldest first. */
  readToolsLog(ref: HostRef): ToolLogEntry[] {
    const file = this.paths(ref).toolsLog;
    return fs.existsSync(file) ? parseToolsLog(fs.readFileSync(file, "utf8")) : [];
  }

  /** Empties commands.log and tools.log. */
  clearCommandsLog(ref: HostRef): void {
    fs.truncateSync(this.paths(ref).commandsLog, 0);
    fs.rmSync(this.paths(ref).toolsLog, { force: true });
  }

  /** Successful logins recorded by the host's sshd (`Accepted publickey|password for root from ...`). */
  countAcceptedLogins(ref: HostRef, method: "publickey" | "password" | "any" = "any"): number {
    const text = fs.readFileSync(this.paths(ref).sshdLog, "utf8");
    const re =
      method === "any" ? /Accepted (publickey|password) for /g : new RegExp(`Accepted ${method} for `, "g");
    return (text.match(re) ?? []).length;
  }

  /** The host's current boot id (what `cat /proc/sys/kernel/random/boot_id` prints on it). */
  bootId(ref: HostRef): string {
    return fs.readFileSync(this.paths(ref).bootId, "utf8").trim();
  }

  // -- power ----------------------------------------------------------------------------------------------------

  private async control(ref: HostRef, req: Parameters<typeof requestSupervisor>[1], timeoutMs = 120_000) {
    const res = await requestSupervisor(this.paths(ref).dir, req, timeoutMs);
    if (!res.ok) throw new Error(`${this.host(ref).name}: ${req.op} failed: ${res.error}`);
    return res;
  }

  /** Waits until the host is up with a boot count above `boots`. */
  private async waitBooted(ref: HostRef, boots: number, timeoutMs: number): Promise<HostStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.hostStatus(ref);
      if (st.state === "up" && st.boots > boots) return st;
      if (st.state === "failed") throw new Error(`${st.name} failed to boot: ${st.lastError}`);
      if (Date.now() > deadline)
        throw new Error(`${st.name} did not come back within ${timeoutMs} ms (${st.state})`);
      await sleep(50);
    }
  }

  /**
   * Reboots the host as `systemctl reboot` would: connections drop, it stays down `rebootDownMs`, boots the
   * pending deployment, and comes back with a new boot id. With `wait` (default) resolves once it is back.
   */
  async reboot(ref: HostRef, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<HostStatus> {
    const before = await this.hostStatus(ref);
    await this.control(ref, { op: "reboot" });
    if (opts.wait === false) return before;
    return this.waitBooted(ref, before.boots, opts.timeoutMs ?? 60_000);
  }

  /** Power loss: every process of the host dies at once; it stays down until `startHost`. */
  async kill(ref: HostRef): Promise<void> {
    await this.control(ref, { op: "kill" });
  }

  /** Powers a killed host on (boots it, pending deployment included), or brings a stopped sshd back. */
  async startHost(ref: HostRef): Promise<HostStatus> {
    const res = await this.control(ref, { op: "start" });
    return res.status!;
  }

  // -- faults ---------------------------------------------------------------------------------------------------

  /**
   * Kills every sshd process of the host with SIGKILL (listener and sessions): every connection drops, commands
   * in flight lose their client. sshd comes back after `restartAfterMs` (default 0; negative = only on
   * `startHost`).
   */
  async killSshd(ref: HostRef, opts: { restartAfterMs?: number } = {}): Promise<void> {
    await this.control(ref, { op: "killSshd", restartAfterMs: opts.restartAfterMs ?? 0 });
  }

  /**
   * The host stops accepting connections for `seconds` (its listening sshd is stopped: connecting is refused);
   * established sessions carry on. It accepts again afterwards on its own.
   */
  async unreachable(ref: HostRef, seconds: number): Promise<void> {
    await this.control(ref, { op: "unreachable", seconds });
  }

  /** Every SSH command on the host starts `ms` later (0 = off). */
  slow(ref: HostRef, ms: number): Faults {
    return updateFaults(this.paths(ref).dir, { slowMs: ms > 0 ? ms : undefined });
  }

  /**
   * Write flannel's network config (`/atomic.io/network/config`, a JSON string) into the cluster's etcd, or delete
   * it (null): without it no flanneld gets a lease and `systemctl start flanneld` times out. The contrib layout
   * starts with {@link CONTRIB_NETWORK_CONFIG}.
   */
  setFlannelNetworkConfig(config: string | null): Promise<void> {
    return setFlannelNetworkConfig(this.dir, config);
  }

  /**
   * While true, a transaction rpm-ostreed starts on the host waits before it changes anything (it shows in
   * `rpm-ostree status`, and any other request is refused as "System transaction in progress").
   */
  holdTransaction(ref: HostRef, hold: boolean): Faults {
    return updateFaults(this.paths(ref).dir, { holdTransaction: hold || undefined });
  }

  /**
   * While true, a transaction that has written its new deployment (the boot loader swap) waits before it finishes,
   * where the real daemon cleans up (rpmostree_syscore_cleanup): `status` shows both the transaction and the new
   * deployment.
   */
  holdTransactionCleanup(ref: HostRef, hold: boolean): Faults {
    return updateFaults(this.paths(ref).dir, { holdTransactionCleanup: hold || undefined });
  }

  /**
   * Kills rpm-ostreed with SIGKILL while it runs a transaction (see `killRpmOstreed` in
   * sim/tools/rpmostree/state.ts): the transaction ends unfinished, having deployed nothing if it was held at its
   * start (`holdTransaction`), or with its whole new deployment if held in its cleanup; its client fails with "Bus owner changed, aborting.", and the
   * next request gets a fresh daemon. Returns the pid killed, undefined when no transaction was running.
   */
  killRpmOstreed(ref: HostRef): number | undefined {
    return loadRpmOstreeState().killRpmOstreed(this.paths(ref).dir, "SIGKILL");
  }

  /**
   * Mounts a `bytes`-sized tmpfs over `targetPath` inside the host (its current content is copied in): writing
   * more there fails with "No space left on device". Survives reboots; `clearDisk` undoes it.
   */
  async fillDisk(ref: HostRef, targetPath: string, bytes: number): Promise<void> {
    const st = await this.hostStatus(ref);
    await fillDisk(this.paths(ref).dir, st.supervisorPid, targetPath, bytes);
  }

  async clearDisk(ref: HostRef, targetPath: string): Promise<void> {
    const st = await this.hostStatus(ref);
    await clearDisk(this.paths(ref).dir, st.supervisorPid, targetPath);
  }

  /**
   * Makes every `atomic install --system` on the host wait `ms` (default 10 min) at `point` of its checkout, or
   * (null) stops doing so. `waitForAtomicPause` then says which client to kill: what a kill there leaves is what
   * `atomic` killed at that moment leaves (see INSTALL_PAUSE_POINTS).
   */
  pauseAtomicInstall(ref: HostRef, point: InstallPausePoint | null, ms = 600_000): Faults {
    fs.rmSync(path.join(this.paths(ref).state, ATOMIC_PAUSE_MARKER), { force: true });
    return updateFaults(this.paths(ref).dir, { pauseAt: point === null ? undefined : { point, ms } });
  }

  /** Resolves once an `atomic install` is paused at the point `pauseAtomicInstall` set, with its client's pid. */
  async waitForAtomicPause(
    ref: HostRef,
    opts: { timeoutMs?: number } = {},
  ): Promise<{ point: InstallPausePoint; pid: number }> {
    const marker = path.join(this.paths(ref).state, ATOMIC_PAUSE_MARKER);
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    for (;;) {
      const paused = readJson<{ point: InstallPausePoint; pid: number } | null>(marker, null);
      if (paused) return paused;
      if (Date.now() > deadline)
        throw new Error(
          `${this.host(ref).name}: no atomic install paused within ${opts.timeoutMs ?? 120_000} ms`,
        );
      await sleep(20);
    }
  }

  /** Gives the host a new host key (sshd restarts; sessions survive) and updates cluster.json and `hosts`. */
  async changeHostKey(ref: HostRef): Promise<ClusterHostEntry> {
    const res = await this.control(ref, { op: "changeHostKey" });
    this.hosts = writeClusterFile(this.dir).hosts;
    const entry = this.host(ref);
    if (res.hostKey && sshFingerprint(res.hostKey) !== entry.hostKeyFingerprint) {
      throw new Error(`cluster.json does not match ${entry.name}'s new host key`);
    }
    return entry;
  }

  // -- inside the host ------------------------------------------------------------------------------------------

  /**
   * Runs `command` with bash inside the host (its mounts, its hostname, its tools on PATH), without SSH and
   * without a commands.log entry: for test setup and inspection. Works on a killed host too (its disk is there).
   */
  async exec(
    ref: HostRef,
    command: string,
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<NsExecResult> {
    const st = await this.hostStatus(ref);
    return nsExec(this.paths(ref).dir, st.supervisorPid, command, opts);
  }

  /** Writes `count` keys into the host's etcd (see `seedEtcdKeys`); returns them. */
  seedEtcd(ref: HostRef, count: number, prefix?: string): Promise<Map<string, string>> {
    return seedEtcdKeys(this.host(ref).etcdClientPort, count, prefix);
  }

  /** Every key/value in the host's etcd. */
  etcdGetAll(ref: HostRef): Promise<Map<string, string>> {
    return etcdGetAllKeys(this.host(ref).etcdClientPort);
  }

  /** The simulator's record of the cluster (ports, options). */
  simFile() {
    return readSimFile(this.dir);
  }
}
