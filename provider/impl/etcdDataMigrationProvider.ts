/**
 * EtcdDataMigration's provider: the migration guide's `systemctl stop etcd; cp -r /var/lib/etcd/member
 * /var/lib/etcd/etcd.etcd/`, made safe. What each method does on the host:
 * - check:  absolute, normalised, non-nested paths; `commands` lists the steps (planEtcdMigration: the apply's
 *           builders, in its order; nothing for a migration already in the state). No SSH.
 * - create: under the host's lock: inspect, making a missing destination first in the same command (source is a
 *           member directory with wal/ and snap/; destination; leftovers, discarded then inspected again); an
 *           existing DEST/member is compared with the source (modes aside) and, when it differs, its WAL with the
 *           source's: identical, or the source's history continued by etcd (the migration done and in use), means
 *           adopt: no copy, no stop; anything else is refused (conflict "fail") or moved to
 *           DEST/member.backup-<UTC> (conflict "backup"). To copy: ONE host-side script (ETCD_MIGRATE_SCRIPT,
 *           under the host's own time bound) stops the unit and proves it inactive, moves DEST/member aside if
 *           asked, `cp -a` into DEST/.member.tmp-<id>, verifies every file's size, mode and sha256 against the
 *           source, and renames it to DEST/member in one `mv -T`. Any failure
 *           before that rename (a step, the time bound, or the client going away) rolls back on the host: the
 *           copy removed, the backup moved back, the unit started again on the source data and proven active.
 *           The source is never modified or removed. A lost connection is followed by reading the outcome the
 *           script recorded, so the error says what happened on the host.
 * - read:   manifests DEST/member: gone means the resource is gone; its current manifest is reported (etcd
 *           writes to it once started, so a change there is expected drift, shown but not "fixed").
 * - delete: leaves every byte where it is.
 */
import {
  buildEtcdLineageCommand,
  isEtcdContinuation,
  parseEtcdLineageOutput,
  ETCD_DATA_MIGRATION_DEFAULTS,
  ETCD_DATA_MIGRATION_DIFF,
  backupTimestamp,
  buildDiscardTempCommand,
  buildEtcdInspectCommand,
  buildEtcdPrepareInspectCommand,
  buildSystemctlCommand,
  formatCommandForDisplay,
  parseMadeDestination,
  parseIsActiveOutput,
  buildDestinationMkdirCommand,
  formatPlanLines,
  planEtcdMigration,
  type EtcdMigrationRecord,
  containsUnknown,
  decideEtcdMigration,
  diffManifests,
  etcdLeftStoppedMessage,
  etcdMigrationWarnings,
  manifestSha256,
  manifestTotals,
  parseEtcdInspectOutput,
  serviceUnitName,
  validateEtcdDataMigrationInputs,
  type EtcdInspection,
  type EtcdUnitAfterDelete,
  type ManifestEntry,
} from "../atomic";
import type { EtcdDataMigrationInputs, EtcdDataMigrationOutputs, ResourceHandler } from "../types";
import { exec, quoteCommand, requireSuccess, withHostLock, type Connection } from "../ssh";
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
  execAndParse,
  requireParsed,
  refusal,
} from "./common";
import { guardMemberStop } from "./etcdClusterView";
import { manifest, runMigration, type Spec } from "./etcdMigrationRun";

type Inputs = EtcdDataMigrationInputs & { __provider?: string };
type Outputs = EtcdDataMigrationOutputs & { __provider?: string };
function withDefaults(news: Inputs): Inputs {
  return {
    ...news,
    source: news.source ?? ETCD_DATA_MIGRATION_DEFAULTS.source,
    destination: news.destination ?? ETCD_DATA_MIGRATION_DEFAULTS.destination,
    service: news.service ?? ETCD_DATA_MIGRATION_DEFAULTS.service,
    conflict: news.conflict ?? ETCD_DATA_MIGRATION_DEFAULTS.conflict,
  };
}

function specOf(i: Inputs): Spec {
  const d = withDefaults(i);
  return {
    source: d.source!,
    destination: d.destination!,
    unit: serviceUnitName(d.service!),
    conflict: d.conflict!,
  };
}

const INSPECT_HINT = "The inspect script needs sh, find, du, df and systemctl.";

async function inspect(conn: Connection, spec: Spec): Promise<EtcdInspection> {
  const argv = buildEtcdInspectCommand(spec);
  return execAndParse(conn, argv, parseEtcdInspectOutput, {
    timeoutMs: TIMEOUTS.readMs,
    hint: INSPECT_HINT,
  });
}

/**
 * The apply's first inspection: the destination's `mkdir` (when the source is a directory and nothing is at the
 * destination), then the inspection, in one command under the host's bound (ETCD_PREPARE_INSPECT_SCRIPT).
 */
