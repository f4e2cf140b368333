/**
 * HealthGate's provider. What each method does on the host:
 * - check:  validates `checks`; `commands` lists each check, what it runs, and the host. No SSH.
 * - create / update: every check at once over the host's one SSH connection, each polled (1 s apart) until it
 *           passes or its timeout runs out; a check that never passes fails the gate with its name, the host and
 *           its last output (the first such check in declared order), and the next `up` runs the gate again (a
 *           failed create records nothing; a failed update keeps the old triggers, so the diff still differs).
 * - read:   the state as it is (a gate's result is a moment, not host state): refresh connects to nothing.
 * - delete: nothing.
 */
import {
  buildHealthCheckCommand,
  checkTimeoutSeconds,
  containsUnknown,
  decideClusterHealthy,
  decideMemberCaughtUp,
  describeHealthCheck,
  isUnknown,
  HEALTH_GATE_DEFAULTS,
  HEALTH_GATE_DIFF,
  judgeHealthCheck,
  memberIdHex,
  validateConnection,
  validateHealthChecks,
  type HealthCheck,
} from "../atomic";
import type { HealthCheckResult, HealthGateInputs, HealthGateOutputs, ResourceHandler } from "../types";
import {
  RemoteError,
  connectionLabel,
  exec,
  isRemoteError,
  quoteCommand,
  sleep,
  type Connection,
} from "../ssh";
import { configureFromStack, connectionOf, declarativeDiff, defined, hostId, progress } from "./common";
import { EtcdUnreadable, readEtcdClusterView } from "./etcdClusterView";

type Inputs = HealthGateInputs & { __provider?: string };
type Outputs = HealthGateOutputs & { __provider?: string };

const POLL_MS = 1000;

/** One try of a check: passed with what it saw, or not with why. Connection failures count as "not yet". */
async function tryCheck(conn: Connection, check: HealthCheck): Promise<{ ok: boolean; output: string }> {
  const deadlineMs = checkTimeoutSeconds(check) * 1000;
  try {
    if (check.kind === "etcdCluster" || check.kind === "etcdMember") {
      const view = await readEtcdClusterView(conn);
      if (check.kind === "etcdCluster") {
        const d = decideClusterHealthy(view);
        return d.ok ? { ok: true, output: d.note ?? "" } : { ok: false, output: d.reason };
      }
      const self = view.list.answeredBy;
      if (check.memberId && self !== check.memberId) {
        return {
          ok: false,
          output:
            `the local etcd answers as member ${memberIdHex(self)}, not ${memberIdHex(check.memberId)} (the member ` +
            "stopped for the migration): it started as a new member, not on the migrated data",
        };
      }
      const d = decideMemberCaughtUp(view, self, check.maxRaftLag ?? HEALTH_GATE_DEFAULTS.maxRaftLag);
      return d.ok
        ? { ok: true, output: `member ${memberIdHex(self)} healthy, ${d.lag} raft entries behind the leader` }
        : { ok: false, output: d.reason };
    }
    const argv = buildHealthCheckCommand(check)!;
    const out = await exec(conn, argv, { timeoutMs: Math.max(1000, deadlineMs) });
    const judged = judgeHealthCheck(check, out);
    return judged.ok ? { ok: true, output: judged.value } : { ok: false, output: judged.error };
  } catch (err) {
    if (err instanceof EtcdUnreadable) return { ok: false, output: err.message };
    // A host rebooting or a dropped connection is "not healthy yet"; credentials and host keys are not.
    if (isRemoteError(err, "connect", "connection", "timeout")) return { ok: false, output: err.message };
    throw err;
  }
}

async function runCheck(conn: Connection, check: HealthCheck): Promise<HealthCheckResult> {
  const started = Date.now();
  const deadline = started + checkTimeoutSeconds(check) * 1000;
  let attempts = 0;
  for (;;) {
    attempts++;
    const r = await tryCheck(conn, check);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    if (r.ok) {
      progress(conn, `health check ${check.name}: passed (${r.output.split("\n")[0]})`);
      return { name: check.name, output: r.output, seconds, attempts };
    }
    if (Date.now() + POLL_MS > deadline) {
      throw new RemoteError({
        kind: "command",
        host: connectionLabel(conn),
        summary: `health gate failed: check "${check.name}" did not pass within ${checkTimeoutSeconds(check)} s (${attempts} tries): ${r.output}`,
        command: quoteCommand(buildHealthCheckCommand(check) ?? ["etcdctl", "member", "list"]),
        hint:
          "Nothing after this gate was touched. Fix the cause on this host and run pulumi up again: the gate runs " +
          "again and the rollout continues.",
      });
    }
    await sleep(POLL_MS);
  }
}

/**
 * Runs the gate's checks at once: each is a read (or a user's probe) that polls on its own, so none waits for
 * another's round trips. The gate passes when every check has; otherwise the first failed check in declared order
 * is the error (after every check has ended, so no poll outlives the gate).
 */
async function runGate(inputs: Inputs): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const settled = await Promise.allSettled(inputs.checks.map((check) => runCheck(conn, check)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  const results = settled.map((s) => (s as PromiseFulfilledResult<HealthCheckResult>).value);
  return defined({ ...inputs, passedAt: new Date().toISOString(), results }) as Outputs;
}

export const healthGateProvider = {
  configure: configureFromStack,

  async check(_olds: Partial<Inputs> | undefined, news: Inputs) {
    // At preview an input may still be unknown (a member ID the migration reports): what is known is checked,
    // and the checks are listed whenever their list is known.
    const unknown = containsUnknown(news);
    const failures = unknown
      ? []
      : [...validateConnection(news.connection), ...validateHealthChecks(news.checks)];
    if (failures.length > 0) return { inputs: news, failures };
    const where =
      typeof news.connection?.host === "string" && !isUnknown(news.connection.host)
        ? ` on ${hostId(news.connection)}`
        : "";
    const listed =
      Array.isArray(news.checks) &&
      news.checks.every((c) => typeof c === "object" && c !== null && !isUnknown(c.kind));
    return {
      inputs: defined({
        ...news,
        commands: listed ? news.checks.map((c) => `${describeHealthCheck(c)}${where}`) : undefined,
      }),
      failures: [],
    };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    // `commands` lists the checks (shown at preview), which run whenever the gate does: no change by itself.
    return declarativeDiff(HEALTH_GATE_DIFF, olds, news, { commandsArePlan: false });
  },

  async create(inputs: Inputs) {
    return { id: `${hostId(connectionOf(inputs))}:health-gate`, outs: await runGate(inputs) };
  },

  async update(_id: string, _olds: Outputs, news: Inputs) {
    return { outs: await runGate(news) };
  },

  async read(id: string, props: Outputs) {
    return { id, props };
  },

  async delete() {
    // A gate leaves nothing on its host.
  },
} satisfies ResourceHandler<Inputs, Outputs>;
