/**
 * `systemctl` stand-in (systemd 234, as in Fedora 26/27).
 *
 * Map of what each verb does on a simulated host:
 * - `enable` / `disable [--now]` / `is-enabled`: symlinks in `/etc/systemd/system/<target>.wants/`, exactly where
 *   systemd keeps them (so `ls` on the host agrees with `is-enabled`).
 * - `start` / `stop` / `restart`: run by the host's supervisor (the simulator's "PID 1"), which spawns the unit's
 *   process as its own child, detached in its own session, and reaps it; the verb is forwarded over the control
 *   socket. With no supervisor (tools run outside a host, `$ATOMIC_SIM_ROOT` tests) the same code runs in-process.
 * - `is-active` / `is-failed` / `status` / `show`: the state recorded in `DIR/<host>/state/units/<unit>.json`,
 *   checked against `/proc` (the recorded pid must still be that process, and not a zombie).
 * - `reboot` / `poweroff`: ask the supervisor to reboot / power off the host.
 * - `daemon-reload`: nothing to do; unit files are read on every call.
 *
 * What a unit runs: the RPM `etcd.service` (ExecStart names /usr/bin/etcd) and a runc system container whose
 * config.json runs etcd both run the machine's real `/usr/bin/etcd`, with the data dir the real layout implies
 * (see `planEtcdForRpmUnit` and `planEtcdForContainer`). Every other unit runs `sleep infinity`, so its state is
 * that of a real process.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { classifyExecStart, systemContainerRunsEtcd, systemContainerRunsFlannel } from "../catalog";
import {
  DEFAULT_FLANNEL_PREFIX,
  acquireLease,
  endpointPorts,
  previousSubnet,
  readNetworkConfig,
  renderDockerOpts,
  renderSubnetEnv,
} from "./flannel";
import type { HostJson, HostPaths, UnitActionResult } from "../host";
import {
  DEFAULT_FLANNEL_START_TIMEOUT_MS,
  hostPathsFromDir,
  readJson,
  requestSupervisor,
  writeJson,
} from "../host";

// ---------------------------------------------------------------------------------------------------------------
// Context

/** Where this systemctl acts, and who owns unit processes. */
export interface SystemdContext {
  /** Prefix of every host path (`$ATOMIC_SIM_ROOT`, "" inside a host's namespace). */
  root: string;
  paths: HostPaths;
  host: HostJson;
  /** `supervisor`: unit processes are the supervisor's children; `standalone`: this process spawns and leaves. */
  manager: "supervisor" | "standalone";
  /** Host name, for etcd-env.sh's `$HOSTNAME`. */
  hostname: string;
  /** How long `stop` waits after SIGTERM before SIGKILL, ms (systemd's TimeoutStopSec is 90 s; etcd needs < 1 s). */
  stopTimeoutMs: number;
  /** How long `start` waits for etcd to serve, ms. */
  startTimeoutMs: number;
  /**
   * How long `start` waits for flanneld's lease, ms: the unit's start timeout (systemd's TimeoutStartSec, 90 s by
   * default), short in the simulator (host.json `flannelStartTimeoutMs`, default 5000).
   */
  flannelStartTimeoutMs: number;
}

/** Context from the environment the exec wrapper / tool stubs set (contract: ATOMIC_SIM_HOST_DIR, ATOMIC_SIM_ROOT). */
export function contextFromEnv(manager: SystemdContext["manager"]): SystemdContext {
  const hostDir = process.env.ATOMIC_SIM_HOST_DIR;
  if (!hostDir) throw new Error("ATOMIC_SIM_HOST_DIR is not set: run this tool on a simulated host");
  const paths = hostPathsFromDir(hostDir);
  const name = path.basename(paths.dir);
  const host = readJson<HostJson>(paths.hostJson, {
    name,
    release: 27,
    layout: "rpm",
    rpmOstreeVersion: "2017.10",
    etcdClientPort: 2379,
    etcdPeerPort: 2380,
    reachable: true,
  });
  return {
    root: process.env.ATOMIC_SIM_ROOT ?? "",
    paths,
    host,
    manager,
    hostname: process.env.ATOMIC_SIM_ROOT ? host.name : os.hostname(),
    stopTimeoutMs: 10_000,
    startTimeoutMs: 60_000,
    flannelStartTimeoutMs: host.flannelStartTimeoutMs ?? DEFAULT_FLANNEL_START_TIMEOUT_MS,
  };
}

/** A host path as this process sees it. */
function hp(ctx: SystemdContext, p: string): string {
  return ctx.root + p;
}

/** `etcd` → `etcd.service`; names with a unit suffix stay as they are. */
export function normalizeUnitName(name: string): string {
  return /\.(service|socket|target|timer|mount|path|slice|scope|device|swap|automount)$/.test(name)
    ? name
    : `${name}.service`;
}

// ---------------------------------------------------------------------------------------------------------------
// Unit files

/** Section → key → values (a key may repeat, e.g. `After=`, `Environment=`). */
export type UnitSections = Record<string, Record<string, string[]>>;

/** Parses systemd's ini dialect: sections, `Key=Value`, `#`/`;` comments, backslash line continuations. */
export function parseUnitFile(text: string): UnitSections {
  const sections: UnitSections = {};
  let current: Record<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !current) continue;
    const key = line.slice(0, eq).trim();
    (current[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return sections;
}

/** A unit as systemctl uses it. */
export interface Unit {
  name: string;
  /** Host path of the file that defines it (systemd's FragmentPath). */
  fragmentPath: string;
  description: string;
  execStart: string;
  environmentFiles: { path: string; optional: boolean }[];
  environment: Record<string, string>;
  workingDirectory?: string;
  runtimeDirectories: string[];
  after: string[];
  wantedBy: string[];
  requiredBy: string[];
  hasInstallSection: boolean;
  /** Service Type= (`simple` when unset): `notify` makes `start` wait until the service is ready. */
  type: string;
}

/** Directories units load from, in systemd's priority order (admin config overrides the image). */
export const UNIT_DIRS = ["/etc/systemd/system", "/usr/lib/systemd/system"];

function words(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => splitQuoted(v)).filter((w) => w !== "");
}

/** Splits on whitespace, honouring "double" and 'single' quotes (systemd's `Environment=` / ExecStart rules). */
export function splitQuoted(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]));
  }
  return out;
}