async function prepareAndInspect(conn: Connection, spec: Spec): Promise<EtcdInspection> {
  const argv = buildEtcdPrepareInspectCommand(spec);
  const mkdir = buildDestinationMkdirCommand(spec.destination);
  const out = await exec(conn, argv, { timeoutMs: TIMEOUTS.readMs, hostTimeout: true });
  const made = parseMadeDestination(out.stdout);
  if (made !== undefined) {
    progress(conn, formatCommandForDisplay(mkdir, { quote: quoteCommand }));
    // mkdir's words are the script's stderr (the inspection after it writes none).
    requireSuccess(
      { ...out, command: quoteCommand(mkdir), exitCode: made },
      `Could not create ${spec.destination}.`,
    );
  }
  return requireParsed(conn, argv, out, parseEtcdInspectOutput, INSPECT_HINT);
}

/** `systemctl is-active` and `is-enabled` of the unit (both exit non-zero for a stopped, disabled unit). */
async function readUnitState(conn: Connection, unit: string): Promise<EtcdUnitAfterDelete> {
  const active = await exec(conn, buildSystemctlCommand("is-active", unit), { timeoutMs: TIMEOUTS.readMs });
  const enabled = await exec(conn, buildSystemctlCommand("is-enabled", unit), { timeoutMs: TIMEOUTS.readMs });
  return { active: parseIsActiveOutput(active.stdout), enabled: enabled.stdout.trim().split("\n")[0] ?? "" };
}

/** `destination`: DEST/member's manifest when it is not the verified copy of `entries` (an adopted one). */
function outputsFrom(
  inputs: Inputs,
  entries: ManifestEntry[],
  migratedAt: string,
  backupPath?: string,
  destination?: ManifestEntry[],
): Outputs {
  const totals = manifestTotals(entries);
  const sha = manifestSha256(entries);
  return defined({
    ...withDefaults(inputs),
    files: totals.files,
    bytes: totals.bytes,
    manifestSha256: sha,
    destinationManifestSha256: destination ? manifestSha256(destination) : sha,
    migratedAt,
    backupPath,
  }) as Outputs;
}

/** Whether DEST/member is the source's WAL continued by etcd (see ETCD_LINEAGE_SCRIPT). */
async function continuesSource(conn: Connection, spec: Spec): Promise<boolean> {
  const argv = buildEtcdLineageCommand(spec.source, `${spec.destination}/member`);
  const lineage = await execAndParse(conn, argv, parseEtcdLineageOutput, {
    timeoutMs: TIMEOUTS.longMs,
    hint: "Could not compare the WAL segments of the source and the destination (the script needs cmp, tail, tr).",
  });
  return isEtcdContinuation(lineage);
}

async function migrate(id: string, inputs: Inputs): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const spec = specOf(inputs);
  return withHostLock(conn, async () => {
    // The inspection, with the destination made first when it is missing and the source is a directory: what
    // systemd-tmpfiles would create for the etcd container (d ... 0700 root root); cp -r into a missing folder
    // would create it AS the member directory, the layout mistake the guide warns about.
    let insp = await prepareAndInspect(conn, spec);
    for (const w of etcdMigrationWarnings(insp, spec)) progress(conn, `warning: ${w}`);
    for (const t of insp.leftoverTempIds) {
      progress(conn, `discarding the temporary folder of an interrupted attempt (.member.tmp-${t})`);
      requireSuccess(
        await runStep(
          conn,
          { argv: buildDiscardTempCommand(spec.destination, t), why: "discard" },
          TIMEOUTS.longMs,
        ),
        "Could not remove the leftover copy.",
      );
    }
    // The inspection counted the leftovers' space as used: inspect again, or a destination with room for one copy
    // is refused because of a copy that is gone.
    if (insp.leftoverTempIds.length > 0) insp = await inspect(conn, spec);
    // Decide as if etcd were stopped: it is stopped right before any copy, and an identical destination needs no stop.
    let decision = decideEtcdMigration({ ...insp, serviceState: "inactive" }, spec);
    let differences: string[] = [];
    if (decision.action === "compare") {
      const [src, dst] = await Promise.all([
        manifest(conn, spec.source),
        manifest(conn, `${spec.destination}/member`),
      ]);
      // Modes aside: the etcd container's tmpfiles `Z` line chmods everything below DEST (files to 0700) at
      // install and at every boot, so a faithful copy no longer matches the source's modes.
      differences = diffManifests(src, dst, { labels: ["source", "destination"], modes: false });
      // A different DEST/member may be this very migration in use: the container started on the copy and etcd
      // appended to it. Without this, a second create (lost state) or an update of `conflict`/`service` would
      // refuse it, or with conflict "backup" stop the running etcd and replace its data with the older source,
      // rewinding the cluster.
      const continued = differences.length > 0 && (await continuesSource(conn, spec));
      decision = decideEtcdMigration({ ...insp, serviceState: "inactive" }, spec, { differences, continued });
      if (decision.action === "adopt") {
        progress(
          conn,
          decision.continued
            ? `${spec.destination}/member is ${spec.source}'s data continued by etcd (its WAL extends the source's): ` +
                `already migrated and in use; nothing copied, ${spec.unit} left as it is`
            : `${spec.destination}/member already holds an identical copy of ${spec.source}: nothing to copy`,
        );
        return outputsFrom(inputs, src, new Date().toISOString(), undefined, dst);
      }
    }
    if (decision.action === "fail") throw refusal(conn, `EtcdDataMigration refused: ${decision.reason}`);
    // A member of a multi-member cluster stops only when the others are healthy and keep a quorum without it.
    const member = await guardMemberStop(conn, spec.unit, insp.serviceState);
    let backupStamp: string | undefined;
    if (decision.action === "backupThenCopy") {
      backupStamp = backupTimestamp(new Date());
      progress(
        conn,
        `the destination holds a different member directory (${decision.differences.slice(0, 3).join("; ")}): ` +
          `moving it to ${spec.destination}/member.backup-${backupStamp}`,
      );
    }
    try {
      const entries = await runMigration(conn, spec, backupStamp);
      const backupPath = backupStamp ? `${spec.destination}/member.backup-${backupStamp}` : undefined;
      const outs = {
        ...outputsFrom(inputs, entries, new Date().toISOString(), backupPath),
        ...(member ? { memberId: member.memberId, memberName: member.memberName } : {}),
      };
      progress(
        conn,
        `migrated ${outs.files} files (${outs.bytes} bytes) to ${spec.destination}/member, verified`,
      );
      return outs;
    } catch (err) {
      if (!(err instanceof PartialFailure)) throw err;
      // The old destination is still moved aside: record it, so nobody loses track of where it went.
      throw new PartialFailure(err.message, id, {
        ...withDefaults(inputs),
        ...err.properties,
      });
    }
  });
}

