/**
 * LayeredPackage's provider. What each method does on the host:
 * - check:  validates package names and the refspec; `commands` is the transaction and reboot the apply's
 *           planner makes on the host as the state records it (`__recorded`; a new host: UNREAD_HOST). No SSH.
 * - diff:   the declarative LAYERED_PACKAGE_DIFF table. No SSH.
 * - create/update: under the host's lock: `rpm-ostree --version` (which flags exist), `rpm-ostree status
 *           --json`; wait for a transaction someone else runs; ONE transaction for the whole change (install,
 *           uninstall, rebase); reboot per the policy and wait for a new boot id; verify the booted deployment.
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
  buildOstreeRemoteListCommand,
  buildRebootCommand,
  buildRpmOstreeStatusCommand,
  buildRpmOstreeVersionCommand,
  classifyRpmOstreeOutcome,
  containsUnknown,
  decideReboot,
  defaultDeployment,
  needsReboot,
  parseOstreeRemoteList,
  parseRpmOstreeStatus,
  parseRpmOstreeVersion,
  planLayeringTransaction,
  rpmOstreeFailureAdvice,
  rpmOstreeCapabilities,
  splitRefspec,
  validateLayeredPackageInputs,
  verifyBooted,
  UNREAD_HOST,
  formatPlanLines,
  originMatches,
  planLayeredPackage,
  recordOfStatus,
  type LayeredPackageRecord,
  type RpmOstreeCapabilities,
  type RpmOstreeStatus,
  stableJson,
} from "../atomic";
import type { LayeredPackageInputs, LayeredPackageOutputs, ResourceHandler } from "../types";
import {
  RemoteError,
  exec,
  isRemoteError,
  messageOf,
  readBootId,
  requireSuccess,
  sleep,
  waitForReboot,
  quoteCommand,
  withHostLock,
  type Connection,
  type RefusalError,
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
  execAndParse,
  refusal,
} from "./common";

/** `__recorded`: the host as the state knows it (see LayeredPackageRecord); the engine never displays `__` keys. */
type Inputs = LayeredPackageInputs & { __recorded?: LayeredPackageRecord; __provider?: string };
type Outputs = LayeredPackageOutputs & { __recorded?: LayeredPackageRecord; __provider?: string };

/** How long to wait for a transaction another tool runs before giving up. */
const TRANSACTION_WAIT_MS = 10 * 60_000;
const TRANSACTION_POLL_MS = 2_000;

function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    reboot: news.reboot ?? LAYERED_PACKAGE_DEFAULTS.reboot,
    rebootTimeoutSeconds: news.rebootTimeoutSeconds ?? LAYERED_PACKAGE_DEFAULTS.rebootTimeoutSeconds,
  };
}

async function readStatus(conn: Connection): Promise<RpmOstreeStatus> {
  const argv = buildRpmOstreeStatusCommand();
  return execAndParse(conn, argv, parseRpmOstreeStatus, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "Is this an rpm-ostree (Fedora Atomic) host? Run `rpm-ostree status` on it.",
  });
}

async function readCapabilities(conn: Connection): Promise<RpmOstreeCapabilities> {
  const out = await exec(conn, buildRpmOstreeVersionCommand(), { timeoutMs: TIMEOUTS.readMs });
  const parsed = out.exitCode === 0 ? parseRpmOstreeVersion(out.stdout) : undefined;
  // An unreadable version is treated as the oldest Fedora 27 build: no newer flags are used.
  return rpmOstreeCapabilities(parsed?.ok ? parsed.value : undefined);
}