/** Builds a `Unit` from a parsed file. */
export function unitFromSections(name: string, fragmentPath: string, s: UnitSections): Unit {
  const service = s.Service ?? {};
  const environment: Record<string, string> = {};
  for (const w of words(service.Environment)) {
    const eq = w.indexOf("=");
    if (eq > 0) environment[w.slice(0, eq)] = w.slice(eq + 1);
  }
  const last = (vals: string[] | undefined) => (vals && vals.length ? vals[vals.length - 1] : undefined);
  return {
    name,
    fragmentPath,
    description: last(s.Unit?.Description) ?? name,
    execStart: (service.ExecStart ?? []).filter((v) => v !== "").pop() ?? "",
    environmentFiles: (service.EnvironmentFile ?? []).map((v) =>
      v.startsWith("-") ? { path: v.slice(1), optional: true } : { path: v, optional: false },
    ),
    environment,
    workingDirectory: last(service.WorkingDirectory)?.replace(/^-/, ""),
    runtimeDirectories: words(service.RuntimeDirectory),
    after: words(s.Unit?.After),
    wantedBy: words(s.Install?.WantedBy),
    requiredBy: words(s.Install?.RequiredBy),
    hasInstallSection: s.Install !== undefined,
    type: last(service.Type) ?? "simple",
  };
}

/** Loads a unit from `/etc/systemd/system`, then `/usr/lib/systemd/system`; null when neither has it. */
export function loadUnit(ctx: SystemdContext, name: string): Unit | null {
  for (const dir of UNIT_DIRS) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(hp(ctx, file), "utf8");
    } catch {
      continue;
    }
    return unitFromSections(name, file, parseUnitFile(text));
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Enablement: symlinks in /etc/systemd/system/<target>.{wants,requires}/

/** Every enablement symlink of `unit` that exists (host paths). */
export function enablementLinks(ctx: SystemdContext, unit: string): string[] {
  const base = "/etc/systemd/system";
  let entries: string[];
  try {
    entries = fs.readdirSync(hp(ctx, base));
  } catch {
    return [];
  }
  return entries
    .filter((d) => d.endsWith(".wants") || d.endsWith(".requires"))
    .map((d) => path.join(base, d, unit))
    .filter((link) => {
      try {
        fs.lstatSync(hp(ctx, link));
        return true;
      } catch {
        return false;
      }
    });
}

/** `enabled` / `disabled` / `static` (no [Install] section), as `systemctl is-enabled` prints it. */
export function unitFileState(ctx: SystemdContext, unit: Unit): "enabled" | "disabled" | "static" {
  if (enablementLinks(ctx, unit.name).length > 0) return "enabled";
  return unit.hasInstallSection ? "disabled" : "static";
}

const NO_INSTALL_CONFIG = [
  "The unit files have no installation config (WantedBy, RequiredBy, Also, Alias",
  "settings in the [Install] section, and DefaultInstance for template units).",
  "This means they are not meant to be enabled using systemctl.",
  "",
].join("\n");

/** Creates the [Install] symlinks; returns systemd's stderr lines for the links it created. */
export function enableUnit(ctx: SystemdContext, unit: Unit): string {
  if (unit.wantedBy.length + unit.requiredBy.length === 0) return NO_INSTALL_CONFIG;
  let out = "";
  const links = [
    ...unit.wantedBy.map((t) => `/etc/systemd/system/${t}.wants/${unit.name}`),
    ...unit.requiredBy.map((t) => `/etc/systemd/system/${t}.requires/${unit.name}`),
  ];
  for (const link of links) {
    try {
      fs.lstatSync(hp(ctx, link));
      continue;
    } catch {
      // not there yet: create it below
    }
    fs.mkdirSync(path.dirname(hp(ctx, link)), { recursive: true });
    fs.symlinkSync(unit.fragmentPath, hp(ctx, link));
    out += `Created symlink ${link} \u2192 ${unit.fragmentPath}.\n`;
  }
  return out;
}

/** Removes every enablement symlink of the unit; returns systemd 234's stderr lines. */
export function disableUnit(ctx: SystemdContext, name: string): string {
  let out = "";
  for (const link of enablementLinks(ctx, name)) {
    fs.rmSync(hp(ctx, link), { force: true });
    out += `Removed ${link}.\n`;
  }
  return out;
}

/** Units enabled for boot (multi-user.target and the targets it pulls in), ordered by their After= lines. */
export function unitsEnabledAtBoot(ctx: SystemdContext): Unit[] {
  const names = new Set<string>();
  for (const target of ["multi-user.target", "default.target", "sysinit.target", "basic.target"]) {
    try {
      for (const n of fs.readdirSync(hp(ctx, `/etc/systemd/system/${target}.wants`))) names.add(n);
    } catch {
      // no such target folder
    }
  }
  const units = [...names].map((n) => loadUnit(ctx, n)).filter((u): u is Unit => u !== null);
  return orderByAfter(units);
}

