/**
 * A cluster of simulated hosts in one folder: `up` (create and boot), `down` (stop, leaving no process), `status`.
 *
 * Folder layout:
 * - `DIR/cluster.json`: what a test or a Pulumi stack needs to connect (the public format, see `ClusterFile`).
 * - `DIR/sim.json`: what `down`/`status` need (hosts, ports, options).
 * - `DIR/id_ed25519{,.pub}`: the cluster's client key, authorised on every host.
 * - `DIR/<host>/`: one host (see host.ts).
 *
 * Ports: host i (0-based) uses `basePort + 4i + {0: ssh, 1: sshd behind the latency relay, 2: etcd client,
 * 3: etcd peer}`; without latency sshd listens on `+0` itself.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type { EtcdLayout, HostState, HostStatus, Release, RpmOstreeVersion } from "./host";
import { rpmRepository } from "./catalog";
import {
  MOUNTED_PATHS,
  assertCompiled,
  createHost,
  generateKey,
  hostPaths,
  loadRpmOstreeState,
  publicKeyLine,
  readJson,
  requestSupervisor,
  sshFingerprint,
  writeJson,
} from "./host";
import { nsExec } from "./faults";
import { killHostProcesses, processesOfHost } from "./supervisor";
import { processStartTicks } from "./tools/systemctl";
import { renderExecWrapper } from "./tools/exec-wrapper";
import { etcdClusterWarnings, renderEtcdClusterConf } from "./etcdCluster";
import { CONTRIB_NETWORK_CONFIG, DEFAULT_FLANNEL_PREFIX, etcdV2 } from "./tools/flannel";

/** Options of `startCluster` (and of `atomic-host-sim up`). */
export interface ClusterOptions {
  /** Cluster folder (created; must not be under a path the hosts mount over, e.g. /root or /var/lib). */
  dir: string;
  /** Number of hosts (named host1..hostN) or their names. */
  hosts: number | string[];
  /** Fedora release of every host's booted deployment. Default 26. */
  release?: Release;
  /** etcd layout: `contrib` (kubernetes/contrib's ansible on F26) or `rpm` (RPM defaults). Default `contrib`. */
  layout?: EtcdLayout;
  /** First port; see the file comment for the layout. Default: the first free block from a pid-derived start. */
  basePort?: number;
  /** rpm-ostree flavour. Default `2017.10`. */
  rpmOstreeVersion?: RpmOstreeVersion;
  /** One-way latency the relay adds in front of each sshd, ms. Default 0 (no relay). */
  latencyMs?: number;
  /** How long a rebooting host stays down, ms. Default 2000. */
  rebootDownMs?: number;
  /** Delay between `systemctl reboot` answering and the host going down, ms. Default 100. */
  shutdownDelayMs?: number;
  /** Hosts that run etcd: `all`, a count (the first N hosts), or names. Default: all on release 26, none on 27. */
  etcdHosts?: "all" | number | string[];
  /**
   * Make the etcd hosts one multi-member etcd cluster (etcdCluster.ts): each host's etcd.conf names it and lists
   * every member, as kubernetes/contrib writes it for an etcd group of several hosts. Default false: every etcd
   * host runs a one-member etcd of its own.
   */
  etcdCluster?: boolean;
  /** root's password on every host (a string) or per host (by name); unset = password logins fail. */
  password?: string | Record<string, string>;
  /** How long `startCluster` waits for every host to boot, ms. Default 120000. */
  readyTimeoutMs?: number;
  /** How long `systemctl start flanneld` waits for a lease before it fails, ms. Default 5000 (systemd: 90 s). */
  flannelStartTimeoutMs?: number;
  /**
   * kubernetes/contrib's ansible groups of a running Fedora 26 cluster, by host name: a `master` runs flanneld,
   * kube-apiserver, kube-controller-manager and kube-scheduler from the base image; a `node` runs flanneld, kubelet
   * and kube-proxy. Their units are enabled (as the playbooks leave them) and started at boot, after the etcd
   * hosts are up and hold flannel's network config. Contrib layout on release 26 only. Default: no roles (the
   * units are installed but disabled).
   */
  roles?: Record<string, KubeRole>;
}

/** A kubernetes/contrib ansible group other than etcd. */
export type KubeRole = "master" | "node";

