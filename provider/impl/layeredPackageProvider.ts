/**
 * LayeredPackage's provider. What each method does on the host:
 * - check:  validates package names and the refspec; `commands` is the transaction and reboot the apply's
 *           planner makes on the host as the state records it (`__recorded`; a new host: UNREAD_HOST). No SSH.
 * - diff:   the declarative LAYERED_PACKAGE_DIFF table. No SSH.
 * - create/update: under the host's lock: `rpm-ostree --version` (which flags exist), `rpm-ostree status
 *           --json`; wait for a transaction someone else runs; ONE transaction for the whole change (install,
 *           uninstall, rebase); reboot per the policy and wait for a new boot id; verify the booted deployment.
 *           A transaction whose rpm-ostreed died reads the status again: a change already staged goes on to the
 *           reboot, one that is not fails saying nothing was deployed (the next `up` runs it again).
 *           A reboot that does not come back in time fails with the resource id and a partial state, so the
 *           next `up` verifies and continues without a second transaction.
 * - read:   booted and pending deployments (and the rpm-ostree version, for the flags); a declared package no
 *           longer requested, or another origin, is drift; returned as the inputs too, so preview plans the repair.
 * - delete: uninstall the packages this resource layered (`addedPackages`, one transaction), reboot per the
 *           policy. Packages already requested before it declared them (`adoptedPackages`) stay, and a rebase is
 *           not undone.
 */
import {
  LAYERED_PACKAGE_DEFAULTS,
  LAYERED_PACKAGE_DIFF,
  bootedDeployment,
  classifyRpmOstreeOutcome,
  containsUnknown,
  decideReboot,
  defaultDeployment,
  needsReboot,
  planLayeringTransaction,
  rpmOstreeFailureAdvice,
  validateLayeredPackageInputs,
  verifyBooted,
  UNREAD_HOST,
  formatPlanLines,
  originMatches,
  planLayeredPackage,
  recordOfStatus,
  type LayeredPackageRecord,
  type RpmOstreeCapabilities,
  type RpmOstreeOutcome,
  type RpmOstreeStatus,
  stableJson,
} from "../atomic";
import type { LayeredPackageInputs, LayeredPackageOutputs, ResourceHandler } from "../types";
import {
  RemoteError,
  isRemoteError,
  messageOf,
  tailLines,
  readBootId,
  requireSuccess,
  quoteCommand,
  withHostLock,
  type Connection,
  type ExecResult,
} from "../ssh";
import {
  PartialFailure,
  TIMEOUTS,
  configureFromStack,
  credentialFailures,
  declarativeDiff,
  connectionOf,
  defined,
  hostId,
  withHostLabel,
  progress,
  runStep,
  toolFailure,
  refusal,
} from "./common";
import {
  idleStatus,
  missingRemoteError,
  readCapabilities,
  readStatus,
  rebootAndWait,
  requireRemote,
} from "./rpmOstreeHost";

/** `__recorded`: the host as the state knows it (see LayeredPackageRecord); the engine never displays `__` keys. */
type Inputs = LayeredPackageInputs & { __recorded?: LayeredPackageRecord; __provider?: string };
type Outputs = LayeredPackageOutputs & { __recorded?: LayeredPackageRecord; __provider?: string };

function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    reboot: news.reboot ?? LAYERED_PACKAGE_DEFAULTS.reboot,
    rebootTimeoutSeconds: news.rebootTimeoutSeconds ?? LAYERED_PACKAGE_DEFAULTS.rebootTimeoutSeconds,
  };
}

function outputsFrom(
  inputs: Inputs,
  status: RpmOstreeStatus,
  bootId: string,
  caps: RpmOstreeCapabilities,
  ownership: { addedPackages?: string[]; adoptedPackages?: string[] } = {},
): Outputs {
  const booted = bootedDeployment(status);
  const next = defaultDeployment(status);
  const requested = next?.requestedPackages ?? [];
  return defined({
    ...inputs,
    // What the host has of the declaration: a package removed by hand is missing here, which is drift; so is
    // another origin than the declared rebase (the next deployment's, as rpm-ostree builds on it).
    packages: inputs.packages.filter((p) => requested.includes(p)),
    rebase:
      inputs.rebase !== undefined && next?.origin !== undefined && !originMatches(next.origin, inputs.rebase)
        ? next.origin
        : inputs.rebase,
    __recorded: recordOfStatus(status, caps),
    booted: defined({
      checksum: booted?.checksum ?? "",
      version: booted?.version,
      origin: booted?.origin ?? "",
    }),
    requestedPackages: requested,
    layeredPackages: booted?.packages ?? [],
    pendingReboot: needsReboot(status),
    bootId,
    ...defined(ownership),
  }) as Outputs;
}

