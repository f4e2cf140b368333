/**
 * What the etcd migration's scripts print (see `etcdMigrationCommands.ts`), read back: the inspection, the WAL
 * lineage, the outcome of the migrate script and of each single step. Parsers return a result, never throw.
 */
import { type CommandOutput, fail, ok, type ParseResult, tail } from "./result";
import { diffManifests, parseVerifyOutput, type ManifestEntry } from "./etcdManifest";

// ---------------------------------------------------------------------------------------------------------------
// Inspect

export type PathKind = "directory" | "symlink" | "other" | "absent";

/** What inspect found. */
export interface EtcdInspection {
  source: PathKind;
  /** Number of `wal/*.wal` files; undefined when there is no wal/ directory. */
  sourceWalFiles?: number;
  sourceHasSnap: boolean;
  /** `du -sk SRC`. */
  sourceKib?: number;
  destination: PathKind;
  /** Available space on DEST's filesystem (`df -Pk`). */
  destinationAvailKib?: number;
  /** DEST/member; "absent" also when DEST itself is missing. */
  member: PathKind;
  /** Ids of leftover `DEST/.member.tmp-ID` folders from interrupted attempts. */
  leftoverTempIds: string[];
  /** Names of existing `DEST/member.backup-*` entries. */
  backups: string[];
  /** `systemctl is-active UNIT`; "" when systemctl printed nothing. */
  serviceState: string;
  /** `ETCD_DATA_DIR` from /etc/etcd/etcd.conf (quotes removed), when the file sets it. */
  confDataDir?: string;
}

function pathKind(v: string): PathKind | undefined {
  return v === "directory" || v === "symlink" || v === "other" || v === "absent" ? v : undefined;
}