/** The base-image packages whose units a role's hosts run (kubernetes/contrib's master and node roles). */
const ROLE_PACKAGES: Record<KubeRole, string[]> = {
  master: ["flannel", "kubernetes-master"],
  node: ["flannel", "kubernetes-node"],
};

/** The units each named host enables at creation, by its role; validates the roles against the cluster. */
export function roleUnits(
  names: string[],
  roles: ClusterOptions["roles"],
  release: Release,
  layout: EtcdLayout,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const entries = Object.entries(roles ?? {});
  if (entries.length === 0) return out;
  if (release !== 26 || layout !== "contrib") {
    throw new Error(
      `roles: a kubernetes/contrib cluster runs on Fedora 26 with the contrib layout (got release ${release}, ` +
        `layout ${layout}); Fedora 27's image has no kubernetes or flannel units to enable`,
    );
  }
  const repo = rpmRepository(26);
  for (const [name, role] of entries) {
    if (!names.includes(name)) throw new Error(`roles: no host named '${name}'`);
    const packages = ROLE_PACKAGES[role as KubeRole];
    if (!packages) throw new Error(`roles.${name}: '${String(role)}' is not a role (master or node)`);
    out.set(
      name,
      packages.flatMap((p) => repo.get(p)?.units ?? []),
    );
  }
  return out;
}

/** One host in `cluster.json`. */
export interface ClusterHostEntry {
  name: string;
  host: "127.0.0.1";
  port: number;
  user: "root";
  privateKeyPath: string;
  /** OpenSSH public key line of the host key (`ssh-ed25519 AAAA...`). */
  hostKey: string;
  /** `SHA256:...`, as ssh prints it. */
  hostKeyFingerprint: string;
  etcdClientPort: number;
}

/** `DIR/cluster.json`. */
export interface ClusterFile {
  hosts: ClusterHostEntry[];
}

/** `DIR/sim.json`: the simulator's own record of a cluster. */
export interface SimFile {
  dir: string;
  release: Release;
  layout: EtcdLayout;
  rpmOstreeVersion: RpmOstreeVersion;
  latencyMs: number;
  rebootDownMs: number;
  basePort: number;
  /** Whether the etcd hosts form one cluster (`ClusterOptions.etcdCluster`). */
  etcdCluster?: boolean;
  hosts: {
    name: string;
    sshPort: number;
    sshdPort: number;
    etcdClientPort: number;
    etcdPeerPort: number;
    etcd: boolean;
  }[];
}

export const PORTS_PER_HOST = 4;

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers

/** Host names from a count or a list, validated (they become folder and host names). */
export function hostNames(hosts: number | string[]): string[] {
  const names = typeof hosts === "number" ? Array.from({ length: hosts }, (_, i) => `host${i + 1}`) : hosts;
  if (names.length === 0) throw new Error("hosts: at least one host is needed");
  for (const n of names) {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(n))
      throw new Error(`hosts: '${n}' is not a valid host name ([a-z][a-z0-9-]*)`);
  }
  if (new Set(names).size !== names.length) throw new Error("hosts: names must be unique");
  return names;
}

/**
 * Which hosts run etcd. Unset means every host on Fedora 26 (etcd is in its base) and none on Fedora 27 (it is
 * not; a Fedora 27 host named here fails `up` with a message saying so).
 */
export function etcdHostSet(
  names: string[],
  etcdHosts: ClusterOptions["etcdHosts"],
  release: Release = 26,
): Set<string> {
  if (etcdHosts === undefined) return release === 26 ? new Set(names) : new Set();
  if (etcdHosts === "all") return new Set(names);
  if (typeof etcdHosts === "number") return new Set(names.slice(0, etcdHosts));
  for (const n of etcdHosts) if (!names.includes(n)) throw new Error(`etcdHosts: no host named '${n}'`);
  return new Set(etcdHosts);
}

/** Ports of host `index`. */
export function hostPorts(basePort: number, index: number, latencyMs: number) {
  const b = basePort + PORTS_PER_HOST * index;
  return { sshPort: b, sshdPort: latencyMs > 0 ? b + 1 : b, etcdClientPort: b + 2, etcdPeerPort: b + 3 };
}

