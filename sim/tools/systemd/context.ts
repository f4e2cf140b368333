/**
 * Where a `systemctl` call acts: the host's paths and host.json, who owns unit processes (the supervisor or this
 * process), and the timeouts of start and stop. Also the unit-name rule every verb applies to its arguments.
 */
import * as os from "os";
import * as path from "path";
import type { HostJson, HostPaths } from "../../host";
import { DEFAULT_FLANNEL_START_TIMEOUT_MS, hostPathsFromDir, readJson } from "../../host";

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
export function hp(ctx: SystemdContext, p: string): string {
  return ctx.root + p;
}

/** `etcd` → `etcd.service`; names with a unit suffix stay as they are. */
export function normalizeUnitName(name: string): string {
  return /\.(service|socket|target|timer|mount|path|slice|scope|device|swap|automount)$/.test(name)
    ? name
    : `${name}.service`;
}
