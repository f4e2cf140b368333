/**
 * The etcd migration's decision, from what the host holds (see `etcdMigrationOutputs.ts`): what forbids the copy,
 * what the user should hear, and what to do at the destination (copy, compare, adopt, back up, or refuse).
 */
import type { EtcdInspection, EtcdLineage } from "./etcdMigrationOutputs";

const ACTIVE_STATES = ["active", "activating", "deactivating", "reloading"];

/**
 * Everything that forbids copying now, as sentences (empty when the copy may go ahead):
 * SRC must be a real directory with `wal/*.wal` and `snap/`; DEST must be an existing real directory (it is
 * created by `systemd-tmpfiles --create` when the etcd system container is installed: `cp` into a missing
 * folder fails); the unit must not be running; DEST's filesystem must have room for SRC.
 */
export function etcdCopyBlockers(
  inspection: EtcdInspection,
  spec: { source: string; destination: string; unit: string },
): string[] {
  const problems: string[] = [];
  const { source, destination, unit } = spec;
  if (inspection.source === "absent") problems.push(`source ${source} does not exist`);
  else if (inspection.source === "symlink") {
    problems.push(
      `source ${source} is a symlink: name the member directory it points to (cp -a would copy the link)`,
    );
  } else if (inspection.source === "other") problems.push(`source ${source} is not a directory`);
  else {
    if (!inspection.sourceWalFiles) {
      problems.push(`source ${source} is not an etcd member directory: it has no wal/*.wal files`);
    }
    if (!inspection.sourceHasSnap) {
      problems.push(`source ${source} is not an etcd member directory: it has no snap/ directory`);
    }
  }
  if (inspection.destination === "absent") {
    problems.push(
      `destination ${destination} does not exist: it is created by systemd-tmpfiles when the etcd system ` +
        `container is installed; install the SystemContainer first (dependsOn)`,
    );
  } else if (inspection.destination !== "directory") {
    problems.push(
      `destination ${destination} is not a directory (it is ${inspection.destination === "symlink" ? "a symlink" : "a file"})`,
    );
  }
  if (ACTIVE_STATES.includes(inspection.serviceState)) {
    problems.push(`${unit} is ${inspection.serviceState}: etcd must be stopped while its data is copied`);
  }
  if (
    inspection.sourceKib !== undefined &&
    inspection.destinationAvailKib !== undefined &&
    inspection.sourceKib > inspection.destinationAvailKib
  ) {
    problems.push(
      `the copy needs ${inspection.sourceKib} KiB but only ${inspection.destinationAvailKib} KiB are free on ` +
        `${destination}'s filesystem`,
    );
  }
  return problems;
}

/**
 * Facts the user should hear about but that do not stop the migration: an `ETCD_DATA_DIR` in
 * /etc/etcd/etcd.conf that does not put etcd's member directory at `source`, and earlier backups.
 */
export function etcdMigrationWarnings(inspection: EtcdInspection, spec: { source: string }): string[] {
  const warnings: string[] = [];
  if (inspection.confDataDir !== undefined) {
    const expected = `${inspection.confDataDir.replace(/\/+$/, "")}/member`;
    if (expected !== spec.source) {
      warnings.push(
        `/etc/etcd/etcd.conf sets ETCD_DATA_DIR=${inspection.confDataDir}, so the RPM etcd keeps its data in ` +
          `${expected}, not ${spec.source}`,
      );
    }
  }
  if (inspection.backups.length > 0)
    warnings.push(`earlier backups at the destination: ${inspection.backups.join(", ")}`);
  return warnings;
}

/** What to do at the destination. */
export type EtcdMigrationDecision =
  /** DEST/member is absent: copy, verify, commit. */
  | { action: "copy" }
  /** DEST/member exists: manifest it and the source, then decide again with the comparison. */
  | { action: "compare" }
  /**
   * Nothing to copy: DEST/member has the same files as the source, or (`continued`) it is the source's data that
   * etcd has run on since it was copied (see {@link ETCD_LINEAGE_SCRIPT}): replacing it would rewind the cluster.
   */
  | { action: "adopt"; continued?: true }
  /** DEST/member differs and conflict is "backup": move it aside, then copy. */
  | { action: "backupThenCopy"; differences: string[] }
  | { action: "fail"; reason: string };

/**
 * Decides from the inspection (and, when DEST/member exists, the comparison of its manifest with the source's).
 * Leftover temporary folders do not change the decision: the provider discards them
 * (`inspection.leftoverTempIds`) before copying. `comparison.continued` (from {@link parseEtcdLineageOutput} and
 * {@link isEtcdContinuation}) says a different DEST/member is the source's history continued by etcd: that is
 * the migration done and in use, whatever `conflict` says.
 */
export function decideEtcdMigration(
  inspection: EtcdInspection,
  spec: { source: string; destination: string; unit: string; conflict: "fail" | "backup" },
  comparison?: { differences: string[]; continued?: boolean },
): EtcdMigrationDecision {
  const blockers = etcdCopyBlockers(inspection, spec);
  if (blockers.length > 0) return { action: "fail", reason: blockers.join("; ") };
  const member = `${spec.destination}/member`;
  if (inspection.member === "absent") return { action: "copy" };
  if (inspection.member !== "directory") {
    return { action: "fail", reason: `${member} exists but is not a directory: move it away, then retry` };
  }
  if (comparison === undefined) return { action: "compare" };
  if (comparison.differences.length === 0) return { action: "adopt" };
  if (comparison.continued === true) return { action: "adopt", continued: true };
  if (spec.conflict === "backup") return { action: "backupThenCopy", differences: comparison.differences };
  return {
    action: "fail",
    reason:
      `${member} already exists and differs from ${spec.source} (${comparison.differences.join("; ")}). ` +
      `If the etcd container already started there it created a NEW cluster: set conflict: "backup" to move ` +
      `it aside to ${member}.backup-<UTC time>, or move it yourself`,
  };
}

/**
 * True when DEST/member is the source's history continued: every source segment is there, identical or extended,
 * and etcd wrote something after it (a longer segment, or a new one). Identical WALs with other differences (a
 * different `snap/db`) are not a continuation: etcd appends to its log every time it runs.
 */
export function isEtcdContinuation(lineage: EtcdLineage): boolean {
  const { segments, extra } = lineage;
  if (segments.length === 0) return false;
  if (!segments.every((s) => s.state === "identical" || s.state === "prefix")) return false;
  return segments.some((s) => s.state === "prefix") || extra.length > 0;
}
