/**
 * SystemContainer's provider. What each method does on the host:
 * - check:  validates inputs, applies defaults, and computes `commands` (the plan shown by preview). No SSH.
 * - diff:   the declarative SYSTEM_CONTAINER_DIFF table. No SSH.
 * - create: read the host (one round trip), then `atomic pull`, `atomic install`, `systemctl start`; an
 *           installed container of the same image is adopted; read back and verify.
 * - update: read, then pull + `containers update --rebase`, `containers rollback`, `update --set`, start/stop
 *           as planned from what the host has; read back and verify.
 * - read:   the `info` files of both deployment slots and the unit's state; a container removed by hand leaves
 *           the state, another image or a stopped unit shows as drift.
 * - delete: `atomic uninstall`; already gone counts as done.
 * Every mutation runs under the host's lock: atomic and ostree keep one repository per host.
 */
import {
  SYSTEM_CONTAINER_DEFAULTS,
  SYSTEM_CONTAINER_DIFF,
  atomicFailureAdvice,
  buildSystemContainerReadCommand,
  buildUninstallCommand,
  classifyInstallOutcome,
  classifyPullOutcome,
  classifyRollbackOutcome,
  classifyUninstallOutcome,
  classifyUpdateOutcome,
  containsUnknown,
  formatPlanLines,
  parseSystemContainerReadOutput,
  planSystemContainerCreate,
  planSystemContainerUpdate,
  validateSystemContainerInputs,
  type AtomicFailureKind,
  type SystemContainerObservation,
  type SystemContainerPlan,
  type SystemContainerStep,
} from "../atomic";
import { exec, quoteCommand, registerSecret, withHostLock, type ConnectionArgs } from "../ssh";
import type { SystemContainerInputs, SystemContainerOutputs } from "../systemContainer";
import {
  PartialFailure,
  TIMEOUTS,
  configureFromStack,
  credentialFailures,
  declarativeDiff,
  connectionOf,
  defined,
  hostId,
  parseFailure,
  progress,
  requireSuccess,
  runStep,
  toolFailure,
} from "./common";

type Inputs = SystemContainerInputs & { priorImage?: string; __provider?: string };
type Outputs = SystemContainerOutputs & { priorImage?: string; __provider?: string };

/** Inputs with every default written out, so state, diff and the planners agree. */
function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    storage: news.storage ?? SYSTEM_CONTAINER_DEFAULTS.storage,
    systemPackage: news.systemPackage ?? SYSTEM_CONTAINER_DEFAULTS.systemPackage,
    running: news.running ?? SYSTEM_CONTAINER_DEFAULTS.running,
  };
}

/**
 * The template values the program marked secret. A dynamic provider receives every input decrypted and cannot tell
 * a secret from a plain string, so SystemContainer passes the keys (`secretValueKeys`, "*" for all). Without this
 * a secret value was written in plaintext into `commands` (the install line's `--set=KEY=VALUE`, stored in state
 * as an input and an output) and printed in the progress line of every `atomic install` and `containers update`.
 */
function secretValuesOf(inputs: Partial<Inputs>): string[] {
  const keys = Array.isArray(inputs.secretValueKeys) ? inputs.secretValueKeys : [];
  const values = inputs.values !== null && typeof inputs.values === "object" ? inputs.values : {};
  return Object.entries(values)
    .filter(([k, v]) => typeof v === "string" && v !== "" && (keys.includes("*") || keys.includes(k)))
    .map(([, v]) => v);
}

/** The connection, with the secret template values of every given state registered for redaction too. */
function connectionFor(inputs: Inputs, ...others: Partial<Inputs>[]): ConnectionArgs {
  for (const i of [inputs, ...others]) for (const v of secretValuesOf(i)) registerSecret(v);
  return connectionOf(inputs);
}

function sameHostAndName(olds: Partial<Inputs>, news: Inputs): boolean {
  return (
    olds.name === news.name &&
    olds.connection?.host === news.connection.host &&
    (olds.connection?.port ?? 22) === (news.connection.port ?? 22)
  );
}

