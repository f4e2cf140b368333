/**
 * What a unit runs. The RPM `etcd.service` (ExecStart names /usr/bin/etcd) and a runc system container whose
 * config.json runs etcd both run the machine's real `/usr/bin/etcd`, with the data dir the real layout implies
 * (`planEtcdForRpmUnit`, `planEtcdForContainer`); flanneld waits for its network config (flannel.ts); every other
 * unit runs `sleep infinity`, so its state is that of a real process. Pure planning: nothing is spawned here.
 */
import * as fs from "fs";
import * as path from "path";
import { classifyExecStart, systemContainerRunsEtcd, systemContainerRunsFlannel } from "../../catalog";
import type { HostJson } from "../../host";
import { DEFAULT_FLANNEL_PREFIX, endpointPorts } from "../flannel";
import type { SystemdContext } from "./context";
import { hp } from "./context";
import { parseEnvironmentFile, unitEnvironment } from "./environment";
import type { Unit } from "./units";

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
