/**
 * Where a stand-in tool is running: the host-path prefix, the sim's state directories and the clock. Shared by
 * the `atomic` and `rpm-ostree` stand-ins.
 *
 * Inside a simulated host (a mount namespace) every path is the real Fedora path and `ATOMIC_SIM_ROOT` is empty.
 * Tests outside a namespace set `ATOMIC_SIM_ROOT` and every host path is prefixed with it (sim/CONTRACT.md);
 * paths the tools *print* stay the real Fedora paths.
 */
import * as path from "path";

export interface HostEnv {
  /** `$ATOMIC_SIM_ROOT`, "" inside a namespace. */
  root: string;
  /** `$ATOMIC_SIM_HOST_DIR` (sim-private state in `<hostDir>/state`), if set. */
  hostDir: string | undefined;
  /** `$ATOMIC_SIM_CLUSTER_DIR` (the registry catalogue), if set. */
  clusterDir: string | undefined;
  /** The environment, for spawning `systemctl` and friends with the same PATH. */
  env: NodeJS.ProcessEnv;
  /** Current time, unix seconds: `$ATOMIC_SIM_CLOCK` when set (tests fix it), else the real clock. */
  now(): number;
  /** The on-disk location of a host path (`root` + `p`). */
  path(p: string): string;
}

/**
 * Parse `$ATOMIC_SIM_CLOCK`: unix seconds (`1511172672`) or an ISO-8601 instant (`2017-11-20T10:11:12Z`).
 * Returns undefined when unset or unparsable.
 */
export function parseClock(value: string | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function hostEnvFromProcess(env: NodeJS.ProcessEnv = process.env): HostEnv {
  const root = (env.ATOMIC_SIM_ROOT ?? "").replace(/\/+$/, "");
  const fixed = parseClock(env.ATOMIC_SIM_CLOCK);
  return {
    root,
    hostDir: env.ATOMIC_SIM_HOST_DIR || undefined,
    clusterDir: env.ATOMIC_SIM_CLUSTER_DIR || undefined,
    env,
    now: () => fixed ?? Math.floor(Date.now() / 1000),
    path: (p: string) => (root ? path.join(root, p) : p),
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Local-time `YYYY-MM-DD HH:MM:SS` (Python's `str(datetime.fromtimestamp(t))` for whole seconds). Node honours
 * `$TZ` from the process start, as Python does.
 */
export function formatLocalDateTime(t: number): string {
  const d = new Date(t * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** UTC `YYYY-MM-DD HH:MM:SS` (GLib's `g_date_time_format (utc, "%Y-%m-%d %T")`, as rpm-ostree status prints). */
export function formatUtcDateTime(t: number): string {
  const d = new Date(t * 1000);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** Go's RFC 3339 in local time (`2017-11-20T10:11:12Z` in UTC), as logrus stamps skopeo's messages. */
export function formatRfc3339Local(t: number): string {
  const d = new Date(t * 1000);
  const off = -d.getTimezoneOffset();
  const zone =
    off === 0
      ? "Z"
      : `${off > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return `${formatLocalDateTime(t).replace(" ", "T")}${zone}`;
}