/** A failed transaction's error: what it means for the host, then what rpm-ostree said and the advice. */
function transactionFailure(out: ExecResult, summary: string, kind: RpmOstreeOutcome["kind"]): RemoteError {
  return new RemoteError({
    kind: "command",
    host: out.host,
    summary,
    command: out.command,
    exitCode: out.exitCode,
    signal: out.signal,
    stderrTail: tailLines(out.stderr),
    hint: rpmOstreeFailureAdvice(kind),
  });
}

/** Runs the planned transaction, re-planning when the host moved under us (busy, already requested). */
async function converge(
  conn: Connection,
  inputs: Inputs,
  managed: string[] | undefined,
  caps: RpmOstreeCapabilities,
  onFirstStatus: (status: RpmOstreeStatus) => void = () => undefined,
): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const status = await idleStatus(conn);
    if (attempt === 0) onFirstStatus(status);
    const planned = { packages: inputs.packages, rebase: inputs.rebase, managed };
    const plan = planLayeringTransaction(planned, status, caps);
    if (plan.kind === "none") return attempt > 0;
    if (plan.kind === "blocked") throw refusal(conn, plan.reason);
    if (plan.kind === "busy") continue;
    if (plan.rebaseTo !== undefined) await requireRemote(conn, plan.rebaseTo);
    let out;
    try {
      out = await runStep(conn, plan, TIMEOUTS.longMs);
    } catch (err) {
      // The SSH layer reports a dropped connection as an error, not a result. rpm-ostreed runs the transaction
      // on the host whatever happens to the client, so read the status again (waiting for it) and re-plan.
      if (!isRemoteError(err, "connection")) throw err;
      progress(conn, "the connection dropped during the rpm-ostree transaction; reading the status again");
      continue;
    }
    const outcome = classifyRpmOstreeOutcome({
      exitCode: out.exitCode,
      stdout: out.stdout,
      stderr: out.stderr,
    });
    switch (outcome.kind) {
      case "changed":
      case "unchanged":
        return true;
      case "busy":
      case "alreadyRequested":
      case "notRequested":
      case "interrupted":
        // Someone else changed the host, or the connection dropped: read the status again and re-plan.
        progress(conn, `rpm-ostree: ${outcome.message.trim() || outcome.kind}; reading the status again`);
        continue;
      case "refsEqual":
        progress(conn, `rpm-ostree: ${outcome.message.trim()}; reading the status again`);
        continue;
      case "daemonGone": {
        // rpm-ostreed died before the transaction finished. libostree adds a deployment only when it swaps the
        // boot loader configuration, so the host has either its old deployments or the whole new one: read which.
        const after = await readStatus(conn);
        if (planLayeringTransaction(planned, after, caps).kind === "none") {
          progress(conn, "rpm-ostreed went away after writing the deployment; the change is staged");
          return true;
        }
        throw transactionFailure(
          out,
          "rpm-ostreed, the daemon running the transaction, went away before it finished (killed, crashed or " +
            "restarted); rpm-ostree status, read after it, shows the change is not staged: the transaction " +
            "deployed nothing",
          outcome.kind,
        );
      }
      case "noSpace":
        throw transactionFailure(
          out,
          /min-free-space/.test(outcome.message)
            ? "the transaction failed: the filesystem that holds /ostree/repo is full"
            : "the transaction failed: a filesystem it writes to is full (/ostree/repo's, or /boot for a new kernel)",
          outcome.kind,
        );
      case "remoteNotFound":
        throw missingRemoteError(conn, plan.rebaseTo ?? "", outcome.remote);
      case "packageNotFound":
        throw toolFailure(
          conn,
          plan.argv,
          `rpm-ostree found no package named ${outcome.packages.join(", ")} in the host's repositories`,
          rpmOstreeFailureAdvice(outcome.kind),
        );
      default:
        requireSuccess(
          out.exitCode === 0 ? { ...out, exitCode: -1 } : out,
          rpmOstreeFailureAdvice(outcome.kind),
        );
    }
  }
  throw refusal(
    conn,
    "the host kept changing while the rpm-ostree transaction was planned",
    "run pulumi up again",
  );
}

