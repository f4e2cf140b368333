/**
 * LayeredPackage's provider. What each method does on the host:
 * - check:  validates package names and the refspec; `commands` shows the planned rpm-ostree line. No SSH.
 * - diff:   the declarative LAYERED_PACKAGE_DIFF table. No SSH.
 * - create/update: under the host's lock: `rpm-ostree --version` (which flags exist), `rpm-ostree status
 *           --json`; wait for a transaction someone else runs; ONE transaction for the whole change (install,
 *           uninstall, rebase); reboot per the policy and wait for a new boot id; verify the booted deployment.
 *           A reboot that does not come back in time fails with the resource id and a partial state, so the
 *           next `up` verifies and continues without a second transaction.
 * - read:   booted and pending deployments; a declared package no longer requested is drift.
 * - delete: uninstall the packages this resource layered (one transaction), reboot per the policy. A rebase is
 *           not undone.
 */
import {
  LAYERED_PACKAGE_DEFAULTS,
  LAYERED_PACKAGE_DIFF,
  bootedDeployment,
  buildRebootCommand,
  buildRpmOstreeStatusCommand,
  buildRpmOstreeVersionCommand,
  classifyRpmOstreeOutcome,
  containsUnknown,
  decideReboot,
  defaultDeployment,
  needsReboot,
  parseRpmOstreeStatus,
  parseRpmOstreeVersion,
  planLayeringTransaction,
  rpmOstreeFailureAdvice,
  rpmOstreeCapabilities,
  validateLayeredPackageInputs,
  verifyBooted,
  type RpmOstreeCapabilities,
  type RpmOstreeStatus,
} from "../atomic";
import type { LayeredPackageInputs, LayeredPackageOutputs } from "../layeredPackage";
import {
  RemoteError,
  exec,
  isRemoteError,
  readBootId,
  waitForReboot,
  withHostLock,
  type ConnectionArgs,
} from "../ssh";
import {
  PartialFailure,
  TIMEOUTS,
  configureFromStack,
  credentialFailures,
  declarativeDiff,
  connectionOf,
  defined,
  displayLine,
  hostId,
  parseFailure,
  progress,
  requireSuccess,
  runStep,
  sleep,
  toolFailure,
} from "./common";

type Inputs = LayeredPackageInputs & { __provider?: string };
type Outputs = LayeredPackageOutputs & { __provider?: string };

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