async function observe(conn: ConnectionArgs, name: string): Promise<SystemContainerObservation> {
  const argv = buildSystemContainerReadCommand(name);
  const result = requireSuccess(
    await exec(conn, argv, { timeoutMs: TIMEOUTS.readMs }),
    "The read script needs a POSIX sh, readlink and systemctl on the host.",
  );
  const parsed = parseSystemContainerReadOutput(result.stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return parsed.value;
}

function outputsFrom(inputs: Inputs, observed: SystemContainerObservation): Outputs {
  const info = observed.active?.info;
  const declaredValues = inputs.values ?? {};
  return defined({
    ...inputs,
    image: info?.image ?? inputs.image,
    // Only declared keys: atomic stores many computed values (DESTDIR, UUID...) that are not ours to track.
    values:
      inputs.values === undefined
        ? undefined
        : Object.fromEntries(Object.keys(declaredValues).map((k) => [k, info?.values[k] ?? ""])),
    running: observed.unit.active === "active",
    imageId: info?.revision ?? "",
    deployment: observed.active?.slot ?? 0,
    previousImage: observed.previous?.info.image,
    unitState: observed.unit.active || "unknown",
    installedFiles: info?.installedFiles ?? [],
  }) as Outputs;
}

/** Runs a plan's steps in order; a failing step throws a RemoteError naming the host, the command and the fix. */
async function runPlan(
  conn: ConnectionArgs,
  inputs: Inputs,
  plan: SystemContainerPlan,
  done: { steps: number },
): Promise<void> {
  if (plan.blocked)
    throw new Error(`${hostId(conn)}: cannot apply SystemContainer ${inputs.name}: ${plan.blocked}`);
  for (const note of plan.notes) progress(conn, note);
  for (const step of plan.steps) {
    await runOne(conn, inputs, step);
    done.steps++;
  }
}

async function runOne(conn: ConnectionArgs, inputs: Inputs, step: SystemContainerStep): Promise<void> {
  const timeout = step.kind === "start" || step.kind === "stop" ? TIMEOUTS.serviceMs : TIMEOUTS.longMs;
  const out = await runStep(conn, step, timeout);
  let outcome: { kind: string; message?: string; failure?: AtomicFailureKind; installedImage?: string };
  switch (step.kind) {
    case "pull":
      outcome = classifyPullOutcome(out);
      break;
    case "install": {
      outcome = classifyInstallOutcome(out, inputs.name, inputs.image);
      if (outcome.kind === "alreadyPresent") {
        const installed = (await observe(conn, inputs.name)).active?.info.image;
        outcome = classifyInstallOutcome(out, inputs.name, inputs.image, installed);
      }
      if (outcome.kind === "conflict") {
        throw toolFailure(
          conn,
          step.argv,
          `atomic install said "${inputs.name} already present": it is installed from ${outcome.installedImage}, not ${inputs.image}, and was left as is`,
          `Declare image "${outcome.installedImage}" to adopt it, or run "atomic uninstall ${inputs.name}" first.`,
        );
      }
      break;
    }
    case "update":
      outcome = classifyUpdateOutcome(out);
      break;
    case "rollback":
      outcome = classifyRollbackOutcome(out);
      break;
    default:
      requireSuccess(
        out,
        `systemd could not ${step.kind} ${inputs.name}.service: see "journalctl -u ${inputs.name}" on the host.`,
      );
      return;
  }
  if (outcome.kind === "failed") {
    // The tool's words are the error's stderr lines; `next:` says what to check for this class of failure.
    requireSuccess(
      out.exitCode === 0 ? { ...out, exitCode: -1 } : out,
      atomicFailureAdvice(outcome.failure ?? "other", {
        name: inputs.name,
        image: inputs.image,
        step: step.kind,
      }),
    );
  }
}

/** Throws unless the host now has the declared image and running state. */
function verify(
  conn: ConnectionArgs,
  inputs: Inputs,
  outs: Outputs,
  observed: SystemContainerObservation,
): string[] {
  const problems: string[] = [];
  if (!observed.present) problems.push(`no system container ${inputs.name} is installed`);
  else if (outs.image !== inputs.image) problems.push(`it runs ${outs.image}, not ${inputs.image}`);
  if (inputs.running && outs.unitState !== "active") {
    problems.push(`${inputs.name}.service is ${outs.unitState}, not active`);
  }
  if (inputs.running === false && outs.unitState === "active")
    problems.push(`${inputs.name}.service is still active`);
  if (problems.length > 0) progress(conn, `verification failed: ${problems.join("; ")}`);
  return problems;
}

async function apply(
  id: string,
  inputs: Inputs,
  planFor: (o: SystemContainerObservation) => SystemContainerPlan,
) {
  const conn = connectionFor(inputs);
  return withHostLock(conn, async () => {
    const before = await observe(conn, inputs.name);
    const plan = planFor(before);
    const done = { steps: 0 };
    try {
      await runPlan(conn, inputs, plan, done);
    } catch (err) {
      // Nothing changed yet: a plain failure. Otherwise record what the host has now, so the next up continues.
      if (done.steps === 0) throw err;
      const now = await observe(conn, inputs.name).catch(() => undefined);
      throw new PartialFailure((err as Error).message, id, {
        ...(now ? outputsFrom(inputs, now) : inputs),
        __provider: inputs.__provider,
      });
    }
    const after = await observe(conn, inputs.name);
    const outs = outputsFrom(inputs, after);
    const problems = verify(conn, inputs, outs, after);
    if (problems.length > 0) {
      throw new PartialFailure(
        `${hostId(conn)}: SystemContainer ${inputs.name} was applied but the host does not match: ${problems.join("; ")}. ` +
          `Check "systemctl status ${inputs.name}" on the host; the next "pulumi up" retries.`,
        id,
        { ...outs, __provider: inputs.__provider },
      );
    }
    return outs;
  });
}

export const systemContainerProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const inputs = withDefaults(news);
    const failures = [
      ...validateSystemContainerInputs(inputs as unknown as Record<string, unknown>),
      ...credentialFailures(inputs.connection),
    ];
    if (failures.length > 0) return { inputs, failures };
    const previous = olds && olds.name !== undefined && sameHostAndName(olds, inputs) ? olds : undefined;
    inputs.priorImage = previous
      ? previous.image !== inputs.image
        ? previous.image
        : previous.priorImage
      : undefined;
    if (!containsUnknown(inputs as unknown as Record<string, unknown>)) {
      const plan = previous
        ? planSystemContainerUpdate({ ...(previous as Inputs), previousImage: previous.priorImage }, inputs)
        : planSystemContainerCreate(inputs);
      inputs.commands = formatPlanLines(plan.steps, { quote: quoteCommand, mask: secretValuesOf(inputs) });
    }
    return { inputs: defined(inputs), failures: [] };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    return declarativeDiff(SYSTEM_CONTAINER_DIFF, olds, withDefaults(news));
  },

  async create(inputs: Inputs) {
    const conn = connectionFor(inputs);
    const id = `${hostId(conn)}/${inputs.name}`;
    const outs = await apply(id, inputs, (o) => planSystemContainerCreate(inputs, o));
    return { id, outs };
  },

  async update(id: string, olds: Outputs, news: Inputs) {
    connectionFor(news, olds);
    const outs = await apply(id, news, (o) => planSystemContainerUpdate(olds, news, o));
    return { outs };
  },

  async read(id: string, props: Outputs) {
    const conn = connectionFor(props);
    const observed = await observe(conn, props.name);
    if (!observed.present) {
      progress(conn, `system container ${props.name} is not installed any more`);
      return { id: "", props: {} };
    }
    return { id, props: outputsFrom(props, observed) };
  },

  async delete(_id: string, props: Outputs) {
    const conn = connectionFor(props);
    const argv = buildUninstallCommand(props.name);
    await withHostLock(conn, async () => {
      const out = await runStep(conn, { argv, why: "remove the system container" }, TIMEOUTS.longMs);
      const outcome = classifyUninstallOutcome(out);
      if (outcome.kind === "absent") progress(conn, `system container ${props.name} was already gone`);
      if (outcome.kind === "failed")
        requireSuccess(
          out,
          atomicFailureAdvice(outcome.failure, { name: props.name, image: props.image, step: "uninstall" }),
        );
    });
  },
};
