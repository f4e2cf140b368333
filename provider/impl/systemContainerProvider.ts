/**
 * SystemContainer's provider. What each method does on the host:
 * - check:  validates inputs, applies defaults, and computes `commands`: the plan the apply's planner makes on
 *           the host as the state records it (`__recorded`: what the last apply left, or what refresh found).
 *           No SSH.
 * - diff:   the declarative SYSTEM_CONTAINER_DIFF table. No SSH.
 * - create: read the host, then `atomic pull`, `atomic install`, `systemctl start`; an installed container of
 *           the same image is adopted; read back and verify. Three round trips on a new host: the read and the
 *           pull are one command (the pull runs only when nothing of the container is there, where the plan
 *           starts with it), and so are the last step and the read back (systemContainerCombined.ts).
 * - update: read, then pull + `containers update --rebase`, `containers rollback`, `update --set`, start/stop
 *           as planned from what the host has; the last step and the read back in one command; verify.
 * - read:   the `info` files of both deployment slots and the unit's state; a container removed by hand leaves
 *           the state, another image, a stopped unit, a half-removed container or missing tmpfiles directories
 *           show as drift. What it found is also returned as the inputs, so the next preview plans (and shows)
 *           the repair.
 * - delete: `atomic uninstall`; already gone counts as done.
 * Every mutation runs under the host's lock: atomic and ostree keep one repository per host.
 */
import {
  SYSTEM_CONTAINER_DEFAULTS,
  SYSTEM_CONTAINER_DIFF,
  buildImageCommitCommand,
  atomicFailureAdvice,
  buildAtomicPullCommand,
  buildReadThenPullCommand,
  buildStepThenReadCommand,
  buildSystemContainerReadCommand,
  buildSystemctlStatusCommand,
  formatCommandForDisplay,
  parseReadThenPull,
  parseStepThenRead,
  buildUninstallCommand,
  classifyInstallOutcome,
  classifyPullOutcome,
  classifyRollbackOutcome,
  classifyUninstallOutcome,
  classifyUpdateOutcome,
  containsUnknown,
  formatPlanLines,
  ostreeImageBranch,
  parseImageCommit,
  parseSystemContainerReadOutput,
  parseSystemctlStatus,
  serviceUnitName,
  planSystemContainerCreate,
  planSystemContainerUpdate,
  observationOfRecord,
  recordAfterPlan,
  recordOfObservation,
  validateSystemContainerInputs,
  type AtomicFailureKind,
  type SystemContainerObservation,
  type SystemContainerPlan,
  type SystemContainerStep,
  type StepPart,
  stableJson,
} from "../atomic";
import {
  RemoteError,
  exec,
  messageOf,
  quoteCommand,
  registerSecret,
  requireSuccess,
  withHostLock,
  type Connection,
  type ExecResult,
} from "../ssh";
import type { ResourceHandler } from "../types";
import {
  PartialFailure,
  TIMEOUTS,
  configureFromStack,
  credentialFailures,
  declarativeDiff,
  connectionOf,
  defined,
  hostId,
  progress,
  runStep,
  toolFailure,
  withHostLabel,
  execAndParse,
  parseFailure,
  refusal,
} from "./common";
import {
  maskRecord,
  recordOf,
  secretValuesOf,
  unmaskRecord,
  type StoredInputs as Inputs,
  type StoredOutputs as Outputs,
} from "./systemContainerRecord";

/** Inputs with every default written out, so state, diff and the planners agree. */
function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    storage: news.storage ?? SYSTEM_CONTAINER_DEFAULTS.storage,
    systemPackage: news.systemPackage ?? SYSTEM_CONTAINER_DEFAULTS.systemPackage,
    running: news.running ?? SYSTEM_CONTAINER_DEFAULTS.running,
  };
}

/** The connection, with the secret template values of every given state registered for redaction too. */
function connectionFor(inputs: Inputs, ...others: Partial<Inputs>[]): Connection {
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

async function observe(conn: Connection, name: string): Promise<SystemContainerObservation> {
  const argv = buildSystemContainerReadCommand(name);
  return execAndParse(conn, argv, parseSystemContainerReadOutput, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "The read script needs a POSIX sh, readlink and systemctl on the host.",
  });
}

function outputsFrom(inputs: Inputs, observed: SystemContainerObservation): Outputs {
  const info = observed.active?.info;
  const declaredValues = inputs.values ?? {};
  return defined({
    ...inputs,
    priorImage: undefined,
    __recorded: maskRecord(recordOfObservation(observed, Object.keys(declaredValues)), inputs),
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
    unitState: observed.halfRemoved ? "half-removed" : observed.unit.active || "unknown",
    installedFiles: info?.installedFiles ?? [],
  }) as Outputs;
}

