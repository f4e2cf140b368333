/**
 * HealthGate, pure: the checks a gate can run on a host, their validation, the commands they run and what each
 * says at preview. The provider (impl/healthGateProvider.ts) polls them over SSH.
 */
import type { DiffTable } from "./diff";
import type { CheckFailure } from "./validateHelpers";
import { fail, ok, tail, type ParseResult } from "./result";

/** One check of a gate. Every check is retried until it passes or its `timeoutSeconds` runs out. */
export type HealthCheck =
  /** `systemctl is-active UNIT` prints `active`. */
  | { kind: "unitActive"; name: string; unit: string; timeoutSeconds?: number }
  /**
   * flanneld holds a lease: it writes `FLANNEL_NETWORK`/`FLANNEL_SUBNET` to `/run/flannel/subnet.env` once etcd
   * gave it a subnet (flannel's `subnet.env` writer, `main.go` `WriteSubnetFile`).
   */
  | { kind: "flannelLease"; name: string; path?: string; timeoutSeconds?: number }
  /** Every member of the etcd cluster this host's etcdctl reaches is healthy. */
  | { kind: "etcdCluster"; name: string; timeoutSeconds?: number }
  /**
   * This host's etcd member is healthy, has `memberId` (when given: the ID it had before it was stopped) and its
   * raft index is within `maxRaftLag` of the leader's.
   */
  | { kind: "etcdMember"; name: string; memberId?: string; maxRaftLag?: number; timeoutSeconds?: number }
  /** A user's command (run by `sh -c`): passes on exit 0. */
  | { kind: "command"; name: string; command: string; timeoutSeconds?: number };

export const HEALTH_CHECK_KINDS = [
  "unitActive",
  "flannelLease",
  "etcdCluster",
  "etcdMember",
  "command",
] as const;

export const HEALTH_GATE_DEFAULTS = {
  /** Long enough for etcd to elect and flanneld to get a lease on a loaded host; a gate that passes is quick. */
  timeoutSeconds: 120,
  flannelSubnetFile: "/run/flannel/subnet.env",
  /**
   * Raft entries a rejoined member may trail the leader by. The two indexes come from one `endpoint status` call
   * (milliseconds apart) while clients keep writing; a member still replaying trails by thousands.
   */
  maxRaftLag: 50,
} as const;

/** How long a check keeps trying, seconds. */
export function checkTimeoutSeconds(check: HealthCheck): number {
  return check.timeoutSeconds ?? HEALTH_GATE_DEFAULTS.timeoutSeconds;
}

/** The single command of a one-command check (etcd checks run several: see the provider). */
export function buildHealthCheckCommand(check: HealthCheck): string[] | undefined {
  switch (check.kind) {
    case "unitActive":
      return ["systemctl", "is-active", "--", check.unit];
    case "flannelLease":
      return ["cat", "--", check.path ?? HEALTH_GATE_DEFAULTS.flannelSubnetFile];
    case "command":
      return ["sh", "-c", check.command];
    default:
      return undefined;
  }
}

/** Whether a one-command check's output means it passed; the failure sentence otherwise. */
export function judgeHealthCheck(
  check: HealthCheck,
  out: { exitCode: number | null; stdout: string; stderr: string },
): ParseResult<string> {
  const said = tail(`${out.stdout}\n${out.stderr}`, 600);
  switch (check.kind) {
    case "unitActive": {
      const state = out.stdout.trim().split("\n").pop() ?? "";
      return state === "active" ? ok(state) : fail(`${check.unit} is ${state || "unknown"}`);
    }
    case "flannelLease": {
      const file = check.path ?? HEALTH_GATE_DEFAULTS.flannelSubnetFile;
      if (out.exitCode !== 0) return fail(`flanneld holds no lease: ${file} is missing (${said})`);
      const subnet = /^FLANNEL_SUBNET=(\S+)/m.exec(out.stdout);
      return subnet ? ok(`FLANNEL_SUBNET=${subnet[1]}`) : fail(`${file} has no FLANNEL_SUBNET: ${said}`);
    }
    case "command":
      return out.exitCode === 0 ? ok(tail(out.stdout, 200)) : fail(`exit ${out.exitCode ?? "none"}: ${said}`);
    default:
      return fail(`${check.kind} is not a one-command check`);
  }
}