function intOrUndefined(v: string): number | undefined {
  return /^[0-9]+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

/** Parses the output of {@link buildEtcdInspectCommand}. */
export function parseEtcdInspectOutput(stdout: string): ParseResult<EtcdInspection> {
  const lines = stdout.split("\n");
  if (!lines.includes("@@etcd-inspect 1") || !lines.includes("@@end")) {
    return fail(`the etcd inspect script did not run to the end; it printed: ${tail(stdout, 200)}`);
  }
  const r: EtcdInspection = {
    source: "absent",
    sourceHasSnap: false,
    destination: "absent",
    member: "absent",
    leftoverTempIds: [],
    backups: [],
    serviceState: "",
  };
  for (const line of lines) {
    const space = line.indexOf(" ");
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? "" : line.slice(space + 1);
    switch (key) {
      case "source":
        r.source = pathKind(value) ?? "other";
        break;
      case "source-wal":
        r.sourceWalFiles = intOrUndefined(value);
        break;
      case "source-snap":
        r.sourceHasSnap = value === "yes";
        break;
      case "source-kib":
        r.sourceKib = intOrUndefined(value);
        break;
      case "destination":
        r.destination = pathKind(value) ?? "other";
        break;
      case "destination-avail-kib":
        r.destinationAvailKib = intOrUndefined(value);
        break;
      case "member":
        r.member = pathKind(value) ?? "other";
        break;
      case "temp":
        r.leftoverTempIds.push(value);
        break;
      case "backup":
        r.backups.push(value);
        break;
      case "service":
        r.serviceState = value.trim();
        break;
      case "conf-data-dir": {
        const v = value.trim().replace(/^(["'])(.*)\1$/, "$2");
        if (v !== "") r.confDataDir = v;
        break;
      }
    }
  }
  return ok(r);
}

// ---------------------------------------------------------------------------------------------------------------
// Lineage

/** What {@link ETCD_LINEAGE_SCRIPT} found for each source WAL segment. */
export type WalSegmentLineage = "identical" | "prefix" | "diverged" | "missing";

export interface EtcdLineage {
  /** One entry per `SRC/wal/*.wal`, in the order printed. */
  segments: { name: string; state: WalSegmentLineage }[];
  /** Segments in DEST/member/wal that the source does not have (etcd cut them after the copy). */
  extra: string[];
}

/** Parses the output of {@link buildEtcdLineageCommand}. */
export function parseEtcdLineageOutput(stdout: string): ParseResult<EtcdLineage> {
  const lines = stdout.split("\n");
  if (lines.includes("@@error no-cmp")) {
    return fail("cmp (diffutils) is not installed on the host: the WAL segments cannot be compared");
  }
  if (!lines.includes("@@etcd-lineage 1") || !lines.includes("@@end")) {
    return fail(`the etcd lineage script did not run to the end; it printed: ${tail(stdout, 200)}`);
  }
  const r: EtcdLineage = { segments: [], extra: [] };
  for (const line of lines) {
    const m = /^wal (identical|prefix|diverged|missing|extra) ([A-Za-z0-9._-]+)$/.exec(line);
    if (!m) continue;
    if (m[1] === "extra") r.extra.push(m[2]!);
    else r.segments.push({ name: m[2]!, state: m[1] as WalSegmentLineage });
  }
  return ok(r);
}

// ---------------------------------------------------------------------------------------------------------------
// The migrate script

/** What became of the service when the migration rolled back. */
export type EtcdRestartOutcome =
  /** It was running, was started again and is active. */
  | { kind: "restarted" }
  /** It was running, but is not active after `systemctl start` (state as `is-active` printed it). */
  | { kind: "restartFailed"; state: string }
  /** It was not running before the migration, so it was left stopped. */
  | { kind: "notRunning"; state: string };

/** The outcome of {@link ETCD_MIGRATE_SCRIPT}, from its output or its outcome file. */
export type EtcdMigrateOutcome =
  | { kind: "done"; member: string; source?: ManifestEntry[]; copy?: ManifestEntry[] }
  /** Refused before anything changed (etcd was not stopped). */
  | { kind: "refused"; refusal: EtcdStepRefusal; message: string }
  /** Failed after the stop and rolled back: copy removed, backup moved back, service restarted (or not). */
  | {
      kind: "rolledBack";
      step: string;
      reason: string;
      restart: EtcdRestartOutcome;
      /** The backup of DEST/member could not be moved back: it is still at the backup path. */
      backupKept: boolean;
      /** For a verify mismatch: the differences, source vs copy. */
      differences?: string[];
      stderr: string;
    }
  /** No outcome: the script did not get to the end (killed, or its output was lost). */
  | { kind: "unknown"; stderr: string };

function restartOutcome(words: string[]): EtcdRestartOutcome | undefined {
  const [what, state] = words;
  if (what === "restarted") return { kind: "restarted" };
  if (what === "restart-failed") return { kind: "restartFailed", state: state ?? "unknown" };
  if (what === "not-restarted") return { kind: "notRunning", state: state ?? "unknown" };
  return undefined;
}

/** Parses the output of {@link buildEtcdMigrateCommand}. */
export function parseEtcdMigrateOutput(out: CommandOutput): EtcdMigrateOutcome {
  const lines = out.stdout.split("\n");
  const stderr = out.stderr.trim();
  const done = lines.find((l) => l.startsWith("@@done "));
  // The verify sections run from `@@section source` to `@@end`; markers of the outcome follow them.
  const end = lines.indexOf("@@end");
  const sections =
    lines.includes("@@section source") && end >= 0
      ? parseVerifyOutput(lines.slice(0, end + 1).join("\n"))
      : undefined;
  if (out.exitCode === 0 && done) {
    return {
      kind: "done",
      member: done.slice(7),
      source: sections?.ok ? sections.value.source : undefined,
      copy: sections?.ok ? sections.value.copy : undefined,
    };
  }
  const failed = lines.find((l) => l.startsWith("@@failed "));
  if (failed) {
    const [step = "unknown", reason = "unknown"] = failed.slice(9).split(" ");
    const restartLine = lines.find((l) => /^@@(restarted|restart-failed|not-restarted) /.test(l));
    // `@@restarted UNIT`, `@@restart-failed UNIT STATE`, `@@not-restarted UNIT STATE`.
    const words = restartLine?.slice(2).split(" ") ?? [];
    const restart = restartOutcome([words[0] ?? "", words[2] ?? ""]) ?? {
      kind: "restartFailed",
      state: "unknown",
    };
    const moved = lines.some((l) => l.startsWith("@@step backup"));
    const restored = lines.some((l) => l.startsWith("@@restored-backup "));
    const differences =
      reason === "verify-mismatch" && sections?.ok
        ? diffManifests(sections.value.source, sections.value.copy, { labels: ["source", "copy"] })
        : undefined;
    return { kind: "rolledBack", step, reason, restart, backupKept: moved && !restored, differences, stderr };
  }
  const refused = lines.find((l) => l.startsWith("@@error "));
  const code = refused?.slice(8);
  if (code && code in REFUSAL_TEXT) {
    const refusal = code as EtcdStepRefusal;
    return { kind: "refused", refusal, message: REFUSAL_TEXT[refusal] };
  }
  return { kind: "unknown", stderr };
}

/**
 * Parses the outcome file (see {@link buildMigrateResultCommand}): `undefined` while the script still runs (or
 * never started), else its outcome.
 */
export function parseMigrateResult(stdout: string): EtcdMigrateOutcome | undefined {
  const line = stdout.trim().split("\n")[0] ?? "";
  if (line === "" || line === "@@none") return undefined;
  const words = line.split(" ");
  if (words[0] === "done" && words[1]) return { kind: "done", member: words[1] };
  if (words[0] === "failed" && words.length >= 4) {
    const restart = restartOutcome(words.slice(3)) ?? { kind: "restartFailed", state: "unknown" };
    return {
      kind: "rolledBack",
      step: words[1]!,
      reason: words[2]!,
      restart,
      backupKept: words.includes("backup-kept"),
      stderr: "",
    };
  }
  return { kind: "unknown", stderr: line };
}

// ---------------------------------------------------------------------------------------------------------------
// Single steps

/** Refusal codes the step scripts print as `@@error <code>`. */
export type EtcdStepRefusal =
  | "source-not-directory"
  | "destination-missing"
  | "temp-exists"
  | "copy-failed"
  | "temp-missing"
  | "member-exists"
  | "rename-failed"
  | "member-missing"
  | "backup-exists"
  | "remove-failed";

const REFUSAL_TEXT: Record<EtcdStepRefusal, string> = {
  "source-not-directory": "the source is not a directory (or is a symlink)",
  "destination-missing": "the destination folder does not exist (or is a symlink)",
  "temp-exists": "the temporary folder already exists",
  "copy-failed": "cp -a failed; the partial copy was removed",
  "temp-missing": "the temporary copy is missing",
  "member-exists": "DEST/member already exists; nothing was renamed",
  "rename-failed": "mv -T failed",
  "member-missing": "DEST/member does not exist",
  "backup-exists": "a backup with the same timestamp already exists",
  "remove-failed": "rm -rf of the temporary folder failed",
};

/** What a copy, commit, backup or discard step did. */
export type EtcdStepOutcome =
  /** `path`: the temporary copy, the committed member directory, the backup, or the discarded folder. */
  | { kind: "done"; path: string }
  | { kind: "refused"; refusal: EtcdStepRefusal; message: string }
  | { kind: "failed"; message: string };

/** Classifies the output of a copy, commit, backup or discard step. */
export function parseEtcdStepOutput(out: CommandOutput): EtcdStepOutcome {
  const done = /^@@done (.+)$/m.exec(out.stdout);
  if (out.exitCode === 0 && done) return { kind: "done", path: done[1]! };
  const refused = /^@@error (\S+)$/m.exec(out.stdout);
  const stderr = out.stderr.trim();
  if (refused && refused[1]! in REFUSAL_TEXT) {
    const refusal = refused[1] as EtcdStepRefusal;
    const detail = stderr === "" ? "" : `: ${tail(stderr, 300)}`;
    return { kind: "refused", refusal, message: `${REFUSAL_TEXT[refusal]}${detail}` };
  }
  return {
    kind: "failed",
    message: tail(stderr !== "" ? stderr : out.stdout) || `exit status ${out.exitCode}`,
  };
}
