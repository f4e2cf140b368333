/**
 * OstreeRemote's provider. What each method does on the host:
 * - check:  validates name, URL, key path; `commands` shows the `ostree remote add` line a host without the
 *           remote runs. No SSH.
 * - diff:   the declarative OSTREE_REMOTE_DIFF table. No SSH.
 * - create/update: under the host's lock: read the remotes (`ostree remote list -u` and the files defining
 *           them); add, adopt an identical one, or refuse a different one unless `replace`; read back, verify.
 * - read:   the remote as the host has it; gone by hand leaves the state.
 * - delete: `ostree remote delete NAME` when this resource added it and no deployment follows it; an adopted
 *           remote (or one the booted/pending deployment pulls from) is left in place, and the log says why.
 */
import {
  OSTREE_REMOTE_DEFAULTS,
  OSTREE_REMOTE_DIFF,
  buildOstreeRemoteDeleteCommand,
  buildOstreeRemotesReadCommand,
  buildRpmOstreeStatusCommand,
  classifyOstreeRemoteOutcome,
  containsUnknown,
  formatPlanLines,
  parseOstreeRemotesReadOutput,
  parseRpmOstreeStatus,
  planOstreeRemote,
  remoteDifferences,
  splitRefspec,
  validateOstreeRemoteInputs,
  type OstreeRemoteDeclaration,
  type OstreeRemotesObservation,
} from "../atomic";
import type { OstreeRemoteInputs, OstreeRemoteOutputs, ResourceHandler } from "../types";
import { exec, quoteCommand, requireSuccess, withHostLock, type Connection } from "../ssh";
import {
  PartialFailure,
  TIMEOUTS,
  configureFromStack,
  connectionOf,
  credentialFailures,
  withHostLabel,
  declarativeDiff,
  defined,
  hostId,
  progress,
  runStep,
  toolFailure,
  execAndParse,
  refusal,
} from "./common";

type Inputs = OstreeRemoteInputs & { __provider?: string };
type Outputs = OstreeRemoteOutputs & { __provider?: string };

function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    gpgVerify: news.gpgVerify ?? OSTREE_REMOTE_DEFAULTS.gpgVerify,
    replace: news.replace ?? OSTREE_REMOTE_DEFAULTS.replace,
  };
}

function declarationOf(inputs: Inputs): OstreeRemoteDeclaration {
  return defined({
    name: inputs.name,
    url: inputs.url,
    gpgVerify: inputs.gpgVerify ?? OSTREE_REMOTE_DEFAULTS.gpgVerify,
    gpgKeyPath: inputs.gpgKeyPath,
  });
}

/** Reads every remote of the host's system repo (one round trip). */
export async function readRemotes(conn: Connection): Promise<OstreeRemotesObservation> {
  const argv = buildOstreeRemotesReadCommand();
  const remotes = await execAndParse(conn, argv, parseOstreeRemotesReadOutput, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "Is this an ostree (Fedora Atomic) host? Run `ostree remote list -u` on it.",
  });
  for (const w of remotes.warnings) progress(conn, `ostree remotes: ${w}`);
  return remotes;
}

function outputsFrom(inputs: Inputs, observed: OstreeRemotesObservation, adopted: boolean): Outputs {
  const remote = observed.remotes.find((r) => r.name === inputs.name);
  return defined({
    ...inputs,
    // What the host has: a URL or key changed by hand shows as drift on refresh.
    url: remote?.url ?? inputs.url,
    gpgVerify: remote?.gpgVerify ?? inputs.gpgVerify,
    gpgKeyPath: remote ? remote.gpgKeyPath : inputs.gpgKeyPath,
    adopted,
    file: remote?.file ?? "",
  }) as Outputs;
}

async function apply(id: string, inputs: Inputs, owned: boolean, wasAdopted: boolean): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const declared = declarationOf(inputs);
  return withHostLock(conn, async () => {
    const before = await readRemotes(conn);
    const plan = planOstreeRemote(declared, { replace: inputs.replace === true || owned, owned }, before);
    if (plan.kind === "blocked") {
      throw refusal(conn, `OstreeRemote ${inputs.name} refused: ${plan.reason}`);
    }
    if (plan.kind === "adopt") {
      progress(
        conn,
        `ostree remote ${inputs.name} already exists as declared: adopted (left in place on delete)`,
      );
    }
    if (plan.kind === "add" && plan.replaced) {
      progress(
        conn,
        `replacing the host's ostree remote ${inputs.name} (${plan.replaced.file ?? "repo config"})`,
      );
    }
    let ran = 0;
    for (const step of plan.steps) {
      const out = await runStep(conn, step, TIMEOUTS.readMs);
      const outcome = classifyOstreeRemoteOutcome(out);
      if (outcome.kind === "notFound" && step.kind === "delete") continue;
      if (outcome.kind !== "done") {
        const error = toolFailure(
          conn,
          step.argv,
          `${quoteCommand(step.argv)} failed: ${outcome.message}`,
          outcome.kind === "exists"
            ? "Someone added the remote meanwhile: run pulumi up again (it reads the remotes first)."
            : "Run the command on the host to see the whole output.",
        );
        if (ran === 0) throw error;
        const now = await readRemotes(conn).catch(() => before);
        throw new PartialFailure(error.message, id, {
          ...outputsFrom(inputs, now, false),
        });
      }
      ran++;
    }
    const after = await readRemotes(conn);
    const remote = after.remotes.find((r) => r.name === inputs.name);
    const problems = remote ? remoteDifferences(declared, remote) : [`the host has no remote ${inputs.name}`];
    const adopted = plan.kind === "adopt" || (plan.kind === "none" && wasAdopted);
    const outs = outputsFrom(inputs, after, adopted);
    if (problems.length > 0) {
      throw new PartialFailure(
        `${hostId(conn)}: OstreeRemote ${inputs.name} was applied but the host does not match: ${problems.join("; ")}`,
        id,
        { ...outs },
      );
    }
    return outs;
  });
}