/** What a check does, for `commands` at preview. */
export function describeHealthCheck(check: HealthCheck): string {
  const within = `(retried for up to ${checkTimeoutSeconds(check)} s)`;
  switch (check.kind) {
    case "etcdCluster":
      return `${check.name}: etcdctl member list, endpoint status and endpoint health: every member healthy ${within}`;
    case "etcdMember":
      return (
        `${check.name}: this host's etcd member healthy${check.memberId ? " with the member ID it had before the migration" : ""}, ` +
        `raft index within ${check.maxRaftLag ?? HEALTH_GATE_DEFAULTS.maxRaftLag} of the leader's ${within}`
      );
    default:
      return `${check.name}: ${buildHealthCheckCommand(check)!.join(" ")} ${within}`;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$/;

/** Check-time validation of a gate's `checks`. */
export function validateHealthChecks(checks: unknown, property = "checks"): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const bad = (p: string, reason: string) => failures.push({ property: p, reason: `${p} ${reason}` });
  if (!Array.isArray(checks) || checks.length === 0) {
    bad(property, "must be a non-empty list of checks {kind, name, ...}");
    return failures;
  }
  const names = new Set<string>();
  checks.forEach((c: any, i) => {
    const at = `${property}[${i}]`;
    if (typeof c !== "object" || c === null) return bad(at, "must be an object {kind, name, ...}");
    if (!HEALTH_CHECK_KINDS.includes(c.kind))
      bad(`${at}.kind`, `must be one of ${HEALTH_CHECK_KINDS.join(", ")}`);
    if (typeof c.name !== "string" || !NAME.test(c.name))
      bad(
        `${at}.name`,
        "must be 1-100 letters, digits, spaces or . _ : / -, starting with a letter or digit",
      );
    else if (names.has(c.name)) bad(`${at}.name`, `duplicates another check's name "${c.name}"`);
    else names.add(c.name);
    if (
      c.timeoutSeconds !== undefined &&
      !(Number.isInteger(c.timeoutSeconds) && c.timeoutSeconds >= 1 && c.timeoutSeconds <= 3600)
    )
      bad(`${at}.timeoutSeconds`, "must be a whole number of seconds from 1 to 3600");
    if (c.kind === "unitActive" && (typeof c.unit !== "string" || !/^[A-Za-z0-9@._:-]+$/.test(c.unit)))
      bad(`${at}.unit`, "must be a unit name (letters, digits, @ . _ : -)");
    if (
      c.kind === "flannelLease" &&
      c.path !== undefined &&
      (typeof c.path !== "string" || !c.path.startsWith("/"))
    )
      bad(`${at}.path`, "must be an absolute path");
    if (
      c.kind === "command" &&
      (typeof c.command !== "string" || c.command.trim() === "" || c.command.length > 4096)
    )
      bad(`${at}.command`, "must be a non-empty shell command of at most 4096 characters");
    if (c.kind === "etcdMember") {
      if (c.memberId !== undefined && (typeof c.memberId !== "string" || !/^\d{1,20}$/.test(c.memberId)))
        bad(`${at}.memberId`, "must be a member ID in decimal, as etcdctl -w json prints it");
      if (c.maxRaftLag !== undefined && !(Number.isInteger(c.maxRaftLag) && c.maxRaftLag >= 0))
        bad(`${at}.maxRaftLag`, "must be a whole number >= 0");
    }
  });
  return failures;
}

/**
 * A gate is re-run by an update: it has nothing on the host to replace. `triggers` carries what the gated batch
 * changed (image digests, migration times), so the gate runs again exactly when its batch changed, and a second
 * `up` over a converged cluster finds no difference and opens no connection.
 */
export const HEALTH_GATE_DIFF: DiffTable = {
  resource: "HealthGate",
  rows: [
    {
      path: "connection.host",
      onChange: "update",
      why: "a gate holds nothing on its host: checking elsewhere is a re-run",
    },
    { path: "connection.port", onChange: "update", default: 22, why: "as connection.host" },
    { path: "checks", onChange: "update", why: "other checks: run them" },
    { path: "triggers", onChange: "update", default: [], why: "the gated batch changed: check it again" },
  ],
  deleteBeforeReplace: false,
};
