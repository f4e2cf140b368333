/**
 * EtcdDataMigration's provider: the migration guide's `systemctl stop etcd; cp -r /var/lib/etcd/member
 * /var/lib/etcd/etcd.etcd/`, made safe. What each method does on the host:
 * - check:  absolute, normalised, non-nested paths; `commands` lists the steps. No SSH.
 * - create: under the host's lock: inspect (source is a member directory with wal/ and snap/; destination;
 *           leftovers, discarded then inspected again); an existing DEST/member is compared with the source
 *           (modes aside) and, when it differs, its WAL with the source's: identical, or the source's history
 *           continued by etcd (the migration done and in use), means adopt: no copy, no stop; anything else is
 *           refused (conflict "fail") or moved to DEST/member.backup-<UTC> (conflict "backup"). To copy: stop the
 *           unit and confirm it is inactive,
 *           `cp -a` into DEST/.member.tmp-<id>, verify every file's size and sha256 against the source, and
 *           rename it to DEST/member in one `mv -T`. The source is never modified or removed; a failed step
 *           removes only its own temporary folder.
 * - read:   manifests DEST/member: gone means the resource is gone; its current manifest is reported (etcd
 *           writes to it once started, so a change there is expected drift, shown but not "fixed").
 * - delete: leaves every byte where it is.
 */
import { randomBytes } from "crypto";
import {
  buildEtcdLineageCommand,
  isEtcdContinuation,
  parseEtcdLineageOutput,
  ETCD_DATA_MIGRATION_DEFAULTS,
  ETCD_DATA_MIGRATION_DIFF,
  backupTimestamp,
  buildBackupCommand,
  buildCommitCommand,
  buildCopyCommand,
  buildDiscardTempCommand,
  buildEtcdInspectCommand,
  buildManifestCommand,
  buildSystemctlCommand,
  buildVerifyCommand,
  containsUnknown,
  decideEtcdMigration,
  diffManifests,
  etcdLeftStoppedMessage,
  etcdMigrationWarnings,
  manifestSha256,
  manifestTotals,
  parseEtcdInspectOutput,
  parseEtcdStepOutput,
  parseIsActiveOutput,
  parseManifestOutput,
  parseVerifyOutput,
  serviceUnitName,
  validateEtcdDataMigrationInputs,
  type EtcdInspection,
  type EtcdUnitAfterDelete,
  type ManifestEntry,
} from "../atomic";
import type { EtcdDataMigrationInputs, EtcdDataMigrationOutputs } from "../etcdDataMigration";
import { RemoteError, exec, isRemoteError, withHostLock, type ConnectionArgs } from "../ssh";
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
  toolFailure,
} from "./common";

type Inputs = EtcdDataMigrationInputs & { __provider?: string };
type Outputs = EtcdDataMigrationOutputs & { __provider?: string };
type Spec = { source: string; destination: string; unit: string; conflict: "fail" | "backup" };

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

