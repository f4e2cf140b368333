/**
 * etcd cluster health, pure: the etcdctl commands that read a cluster's members, status and health, parsers of
 * their output, and the decisions built on them (may this member stop without losing quorum? has it rejoined as
 * the same member and caught up?).
 *
 * etcdctl speaks the v3 API here (`ETCDCTL_API=3`): Fedora 26/27's etcd 3.1/3.2 default their etcdctl to the v2
 * API, whose `cluster-health` gives neither member IDs by endpoint nor raft indexes. `member list -w json` and
 * `endpoint status -w json` exist in 3.1 onwards; `endpoint health` is read as text (its `-w json` form came later),
 * from stdout and stderr together (etcdctl 3.4 prints it on stderr). Fixtures: tests/fixtures/etcd/.
 */
import { fail, ok, stringsOf, tail, type ParseResult } from "./result";

/** One member, as `member list` reports it. IDs are uint64: kept as decimal text (JSON numbers lose digits). */
export interface EtcdMember {
  /** Decimal, as etcdctl's JSON prints it. */
  id: string;
  /** Hex, as etcdctl's table and etcd's logs print it. */
  idHex: string;
  /** Empty for a member added but not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export interface EtcdMemberList {
  clusterId: string;
  /** The member that answered (the one behind the endpoint asked). */
  answeredBy: string;
  members: EtcdMember[];
}

/** One endpoint's `endpoint status`. */
export interface EtcdEndpointStatus {
  endpoint: string;
  memberId: string;
  /** The leader this member knows of; "0" when it has none. */
  leader: string;
  raftIndex: number;
  raftTerm: number;
  version: string;
}

/** One endpoint's `endpoint health`. */
export interface EtcdEndpointHealth {
  endpoint: string;
  healthy: boolean;
  /** etcdctl's words when unhealthy ("failed to commit proposal: context deadline exceeded"). */
  error?: string;
}

/** Everything read about a cluster in one look. */
export interface EtcdClusterView {
  list: EtcdMemberList;
  statuses: EtcdEndpointStatus[];
  /** Endpoints whose status could not be read, with etcdctl's reason. */
  unreachable: { endpoint: string; error: string }[];
  health: EtcdEndpointHealth[];
}

/** One member's state, joined from the three reads. */
export interface EtcdMemberState {
  member: EtcdMember;
  healthy: boolean;
  /** Why not, when not healthy. */
  problem?: string;
  status?: EtcdEndpointStatus;
  isLeader: boolean;
}

/**
 * Bounded waits: etcdctl's defaults (5 s dial, 5 s per command) make one dead member cost 5 s per read; the checks
 * poll instead.
 */
const ETCDCTL = ["env", "ETCDCTL_API=3", "etcdctl", "--dial-timeout=2s", "--command-timeout=4s"];

/** `member list` through the host's default endpoint (the local member: etcdctl's default is 127.0.0.1:2379). */
export function buildEtcdMemberListCommand(endpoint?: string): string[] {
  return [...ETCDCTL, ...(endpoint ? [`--endpoints=${endpoint}`] : []), "member", "list", "-w", "json"];
}

export function buildEtcdEndpointStatusCommand(endpoints: readonly string[]): string[] {
  return [...ETCDCTL, `--endpoints=${endpoints.join(",")}`, "endpoint", "status", "-w", "json"];
}

export function buildEtcdEndpointHealthCommand(endpoints: readonly string[]): string[] {
  return [...ETCDCTL, `--endpoints=${endpoints.join(",")}`, "endpoint", "health"];
}

/** Decimal uint64 text → 16-digit hex, as etcd prints member IDs. */
export function memberIdHex(decimal: string): string {
  return /^\d+$/.test(decimal) ? BigInt(decimal).toString(16).padStart(16, "0") : decimal;
}

/** Quotes the uint64 fields etcdctl prints as bare numbers, so JSON.parse keeps every digit. */
function parseWithBigIds(text: string): unknown {
  return JSON.parse(text.replace(/"(ID|cluster_id|member_id|leader)":(\d+)/g, '"$1":"$2"'));
}

/** The first JSON value in `text` (etcdctl may print warnings around it). */
function jsonPart(text: string, open: "{" | "["): string | undefined {
  const start = text.indexOf(open);
  const end = text.lastIndexOf(open === "{" ? "}" : "]");
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}