/** Stable topological order: a unit comes after every unit it names in After=. */
export function orderByAfter(units: Unit[]): Unit[] {
  const byName = new Map(units.map((u) => [u.name, u]));
  const done = new Set<string>();
  const out: Unit[] = [];
  const visit = (u: Unit, stack: Set<string>) => {
    if (done.has(u.name) || stack.has(u.name)) return;
    stack.add(u.name);
    for (const dep of u.after) {
      const d = byName.get(dep);
      if (d) visit(d, stack);
    }
    done.add(u.name);
    out.push(u);
  };
  for (const u of units) visit(u, new Set());
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Environment files (systemd EnvironmentFile= and the `source` of etcd-env.sh read the same KEY=VALUE lines)

/** Parses `KEY=VALUE` lines: comments, blank lines, `export`, and one level of quotes. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    if (quoted) value = quoted[1];
    env[m[1]] = value;
  }
  return env;
}

/** The environment systemd gives a unit: EnvironmentFile= files in order, then Environment=. */
function unitEnvironment(ctx: SystemdContext, unit: Unit): Record<string, string> | { missing: string } {
  const env: Record<string, string> = {};
  for (const f of unit.environmentFiles) {
    let text: string;
    try {
      text = fs.readFileSync(hp(ctx, f.path), "utf8");
    } catch {
      if (f.optional) continue;
      return { missing: f.path };
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return Object.assign(env, unit.environment);
}

// ---------------------------------------------------------------------------------------------------------------
// What a unit runs

/** How a unit's main process is started. */
export type ProcessPlan =
  | {
      kind: "etcd";
      argv: string[];
      env: Record<string, string>;
      cwd: string;
      /** Port of the first client URL: readiness is `GET /health` there. */
      clientPort: number;
      /** Host path of the data dir etcd will use (for status output and tests). */
      dataDir: string;
    }
  | { kind: "placeholder"; argv: string[]; env: Record<string, string>; cwd: string }
  /**
   * flanneld (flannel.ts): a placeholder process that is ready once an endpoint serves `<prefix>/config`;
   * `runDir` is the host folder its /run/flannel is (subnet.env, docker).
   */
  | {
      kind: "flannel";
      argv: string[];
      env: Record<string, string>;
      cwd: string;
      ports: number[];
      prefix: string;
      runDir: string;
    }
  /**
   * The unit cannot start. `exit-code`: its process runs and fails (runc's error is `log`); `resources`: systemd
   * cannot even spawn it (a missing EnvironmentFile=).
   */
  | { kind: "fail"; log: string; result: "exit-code" | "resources" };

const BASE_PROCESS_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
};

/**
 * Rewrites etcd URLs for the simulator. All hosts share the machine's loopback, so the well-known ports map to
 * the host's own (2379 → etcdClientPort, 2380 → etcdPeerPort) and every host name becomes 127.0.0.1, which also
 * keeps etcd off the machine's other interfaces. Other ports are kept.
 */
export function mapEtcdUrls(urls: string, host: Pick<HostJson, "etcdClientPort" | "etcdPeerPort">): string {
  return urls
    .split(",")
    .map((raw) => {
      const s = raw.trim();
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return s;
      }
      const port =
        u.port === "2379"
          ? String(host.etcdClientPort)
          : u.port === "2380"
            ? String(host.etcdPeerPort)
            : u.port;
      return `${u.protocol}//127.0.0.1:${port || "80"}`;
    })
    .join(",");
}

/** `name=url,...` (ETCD_INITIAL_CLUSTER) with each URL mapped as in `mapEtcdUrls`. */
function mapInitialCluster(value: string, host: HostJson): string {
  return value
    .split(",")
    .map((member) => {
      const eq = member.indexOf("=");
      return eq < 0 ? member : `${member.slice(0, eq)}=${mapEtcdUrls(member.slice(eq + 1), host)}`;
    })
    .join(",");
}

/**
 * Final etcd plan from the environment etcd would see. `resolveDir` turns a data-dir value (absolute or
 * relative, in the process's own view) into a host path: identity for the RPM unit, the container's mounts for
 * a system container.
 */
export function etcdPlan(
  ctx: SystemdContext,
  sourceEnv: Record<string, string>,
  resolveDir: (dir: string) => string,
): Extract<ProcessPlan, { kind: "etcd" }> {
  const env: Record<string, string> = {};
  // etcd treats an empty ETCD_* like an unset one; the container exports every manifest default, mostly "".
  for (const [k, v] of Object.entries(sourceEnv)) if (!k.startsWith("ETCD_") || v !== "") env[k] = v;
  const name = env.ETCD_NAME ?? "default";
  env.ETCD_NAME = name;
  env.ETCD_DATA_DIR = resolveDir(env.ETCD_DATA_DIR ?? `${name}.etcd`);
  if (env.ETCD_WAL_DIR) env.ETCD_WAL_DIR = resolveDir(env.ETCD_WAL_DIR);
  const h = ctx.host;
  env.ETCD_LISTEN_CLIENT_URLS = mapEtcdUrls(env.ETCD_LISTEN_CLIENT_URLS ?? "http://localhost:2379", h);
  env.ETCD_ADVERTISE_CLIENT_URLS = mapEtcdUrls(env.ETCD_ADVERTISE_CLIENT_URLS ?? "http://localhost:2379", h);
  env.ETCD_LISTEN_PEER_URLS = mapEtcdUrls(env.ETCD_LISTEN_PEER_URLS ?? "http://localhost:2380", h);
  env.ETCD_INITIAL_ADVERTISE_PEER_URLS = mapEtcdUrls(
    env.ETCD_INITIAL_ADVERTISE_PEER_URLS ?? "http://localhost:2380",
    h,
  );
  env.ETCD_INITIAL_CLUSTER = env.ETCD_INITIAL_CLUSTER
    ? mapInitialCluster(env.ETCD_INITIAL_CLUSTER, h)
    : `${name}=${env.ETCD_INITIAL_ADVERTISE_PEER_URLS.split(",")[0]}`;
  // etcd 3.1/3.2 (Fedora 26/27) served the v2 API by default; 3.4 does not unless asked.
  env.ETCD_ENABLE_V2 ??= "true";
  const clientPort = Number(new URL(env.ETCD_LISTEN_CLIENT_URLS.split(",")[0]).port);
  return {
    kind: "etcd",
    argv: ["/usr/bin/etcd"],
    env: { ...BASE_PROCESS_ENV, ...env },
    cwd: "/",
    clientPort,
    dataDir: env.ETCD_DATA_DIR,
  };
}

/** The RPM etcd.service: EnvironmentFile=-/etc/etcd/etcd.conf; a relative data dir is under WorkingDirectory. */
export function planEtcdForRpmUnit(
  ctx: SystemdContext,
  unit: Unit,
  env: Record<string, string>,
): ProcessPlan {
  const cwd = unit.workingDirectory ?? "/";
  return etcdPlan(ctx, env, (dir) => hp(ctx, path.resolve(cwd, dir)));
}

/** The parts of an OCI config.json the simulator reads. */
interface OciConfig {
  process?: { args?: string[]; env?: string[]; cwd?: string };
  mounts?: { destination: string; source?: string; type?: string; options?: string[] }[];
}

/** Container path → host path through the bind mounts (longest destination wins), else inside the rootfs. */
export function containerToHostPath(config: OciConfig, bundle: string, containerPath: string): string {
  const p = path.posix.normalize(containerPath);
  let best: { destination: string; source: string } | undefined;
  for (const m of config.mounts ?? []) {
    if (!m.source || !(m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind")))
      continue;
    const d = path.posix.normalize(m.destination).replace(/\/$/, "") || "/";
    if ((p === d || p.startsWith(`${d}/`) || d === "/") && (!best || d.length > best.destination.length)) {
      best = { destination: d, source: m.source };
    }
  }
  if (!best) return path.posix.join(bundle, "rootfs", p);
  return path.posix.join(best.source, path.posix.relative(best.destination, p));
}

/**
 * etcd in the atomic-system-containers etcd image. `etcd-env.sh` does, in order:
 * `export ETCD_NAME=${ETCD_NAME:-$HOSTNAME}; export ETCD_DATA_DIR=/var/lib/etcd/${NAME}.etcd;
 * [ -e /etc/etcd/etcd.conf ] && source /etc/etcd/etcd.conf; exec "$@"`. `source` only changes what reaches etcd
 * for variables already exported (config.json exports every manifest default). Paths are container paths:
 * `/var/lib/etcd` is the host's `/var/lib/etcd/${NAME}.etcd`, so contrib's ETCD_DATA_DIR=/var/lib/etcd means host
 * /var/lib/etcd/etcd.etcd, and no ETCD_DATA_DIR means host /var/lib/etcd/etcd.etcd/etcd.etcd.
 */
export function planEtcdForContainer(ctx: SystemdContext, config: OciConfig, bundle: string): ProcessPlan {
  const env: Record<string, string> = {};
  for (const kv of config.process?.env ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const containerName = env.NAME ?? path.basename(bundle).replace(/\.\d+$/, "");
  env.ETCD_NAME = env.ETCD_NAME || ctx.hostname;
  env.ETCD_DATA_DIR = `/var/lib/etcd/${containerName}.etcd`;
  const conf = containerToHostPath(config, bundle, "/etc/etcd/etcd.conf");
  if (fs.existsSync(hp(ctx, conf))) {
    for (const [k, v] of Object.entries(parseEnvironmentFile(fs.readFileSync(hp(ctx, conf), "utf8")))) {
      if (k in env) env[k] = v;
    }
  }
  const cwd = config.process?.cwd ?? "/";
  return etcdPlan(ctx, env, (dir) =>
    hp(ctx, containerToHostPath(config, bundle, path.posix.resolve(cwd, dir))),
  );
}

/** What a runc ExecStart runs: bundle = WorkingDirectory (atomic sets it to the checkout) or the atomic default. */
function planRuncUnit(ctx: SystemdContext, unit: Unit, name: string): ProcessPlan {
  const bundle = unit.workingDirectory ?? `/var/lib/containers/atomic/${name}`;
  let text: string;
  let config: OciConfig;
  try {
    text = fs.readFileSync(hp(ctx, path.join(bundle, "config.json")), "utf8");
    config = JSON.parse(text) as OciConfig;
  } catch (err) {
    return {
      kind: "fail",
      result: "exit-code",
      log: `runc: loading ${bundle}/config.json: ${(err as Error).message}\n`,
    };
  }
  // runc fails when a bind mount's source is missing (e.g. the etcd data dir tmpfiles should have created).
  for (const m of config.mounts ?? []) {
    const isBind = m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
    if (isBind && m.source && !fs.existsSync(hp(ctx, m.source))) {
      return {
        kind: "fail",
        result: "exit-code",
        log:
          `container_linux.go:348: starting container process caused "process_linux.go:402: container init ` +
          `caused \\"rootfs_linux.go:58: mounting \\\\\\"${m.source}\\\\\\" to rootfs \\\\\\"${bundle}/rootfs\\\\\\" ` +
          `at \\\\\\"${m.destination}\\\\\\" caused \\\\\\"stat ${m.source}: no such file or directory\\\\\\"\\""\n`,
      };
    }
  }
  if (systemContainerRunsEtcd(text)) return planEtcdForContainer(ctx, config, bundle);
  if (systemContainerRunsFlannel(text)) {
    // flanneld-run.sh: `source /etc/sysconfig/flanneld` (the host's file, bind-mounted) for the endpoints.
    const sysconfig = containerToHostPath(config, bundle, "/etc/sysconfig/flanneld");
    let env: Record<string, string> = {};
    try {
      env = parseEnvironmentFile(fs.readFileSync(hp(ctx, sysconfig), "utf8"));
    } catch {
      env = {};
    }
    return flannelPlan(ctx, env, containerToHostPath(config, bundle, "/run/flannel"));
  }
  return placeholderPlan(ctx);
}

/**
 * flanneld with FLANNEL_ETCD_ENDPOINTS / FLANNEL_ETCD_PREFIX as its start script passes them (`-etcd-endpoints`,
 * `-etcd-prefix`; flanneld's own default endpoint is http://127.0.0.1:2379). Endpoints map to the hosts' ports
 * as etcd's do (`mapEtcdUrls`).
 */
function flannelPlan(ctx: SystemdContext, env: Record<string, string>, runDir: string): ProcessPlan {
  const endpoints = mapEtcdUrls(env.FLANNEL_ETCD_ENDPOINTS || "http://127.0.0.1:2379", ctx.host);
  return {
    ...(placeholderPlan(ctx) as Extract<ProcessPlan, { kind: "placeholder" }>),
    kind: "flannel",
    ports: endpointPorts(endpoints),
    prefix: (env.FLANNEL_ETCD_PREFIX || DEFAULT_FLANNEL_PREFIX).replace(/\/+$/, ""),
    runDir,
  };
}

function placeholderPlan(ctx: SystemdContext): ProcessPlan {
  return {
    kind: "placeholder",
    argv: ["sleep", "infinity"],
    env: { ...BASE_PROCESS_ENV },
    cwd: hp(ctx, "/") || "/",
  };
}

/** Decides what `unit`'s main process is (catalog.ts classifies the ExecStart line, per the contract). */
export function planUnitProcess(ctx: SystemdContext, unit: Unit): ProcessPlan {
  const env = unitEnvironment(ctx, unit);
  if ("missing" in env) {
    return {
      kind: "fail",
      result: "resources",
      log: `${unit.name}: Failed to load environment files: No such file or directory (${env.missing})\n`,
    };
  }
  const kind = classifyExecStart(unit.execStart);
  if (kind.kind === "runc") return planRuncUnit(ctx, unit, kind.container);
  if (kind.kind === "etcd-rpm") return planEtcdForRpmUnit(ctx, unit, env);
  if (kind.kind === "flannel-rpm") return flannelPlan(ctx, env, "/run/flannel");
  return placeholderPlan(ctx);
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime state (DIR/<host>/state/units/<unit>.json) and /proc checks

/** What systemctl records about a unit's process. */
export interface UnitRuntime {
  unit: string;
  phase: "activating" | "active" | "deactivating" | "inactive" | "failed";
  pid?: number;
  /** /proc/<pid>/stat start time, so a reused pid is never mistaken for the unit. */
  startTicks?: string;
  since: string;
  result?: "success" | "exit-code" | "signal" | "timeout" | "resources";
  exitCode?: number;
  signal?: string;
  manager: SystemdContext["manager"];
  command?: string;
  dataDir?: string;
}

export type ActiveState = "active" | "inactive" | "failed" | "activating" | "deactivating";

function runtimeFile(ctx: SystemdContext, unit: string): string {
  return path.join(ctx.paths.units, `${unit}.json`);
}

export function readRuntime(ctx: SystemdContext, unit: string): UnitRuntime | null {
  return readJson<UnitRuntime | null>(runtimeFile(ctx, unit), null);
}

export function writeRuntime(ctx: SystemdContext, rt: UnitRuntime): void {
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  writeJson(runtimeFile(ctx, rt.unit), rt);
}

/** Start time of a live (non-zombie) process, or null when it is gone. */
export function processStartTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the parenthesised command name: state is the 1st, starttime the 20th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return fields[19] ?? null;
}

/** True when the runtime's recorded pid is still the unit's process. */
export function runtimeAlive(rt: UnitRuntime | null): boolean {
  return !!rt?.pid && processStartTicks(rt.pid) === rt.startTicks;
}

/** `systemctl is-active`'s answer. A recorded process that vanished without a stop counts as failed. */
export function activeState(ctx: SystemdContext, unit: string): ActiveState {
  const rt = readRuntime(ctx, unit);
  if (!rt) return "inactive";
  if (rt.phase === "inactive" || rt.phase === "failed") return rt.phase;
  return runtimeAlive(rt) ? rt.phase : "failed";
}

// ---------------------------------------------------------------------------------------------------------------
// Starting and stopping real processes

/** Live children of this process by unit: the supervisor reaps them and records how they ended. */
const children = new Map<string, childProcess.ChildProcess>();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function appendUnitLog(ctx: SystemdContext, unit: string, line: string): void {
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  fs.appendFileSync(path.join(ctx.paths.units, `${unit}.log`), `${new Date().toISOString()} ${line}\n`);
}

/** One probe of etcd's /health (200 and `"health":"true"` once it has a leader and serves). */
function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(res.statusCode === 200 && /"health"\s*:\s*"?true/.test(body)));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

const jobFailed = (unit: string, why: string) =>
  `Job for ${unit} failed because ${why}.\nSee "systemctl status ${unit}" and "journalctl -xe" for details.\n`;

/** Records how a child the supervisor owns ended, unless a stop is already handling it. */
function onChildExit(
  ctx: SystemdContext,
  unit: string,
  pid: number,
  code: number | null,
  sig: NodeJS.Signals | null,
) {
  if (children.get(unit)?.pid === pid) children.delete(unit);
  const rt = readRuntime(ctx, unit);
  if (!rt || rt.pid !== pid || (rt.phase !== "active" && rt.phase !== "activating")) return;
  appendUnitLog(ctx, unit, `main process exited, code=${code ?? "killed"}${sig ? ` signal=${sig}` : ""}`);
  const clean = code === 0;
  writeRuntime(ctx, {
    ...rt,
    phase: clean ? "inactive" : "failed",
    since: new Date().toISOString(),
    result: clean ? "success" : sig ? "signal" : "exit-code",
    exitCode: code ?? undefined,
    signal: sig ?? undefined,
  });
}

/** Spawns the unit's process: detached (own session and process group), stdio to the unit's log. */
function spawnUnitProcess(ctx: SystemdContext, unit: Unit, plan: Exclude<ProcessPlan, { kind: "fail" }>) {
  const log = fs.openSync(path.join(ctx.paths.units, `${unit.name}.log`), "a");
  try {
    const child = childProcess.spawn(plan.argv[0], plan.argv.slice(1), {
      cwd: fs.existsSync(plan.cwd) ? plan.cwd : "/",
      env: plan.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
    return child;
  } finally {
    fs.closeSync(log);
  }
}

/** Waits until etcd serves, its process ends, or the start times out. */
async function waitEtcdReady(
  ctx: SystemdContext,
  rt: UnitRuntime,
  port: number,
): Promise<"ready" | "died" | "timeout"> {
  const deadline = Date.now() + ctx.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!runtimeAlive(rt)) return "died";
    if (await etcdHealthy(port)) return "ready";
    await sleep(100);
  }
  return "timeout";
}

/**
 * Waits until flanneld would have its lease (an endpoint serves `<prefix>/config`), then takes the lease and writes
 * subnet.env and the docker options as flanneld and mk-docker-opts.sh do (flannel.ts). Otherwise the unit's start
 * timeout ends the wait, as flanneld retries forever while etcd or the config is missing.
 */
async function waitFlannelReady(
  ctx: SystemdContext,
  rt: UnitRuntime,
  plan: Extract<ProcessPlan, { kind: "flannel" }>,
): Promise<"ready" | "died" | "timeout"> {
  const deadline = Date.now() + ctx.flannelStartTimeoutMs;
  const runDir = hp(ctx, plan.runDir);
  let previous: string | undefined;
  try {
    previous = previousSubnet(fs.readFileSync(path.join(runDir, "subnet.env"), "utf8"));
  } catch {
    previous = undefined;
  }
  while (Date.now() < deadline) {
    if (!runtimeAlive(rt)) return "died";
    const found = await readNetworkConfig(plan.ports, plan.prefix);
    if (found) {
      const subnet = await acquireLease(found.port, plan.prefix, found.config, previous);
      if (subnet) {
        const env = renderSubnetEnv(found.config, subnet);
        fs.mkdirSync(runDir, { recursive: true });
        fs.writeFileSync(path.join(runDir, "subnet.env"), env);
        fs.writeFileSync(path.join(runDir, "docker"), renderDockerOpts(env));
        appendUnitLog(ctx, rt.unit, `Lease acquired: ${subnet}`);
        return "ready";
      }
    }
    await sleep(100);
  }
  appendUnitLog(
    ctx,
    rt.unit,
    `Failed to get the network config at ${plan.prefix}/config: no etcd endpoint has it`,
  );
  return "timeout";
}

/**
 * `systemctl start` of one unit. Like systemd, a Type=simple unit is "active" as soon as its process is forked
 * (the etcd system container's unit is one: its start returns before etcd serves), while a Type=notify unit
 * (the RPM etcd.service) is "activating" until the service says it is ready: here, until etcd's /health answers.
 */
export async function startUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  const unit = loadUnit(ctx, name);
  if (!unit) return { exitCode: 5, stderr: `Failed to start ${name}: Unit ${name} not found.\n` };
  const state = activeState(ctx, name);
  if (state === "active" || state === "activating") return { exitCode: 0, stderr: "" };
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  for (const dir of unit.runtimeDirectories)
    fs.mkdirSync(hp(ctx, path.join("/run", dir)), { recursive: true });
  const plan = planUnitProcess(ctx, unit);
  appendUnitLog(ctx, name, `Starting ${unit.description}...`);
  if (plan.kind === "fail") return startFailed(ctx, unit, plan);
  const child = spawnUnitProcess(ctx, unit, plan);
  const pid = child.pid;
  if (pid === undefined) {
    writeRuntime(ctx, {
      unit: name,
      phase: "failed",
      since: nowIso(),
      result: "resources",
      manager: ctx.manager,
    });
    return { exitCode: 1, stderr: jobFailed(name, "of unavailable resources or another system error") };
  }
  const waitsForReady = unit.type === "notify" && (plan.kind === "etcd" || plan.kind === "flannel");
  const rt: UnitRuntime = {
    unit: name,
    phase: waitsForReady ? "activating" : "active",
    pid,
    startTicks: (await ticksOf(pid)) ?? undefined,
    since: nowIso(),
    manager: ctx.manager,
    command: plan.argv.join(" "),
    dataDir: plan.kind === "etcd" ? plan.dataDir : undefined,
  };
  writeRuntime(ctx, rt);
  children.set(name, child);
  let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
  child.on("exit", (code, sig) => {
    exit = { code, sig };
    onChildExit(ctx, name, pid, code, sig);
  });
  if (ctx.manager === "standalone") child.unref();
  if (!waitsForReady) return { exitCode: 0, stderr: "" };
  const outcome =
    plan.kind === "flannel"
      ? await waitFlannelReady(ctx, rt, plan)
      : await waitEtcdReady(ctx, rt, plan.kind === "etcd" ? plan.clientPort : 0);
  if (outcome === "ready") {
    writeRuntime(ctx, { ...rt, phase: "active", since: nowIso() });
    return { exitCode: 0, stderr: "" };
  }
  if (outcome === "timeout") {
    await killUnitProcess(ctx, rt);
    writeRuntime(ctx, { ...rt, phase: "failed", since: nowIso(), result: "timeout" });
    return { exitCode: 1, stderr: jobFailed(name, "a timeout was exceeded") };
  }
  await sleep(20); // let the exit event land so the recorded exit status is the real one
  writeRuntime(ctx, {
    ...rt,
    phase: "failed",
    since: nowIso(),
    result: exit?.sig ? "signal" : "exit-code",
    exitCode: exit?.code ?? undefined,
    signal: exit?.sig ?? undefined,
  });
  return { exitCode: 1, stderr: jobFailed(name, "the control process exited with error code") };
}

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A unit whose process cannot run. systemd reports a spawn failure (`resources`) to `start` whatever the type;
 * a process that runs and fails fails the start only when start waits for it (not Type=simple).
 */
function startFailed(
  ctx: SystemdContext,
  unit: Unit,
  plan: Extract<ProcessPlan, { kind: "fail" }>,
): UnitActionResult {
  appendUnitLog(ctx, unit.name, plan.log.trimEnd());
  writeRuntime(ctx, {
    unit: unit.name,
    phase: "failed",
    since: nowIso(),
    result: plan.result,
    exitCode: plan.result === "exit-code" ? 1 : undefined,
    manager: ctx.manager,
  });
  if (plan.result === "resources") {
    return { exitCode: 1, stderr: jobFailed(unit.name, "of unavailable resources or another system error") };
  }
  if (unit.type === "simple") return { exitCode: 0, stderr: "" };
  return { exitCode: 1, stderr: jobFailed(unit.name, "the control process exited with error code") };
}

/** /proc start time of a just-spawned pid (retried: the entry can lag the spawn by a moment). */
async function ticksOf(pid: number): Promise<string | null> {
  for (let i = 0; i < 20; i++) {
    const t = processStartTicks(pid);
    if (t !== null) return t;
    await sleep(5);
  }
  return null;
}

/** SIGTERM to the unit's process group, SIGKILL after the stop timeout; resolves once it is gone. */
async function killUnitProcess(ctx: SystemdContext, rt: UnitRuntime): Promise<void> {
  if (!rt.pid || !runtimeAlive(rt)) return;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rt.pid!, sig);
    } catch {
      try {
        process.kill(rt.pid!, sig);
      } catch {
        // already gone
      }
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + ctx.stopTimeoutMs;
  while (runtimeAlive(rt) && Date.now() < deadline) await sleep(25);
  if (runtimeAlive(rt)) signalGroup("SIGKILL");
  while (runtimeAlive(rt)) await sleep(25);
}

/** `systemctl stop` of one unit: waits until its process has exited. */
export async function stopUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  const unit = loadUnit(ctx, name);
  const rt = readRuntime(ctx, name);
  if (!unit && !rt) return { exitCode: 5, stderr: `Failed to stop ${name}: Unit ${name} not loaded.\n` };
  if (rt && runtimeAlive(rt)) {
    writeRuntime(ctx, { ...rt, phase: "deactivating" });
    appendUnitLog(ctx, name, `Stopping ${unit?.description ?? name}...`);
    await killUnitProcess(ctx, rt);
    appendUnitLog(ctx, name, `Stopped ${unit?.description ?? name}.`);
  }
  if (rt && rt.phase !== "inactive") {
    writeRuntime(ctx, {
      unit: name,
      phase: "inactive",
      since: new Date().toISOString(),
      result: "success",
      manager: ctx.manager,
    });
  }
  for (const dir of unit?.runtimeDirectories ?? [])
    fs.rmSync(hp(ctx, path.join("/run", dir)), { recursive: true, force: true });
  return { exitCode: 0, stderr: "" };
}

/** `systemctl restart`: stop, then start (an unknown unit is "not found", as systemd says for restart). */
export async function restartUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  if (!loadUnit(ctx, name))
    return { exitCode: 5, stderr: `Failed to restart ${name}: Unit ${name} not found.\n` };
  await stopUnit(ctx, name);
  return startUnit(ctx, name);
}

/** Runs start/stop/restart over several units, in order; the exit code is the first failure's. */
export async function runUnitAction(
  ctx: SystemdContext,
  action: "start" | "stop" | "restart",
  names: string[],
): Promise<UnitActionResult> {
  const fn = action === "start" ? startUnit : action === "stop" ? stopUnit : restartUnit;
  let exitCode = 0;
  let stderr = "";
  for (const name of names) {
    const r = await fn(ctx, normalizeUnitName(name));
    stderr += r.stderr;
    if (r.exitCode !== 0 && exitCode === 0) exitCode = r.exitCode;
  }
  return { exitCode, stderr };
}

/** Forgets every unit's runtime state: after a reboot or power loss nothing is running. */
export function resetAllRuntime(ctx: SystemdContext): void {
  children.clear();
  let files: string[];
  try {
    files = fs.readdirSync(ctx.paths.units);
  } catch {
    return;
  }
  for (const f of files) if (f.endsWith(".json")) fs.rmSync(path.join(ctx.paths.units, f), { force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Text output: status / show / list-units

function subState(state: ActiveState): string {
  return {
    active: "running",
    activating: "start",
    deactivating: "stop-sigterm",
    inactive: "dead",
    failed: "failed",
  }[state];
}

function formatSince(iso: string): string {
  const d = new Date(iso);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const pad = (n: number) => String(n).padStart(2, "0");
  const ago = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  return (
    `${days[d.getUTCDay()]} ${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC; ${ago}s ago`
  );
}

/** `systemctl status UNIT` text (the header block; there is no journal to show). */
export function renderStatus(ctx: SystemdContext, unit: Unit): string {
  const state = activeState(ctx, unit.name);
  const rt = readRuntime(ctx, unit.name);
  const dot = state === "active" ? "\u25cf" : state === "failed" ? "\u25cf" : "\u25cb";
  const lines = [
    `${dot} ${unit.name} - ${unit.description}`,
    `   Loaded: loaded (${unit.fragmentPath}; ${unitFileState(ctx, unit)}; vendor preset: disabled)`,
  ];
  const since = rt ? ` since ${formatSince(rt.since)}` : "";
  if (state === "failed") lines.push(`   Active: failed (Result: ${rt?.result ?? "exit-code"})${since}`);
  else lines.push(`   Active: ${state} (${subState(state)})${state === "inactive" && !rt ? "" : since}`);
  if (rt?.pid && runtimeAlive(rt))
    lines.push(` Main PID: ${rt.pid} (${path.basename(rt.command?.split(" ")[0] ?? "")})`);
  return `${lines.join("\n")}\n`;
}

/** Properties `systemctl show` knows about. */
export function unitProperties(ctx: SystemdContext, name: string, unit: Unit | null): Record<string, string> {
  const state = unit || readRuntime(ctx, name) ? activeState(ctx, name) : "inactive";
  const rt = readRuntime(ctx, name);
  return {
    Id: name,
    Names: name,
    Description: unit?.description ?? name,
    LoadState: unit ? "loaded" : "not-found",
    ActiveState: state,
    SubState: subState(state),
    FragmentPath: unit?.fragmentPath ?? "",
    UnitFileState: unit ? unitFileState(ctx, unit) : "",
    MainPID: String(rt?.pid && runtimeAlive(rt) ? rt.pid : 0),
    ExecMainStatus: String(rt?.exitCode ?? 0),
    Result: rt?.result ?? "success",
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Command line

interface Parsed {
  verb: string;
  units: string[];
  now: boolean;
  quiet: boolean;
  value: boolean;
  properties: string[];
}

/** Splits `systemctl [OPTIONS...] COMMAND [UNIT...]`; unknown options (--no-pager, --system...) are ignored. */
export function parseSystemctlArgs(argv: string[]): Parsed {
  const out: Parsed = {
    verb: "list-units",
    units: [],
    now: false,
    quiet: false,
    value: false,
    properties: [],
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--now") out.now = true;
    else if (a === "-q" || a === "--quiet") out.quiet = true;
    else if (a === "--value") out.value = true;
    else if (a === "-p" || a === "--property") out.properties.push(...(argv[++i] ?? "").split(","));
    else if (a.startsWith("--property=")) out.properties.push(...a.slice(11).split(","));
    else if (a === "-n" || a === "--lines" || a === "-t" || a === "--type" || a === "--state") i++;
    else if (a.startsWith("-")) continue;
    else positional.push(a);
  }
  if (positional.length) out.verb = positional[0];
  out.units = positional.slice(1).map(normalizeUnitName);
  return out;
}

/** Output of one systemctl invocation. */
export interface SystemctlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** start/stop/restart through the supervisor when the host has one, else in this process. */
async function unitAction(ctx: SystemdContext, action: "start" | "stop" | "restart", units: string[]) {
  try {
    const res = await requestSupervisor(ctx.paths.dir, { op: "unit", action, units });
    if (!res.ok || !res.unit)
      return { exitCode: 1, stderr: `Failed to ${action}: ${res.error ?? "no answer"}\n` };
    return res.unit;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSUPERVISOR") throw err;
    return runUnitAction({ ...ctx, manager: "standalone" }, action, units);
  }
}

async function hostPowerAction(ctx: SystemdContext, op: "reboot" | "kill"): Promise<SystemctlResult> {
  try {
    const res = await requestSupervisor(ctx.paths.dir, { op }, 10_000);
    return res.ok
      ? { exitCode: 0, stdout: "", stderr: "" }
      : {
          exitCode: 1,
          stdout: "",
          stderr: `Failed to ${op === "kill" ? "power off" : "reboot"} system: ${res.error}\n`,
        };
  } catch {
    return { exitCode: 1, stdout: "", stderr: "Failed to connect to bus: No such file or directory\n" };
  }
}

function isEnabledCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  let stderr = "";
  let anyEnabled = false;
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit) {
      stderr += `Failed to get unit file state for ${name}: No such file or directory\n`;
      continue;
    }
    const s = unitFileState(ctx, unit);
    if (s !== "disabled") anyEnabled = true;
    stdout += `${s}\n`;
  }
  return { exitCode: anyEnabled ? 0 : 1, stdout: p.quiet ? "" : stdout, stderr };
}

function isActiveCmd(ctx: SystemdContext, p: Parsed, wanted: ActiveState): SystemctlResult {
  let stdout = "";
  let found = false;
  for (const name of p.units) {
    const s = activeState(ctx, name);
    if (s === wanted) found = true;
    stdout += `${s}\n`;
  }
  // systemd: 0 when at least one unit is in the asked-for state; is-active uses 3 (LSB "not running") otherwise.
  return { exitCode: found ? 0 : wanted === "active" ? 3 : 1, stdout: p.quiet ? "" : stdout, stderr: "" };
}

async function enableCmd(ctx: SystemdContext, p: Parsed): Promise<SystemctlResult> {
  let stderr = "";
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit)
      return {
        exitCode: 1,
        stdout: "",
        stderr: `${stderr}Failed to enable unit: Unit file ${name} does not exist.\n`,
      };
    stderr += enableUnit(ctx, unit);
  }
  if (!p.now) return { exitCode: 0, stdout: "", stderr };
  const r = await unitAction(ctx, "start", p.units);
  return { exitCode: r.exitCode, stdout: "", stderr: stderr + r.stderr };
}

async function disableCmd(ctx: SystemdContext, p: Parsed): Promise<SystemctlResult> {
  let stderr = "";
  for (const name of p.units) {
    if (!loadUnit(ctx, name) && enablementLinks(ctx, name).length === 0) {
      return {
        exitCode: 1,
        stdout: "",
        stderr: `${stderr}Failed to disable unit: Unit file ${name} does not exist.\n`,
      };
    }
    stderr += disableUnit(ctx, name);
  }
  if (!p.now) return { exitCode: 0, stdout: "", stderr };
  const r = await unitAction(ctx, "stop", p.units);
  return { exitCode: r.exitCode, stdout: "", stderr: stderr + r.stderr };
}

function statusCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  let stderr = "";
  let exitCode = 0;
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit) {
      stderr += `Unit ${name} could not be found.\n`;
      exitCode = 4;
      continue;
    }
    stdout += (stdout ? "\n" : "") + renderStatus(ctx, unit);
    if (activeState(ctx, name) !== "active" && exitCode === 0) exitCode = 3;
  }
  return { exitCode, stdout, stderr };
}

function showCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  for (const name of p.units) {
    const props = unitProperties(ctx, name, loadUnit(ctx, name));
    const keys = p.properties.length ? p.properties.filter((k) => k !== "") : Object.keys(props);
    for (const k of keys) stdout += p.value ? `${props[k] ?? ""}\n` : `${k}=${props[k] ?? ""}\n`;
    if (p.units.length > 1) stdout += "\n";
  }
  return { exitCode: 0, stdout, stderr: "" };
}

function listUnitsCmd(ctx: SystemdContext): SystemctlResult {
  let files: string[] = [];
  try {
    files = fs.readdirSync(ctx.paths.units).filter((f) => f.endsWith(".json"));
  } catch {
    // nothing has run yet
  }
  const rows = files
    .map((f) => f.slice(0, -5))
    .map((name) => ({ name, state: activeState(ctx, name), unit: loadUnit(ctx, name) }))
    .filter((r) => r.state !== "inactive");
  const lines = ["UNIT LOAD ACTIVE SUB DESCRIPTION"];
  for (const r of rows)
    lines.push(`${r.name} loaded ${r.state} ${subState(r.state)} ${r.unit?.description ?? ""}`);
  lines.push("", `${rows.length} loaded units listed.`);
  return { exitCode: 0, stdout: `${lines.join("\n")}\n`, stderr: "" };
}