export const etcdDataMigrationProvider = {
  configure: configureFromStack,

  async check(olds: Partial<Inputs> | undefined, news: Inputs) {
    const inputs = withHostLabel(withDefaults(news));
    const failures = [...validateEtcdDataMigrationInputs(inputs), ...credentialFailures(inputs.connection)];
    if (failures.length > 0 || containsUnknown(inputs)) return { inputs: defined(inputs), failures };
    const spec = specOf(inputs);
    // Only the same migration (same host, source and destination) is already done; anything else is a create.
    const same =
      olds?.connection !== undefined &&
      hostId(olds.connection) === hostId(inputs.connection) &&
      olds.source === spec.source &&
      olds.destination === spec.destination;
    // A migration in the state was done (a create that failed is not in the state, or was recorded with its
    // backupPath only, which the apply's inspection then finds as a different DEST/member).
    const record: EtcdMigrationRecord | undefined = same ? { migrated: true } : undefined;
    const plan = planEtcdMigration(spec, record);
    inputs.commands = formatPlanLines(plan.steps, { quote: quoteCommand });
    return { inputs: defined(inputs), failures: [] };
  },

  async diff(_id: string, olds: Outputs, news: Inputs) {
    return declarativeDiff(ETCD_DATA_MIGRATION_DIFF, olds, withDefaults(news));
  },

  async create(inputs: Inputs) {
    const conn = connectionOf(inputs);
    const spec = specOf(inputs);
    const id = `${hostId(conn)}:${spec.destination}/member`;
    return { id, outs: await migrate(id, inputs) };
  },

  async update(id: string, _olds: Outputs, news: Inputs) {
    // Only `service` and `conflict` change in place (paths and host replace): both matter only while copying.
    return { outs: await migrate(id, news) };
  },

  async read(id: string, props: Outputs) {
    const conn = connectionOf(props);
    const spec = specOf(props);
    const insp = await inspect(conn, spec);
    if (insp.member !== "directory") {
      progress(conn, `${spec.destination}/member is gone`);
      return { id: "", props: {} };
    }
    const entries = await manifest(conn, `${spec.destination}/member`);
    // No input drifts here (a DEST/member found gone removes the resource), so the inputs stay as they are.
    return { id, props: { ...props, destinationManifestSha256: manifestSha256(entries) } };
  },

  async delete(_id: string, props: Outputs) {
    const conn = connectionOf(props);
    const spec = specOf(props);
    progress(
      conn,
      `leaving ${spec.source} and ${spec.destination}/member in place (delete never removes etcd data)`,
    );
    // Say what the host has now, and why etcd stays down: a read only, so a host that cannot be read does not
    // fail the delete (nothing is removed either way).
    const unit = await readUnitState(conn, spec.unit).catch(() => undefined);
    progress(conn, etcdLeftStoppedMessage(spec, unit));
  },
} satisfies ResourceHandler<Inputs, Outputs>;