/** The input part of outputs: what `read` hands back as the inputs the next check compares against. */
function inputsOf(outs: Outputs): Inputs {
  const {
    imageId: _i,
    deployment: _d,
    previousImage: _p,
    unitState: _u,
    installedFiles: _f,
    __provider: _v,
    ...inputs
  } = outs;
  return defined({ ...inputs, commands: [] });
}

/** A pull that already ran, in the read before the plan (see {@link observeThenPull}). */
interface PulledAlready {
  argv: readonly string[];
  out: ExecResult;
}

/**
 * Runs a plan's steps in order; a failing step throws a RemoteError naming the host, the command and the fix. The
 * last step runs together with the read that verifies it; what that read found is returned (undefined when it
 * could not be had: the caller reads again). A first step that is the pull already run is judged, not run again.
 */
async function runPlan(
  conn: Connection,
  inputs: Inputs,
  plan: SystemContainerPlan,
  done: { steps: number },
  pulled?: PulledAlready,
): Promise<SystemContainerObservation | undefined> {
  if (plan.blocked) throw refusal(conn, `cannot apply SystemContainer ${inputs.name}: ${plan.blocked}`);
  for (const note of plan.notes) progress(conn, note);
  if (pulled && !(plan.steps[0]?.kind === "pull" && sameArgv(plan.steps[0].argv, pulled.argv))) {
    // Cannot happen while the script's test and the planner agree; the pull only fetched into the repository.
    progress(conn, `the plan does not start with the pull that ran with the read; it is not used`);
    pulled = undefined;
  }
  let after: SystemContainerObservation | undefined;
  for (const [i, step] of plan.steps.entries()) {
    after = await runOne(conn, inputs, step, {
      ran: i === 0 ? pulled?.out : undefined,
      thenRead: i === plan.steps.length - 1,
    });
    done.steps++;
  }
  return after;
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A part of a combined command as the step's own result: its status and words, under its own command line. */
function partResult(whole: ExecResult, argv: readonly string[], part: StepPart): ExecResult {
  return {
    ...whole,
    command: quoteCommand(argv),
    // Unknown (the command ended inside the step): the whole command's signal or status stands for it.
    exitCode: part.exitCode ?? whole.exitCode,
    signal: part.exitCode === null ? whole.signal : null,
    stdout: part.stdout,
    stderr: part.stderr,
  };
}

/**
 * The read before a create, with the create's first step: `atomic pull` runs in the same command when the host
 * has nothing of the container (systemContainerCombined.ts says why that is exactly when the plan starts with it).
 */
async function observeThenPull(
  conn: Connection,
  name: string,
  pullArgv: readonly string[],
): Promise<{ observed: SystemContainerObservation; pulled?: PulledAlready }> {
  const argv = buildReadThenPullCommand(name, pullArgv);
  const whole = await exec(conn, argv, {
    timeoutMs: TIMEOUTS.longMs + TIMEOUTS.withReadMs,
    hostTimeout: true,
  });
  const parsed = parseReadThenPull(whole.stdout, whole.stderr);
  if (!parsed.ok) {
    requireSuccess(whole, "The read script needs a POSIX sh, readlink and systemctl on the host.");
    throw parseFailure(conn, argv, parsed.error);
  }
  const { observed, pull } = parsed.value;
  if (!pull) return { observed };
  progress(conn, formatCommandForDisplay(pullArgv, { quote: quoteCommand }));
  return { observed, pulled: { argv: pullArgv, out: partResult(whole, pullArgv, pull) } };
}

/** The commit the image's ostree branch points at now, or undefined when it cannot be read. */
async function imageCommit(conn: Connection, image: string): Promise<string | undefined> {
  const branch = ostreeImageBranch(image);
  if (branch === undefined) return undefined;
  const out = await exec(conn, buildImageCommitCommand(branch), { timeoutMs: TIMEOUTS.readMs });
  const parsed = out.exitCode === 0 ? parseImageCommit(out.stdout) : undefined;
  return parsed?.ok ? parsed.value : undefined;
}

/**
 * The error for a unit that did not start: names the unit, quotes systemd's state (`systemctl status`), and says
 * what to run to see why. flanneld is the common case: it waits for a lease, which needs a reachable etcd holding
 * the network config (`<FLANNEL_ETCD_PREFIX>/config`, default /atomic.io/network/config).
 */
async function unitStartFailure(
  conn: Connection,
  unit: string,
  out: ExecResult,
  what: string,
): Promise<RemoteError> {
  const status = await exec(conn, buildSystemctlStatusCommand(unit), { timeoutMs: TIMEOUTS.readMs }).catch(
    () => undefined,
  );
  const parsed = status ? parseSystemctlStatus(status.stdout) : undefined;
  const state = parsed?.ok ? ` (systemd: ${parsed.value.active})` : "";
  const flannel = /^flannel/.test(unit)
    ? " flanneld starts only once it has a lease: check that etcd is reachable from the host and holds the network " +
      "config (etcdctl get /atomic.io/network/config, or FLANNEL_ETCD_PREFIX/config from /etc/sysconfig/flanneld)."
    : "";
  return new RemoteError({
    kind: "command",
    host: out.host,
    summary: `${unit} did not start${state}: ${what}`,
    command: out.command,
    exitCode: out.exitCode,
    signal: out.signal,
    stderrTail: (out.stderr.trim() || out.stdout.trim()).split("\n").slice(-20).join("\n"),
    hint: `Run "journalctl -u ${unit}" on the host to see why it failed.${flannel} The next "pulumi up" reads the host and starts it again.`,
  });
}

/**
 * Runs one step (or takes its result when it already ran) and judges it. With `thenRead`, the step and the read
 * after it are one command; what the read found is returned.
 */
async function runOne(
  conn: Connection,
  inputs: Inputs,
  step: SystemContainerStep,
  options: { ran?: ExecResult; thenRead?: boolean },
): Promise<SystemContainerObservation | undefined> {
  const timeout = step.kind === "start" || step.kind === "stop" ? TIMEOUTS.serviceMs : TIMEOUTS.longMs;
  if (step.unlessImageCommit !== undefined) {
    const now = await imageCommit(conn, inputs.image);
    if (now === step.unlessImageCommit) {
      progress(
        conn,
        `${inputs.image} did not move (ostree commit ${now.slice(0, 12)} is the deployed one): not running ` +
          `"atomic containers update", which would restart ${inputs.name} when only the digest kind differs`,
      );
      return undefined;
    }
  }
  let out: ExecResult;
  let after: SystemContainerObservation | undefined;
  if (options.ran) {
    out = options.ran;
  } else if (options.thenRead) {
    progress(conn, formatCommandForDisplay(step.argv, { quote: quoteCommand }));
    const whole = await exec(conn, buildStepThenReadCommand(inputs.name, step.argv), {
      timeoutMs: timeout + TIMEOUTS.withReadMs,
      hostTimeout: true,
    });
    const parsed = parseStepThenRead(whole.stdout, whole.stderr);
    out = partResult(whole, step.argv, parsed.step);
    after = parsed.observed;
  } else {
    out = await runStep(conn, step, timeout);
  }
  await judgeStep(conn, inputs, step, out);
  return after;
}

/** Throws the step's failure, in the words of its tool and with what to do; returns when the step did its job. */
async function judgeStep(
  conn: Connection,
  inputs: Inputs,
  step: SystemContainerStep,
  out: ExecResult,
): Promise<void> {
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
      // atomic restarts an active unit after the new checkout; when that start fails, atomic 1.20 leaves the
      // container half-removed (the next up repairs it). Say which unit would not start.
      if (
        outcome.kind === "failed" &&
        /systemctl.*start|Job for \S+ failed/.test(`${out.stdout}\n${out.stderr}`)
      ) {
        throw await unitStartFailure(
          conn,
          serviceUnitName(inputs.name),
          out,
          "atomic containers update restarted it and the start failed",
        );
      }
      break;
    case "repair":
      requireSuccess(
        out,
        `Removing the leftovers of ${inputs.name} failed; remove /etc/systemd/system/${inputs.name}.service, ` +
          `/etc/tmpfiles.d/${inputs.name}.conf and /var/lib/containers/atomic/${inputs.name}.0 and .1 by hand.`,
      );
      return;
    case "tmpfiles":
      requireSuccess(
        out,
        `systemd-tmpfiles could not create the directories of /etc/tmpfiles.d/${inputs.name}.conf: its words are ` +
          "above; check the host's free space and that nothing else is in their way.",
      );
      return;
    case "start":
      if (out.exitCode !== 0) {
        throw await unitStartFailure(
          conn,
          serviceUnitName(inputs.name),
          out,
          `systemctl start exited ${out.exitCode ?? "without a status"}`,
        );
      }
      return;
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
  conn: Connection,
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
  options: { pullWithRead?: boolean } = {},
) {
  const conn = connectionFor(inputs);
  return withHostLock(conn, async () => {
    const first = options.pullWithRead
      ? await observeThenPull(conn, inputs.name, buildAtomicPullCommand(inputs.image))
      : { observed: await observe(conn, inputs.name) };
    const plan = planFor(first.observed);
    const done = { steps: 0 };
    let after: SystemContainerObservation | undefined;
    try {
      after = await runPlan(conn, inputs, plan, done, first.pulled);
    } catch (err) {
      // Nothing changed yet: a plain failure. Otherwise record what the host has now, so the next up continues.
      if (done.steps === 0) throw err;
      const now = await observe(conn, inputs.name).catch(() => undefined);
      throw new PartialFailure(messageOf(err), id, {
        ...(now ? outputsFrom(inputs, now) : inputs),
      });
    }
    // The read that ran with the last step; with no step, the first read (nothing ran since, under the host's
    // lock); else a read of its own (the last step was skipped, or its read could not be had).
    after ??= plan.steps.length === 0 ? first.observed : await observe(conn, inputs.name);
    const outs = outputsFrom(inputs, after);
    const problems = verify(conn, inputs, outs, after);
    if (problems.length > 0) {
      throw new PartialFailure(
        `${hostId(conn)}: SystemContainer ${inputs.name} was applied but the host does not match: ${problems.join("; ")}. ` +
          `Check "systemctl status ${inputs.name}" on the host; the next "pulumi up" retries.`,
        id,
        { ...outs },
      );
    }
    return outs;
  });
}

export const systemContainerProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const { priorImage: _p, __recorded: _r, ...declared } = news;
    const inputs: Inputs = withHostLabel(withDefaults(declared as Inputs));
    const failures = [...validateSystemContainerInputs(inputs), ...credentialFailures(inputs.connection)];
    if (failures.length > 0) return { inputs: defined(inputs), failures };
    const previous = olds && olds.name !== undefined && sameHostAndName(olds, inputs) ? olds : undefined;
    if (!containsUnknown(inputs)) {
      // The same planner as the apply, on the host as the state records it instead of as read over SSH.
      const record = previous ? unmaskRecord(recordOf(previous), inputs) : undefined;
      const plan = previous
        ? planSystemContainerUpdate(
            previous as Inputs,
            inputs,
            record ? observationOfRecord(inputs.name, record) : undefined,
          )
        : planSystemContainerCreate(inputs);
      inputs.commands = formatPlanLines(plan.steps, { quote: quoteCommand, mask: secretValuesOf(inputs) });
      inputs.__recorded = maskRecord(recordAfterPlan(record, inputs, plan), inputs);
    }
    return { inputs: defined(inputs), failures: [] };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    return declarativeDiff(SYSTEM_CONTAINER_DIFF, olds, withDefaults(news));
  },

  async create(inputs: Inputs) {
    const conn = connectionFor(inputs);
    const id = `${hostId(conn)}/${inputs.name}`;
    const outs = await apply(id, inputs, (o) => planSystemContainerCreate(inputs, o), { pullWithRead: true });
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
    if (observed.halfRemoved) {
      progress(
        conn,
        `system container ${props.name} is half-removed (${observed.halfRemoved.checkouts.join(", ")} without ` +
          `the symlink: a failed restart inside atomic containers update, or an atomic install killed before the ` +
          `symlink): the next up repairs it`,
      );
    } else if (!observed.present) {
      progress(conn, `system container ${props.name} is not installed any more`);
      return { id: "", props: {} };
    }
    const outs = outputsFrom(props, observed);
    // The refreshed state as inputs too, so the next preview plans the repair from what was found (and shows the
    // field it repairs, e.g. running: false => true) instead of from the last declaration.
    // Only when something drifted since the last apply or refresh: otherwise the inputs stay as they are, and
    // refresh reports no change.
    // Leftovers a repair step is planned for (a half-removed container, missing tmpfiles directories, a disabled
    // unit) are returned as inputs even when the outputs already record them: a create that failed partway saved
    // them among its outputs, while the stored inputs hold what that create's plan predicted, and the preview
    // plans from the inputs.
    const found = inputsOf(outs);
    const record = outs.__recorded;
    const repair = !!(record?.halfRemoved || record?.tmpfilesMissing || record?.disabled);
    return !repair && stableJson(found) === stableJson(inputsOf(props))
      ? { id, props: outs }
      : { id, props: outs, inputs: found };
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
} satisfies ResourceHandler<Inputs, Outputs>;