/** Reads the status, waiting (with a deadline) while another transaction runs on the host. */
async function idleStatus(conn: Connection): Promise<RpmOstreeStatus> {
  const deadline = Date.now() + TRANSACTION_WAIT_MS;
  let status = await readStatus(conn);
  let said = false;
  while (status.transaction !== null) {
    if (Date.now() > deadline) {
      throw new RemoteError({
        kind: "timeout",
        host: hostId(conn),
        summary: `an rpm-ostree transaction (${status.transaction.join(" ")}) was still running after ${TRANSACTION_WAIT_MS / 1000} s`,
        hint: "Check `rpm-ostree status` on the host; cancel a stuck transaction (`rpm-ostree cancel` on 2018.1+, or restart rpm-ostreed) and run `pulumi up` again.",
      });
    }
    if (!said)
      progress(conn, `waiting for a running rpm-ostree transaction (${status.transaction[0]}) to finish`);
    said = true;
    await sleep(TRANSACTION_POLL_MS);
    status = await readStatus(conn);
  }
  return status;
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

/** Reboots the host and waits for it to come back with a new boot id. Returns the new boot id. */
async function rebootAndWait(conn: Connection, timeoutSeconds: number, reason: string): Promise<string> {
  const previousBootId = await readBootId(conn);
  progress(conn, `rebooting (${reason}); waiting up to ${timeoutSeconds} s for it to come back`);
  try {
    await exec(conn, buildRebootCommand(), { timeoutMs: 60_000 });
  } catch (err) {
    // The connection drops while systemd takes the host down: that is the reboot working.
    if (!isRemoteError(err, "connection", "timeout", "connect")) throw err;
  }
  const started = Date.now();
  const bootId = await waitForReboot(conn, { previousBootId, timeoutMs: timeoutSeconds * 1000 });
  progress(conn, `back after ${Math.round((Date.now() - started) / 1000)} s with a new boot id`);
  return bootId;
}

/** The upgrade guide's `ostree remote add` for a remote, as the error for a missing one suggests it. */
function remoteAddHint(remote: string): string {
  return remote === "fedora-atomic-27"
    ? `"ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27"`
    : `"ostree remote add --set=gpgkeypath=KEYFILE ${remote} URL"`;
}

/** The error for a rebase to a remote the host lacks: names the remote, what the host has, and the fix. */
function missingRemoteError(conn: Connection, refspec: string, remote: string, has?: string[]): RefusalError {
  const hasList = has === undefined ? "" : ` (it has: ${has.join(", ") || "none"})`;
  return refusal(
    conn,
    `LayeredPackage refused before any rpm-ostree transaction: the rebase to ${refspec} pulls ` +
      `from the ostree remote "${remote}", which this host does not have${hasList}.`,
    `Declare an OstreeRemote named "${remote}" that this LayeredPackage dependsOn (MasterNode, WorkerNode and ` +
      `AtomicCluster with method "packageLayering" declare it), or run ${remoteAddHint(remote)} on the host.`,
  );
}

/**
 * Fails, before any transaction, when `refspec` names a remote the host's repo lacks: rpm-ostree would only
 * fail inside the transaction, after downloading metadata (libostree: `Remote "NAME" not found`).
 */
async function requireRemote(conn: Connection, refspec: string): Promise<void> {
  const remote = splitRefspec(refspec).remote;
  if (remote === undefined) return;
  const argv = buildOstreeRemoteListCommand();
  const listed = await execAndParse(conn, argv, parseOstreeRemoteList, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "Is this an ostree (Fedora Atomic) host? Run `ostree remote list` on it.",
  });
  const names = listed.map((r) => r.name);
  if (!names.includes(remote)) throw missingRemoteError(conn, refspec, remote, names);
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
    const plan = planLayeringTransaction(
      { packages: inputs.packages, rebase: inputs.rebase, managed },
      status,
      caps,
    );
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
        __provider: inputs.__provider,
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
    const failures = [
      ...validateLayeredPackageInputs(inputs as unknown as Record<string, unknown>),
      ...credentialFailures(inputs.connection),
    ];
    if (failures.length > 0 || containsUnknown(inputs as unknown as Record<string, unknown>))
      return { inputs: defined(inputs), failures };
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