/** The remotes the host's deployments pull from (their origins' remotes); empty when rpm-ostree is not there. */
async function followedRemotes(conn: Connection): Promise<Set<string>> {
  const out = await exec(conn, buildRpmOstreeStatusCommand(), { timeoutMs: TIMEOUTS.readMs });
  if (out.exitCode !== 0) return new Set();
  const parsed = parseRpmOstreeStatus(out.stdout);
  if (!parsed.ok) return new Set();
  return new Set(
    parsed.value.deployments
      .map((d) => (d.origin === undefined ? undefined : splitRefspec(d.origin).remote))
      .filter((r): r is string => r !== undefined),
  );
}

export const ostreeRemoteProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const inputs = withHostLabel(withDefaults(news));
    const failures = [...validateOstreeRemoteInputs(inputs), ...credentialFailures(inputs.connection)];
    if (failures.length > 0 || containsUnknown(inputs)) return { inputs, failures };
    // The same remote on the same host as the state has it: nothing to run (a refresh that found it changed or
    // gone records that, and the plan below then shows the repair).
    const sameRemote =
      olds?.connection !== undefined &&
      hostId(olds.connection) === hostId(inputs.connection) &&
      olds.name === inputs.name;
    const unchanged =
      sameRemote &&
      olds.url === inputs.url &&
      (olds.gpgVerify ?? true) === (inputs.gpgVerify ?? true) &&
      olds.gpgKeyPath === inputs.gpgKeyPath;
    // Otherwise what a host without the remote runs (or, for this resource's own remote, its replacement); at
    // apply an identical remote is adopted (nothing runs) and a different one is refused unless `replace`.
    const plan = planOstreeRemote(declarationOf(inputs), {
      replace: inputs.replace === true,
      owned: sameRemote,
    });
    inputs.commands = unchanged ? [] : formatPlanLines(plan.steps, { quote: quoteCommand });
    return { inputs: defined(inputs), failures: [] };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    return declarativeDiff(OSTREE_REMOTE_DIFF, olds, withDefaults(news));
  },

  async create(inputs: Inputs) {
    const conn = connectionOf(inputs);
    const id = `${hostId(conn)}/ostree-remote/${inputs.name}`;
    return { id, outs: await apply(id, inputs, false, false) };
  },

  async update(id: string, olds: Outputs, news: Inputs) {
    // A remote this resource added is its own to change; an adopted one stays someone else's.
    const owned = olds.adopted === false && olds.name === news.name;
    return { outs: await apply(id, news, owned, olds.adopted === true) };
  },

  async read(id: string, props: Outputs) {
    const conn = connectionOf(props);
    const observed = await readRemotes(conn);
    if (!observed.remotes.some((r) => r.name === props.name)) {
      progress(conn, `ostree remote ${props.name} is not configured any more`);
      return { id: "", props: {} };
    }
    return { id, props: outputsFrom(props, observed, props.adopted === true) };
  },

  async delete(_id: string, props: Outputs) {
    const conn = connectionOf(props);
    if (props.adopted === true) {
      progress(conn, `ostree remote ${props.name} was adopted, not added by this stack: left in place`);
      return;
    }
    await withHostLock(conn, async () => {
      const followed = await followedRemotes(conn);
      if (followed.has(props.name)) {
        progress(
          conn,
          `ostree remote ${props.name} is kept: a deployment's origin pulls from it (rpm-ostree status), and ` +
            `removing it would leave "rpm-ostree upgrade" nowhere to pull from. Rebase away first, then ` +
            `"ostree remote delete ${props.name}"`,
        );
        return;
      }
      const argv = buildOstreeRemoteDeleteCommand(props.name);
      const out = await runStep(conn, { argv, why: "remove the remote this stack added" }, TIMEOUTS.readMs);
      const outcome = classifyOstreeRemoteOutcome(out);
      if (outcome.kind === "notFound") progress(conn, `ostree remote ${props.name} was already gone`);
      else if (outcome.kind !== "done") requireSuccess(out, outcome.message); // not "done": it exited non-zero
    });
  },
} satisfies ResourceHandler<Inputs, Outputs>;