async function inspect(conn: ConnectionArgs, spec: Spec): Promise<EtcdInspection> {
  const argv = buildEtcdInspectCommand(spec);
  const out = requireSuccess(
    await exec(conn, argv, { timeoutMs: TIMEOUTS.readMs }),
    "The inspect script needs sh, find, du, df and systemctl.",
  );
  const parsed = parseEtcdInspectOutput(out.stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return parsed.value;
}

async function manifest(conn: ConnectionArgs, dir: string): Promise<ManifestEntry[]> {
  const argv = buildManifestCommand(dir);
  const out = requireSuccess(
    await exec(conn, argv, { timeoutMs: TIMEOUTS.longMs }),
    `Could not list ${dir}.`,
  );
  const parsed = parseManifestOutput(out.stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return parsed.value;
}

/** Runs one step script; throws with the script's refusal in words. */
async function step(conn: ConnectionArgs, argv: string[], what: string): Promise<void> {
  let out;
  try {
    out = await runStep(conn, { argv, why: what }, TIMEOUTS.longMs);
  } catch (err) {
    // The SSH layer's message quotes the whole step script and says nothing about the migration's state. What
    // the person on call needs: the step may still be running on the host (sshd does not stop a session's
    // processes when it dies), the source is untouched, and what the next `up` does about it.
    if (!isRemoteError(err, "connection", "timeout")) throw err;
    throw new RemoteError({
      kind: err.kind,
      host: err.host,
      summary:
        `${what}: ${err.kind === "timeout" ? "the step did not finish in time" : "the connection was lost during the step"}; ` +
        `it may have completed, or may still be running on the host`,
      command: displayLine(argv),
      stderrTail: err.stderrTail,
      hint:
        "The source is never modified. Run pulumi up again once the host answers: it discards any unfinished " +
        "DEST/.member.tmp-* copy and copies again; DEST/member only ever appears by the final rename of a verified copy.",
    });
  }
  const outcome = parseEtcdStepOutput({ exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr });
  if (outcome.kind === "done") return;
  throw toolFailure(
    conn,
    argv,
    `${what} failed: ${outcome.message}`,
    "The source is untouched. Fix the cause (free space, permissions) and run pulumi up again: the copy is redone from scratch.",
  );
}

/** Stops the unit and proves it is inactive: etcd must not write while its files are copied. */
async function stopService(conn: ConnectionArgs, unit: string): Promise<void> {
  requireSuccess(
    await runStep(conn, { argv: buildSystemctlCommand("stop", unit), why: "stop etcd" }, TIMEOUTS.serviceMs),
    `systemd could not stop ${unit}.`,
  );
  const state = parseIsActiveOutput(
    (await exec(conn, buildSystemctlCommand("is-active", unit), { timeoutMs: TIMEOUTS.readMs })).stdout,
  );
  if (state !== "inactive" && state !== "failed" && state !== "unknown" && state !== "") {
    throw toolFailure(
      conn,
      buildSystemctlCommand("is-active", unit),
      `${unit} is ${state} after systemctl stop`,
      "Stop it by hand and run pulumi up again.",
    );
  }
}

/** `systemctl is-active` and `is-enabled` of the unit (both exit non-zero for a stopped, disabled unit). */
async function readUnitState(conn: ConnectionArgs, unit: string): Promise<EtcdUnitAfterDelete> {
  const active = await exec(conn, buildSystemctlCommand("is-active", unit), { timeoutMs: TIMEOUTS.readMs });
  const enabled = await exec(conn, buildSystemctlCommand("is-enabled", unit), { timeoutMs: TIMEOUTS.readMs });
  return { active: parseIsActiveOutput(active.stdout), enabled: enabled.stdout.trim().split("\n")[0] ?? "" };
}

/** Copies SRC to a temporary folder beside DEST/member, verifies it file by file, and renames it into place. */
async function copyVerifyCommit(conn: ConnectionArgs, spec: Spec): Promise<ManifestEntry[]> {
  const tempId = randomBytes(6).toString("hex");
  await step(
    conn,
    buildCopyCommand(spec.source, spec.destination, tempId),
    `copy ${spec.source} into ${spec.destination}`,
  );
  try {
    const argv = buildVerifyCommand(spec.source, spec.destination, tempId);
    const out = requireSuccess(
      await runStep(conn, { argv, why: "verify" }, TIMEOUTS.longMs),
      "Could not read the copy back.",
    );
    const parsed = parseVerifyOutput(out.stdout);
    if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
    const differences = diffManifests(parsed.value.source, parsed.value.copy, { labels: ["source", "copy"] });
    if (differences.length > 0) {
      throw toolFailure(
        conn,
        argv,
        `the copy does not match the source: ${differences.join("; ")}`,
        "Was etcd still writing? The copy was discarded; run pulumi up again.",
      );
    }
    await step(
      conn,
      buildCommitCommand(spec.destination, tempId),
      `rename the verified copy to ${spec.destination}/member`,
    );
    return parsed.value.source;
  } catch (err) {
    await exec(conn, buildDiscardTempCommand(spec.destination, tempId), { timeoutMs: TIMEOUTS.longMs }).catch(
      () => undefined,
    );
    throw err;
  }
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
async function continuesSource(conn: ConnectionArgs, spec: Spec): Promise<boolean> {
  const argv = buildEtcdLineageCommand(spec.source, `${spec.destination}/member`);
  const out = requireSuccess(
    await exec(conn, argv, { timeoutMs: TIMEOUTS.longMs }),
    "Could not compare the WAL segments of the source and the destination (the script needs cmp, tail, tr).",
  );
  const parsed = parseEtcdLineageOutput(out.stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return isEtcdContinuation(parsed.value);
}

async function migrate(id: string, inputs: Inputs): Promise<Outputs> {
  const conn = connectionOf(inputs);
  const spec = specOf(inputs);
  return withHostLock(conn, async () => {
    let insp = await inspect(conn, spec);
    for (const w of etcdMigrationWarnings(insp, spec)) progress(conn, `warning: ${w}`);
    if (insp.destination === "absent" && insp.source === "directory") {
      // What systemd-tmpfiles would create for the etcd container (d ... 0700 root root): cp -r into a missing
      // folder would create it AS the member directory, the layout mistake the guide warns about.
      requireSuccess(
        await runStep(
          conn,
          { argv: ["mkdir", "-p", "-m", "0700", "--", spec.destination], why: "create the destination" },
          TIMEOUTS.readMs,
        ),
        `Could not create ${spec.destination}.`,
      );
      insp = await inspect(conn, spec);
    }
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
    if (decision.action === "fail")
      throw new Error(`${hostId(conn)}: EtcdDataMigration refused: ${decision.reason}`);
    await stopService(conn, spec.unit);
    let backupPath: string | undefined;
    if (decision.action === "backupThenCopy") {
      const stamp = backupTimestamp(new Date());
      backupPath = `${spec.destination}/member.backup-${stamp}`;
      progress(
        conn,
        `the destination holds a different member directory (${decision.differences.slice(0, 3).join("; ")}): moving it to ${backupPath}`,
      );
      await step(conn, buildBackupCommand(spec.destination, stamp), `move ${spec.destination}/member aside`);
    }
    try {
      const entries = await copyVerifyCommit(conn, spec);
      const outs = outputsFrom(inputs, entries, new Date().toISOString(), backupPath);
      progress(
        conn,
        `migrated ${outs.files} files (${outs.bytes} bytes) to ${spec.destination}/member, verified`,
      );
      return outs;
    } catch (err) {
      if (backupPath === undefined) throw err;
      // The old destination was moved aside: record it, so nobody loses track of where it went.
      throw new PartialFailure(
        `${(err as Error).message}\nThe previous ${spec.destination}/member is at ${backupPath}.`,
        id,
        {
          ...withDefaults(inputs),
          backupPath,
          __provider: inputs.__provider,
        },
      );
    }
  });
}

export const etcdDataMigrationProvider = {
  configure: configureFromStack,

  async check(_olds: Partial<Inputs> | undefined, news: Inputs) {
    const inputs = withDefaults(news);
    const failures = [
      ...validateEtcdDataMigrationInputs(inputs as unknown as Record<string, unknown>),
      ...credentialFailures(inputs.connection),
    ];
    if (failures.length > 0 || containsUnknown(inputs as unknown as Record<string, unknown>))
      return { inputs, failures };
    const spec = specOf(inputs);
    const tmp = `${spec.destination}/.member.tmp-<id>`;
    inputs.commands = [
      `${displayLine(buildEtcdInspectCommand(spec))}  # source has wal/ and snap/? destination state?`,
      displayLine(buildSystemctlCommand("stop", spec.unit)),
      `cp -a -- ${spec.source} ${tmp}`,
      `<etcd-verify script>  # size and sha256 of every file, source vs copy`,
      `mv -T -- ${tmp} ${spec.destination}/member`,
    ];
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
};