/**
 * Which declared packages this resource layers itself and which it adopted (already requested before it declared
 * them): a package keeps its standing from the last apply; a newly declared one is adopted when `requested` (the
 * host before this apply's transaction) already has it.
 */
export function packageOwnership(
  declared: readonly string[],
  requested: readonly string[],
  previous?: Pick<Outputs, "packages" | "adoptedPackages">,
): { addedPackages: string[]; adoptedPackages: string[] } {
  const before = new Set(previous?.packages ?? []);
  const adoptedBefore = new Set(previous?.adoptedPackages ?? []);
  const adopted = declared.filter((p) => (before.has(p) ? adoptedBefore.has(p) : requested.includes(p)));
  return { addedPackages: declared.filter((p) => !adopted.includes(p)), adoptedPackages: adopted };
}

/** Packages this resource may uninstall: the ones it layered (all declared ones in state older than that split). */
function ownPackages(props: Pick<Outputs, "packages" | "addedPackages">): string[] {
  return props.addedPackages ?? props.packages ?? [];
}

async function apply(
  id: string,
  inputs: Inputs,
  managed: string[] | undefined,
  previous?: Outputs,
): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const declaration = { packages: inputs.packages, rebase: inputs.rebase };
  return withHostLock(conn, async () => {
    const caps = await readCapabilities(conn);
    let ownership = packageOwnership(inputs.packages, [], previous);
    const ran = await converge(conn, inputs, managed, caps, (first) => {
      ownership = packageOwnership(
        inputs.packages,
        defaultDeployment(first)?.requestedPackages ?? [],
        previous,
      );
    });
    let status = await readStatus(conn);
    let bootId = await readBootId(conn);
    // `ran` matters for "ifNeeded" too: after an uninstall the booted deployment still has every declared
    // package, so only "this run staged the pending deployment" says the removal needs the reboot.
    const decision = decideReboot(inputs.reboot ?? "ifNeeded", status, declaration, ran);
    const partial = (message: string) =>
      new PartialFailure(message, id, {
        ...outputsFrom(inputs, status, bootId, caps, ownership),
      });
    if (decision.reboot) {
      try {
        bootId = await rebootAndWait(conn, inputs.rebootTimeoutSeconds ?? 600, decision.reason);
      } catch (err) {
        throw partial(
          `${messageOf(err)}\nThe rpm-ostree change is staged; once the host is back, "pulumi up" verifies ` +
            "it and finishes without running the transaction again.",
        );
      }
      status = await readStatus(conn);
    } else if (needsReboot(status)) {
      progress(conn, `not rebooting: ${decision.reason}`);
    }
    if (inputs.reboot !== "never") {
      const v = verifyBooted(status, declaration);
      if (!v.ok) {
        const what = [
          v.missing.length > 0 ? `packages not in the booted deployment: ${v.missing.join(", ")}` : "",
          v.origin ? `booted origin is ${v.origin.actual ?? "(none)"}, not ${v.origin.expected}` : "",
        ].filter(Boolean);
        throw partial(
          `${hostId(conn)}: after the change the booted deployment does not match: ${what.join("; ")}. ` +
            "Check `rpm-ostree status` on the host; a pending deployment needs a reboot.",
        );
      }
    }
    return outputsFrom(inputs, status, bootId, caps, ownership);
  });
}

/**
 * The record of state written before `__recorded` existed: the last declaration, booted (the apply rebooted
 * into it unless the policy was "never", which then shows as pending), on an rpm-ostree without newer flags.
 */