async function readStatus(conn: ConnectionArgs): Promise<RpmOstreeStatus> {
  const argv = buildRpmOstreeStatusCommand();
  const out = requireSuccess(
    await exec(conn, argv, { timeoutMs: TIMEOUTS.readMs }),
    "Is this an rpm-ostree (Fedora Atomic) host? Run `rpm-ostree status` on it.",
  );
  const parsed = parseRpmOstreeStatus(out.stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return parsed.value;
}

async function readCapabilities(conn: ConnectionArgs): Promise<RpmOstreeCapabilities> {
  const out = await exec(conn, buildRpmOstreeVersionCommand(), { timeoutMs: TIMEOUTS.readMs });
  const parsed = out.exitCode === 0 ? parseRpmOstreeVersion(out.stdout) : undefined;
  // An unreadable version is treated as the oldest Fedora 27 build: no newer flags are used.
  return rpmOstreeCapabilities(parsed?.ok ? parsed.value : undefined);
}

/** Reads the status, waiting (with a deadline) while another transaction runs on the host. */
async function idleStatus(conn: ConnectionArgs): Promise<RpmOstreeStatus> {
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

function outputsFrom(inputs: Inputs, status: RpmOstreeStatus, bootId: string): Outputs {
  const booted = bootedDeployment(status);
  const next = defaultDeployment(status);
  const requested = next?.requestedPackages ?? [];
  return defined({
    ...inputs,
    // What the host has of the declaration: a package removed by hand is missing here, which is drift.
    packages: inputs.packages.filter((p) => requested.includes(p)),
    booted: defined({
      checksum: booted?.checksum ?? "",
      version: booted?.version,
      origin: booted?.origin ?? "",
    }),
    requestedPackages: requested,
    layeredPackages: booted?.packages ?? [],
    pendingReboot: needsReboot(status),
    bootId,
  }) as Outputs;
}

/** Reboots the host and waits for it to come back with a new boot id. Returns the new boot id. */
async function rebootAndWait(conn: ConnectionArgs, timeoutSeconds: number, reason: string): Promise<string> {
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

/** Runs the planned transaction, re-planning when the host moved under us (busy, already requested). */
async function converge(
  conn: ConnectionArgs,
  inputs: Inputs,
  managed: string[] | undefined,
): Promise<boolean> {
  const caps = await readCapabilities(conn);
  for (let attempt = 0; attempt < 5; attempt++) {
    const status = await idleStatus(conn);
    const plan = planLayeringTransaction(
      { packages: inputs.packages, rebase: inputs.rebase, managed },
      status,
      caps,
    );
    if (plan.kind === "none") return attempt > 0;
    if (plan.kind === "blocked") throw new Error(`${hostId(conn)}: ${plan.reason}`);
    if (plan.kind === "busy") continue;
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
  throw new Error(
    `${hostId(conn)}: the host kept changing while the rpm-ostree transaction was planned; run pulumi up again`,
  );
}

async function apply(id: string, inputs: Inputs, managed: string[] | undefined): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const declaration = { packages: inputs.packages, rebase: inputs.rebase };
  return withHostLock(conn, async () => {
    const ran = await converge(conn, inputs, managed);
    let status = await readStatus(conn);
    let bootId = await readBootId(conn);
    // `ran` matters for "ifNeeded" too: after an uninstall the booted deployment still has every declared
    // package, so only "this run staged the pending deployment" says the removal needs the reboot.
    const decision = decideReboot(inputs.reboot ?? "ifNeeded", status, declaration, ran);
    const partial = (message: string) =>
      new PartialFailure(message, id, {
        ...outputsFrom(inputs, status, bootId),
        __provider: inputs.__provider,
      });
    if (decision.reboot) {
      try {
        bootId = await rebootAndWait(conn, inputs.rebootTimeoutSeconds ?? 600, decision.reason);
      } catch (err) {
        throw partial(
          `${(err as Error).message}\nThe rpm-ostree change is staged; once the host is back, "pulumi up" verifies ` +
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
    return outputsFrom(inputs, status, bootId);
  });
}

export const layeredPackageProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const inputs = withDefaults(news);
    const failures = [
      ...validateLayeredPackageInputs(inputs as unknown as Record<string, unknown>),
      ...credentialFailures(inputs.connection),
    ];
    if (failures.length > 0 || containsUnknown(inputs as unknown as Record<string, unknown>))
      return { inputs, failures };
    const before = new Set(olds?.packages ?? []);
    const add = inputs.packages.filter((p) => !before.has(p));
    const remove = [...before].filter((p) => !inputs.packages.includes(p));
    const rebase = inputs.rebase !== undefined && inputs.rebase !== olds?.rebase ? inputs.rebase : undefined;
    const argv =
      rebase !== undefined
        ? [
            "rpm-ostree",
            "rebase",
            rebase,
            ...add.map((p) => `--install=${p}`),
            ...remove.map((p) => `--uninstall=${p}`),
          ]
        : add.length > 0
          ? ["rpm-ostree", "install", ...add, ...remove.map((p) => `--uninstall=${p}`)]
          : remove.length > 0
            ? ["rpm-ostree", "uninstall", ...remove]
            : undefined;
    // The exact line depends on what `rpm-ostree status` says at apply (already requested packages are left
    // out; --idempotent is added on 2018.7+); this is the line for a host that matches the last apply.
    inputs.commands = argv
      ? [
          displayLine(argv),
          inputs.reboot === "never"
            ? "# no reboot (reboot: never)"
            : "systemctl reboot  # then wait for a new boot id",
        ]
      : [];
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
    // Packages this resource declared before: only those are ever uninstalled.
    return { outs: await apply(id, news, olds.packages ?? []) };
  },

  async read(id: string, props: Outputs) {
    const conn = connectionOf(props);
    const status = await readStatus(conn);
    const bootId = await readBootId(conn);
    return { id, props: outputsFrom(props, status, bootId) };
  },

  async delete(_id: string, props: Outputs) {
    const conn = connectionOf(props);
    await withHostLock(conn, async () => {
      const ran = await converge(conn, { ...props, packages: [], rebase: undefined }, props.packages);
      if (!ran) return;
      const status = await readStatus(conn);
      const policy = props.reboot ?? "ifNeeded";
      if (policy !== "never" && needsReboot(status)) {
        await rebootAndWait(conn, props.rebootTimeoutSeconds ?? 600, "packages uninstalled");
      }
    });
  },
};