/** Rejects a cluster folder the hosts could not see once their namespace mounts over it. */
export function validateClusterDir(dir: string): void {
  if (!path.isAbsolute(dir)) throw new Error(`dir: must be an absolute path, got ${dir}`);
  for (const m of MOUNTED_PATHS) {
    if (dir === m || dir.startsWith(`${m}/`)) {
      throw new Error(
        `dir: ${dir} is under ${m}, which every simulated host mounts over; use a folder under /tmp`,
      );
    }
  }
}

/** Unix socket paths are limited to 107 bytes; each host's control socket must fit. */
export function validateSocketPaths(dir: string, names: string[]): void {
  for (const n of names) {
    const sock = hostPaths(dir, n).supervisorSock;
    if (Buffer.byteLength(sock) > 107)
      throw new Error(`dir: ${dir} is too long (control socket ${sock} > 107 bytes)`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ports

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function blockFree(base: number, count: number): Promise<boolean> {
  for (let p = base; p < base + count; p++) if (!(await portFree(p))) return false;
  return true;
}

/** Ports the simulator picks from: below the kernel's ephemeral range (32768+), which outgoing connections use. */
const PORT_FLOOR = 10000;
const PORT_SPAN = 22000;
let searches = 0;

/**
 * A base port whose next `count` ports are all free, starting from a place derived from the pid and from how many
 * clusters this process started, so parallel runs and successive clusters differ.
 */
export async function findFreeBasePort(count: number): Promise<number> {
  const start = (process.pid * 97 + searches++ * 1013) % PORT_SPAN;
  for (let i = 0; i < 200; i++) {
    const base = PORT_FLOOR + ((start + i * (count + 17)) % (PORT_SPAN - count));
    if (await blockFree(base, count)) return base;
  }
  throw new Error(
    `no block of ${count} free ports found between ${PORT_FLOOR} and ${PORT_FLOOR + PORT_SPAN}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// up

function requireTool(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: the simulator needs ${what}`);
}

/** Checks the machine has what the simulator runs on. */
export function checkPrerequisites(): void {
  requireTool("/usr/sbin/sshd", "OpenSSH's sshd (apt-get install openssh-server)");
  requireTool("/usr/bin/unshare", "util-linux unshare");
  requireTool("/usr/bin/nsenter", "util-linux nsenter");
  requireTool("/usr/bin/etcd", "etcd (apt-get install etcd-server)");
  requireTool("/usr/bin/ostree", "Debian's ostree for each host's /ostree/repo (apt-get install ostree)");
  if (process.getuid?.() !== 0) throw new Error("the simulator must run as root (mount namespaces, sshd)");
  assertCompiled();
}

/** Starts a host's supervisor in new mount and UTS namespaces, detached from the caller. Returns its pid. */
function launchSupervisor(clusterDir: string, name: string): number {
  const p = hostPaths(clusterDir, name);
  const out = fs.openSync(p.supervisorLog, "a");
  try {
    const child = childProcess.spawn(
      "/usr/bin/unshare",
      ["--mount", "--uts", "--propagation", "private", "--", "/bin/sh", p.namespaceScript],
      {
        detached: true,
        cwd: "/",
        stdio: ["ignore", out, out],
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8" },
      },
    );
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start the supervisor of ${name}`);
    fs.writeFileSync(path.join(p.state, "supervisor.pid"), `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

function tail(file: string, chars = 1500): string {
  try {
    return fs.readFileSync(file, "utf8").slice(-chars).trim();
  } catch {
    return "";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls a host's supervisor until it is up; throws with the supervisor's own words when it fails. */
export async function waitHostUp(
  clusterDir: string,
  name: string,
  pid: number,
  timeoutMs: number,
): Promise<HostStatus> {
  const p = hostPaths(clusterDir, name);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await requestSupervisor(p.dir, { op: "status" }, 5000);
      const st = res.status;
      if (st?.state === "up") return st;
      if (st?.state === "failed") throw new Error(`${name} failed to boot: ${st.lastError}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOSUPERVISOR") throw err;
      if (processStartTicks(pid) === null) {
        throw new Error(`the supervisor of ${name} exited during start-up:\n${tail(p.supervisorLog)}`);
      }
    }
    await sleep(50);
  }
  throw new Error(`${name} did not boot within ${timeoutMs} ms; see ${p.supervisorLog}`);
}

/** Checks an etcd host really runs etcd after its first boot. */
function checkEtcdBooted(clusterDir: string, name: string, status: HostStatus): void {
  const p = hostPaths(clusterDir, name);
  const unitFile = [
    path.join(p.etcUpper, "systemd/system/etcd.service"),
    path.join(p.usrLibSystemd, "etcd.service"),
  ];
  if (!unitFile.some((f) => fs.existsSync(f))) {
    throw new Error(
      `${name}: its booted deployment ships no etcd.service (Fedora 27 Atomic Host has no etcd in its base), so ` +
        "it cannot run etcd. Use release 26, or leave it out of etcdHosts.",
    );
  }
  if (status.failedUnits.includes("etcd.service")) {
    throw new Error(`${name}: etcd.service failed at boot:\n${tail(path.join(p.units, "etcd.service.log"))}`);
  }
}

/** cluster.json entries from the hosts' files. */
export function clusterEntries(dir: string, sim: SimFile): ClusterHostEntry[] {
  return sim.hosts.map((h) => {
    const key = publicKeyLine(fs.readFileSync(hostPaths(dir, h.name).hostKeyPub, "utf8"));
    return {
      name: h.name,
      host: "127.0.0.1",
      port: h.sshPort,
      user: "root",
      privateKeyPath: path.join(dir, "id_ed25519"),
      hostKey: key,
      hostKeyFingerprint: sshFingerprint(key),
      etcdClientPort: h.etcdClientPort,
    };
  });
}

/** Rewrites cluster.json from the hosts' current files (after a host key change, say). */
export function writeClusterFile(dir: string): ClusterFile {
  const sim = readSimFile(dir);
  const file: ClusterFile = { hosts: clusterEntries(dir, sim) };
  writeJson(path.join(dir, "cluster.json"), file);
  return file;
}

export function readSimFile(dir: string): SimFile {
  const sim = readJson<SimFile | null>(path.join(dir, "sim.json"), null);
  if (!sim) throw new Error(`${dir} holds no simulated cluster (no sim.json)`);
  return sim;
}

function resolvePassword(password: ClusterOptions["password"], name: string): string | undefined {
  return typeof password === "string" ? password : password?.[name];
}

async function anySupervisorRunning(dir: string): Promise<boolean> {
  const sim = readJson<SimFile | null>(path.join(dir, "sim.json"), null);
  if (!sim) return false;
  for (const h of sim.hosts) {
    try {
      await requestSupervisor(hostPaths(dir, h.name).dir, { op: "status" }, 2000);
      return true;
    } catch {
      // not running
    }
  }
  return false;
}

/** `up` on a folder that holds a stopped cluster replaces it: the files this module created go (logs included). */
function removeStoppedCluster(dir: string): void {
  const sim = readJson<SimFile | null>(path.join(dir, "sim.json"), null);
  if (!sim) return;
  for (const h of sim.hosts) fs.rmSync(hostPaths(dir, h.name).dir, { recursive: true, force: true });
  for (const f of ["sim.json", "cluster.json", "id_ed25519", "id_ed25519.pub"]) {
    fs.rmSync(path.join(dir, f), { force: true });
  }
}

/** Creates and boots a cluster; resolves once every host accepts SSH. On failure nothing is left running. */
export async function startCluster(opts: ClusterOptions): Promise<ClusterFile> {
  checkPrerequisites();
  loadRpmOstreeState(); // fail before creating anything when the tools side is not built
  const dir = path.resolve(opts.dir);
  validateClusterDir(dir);
  const names = hostNames(opts.hosts);
  validateSocketPaths(dir, names);
  const etcd = etcdHostSet(names, opts.etcdHosts, opts.release ?? 26);
  const enabledUnits = roleUnits(names, opts.roles, opts.release ?? 26, opts.layout ?? "contrib");
  const latencyMs = opts.latencyMs ?? 0;
  if (await anySupervisorRunning(dir)) {
    throw new Error(`a cluster is already running in ${dir}: run down first`);
  }
  removeStoppedCluster(dir);
  const basePort = opts.basePort ?? (await findFreeBasePort(names.length * PORTS_PER_HOST));
  if (opts.basePort !== undefined && !(await blockFree(basePort, names.length * PORTS_PER_HOST))) {
    throw new Error(
      `basePort: ports ${basePort}-${basePort + names.length * PORTS_PER_HOST - 1} are not all free`,
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const sim: SimFile = {
    dir,
    release: opts.release ?? 26,
    layout: opts.layout ?? "contrib",
    rpmOstreeVersion: opts.rpmOstreeVersion ?? "2017.10",
    latencyMs,
    rebootDownMs: opts.rebootDownMs ?? 2000,
    basePort,
    etcdCluster: opts.etcdCluster === true,
    hosts: names.map((name, i) => ({ name, ...hostPorts(basePort, i, latencyMs), etcd: etcd.has(name) })),
  };
  const members = sim.hosts
    .filter((h) => h.etcd)
    .map((h) => ({ name: h.name, clientPort: h.etcdClientPort, peerPort: h.etcdPeerPort }));
  if (sim.etcdCluster)
    for (const w of etcdClusterWarnings(members.length)) process.stderr.write(`warning: ${w}\n`);
  // The cluster's etcd, which every host's flanneld is configured to use in the contrib layout (kubernetes/contrib's
  // ansible writes the etcd host's client URL into /etc/sysconfig/flanneld); the rpm layout keeps the package's
  // default (127.0.0.1:2379, the host's own etcd).
  const etcdHost = clusterEtcdHost(sim);
  // A multi-member cluster: every member's client URL, so flanneld keeps its etcd while one member restarts.
  const flannelEtcdEndpoints =
    sim.layout !== "contrib" || !etcdHost
      ? undefined
      : sim.etcdCluster
        ? members.map((m) => `http://127.0.0.1:${m.clientPort}`).join(",")
        : `http://127.0.0.1:${etcdHost.etcdClientPort}`;
  generateKey(path.join(dir, "id_ed25519"), `atomic-host-sim@${path.basename(dir)}`);
  const clientKey = fs.readFileSync(path.join(dir, "id_ed25519.pub"), "utf8");
  for (const h of sim.hosts) {
    await createHost(
      dir,
      {
        ...h,
        release: sim.release,
        layout: sim.layout,
        rpmOstreeVersion: sim.rpmOstreeVersion,
        latencyMs,
        rebootDownMs: sim.rebootDownMs,
        shutdownDelayMs: opts.shutdownDelayMs ?? 100,
        password: resolvePassword(opts.password, h.name),
        clientPublicKey: clientKey,
        etcdConf:
          sim.etcdCluster && h.etcd
            ? renderEtcdClusterConf(
                sim.layout,
                { name: h.name, clientPort: h.etcdClientPort, peerPort: h.etcdPeerPort },
                members,
              )
            : undefined,
        flannelStartTimeoutMs: opts.flannelStartTimeoutMs,
        flannelEtcdEndpoints,
        enabledUnits: enabledUnits.get(h.name),
      },
      renderExecWrapper,
    );
  }
  writeJson(path.join(dir, "sim.json"), sim);
  try {
    // Hosts with role units boot once the cluster's etcd is up and holds flannel's network config, as ansible set
    // up etcd and the config before the masters and nodes: their flanneld gets a lease at boot. The etcd host
    // itself boots first even with a role (etcd colocated on a master): its role units are started once the
    // config is there, as ansible's later play would.
    const boot = async (hosts: SimFile["hosts"]) => {
      const pids = hosts.map((h) => launchSupervisor(dir, h.name));
      const statuses = await Promise.all(
        hosts.map((h, i) => waitHostUp(dir, h.name, pids[i], opts.readyTimeoutMs ?? 120_000)),
      );
      hosts.forEach((h, i) => h.etcd && checkEtcdBooted(dir, h.name, statuses[i]));
      return statuses;
    };
    const early = sim.hosts.filter((h) => !enabledUnits.has(h.name) || h === etcdHost);
    const statuses = await boot(early);
    if (sim.layout === "contrib" && etcdHost) await setFlannelNetworkConfig(dir, CONTRIB_NETWORK_CONFIG);
    for (const [i, h] of early.entries()) {
      const units = enabledUnits.get(h.name);
      if (!units) continue;
      const r = await nsExec(
        hostPaths(dir, h.name).dir,
        statuses[i]!.supervisorPid,
        `systemctl start ${units.join(" ")}`,
        {},
      );
      if (r.exitCode !== 0)
        throw new Error(`${h.name}: starting its role's units failed: ${r.stderr.trim()}`);
    }
    await boot(sim.hosts.filter((h) => !early.includes(h)));
    return writeClusterFile(dir);
  } catch (err) {
    await stopCluster(dir).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// flannel's network config

/** The host whose etcd the cluster's flanneld uses: the first host that runs etcd, if any. */
export function clusterEtcdHost(sim: Pick<SimFile, "hosts">): SimFile["hosts"][number] | undefined {
  return sim.hosts.find((h) => h.etcd);
}

/**
 * Write (a JSON string) or delete (null) flannel's network config `/atomic.io/network/config` in the cluster's etcd
 * through its v2 API, as `etcdctl set /atomic.io/network/config '...'` does on a real cluster.
 */
export async function setFlannelNetworkConfig(dir: string, config: string | null): Promise<void> {
  const sim = readSimFile(path.resolve(dir));
  const host = clusterEtcdHost(sim);
  if (!host) throw new Error(`${dir}: no host runs etcd, so there is no network config to change`);
  const key = `${DEFAULT_FLANNEL_PREFIX}/config`;
  const r =
    config === null
      ? await etcdV2(host.etcdClientPort, "DELETE", key, undefined, 5000)
      : await etcdV2(host.etcdClientPort, "PUT", key, { value: config }, 5000);
  const ok = r && (r.status === 200 || r.status === 201 || (config === null && r.status === 404));
  if (!ok) {
    throw new Error(
      `${host.name}: etcd at 127.0.0.1:${host.etcdClientPort} did not take ${key}: ${r ? `${r.status} ${r.body}` : "no answer"}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// down

function readPid(dir: string, name: string): number | null {
  try {
    const n = Number(fs.readFileSync(path.join(hostPaths(dir, name).state, "supervisor.pid"), "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Stops one host: asks its supervisor to shut down, then makes sure nothing of it is left. */
async function stopHost(dir: string, name: string): Promise<void> {
  const p = hostPaths(dir, name);
  const pid = readPid(dir, name);
  try {
    await requestSupervisor(p.dir, { op: "shutdown" }, 30_000);
  } catch {
    // not running, or wedged: the sweep below handles both
  }
  for (let i = 0; pid !== null && processStartTicks(pid) !== null && i < 200; i++) await sleep(25);
  if (pid !== null && processStartTicks(pid) !== null) process.kill(pid, "SIGKILL");
  // Whatever a dead or wedged supervisor left: anything still mounting or naming this host's folders.
  await killHostProcesses(p.dir, [process.pid]);
  fs.rmSync(p.supervisorSock, { force: true });
}

/** Stops every host of the cluster in `dir`; leaves the folder (logs, state) in place. */
export async function stopCluster(dir: string): Promise<void> {
  const sim = readSimFile(path.resolve(dir));
  await Promise.all(sim.hosts.map((h) => stopHost(sim.dir, h.name)));
}

/** Pids of every live process of the cluster in `dir` (see `processesOfHost`). */
export function clusterProcesses(dir: string): number[] {
  const abs = path.resolve(dir);
  return processesOfHost(abs, [process.pid]);
}

// ---------------------------------------------------------------------------------------------------------------
// status

/** A host's status as `status` reports it; `stopped` = no supervisor runs. */
export type HostReport = Omit<HostStatus, "state"> & { state: HostState | "stopped" };

export async function clusterStatus(dir: string): Promise<HostReport[]> {
  const sim = readSimFile(path.resolve(dir));
  return Promise.all(
    sim.hosts.map(async (h): Promise<HostReport> => {
      const p = hostPaths(sim.dir, h.name);
      try {
        const res = await requestSupervisor(p.dir, { op: "status" }, 5000);
        if (res.status) return res.status;
      } catch {
        // fall through to the last recorded status
      }
      const last = readJson<Partial<HostStatus>>(p.statusJson, {});
      return {
        name: h.name,
        state: "stopped",
        port: h.sshPort,
        sshdPort: h.sshdPort,
        bootId: "",
        supervisorPid: 0,
        sshdPid: null,
        mountNamespace: last.mountNamespace ?? "",
        since: last.since ?? "",
        boots: last.boots ?? 0,
        failedUnits: [],
      };
    }),
  );
}
