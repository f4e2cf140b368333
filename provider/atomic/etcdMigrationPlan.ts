/**
 * The steps of an EtcdDataMigration as preview shows them, built with the same builders the apply runs
 * (`buildCopyCommand`, `buildVerifyCommand`...), in the order the apply runs them.
 *
 * Two values exist only at apply: the temporary folder's random id and the backup's UTC time. They are shown as
 * `<id>` and `<UTC>`. Two steps depend on what only the apply reads, and carry that as their condition: the
 * `mkdir` of a missing destination, and the move aside of a different `DEST/member` (`conflict: "backup"`).
 * A migration already in the state (its `DEST/member` was there at the last apply or refresh) plans nothing: the
 * apply finds the copy and adopts it.
 */
import type { PlannedCommand } from "./result";
import {
  buildBackupCommand,
  buildCommitCommand,
  buildCopyCommand,
  buildVerifyCommand,
} from "./etcdMigrationCommands";
import { buildEtcdMemberListCommand } from "./etcdClusterHealth";
import { buildSystemctlCommand } from "./systemd";

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

export type EtcdMigrationStep = PlannedCommand<"mkdir" | "quorum" | "stop" | "backup" | "copy" | "verify" | "commit">;

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
  const steps: EtcdMigrationStep[] = [
    {
      kind: "mkdir",
      argv: buildDestinationMkdirCommand(spec.destination),
      why: "create the destination as systemd-tmpfiles would for the etcd container",
      condition: `${spec.destination} does not exist`,
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
    {
      kind: "stop",
      argv: buildSystemctlCommand("stop", spec.unit),
      why: "etcd must not write while its files are copied",
    },
  ];
  if (spec.conflict === "backup") {
    steps.push({
      kind: "backup",
      argv: shown(buildBackupCommand(spec.destination, STAMP_STANDIN)),
      why: "move a different member directory aside",
      condition: `${spec.destination}/member exists and differs from ${spec.source}`,
    });
  }
  steps.push(
    {
      kind: "copy",
      argv: shown(buildCopyCommand(spec.source, spec.destination, TEMP_ID_STANDIN)),
      why: "cp -a into a temporary folder beside the destination",
    },
    {
      kind: "verify",
      argv: shown(buildVerifyCommand(spec.source, spec.destination, TEMP_ID_STANDIN)),
      why: "size and sha256 of every file, source vs copy",
    },
    {
      kind: "commit",
      argv: shown(buildCommitCommand(spec.destination, TEMP_ID_STANDIN)),
      why: "one rename of the verified copy to DEST/member",
    },
  );
  return { steps };
}
