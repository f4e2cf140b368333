/**
 * Reads an etcd cluster's members, status and health with etcdctl over SSH on one of its hosts (three commands),
 * and the quorum guard EtcdDataMigration runs before it stops a member.
 */
import {
  buildEtcdEndpointHealthCommand,
  buildEtcdEndpointStatusCommand,
  buildEtcdMemberListCommand,
  clusterEndpoints,
  decideMemberStop,
  formatMemberStates,
  memberIdHex,
  memberStates,
  parseEtcdEndpointHealth,
  parseEtcdEndpointStatus,
  parseEtcdMemberList,
  type EtcdClusterView,
} from "../atomic/etcdClusterHealth";
import { RefusalError, connectionLabel, exec, quoteCommand, type Connection } from "../ssh";
import { TIMEOUTS, progress } from "./common";

/** A read that could not happen (etcd down on this host, etcdctl missing): the sentence and the command. */
export class EtcdUnreadable extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

/** member list through the local endpoint, then status and health of every member's client URLs. */
export async function readEtcdClusterView(conn: Connection): Promise<EtcdClusterView> {
  const listArgv = buildEtcdMemberListCommand();
  const listed = await exec(conn, listArgv, { timeoutMs: TIMEOUTS.readMs });
  const list = parseEtcdMemberList(listed.stdout);
  if (listed.exitCode !== 0 || !list.ok) {
    throw new EtcdUnreadable(
      `etcdctl member list failed (exit ${listed.exitCode ?? "none"}): ${(listed.stderr.trim() || listed.stdout.trim()).split("\n").slice(-3).join(" ")}`,
      quoteCommand(listArgv),
    );
  }
  const endpoints = clusterEndpoints(list.value);
  const statusArgv = buildEtcdEndpointStatusCommand(endpoints);
  const healthArgv = buildEtcdEndpointHealthCommand(endpoints);
  const [st, he] = await Promise.all([
    exec(conn, statusArgv, { timeoutMs: TIMEOUTS.readMs }),
    exec(conn, healthArgv, { timeoutMs: TIMEOUTS.readMs }),
  ]);
  // Both exit 1 when an endpoint does not answer, and still print what the others said.
  const status = parseEtcdEndpointStatus(st.stdout, st.stderr);
  if (!status.ok) throw new EtcdUnreadable(status.error, quoteCommand(statusArgv));
  return {
    list: list.value,
    statuses: status.value.statuses,
    unreachable: status.value.unreachable,
    health: parseEtcdEndpointHealth(`${he.stdout}\n${he.stderr}`),
  };
}

/** The member stopped by a migration, recorded so the member can be checked after it restarts. */
export interface StoppedMember {
  memberId: string;
  memberName: string;
  clusterSize: number;
}

/**
 * Before EtcdDataMigration stops the local member: the cluster must be healthy and keep a quorum without it. A
 * refusal names every member and its health. Returns the local member (its ID is checked after the restart).
 * Nothing is checked when the unit is not running (stopping it changes nothing for the cluster).
 */
export async function guardMemberStop(
  conn: Connection,
  unit: string,
  serviceState: string,
): Promise<StoppedMember | undefined> {
  if (serviceState !== "active") {
    progress(conn, `${unit} is ${serviceState || "not running"}: no etcd member to check before stopping it`);
    return undefined;
  }
  let view: EtcdClusterView;
  try {
    view = await readEtcdClusterView(conn);
  } catch (err) {
    if (!(err instanceof EtcdUnreadable)) throw err;
    throw new RefusalError({
      host: connectionLabel(conn),
      summary: `EtcdDataMigration refused: ${unit} is running but its cluster cannot be read, so stopping it may break quorum: ${err.message}`,
      command: err.command,
      hint: "Check the member with `ETCDCTL_API=3 etcdctl endpoint health` on the host; run pulumi up again once it answers.",
    });
  }
  const self = view.list.answeredBy;
  const decision = decideMemberStop(view, self);
  if (!decision.ok) {
    throw new RefusalError({
      host: connectionLabel(conn),
      summary: `EtcdDataMigration refused before stopping anything: ${decision.reason}`,
      command: quoteCommand(buildEtcdEndpointHealthCommand(clusterEndpoints(view.list))),
      hint: "Bring the other members back (every member healthy), then run pulumi up again.",
    });
  }
  const states = memberStates(view);
  const name = view.list.members.find((m) => m.id === self)?.name ?? "";
  progress(
    conn,
    `etcd member ${name} (${memberIdHex(self)}) may stop: ${decision.note ?? `the other ${states.length - 1} members keep a quorum`}\n${formatMemberStates(states)}`,
  );
  return { memberId: self, memberName: name, clusterSize: states.length };
}
