/**
 * The steps of an EtcdDataMigration as preview shows them, built with the same builders the apply runs
 * (`buildEtcdMigrateCommand`, `buildDiscardTempCommand`...), in the order the apply runs them.
 *
 * The migration itself is one host-side script (stop, confirm inactive, [move a different DEST/member aside], copy,
 * verify, rename; on any failure before the rename it rolls back and starts etcd again on the source data). Like
 * every mutating command, the apply runs it under the host's `timeout` (the SSH layer's host-side bound), which
 * preview does not show.
 *
 * Two values exist only at apply: the temporary folder's random id and the backup's UTC time. They are shown as
 * `<id>` and `<UTC>`. Steps that depend on what only the apply reads carry that as their condition: the `mkdir` of
 * a missing destination, the discard of an interrupted attempt's copy, the quorum check of a multi-member cluster,
 * and with `conflict: "backup"` which form of the script runs. A migration already in the state (its `DEST/member`
 * was there at the last apply or refresh) plans nothing: the apply finds the copy and adopts it.
 */
import type { PlannedCommand } from "./result";
import { buildDiscardTempCommand, buildEtcdMigrateCommand } from "./etcdMigrationCommands";
import { buildEtcdMemberListCommand } from "./etcdClusterHealth";

/** Shown instead of the temporary copy's random id. */
export const ETCD_TEMP_ID_PLACEHOLDER = "<id>";
/** Shown instead of the backup's UTC time stamp. */
export const ETCD_BACKUP_STAMP_PLACEHOLDER = "<UTC>";
// Valid stand-ins for the builders' checks, replaced by the placeholders above.
const TEMP_ID_STANDIN = "PREVIEWID";
const STAMP_STANDIN = "19700101T000000Z";

/** What the state says of the migration: it is in the state, so `DEST/member` was there at the last apply or refresh (a refresh that finds it gone removes the resource). */
export interface EtcdMigrationRecord {
  migrated: true;
}

export type EtcdMigrationStep = PlannedCommand<"mkdir" | "discard" | "quorum" | "migrate">;

export interface EtcdMigrationPlan {
  steps: EtcdMigrationStep[];
}

function shown(argv: string[]): string[] {
  return argv.map((a) =>
    a
      .split(TEMP_ID_STANDIN)
      .join(ETCD_TEMP_ID_PLACEHOLDER)
      .split(STAMP_STANDIN)
      .join(ETCD_BACKUP_STAMP_PLACEHOLDER),
  );
}

/** The argv of the destination's `mkdir` (what systemd-tmpfiles would create for the etcd container). */
export function buildDestinationMkdirCommand(destination: string): string[] {
  return ["mkdir", "-p", "-m", "0700", "--", destination];
}

/** The migration's plan at preview; `record` set: already migrated, nothing to run. */
export function planEtcdMigration(
  spec: { source: string; destination: string; unit: string; conflict: "fail" | "backup" },
  record: EtcdMigrationRecord | undefined,
): EtcdMigrationPlan {
  if (record?.migrated) return { steps: [] };
  const migrate = (backupTimestamp: string | undefined) =>
    shown(
      buildEtcdMigrateCommand({
        source: spec.source,
        destination: spec.destination,
        unit: spec.unit,
        tempId: TEMP_ID_STANDIN,
        backupTimestamp,
      }),
    );
  const why =
    "one host-side script: stop etcd, confirm inactive, cp -a into a temporary folder, verify size and sha256 of " +
    "every file, one rename to DEST/member; on any failure before the rename, remove the copy and start etcd " +
    "again on the untouched source";
  const steps: EtcdMigrationStep[] = [
    {
      kind: "mkdir",
      argv: buildDestinationMkdirCommand(spec.destination),
      why: "create the destination as systemd-tmpfiles would for the etcd container",
      condition: `${spec.destination} does not exist`,
    },
    {
      kind: "discard",
      argv: shown(buildDiscardTempCommand(spec.destination, TEMP_ID_STANDIN)),
      why: "remove the temporary copy an interrupted attempt left",
      condition: `${spec.destination} holds a .member.tmp-<id> of an interrupted attempt`,
    },
    {
      // Read-only: the apply refuses to stop a member whose cluster would lose its quorum (etcdClusterView).
      kind: "quorum",
      argv: buildEtcdMemberListCommand(),
      why:
        `etcdctl member list, endpoint status and endpoint health: while ${spec.unit} runs, every other member ` +
        "must be healthy and keep a quorum without it",
      condition: `${spec.unit} is a member of a multi-member cluster`,
    },
  ];
  if (spec.conflict === "backup") {
    steps.push(
      {
        kind: "migrate",
        argv: migrate(undefined),
        why,
        condition: `${spec.destination}/member does not exist`,
      },
      {
        kind: "migrate",
        argv: migrate(STAMP_STANDIN),
        why: `${why}; first moves the different member directory aside`,
        condition: `${spec.destination}/member exists and differs from ${spec.source}`,
      },
    );
  } else {
    steps.push({ kind: "migrate", argv: migrate(undefined), why });
  }
  return { steps };
}