function legacyRecord(olds: Partial<Inputs>): LayeredPackageRecord {
  const deployment = {
    origin: olds.rebase,
    requested: [...(olds.packages ?? [])],
    packages: [...(olds.packages ?? [])],
  };
  return olds.reboot === "never"
    ? {
        booted: { origin: undefined, requested: [], packages: [] },
        pending: deployment,
        capabilities: UNREAD_HOST.capabilities,
      }
    : { booted: deployment, capabilities: UNREAD_HOST.capabilities };
}

/** The input part of outputs: what `read` hands back as the inputs the next check compares against. */
function inputsOf(outs: Outputs): Inputs {
  const {
    booted: _b,
    requestedPackages: _r,
    layeredPackages: _l,
    pendingReboot: _p,
    bootId: _i,
    addedPackages: _a,
    adoptedPackages: _d,
    __provider: _v,
    ...inputs
  } = outs;
  return defined({ ...inputs, commands: [] });
}

export const layeredPackageProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const { __recorded: _r, ...declared } = news;
    const inputs: Inputs = withHostLabel(withDefaults(declared as Inputs));
    const failures = [...validateLayeredPackageInputs(inputs), ...credentialFailures(inputs.connection)];
    if (failures.length > 0 || containsUnknown(inputs)) return { inputs: defined(inputs), failures };
    // The same planner as the apply, on the host as the state records it. Another host (a replacement) or no
    // state: a create, planned for a host nothing was read from (UNREAD_HOST).
    const same = olds?.connection !== undefined && hostId(olds.connection) === hostId(inputs.connection);
    const record = same ? (olds?.__recorded ?? legacyRecord(olds!)) : UNREAD_HOST;
    const plan = planLayeredPackage(
      {
        packages: inputs.packages,
        rebase: inputs.rebase,
        managed: same ? (olds?.packages ?? []) : undefined,
      },
      record,
      inputs.reboot ?? LAYERED_PACKAGE_DEFAULTS.reboot,
    );
    inputs.commands = formatPlanLines(plan.steps, { quote: quoteCommand });
    inputs.__recorded = plan.after ?? record;
    return { inputs: defined(inputs), failures: [] };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    return declarativeDiff(LAYERED_PACKAGE_DIFF, olds, withDefaults(news));
  },

  async create(inputs: Inputs) {
    const conn = connectionOf(inputs);
    const id = `${hostId(conn)}/rpm-ostree/${[...inputs.packages].sort().join(",")}`;
    return { id, outs: await apply(id, inputs, undefined) };
  },

  async update(id: string, olds: Outputs, news: Inputs) {
    // Packages this resource layered before: only those are ever uninstalled (never adopted ones).
    return { outs: await apply(id, news, ownPackages(olds), olds) };
  },

  async read(id: string, props: Outputs) {
    const conn = connectionOf(props);
    const status = await readStatus(conn);
    const bootId = await readBootId(conn);
    const outs = outputsFrom(props, status, bootId, await readCapabilities(conn), {
      addedPackages: props.addedPackages,
      adoptedPackages: props.adoptedPackages,
    });
    // The refreshed state as inputs too, so the next preview plans the repair from what was found (a package
    // removed by hand, another base) and shows the field it repairs.
    // Only when something drifted since the last apply or refresh: otherwise the inputs stay as they are, and
    // refresh reports no change.
    const found = inputsOf(outs);
    return stableJson(found) === stableJson(inputsOf(props))
      ? { id, props: outs }
      : { id, props: outs, inputs: found };
  },

  async delete(_id: string, props: Outputs) {
    const conn = connectionOf(props);
    await withHostLock(conn, async () => {
      // Only what this resource layered: packages it adopted (requested before it declared them) stay.
      const ran = await converge(
        conn,
        { ...props, packages: [], rebase: undefined },
        ownPackages(props),
        await readCapabilities(conn),
      );
      if (!ran) return;
      const status = await readStatus(conn);
      const policy = props.reboot ?? "ifNeeded";
      if (policy !== "never" && needsReboot(status)) {
        await rebootAndWait(conn, props.rebootTimeoutSeconds ?? 600, "packages uninstalled");
      }
    });
  },
} satisfies ResourceHandler<Inputs, Outputs>;