export function parseEtcdMemberList(stdout: string): ParseResult<EtcdMemberList> {
  const text = jsonPart(stdout, "{");
  if (!text) return fail(`no JSON in member list output: ${tail(stdout)}`);
  let raw: any;
  try {
    raw = parseWithBigIds(text);
  } catch (err) {
    return fail(`member list output is not JSON (${(err as Error).message}): ${tail(stdout)}`);
  }
  if (!Array.isArray(raw?.members)) return fail(`member list output has no members: ${tail(stdout)}`);
  const members: EtcdMember[] = [];
  for (const m of raw.members) {
    if (typeof m?.ID !== "string") return fail(`a member has no ID: ${tail(JSON.stringify(m))}`);
    members.push({
      id: m.ID,
      idHex: memberIdHex(m.ID),
      name: typeof m.name === "string" ? m.name : "",
      peerURLs: stringsOf(m.peerURLs),
      clientURLs: stringsOf(m.clientURLs),
    });
  }
  return ok({
    clusterId: String(raw.header?.cluster_id ?? ""),
    answeredBy: String(raw.header?.member_id ?? ""),
    members,
  });
}

/**
 * `endpoint status -w json`: a JSON array of the endpoints that answered on stdout (also when etcdctl exits 1
 * because some did not), and one `Failed to get the status of endpoint URL (reason)` line per silent one on stderr.
 */
export function parseEtcdEndpointStatus(
  stdout: string,
  stderr: string,
): ParseResult<{ statuses: EtcdEndpointStatus[]; unreachable: { endpoint: string; error: string }[] }> {
  const statuses: EtcdEndpointStatus[] = [];
  const text = jsonPart(stdout, "[");
  if (text) {
    let raw: any;
    try {
      raw = parseWithBigIds(text);
    } catch (err) {
      return fail(`endpoint status output is not JSON (${(err as Error).message}): ${tail(stdout)}`);
    }
    if (!Array.isArray(raw)) return fail(`endpoint status output is not a list: ${tail(stdout)}`);
    for (const e of raw) {
      const s = e?.Status;
      if (typeof e?.Endpoint !== "string" || typeof s?.header?.member_id !== "string")
        return fail(`an endpoint status has no Endpoint or member_id: ${tail(JSON.stringify(e))}`);
      statuses.push({
        endpoint: e.Endpoint,
        memberId: s.header.member_id,
        leader: typeof s.leader === "string" ? s.leader : "0",
        raftIndex: Number(s.raftIndex ?? 0),
        raftTerm: Number(s.raftTerm ?? s.header.raft_term ?? 0),
        version: String(s.version ?? ""),
      });
    }
  }
  const unreachable = [...stderr.matchAll(/^Failed to get the status of endpoint (\S+) \((.*)\)\s*$/gm)].map(
    (m) => ({ endpoint: m[1], error: m[2] }),
  );
  if (statuses.length === 0 && unreachable.length === 0)
    return fail(`endpoint status printed neither statuses nor failures: ${tail(stdout + stderr)}`);
  return ok({ statuses, unreachable });
}

/** `endpoint health` as text: `URL is healthy: ...` / `URL is unhealthy: REASON`, one line per endpoint. */
export function parseEtcdEndpointHealth(output: string): EtcdEndpointHealth[] {
  const out: EtcdEndpointHealth[] = [];
  for (const m of output.matchAll(/^(\S+) is (healthy|unhealthy): (.*)$/gm)) {
    out.push(
      m[2] === "healthy"
        ? { endpoint: m[1], healthy: true }
        : { endpoint: m[1], healthy: false, error: m[3] },
    );
  }
  return out;
}

/** Each member's state: healthy when one of its client URLs answered both status and health. */
export function memberStates(view: EtcdClusterView): EtcdMemberState[] {
  const leaders = new Set(view.statuses.map((s) => s.leader).filter((l) => l !== "0"));
  return view.list.members.map((member) => {
    const status = view.statuses.find((s) => s.memberId === member.id);
    const health = view.health.filter((h) => member.clientURLs.includes(h.endpoint));
    const unreachable = view.unreachable.find((u) => member.clientURLs.includes(u.endpoint));
    let problem: string | undefined;
    if (member.name === "" || member.clientURLs.length === 0)
      problem = "added but never started (no name or client URL)";
    else if (!status) problem = `does not answer${unreachable ? `: ${unreachable.error}` : ""}`;
    else if (status.leader === "0") problem = "answers but has no leader";
    else if (!health.some((h) => h.healthy))
      problem = `cannot commit: ${health.find((h) => !h.healthy)?.error ?? "no health answer"}`;
    return { member, healthy: problem === undefined, problem, status, isLeader: leaders.has(member.id) };
  });
}