const NEEDS_UNITS = new Set([
  "start",
  "stop",
  "restart",
  "try-restart",
  "reload-or-restart",
  "enable",
  "disable",
  "is-active",
  "is-enabled",
  "is-failed",
  "status",
]);

/** Runs one systemctl command line against `ctx`. */
export async function systemctl(ctx: SystemdContext, argv: string[]): Promise<SystemctlResult> {
  const p = parseSystemctlArgs(argv);
  if (NEEDS_UNITS.has(p.verb) && p.units.length === 0) {
    return { exitCode: 1, stdout: "", stderr: `Too few arguments.\n` };
  }
  const ok = (stderr = ""): SystemctlResult => ({ exitCode: 0, stdout: "", stderr });
  switch (p.verb) {
    case "start":
    case "stop":
    case "restart": {
      const r = await unitAction(ctx, p.verb, p.units);
      return { exitCode: r.exitCode, stdout: "", stderr: r.stderr };
    }
    case "try-restart":
    case "reload-or-restart": {
      const r = await unitAction(ctx, "restart", p.units);
      return { exitCode: r.exitCode, stdout: "", stderr: r.stderr };
    }
    case "enable":
      return enableCmd(ctx, p);
    case "disable":
      return disableCmd(ctx, p);
    case "is-enabled":
      return isEnabledCmd(ctx, p);
    case "is-active":
      return isActiveCmd(ctx, p, "active");
    case "is-failed":
      return isActiveCmd(ctx, p, "failed");
    case "status":
      return statusCmd(ctx, p);
    case "show":
      return showCmd(ctx, p);
    case "list-units":
      return listUnitsCmd(ctx);
    case "daemon-reload":
    case "reset-failed":
      return ok();
    case "reboot":
      return hostPowerAction(ctx, "reboot");
    case "poweroff":
    case "halt":
      return hostPowerAction(ctx, "kill");
    default:
      return { exitCode: 1, stdout: "", stderr: `Unknown operation ${p.verb}.\n` };
  }
}

/** `systemctl ARGV...` as a command run on the host (the Node entry point and the host's tool server). */
export async function runSystemctlCommand(argv: string[]): Promise<SystemctlResult> {
  try {
    return await systemctl(contextFromEnv("standalone"), argv);
  } catch (err) {
    return { exitCode: 1, stdout: "", stderr: `systemctl: ${(err as Error).message}\n` };
  }
}

async function main(): Promise<void> {
  const result = await runSystemctlCommand(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr, () => process.exit(result.exitCode));
}

if (require.main === module) void main();