/** The member table a person reads in an error or a progress line. */
export function formatMemberStates(states: readonly EtcdMemberState[]): string {
  return states
    .map((s) => {
      const where = s.member.clientURLs[0] ?? "-";
      const what = s.healthy
        ? `healthy, raft index ${s.status?.raftIndex}${s.isLeader ? ", leader" : ""}`
        : s.problem;
      return `${s.member.name || "(unstarted)"} ${s.member.idHex} ${where}: ${what}`;
    })
    .join("\n");
}

/** A majority of `n` members. */
export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

export type Decision = { ok: true; note?: string } | { ok: false; reason: string };

/**
 * May member `memberId` stop now? Only when every other member is healthy (never a second member down) and the
 * others alone still make a quorum. A one-member cluster may stop: that is the single-node migration, down by design.
 */
export function decideMemberStop(view: EtcdClusterView, memberId: string): Decision {
  const states = memberStates(view);
  const self = states.find((s) => s.member.id === memberId);
  const table = formatMemberStates(states);
  if (!self)
    return { ok: false, reason: `member ${memberIdHex(memberId)} is not in the member list:\n${table}` };
  const n = states.length;
  if (n === 1)
    return { ok: true, note: "a one-member cluster: etcd is unavailable until the container starts" };
  const others = states.filter((s) => s !== self);
  const down = others.filter((s) => !s.healthy);
  if (down.length > 0) {
    return {
      ok: false,
      reason:
        `member ${down.map((s) => `${s.member.name || s.member.idHex} (${s.problem})`).join(", ")} ` +
        `${down.length === 1 ? "is" : "are"} not healthy, and stopping ${self.member.name} too would leave ` +
        `${others.length - down.length} of ${n} members (a quorum is ${quorumOf(n)}). Members:\n${table}`,
    };
  }
  if (others.length < quorumOf(n)) {
    return {
      ok: false,
      reason: `without ${self.member.name} ${others.length} of ${n} members remain, below a quorum of ${quorumOf(n)}. Members:\n${table}`,
    };
  }
  return { ok: true };
}

/**
 * Has member `memberId` rejoined as itself and caught up? Healthy, the same ID at its endpoint, and its raft index
 * within `maxLag` of the leader's (both read in the same `endpoint status` call).
 */
export function decideMemberCaughtUp(
  view: EtcdClusterView,
  memberId: string,
  maxLag: number,
): Decision & { lag?: number } {
  const states = memberStates(view);
  const table = formatMemberStates(states);
  const self = states.find((s) => s.member.id === memberId);
  if (!self)
    return {
      ok: false,
      reason: `member ${memberIdHex(memberId)} is no longer in the member list:\n${table}`,
    };
  if (!self.healthy || !self.status)
    return { ok: false, reason: `${self.member.name} ${self.problem}:\n${table}` };
  const leader = states.find((s) => s.isLeader && s.status);
  if (!leader?.status) return { ok: false, reason: `no member reports a leader:\n${table}` };
  const lag = leader.status.raftIndex - self.status.raftIndex;
  if (lag > maxLag)
    return {
      ok: false,
      lag,
      reason: `${self.member.name} is ${lag} raft entries behind the leader (at most ${maxLag}):\n${table}`,
    };
  const sick = states.filter((s) => !s.healthy);
  if (sick.length > 0) return { ok: false, reason: `other members are not healthy:\n${table}` };
  return { ok: true, lag };
}

/** Every member healthy (the gate between batches). */
export function decideClusterHealthy(view: EtcdClusterView): Decision {
  const states = memberStates(view);
  const sick = states.filter((s) => !s.healthy);
  if (sick.length === 0) return { ok: true, note: formatMemberStates(states) };
  return {
    ok: false,
    reason: `${sick.map((s) => s.member.name || s.member.idHex).join(", ")} not healthy:\n${formatMemberStates(states)}`,
  };
}

/** Every client URL of the cluster, for the status and health reads. */
export function clusterEndpoints(list: EtcdMemberList): string[] {
  return [...new Set(list.members.flatMap((m) => m.clientURLs))];
}
