/**
 * The remote steps of an etcd data migration, the migration guide's `systemctl stop etcd; cp -r
 * /var/lib/etcd/member /var/lib/etcd/etcd.etcd/` made safe, and parsers for what each step prints.
 *
 * Every step is `sh -c SCRIPT atomic-host-etcd ARG...`: the script is a constant, and paths, ids and timestamps
 * reach it only as positional parameters (`$1`, `$2`...), never interpolated. Scripts print `@@` marker lines;
 * a refusal prints `@@error <code>` and exits non-zero, leaving the host unchanged.
 *
 * Steps, in order (`SRC` is the member directory, `DEST` the folder that receives `member/`):
 * 1. inspect: is SRC an etcd member directory (wal/*.wal, snap/), what is at DEST and DEST/member, leftover
 *    `DEST/.member.tmp-*` folders, backups, the service's state, space, `ETCD_DATA_DIR` in /etc/etcd/etcd.conf.
 * 2. (DEST/member exists) manifest both and compare (modes aside: tmpfiles `Z` resets them): identical → adopt;
 *    different → lineage: is DEST/member SRC's own history that etcd has since continued (every SRC WAL segment a
 *    prefix of DEST's)? Then it is the migrated data in use → adopt; otherwise fail or back up.
 * 3. copy: `cp -a SRC DEST/.member.tmp-ID` (ownership, modes, times), removed again if cp fails.
 * 4. verify: manifests of SRC and the copy, compared file by file (size, mode, sha256).
 * 5. commit: ONE rename, `mv -T DEST/.member.tmp-ID DEST/member`, refused if DEST/member exists.
 * backup (conflict "backup"): `mv -T DEST/member DEST/member.backup-<UTC time>`.
 * discard: `rm -rf DEST/.member.tmp-ID` (only that exact name).
 *
 * Why commit checks and renames instead of `mv -n`: coreutils 8.x `mv -n` exits 0 when it declines to overwrite,
 * so success could not be told from refusal. `-T` matters too: without it, an existing DEST/member directory
 * would receive the temp folder INSIDE it. rename(2) within DEST is atomic, so DEST/member is either absent or
 * complete; the check-then-rename window is closed by the provider's per-host lock and the stopped service
 * (and rename(2) onto an existing non-empty directory fails with ENOTEMPTY regardless).
 */
import { createHash } from "node:crypto";
import { assertOperand, type CommandOutput, fail, ok, type ParseResult, tail } from "./result";

/** `$0` of every etcd script, so a shell error on the host reads "atomic-host-etcd: ...". */
const ARG0 = "atomic-host-etcd";

/** The name prefix of a temporary copy inside DEST. */
export const MEMBER_TEMP_PREFIX = ".member.tmp-";
/** The name prefix of a backup inside DEST. */
export const MEMBER_BACKUP_PREFIX = "member.backup-";

const TEMP_ID = /^[A-Za-z0-9]{1,40}$/;
const TIMESTAMP = /^[0-9]{8}T[0-9]{6}Z$/;

function assertTempId(id: string): string {
  if (!TEMP_ID.test(id)) throw new TypeError("temporary copy id must be 1-40 letters and digits");
  return id;
}

/** `DEST/.member.tmp-ID`. */
export function memberTempPath(destination: string, id: string): string {
  return `${destination}/${MEMBER_TEMP_PREFIX}${assertTempId(id)}`;
}

/** A UTC timestamp for backup names: `20171120T101112Z` (sorts in time order, no characters to quote). */
export function backupTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.[0-9]{3}Z$/, "Z");
}

/** `DEST/member.backup-<timestamp>`. */
export function memberBackupPath(destination: string, timestamp: string): string {
  if (!TIMESTAMP.test(timestamp)) throw new TypeError("backup timestamp must look like 20171120T101112Z");
  return `${destination}/${MEMBER_BACKUP_PREFIX}${timestamp}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Scripts

/**
 * A shell function printing one manifest line per entry below `$1`: `e TYPE MODE SIZE PATH` from find, and
 * `h SHA256  ./PATH` from sha256sum for regular files. Names outside `[A-Za-z0-9._+-]` are only counted
 * (`@@odd-names N`): etcd writes hex names, `db` and `0.tmp`, and a name with a newline could not be parsed
 * line by line; the parser refuses such a directory.
 */
const MANIFEST_FUNCTION = `manifest() (
  cd -- "$1" 2>/dev/null || { printf '@@error no-such-directory\\n'; exit 3; }
  printf '@@odd-names %s\\n' "$(find . -xdev -mindepth 1 -name '*[!A-Za-z0-9._+-]*' -printf x | wc -c)"
  find . -xdev -mindepth 1 -printf 'e %y %m %s %P\\n'
  find . -xdev -mindepth 1 -type f -print0 | xargs -0 -r sha256sum -- | sed 's/^/h /'
  printf '@@manifest-end\\n'
)`;

export const ETCD_INSPECT_SCRIPT = `# atomic-host:etcd-inspect v1
export LC_ALL=C
src=$1
dest=$2
unit=$3
printf '@@etcd-inspect 1\\n'
if [ -L "$src" ]; then printf 'source symlink\\n'
elif [ -d "$src" ]; then printf 'source directory\\n'
elif [ -e "$src" ]; then printf 'source other\\n'
else printf 'source absent\\n'; fi
if [ -d "$src/wal" ]; then
  printf 'source-wal %s\\n' "$(find "$src/wal" -maxdepth 1 -type f -name '*.wal' | wc -l)"
fi
if [ -d "$src/snap" ]; then printf 'source-snap yes\\n'; fi
if [ -d "$src" ]; then printf 'source-kib %s\\n' "$(du -sk -- "$src" 2>/dev/null | cut -f1)"; fi
if [ -L "$dest" ]; then printf 'destination symlink\\n'
elif [ -d "$dest" ]; then printf 'destination directory\\n'
elif [ -e "$dest" ]; then printf 'destination other\\n'
else printf 'destination absent\\n'; fi
if [ -d "$dest" ]; then
  printf 'destination-avail-kib %s\\n' "$(df -Pk -- "$dest" 2>/dev/null | awk 'NR==2 {print $4}')"
  if [ -L "$dest/member" ]; then printf 'member other\\n'
  elif [ -d "$dest/member" ]; then printf 'member directory\\n'
  elif [ -e "$dest/member" ]; then printf 'member other\\n'
  else printf 'member absent\\n'; fi
  for t in "$dest"/.member.tmp-*; do
    if [ -e "$t" ] || [ -L "$t" ]; then printf 'temp %s\\n' "\${t##*/.member.tmp-}"; fi
  done
  for b in "$dest"/member.backup-*; do
    if [ -e "$b" ] || [ -L "$b" ]; then printf 'backup %s\\n' "\${b##*/}"; fi
  done
fi
printf 'service %s\\n' "$(systemctl is-active -- "$unit" 2>/dev/null)"
if [ -f /etc/etcd/etcd.conf ]; then
  printf 'conf-data-dir %s\\n' "$(sed -n 's/^[[:space:]]*ETCD_DATA_DIR=//p' /etc/etcd/etcd.conf | tail -n 1)"
fi
printf '@@end\\n'
exit 0
`;

export const ETCD_MANIFEST_SCRIPT = `# atomic-host:etcd-manifest v1
export LC_ALL=C
${MANIFEST_FUNCTION}
printf '@@manifest 1\\n'
manifest "$1" || exit $?
printf '@@end\\n'
`;

export const ETCD_VERIFY_SCRIPT = `# atomic-host:etcd-verify v1
export LC_ALL=C
${MANIFEST_FUNCTION}
printf '@@section source\\n'
manifest "$1" || exit $?
printf '@@section copy\\n'
manifest "$2" || exit $?
printf '@@end\\n'
`;

export const ETCD_COPY_SCRIPT = `# atomic-host:etcd-copy v1
export LC_ALL=C
src=$1
dest=$2
tmp=$dest/.member.tmp-$3
if [ -L "$src" ] || [ ! -d "$src" ]; then printf '@@error source-not-directory\\n'; exit 3; fi
if [ -L "$dest" ] || [ ! -d "$dest" ]; then printf '@@error destination-missing\\n'; exit 4; fi
if [ -e "$tmp" ] || [ -L "$tmp" ]; then printf '@@error temp-exists\\n'; exit 5; fi
if ! cp -a -- "$src" "$tmp"; then
  rm -rf -- "$tmp"
  printf '@@error copy-failed\\n'
  exit 6
fi
sync
printf '@@done %s\\n' "$tmp"
`;

export const ETCD_COMMIT_SCRIPT = `# atomic-host:etcd-commit v1
export LC_ALL=C
tmp=$1/.member.tmp-$2
member=$1/member
if [ -L "$tmp" ] || [ ! -d "$tmp" ]; then printf '@@error temp-missing\\n'; exit 3; fi
if [ -e "$member" ] || [ -L "$member" ]; then printf '@@error member-exists\\n'; exit 4; fi
if ! mv -T -- "$tmp" "$member"; then printf '@@error rename-failed\\n'; exit 5; fi
sync
printf '@@done %s\\n' "$member"
`;

export const ETCD_BACKUP_SCRIPT = `# atomic-host:etcd-backup v1
export LC_ALL=C
member=$1/member
backup=$1/member.backup-$2
if [ ! -e "$member" ] && [ ! -L "$member" ]; then printf '@@error member-missing\\n'; exit 3; fi
if [ -e "$backup" ] || [ -L "$backup" ]; then printf '@@error backup-exists\\n'; exit 4; fi
if ! mv -T -- "$member" "$backup"; then printf '@@error rename-failed\\n'; exit 5; fi
sync
printf '@@done %s\\n' "$backup"
`;

export const ETCD_DISCARD_SCRIPT = `# atomic-host:etcd-discard v1
export LC_ALL=C
tmp=$1/.member.tmp-$2
if [ -e "$tmp" ] || [ -L "$tmp" ]; then
  if ! rm -rf -- "$tmp"; then printf '@@error remove-failed\\n'; exit 3; fi
fi
printf '@@done %s\\n' "$tmp"
`;

/**
 * The whole window in which etcd is stopped, as ONE host-side process: stop the unit (proving it inactive),
 * optionally move DEST/member aside (conflict "backup"), `cp -a` SRC to DEST/.member.tmp-ID, verify (every file's
 * type, mode, size and sha256; directories' sizes left out, they depend on the filesystem), and rename the copy to
 * DEST/member in one `mv -T`.
 *
 * Why one script and not a step per SSH command: a failure between steps (the CLI cancelled twice, the CI job
 * killed, the network gone) would leave etcd stopped with nobody to start it again. Here the undo lives with the
 * stop, on the host: any failure before the rename (a step failing, SIGTERM from the host-side `timeout`, or the
 * client going away, which the script learns from a failed write of its next progress line) removes the copy,
 * moves a backed-up DEST/member back, and starts the unit again if it was running, on the source data the script
 * never writes to. The restart runs in a session of its own (`setsid -w`, util-linux 2.24+; Fedora 26 has 2.30),
 * so `timeout`'s SIGKILL to the script's process group cannot cut it short. A reconnect-side restart would need the
 * client alive and the host reachable, which are exactly what fails.
 *
 * Output: `@@step NAME` before each step; on success the verify sections (as {@link ETCD_VERIFY_SCRIPT}) and
 * `@@done DEST/member`; a refusal before the stop `@@error CODE` (exit 3-5, nothing changed); a rollback
 * `@@failed STEP WHY`, then `@@restored-backup PATH`, `@@restarted UNIT`, `@@restart-failed UNIT STATE` or
 * `@@not-restarted UNIT STATE` (it was not running), then `@@error WHY` (exit 10). The outcome is also written to
 * `/run/atomic-host-etcd-migrate-ID` (`done PATH` or `failed STEP WHY RESTART [STATE]`), for a client whose
 * connection dropped to read once it reconnects.
 */
export const ETCD_MIGRATE_SCRIPT = `# atomic-host:etcd-migrate v1
export LC_ALL=C
src=$1
dest=$2
id=$3
unit=$4
stamp=$5
tmp=$dest/.member.tmp-$id
member=$dest/member
backup=$dest/member.backup-$stamp
result=/run/atomic-host-etcd-migrate-$id
${MANIFEST_FUNCTION}
say() { printf '%s\\n' "$*" 2>/dev/null; }
record() { printf '%s\\n' "$1" > "$result.new" 2>/dev/null && mv -f -- "$result.new" "$result"; }
norm() { sed 's/^e d \\([0-7]*\\) [0-9]* /e d \\1 0 /' | sort; }
if [ -L "$src" ] || [ ! -d "$src" ]; then say '@@error source-not-directory'; exit 3; fi
if [ -L "$dest" ] || [ ! -d "$dest" ]; then say '@@error destination-missing'; exit 4; fi
if [ -e "$tmp" ] || [ -L "$tmp" ]; then say '@@error temp-exists'; exit 5; fi
# From here on a lost session must not kill the script: writes fail with EPIPE instead (see alive).
trap '' HUP PIPE
was=$(systemctl is-active -- "$unit" 2>/dev/null)
moved=no
step=stop
rollback() {
  trap '' TERM INT
  say "@@failed $step $1"
  rm -rf -- "$tmp"
  if [ "$moved" = yes ] && [ ! -e "$member" ] && [ ! -L "$member" ] && mv -T -- "$backup" "$member"; then
    moved=no
    say "@@restored-backup $backup"
  fi
  case $was in
    active|activating|reloading)
      setsid -w systemctl start -- "$unit" >/dev/null 2>&1
      now=$(systemctl is-active -- "$unit" 2>/dev/null)
      if [ "$now" = active ]; then r=restarted; say "@@restarted $unit"
      else r="restart-failed \${now:-unknown}"; say "@@restart-failed $unit \${now:-unknown}"; fi ;;
    *) r="not-restarted \${was:-unknown}"; say "@@not-restarted $unit \${was:-unknown}" ;;
  esac
  [ "$moved" = yes ] && r="$r backup-kept"
  record "failed $step $1 $r"
  say "@@error $1"
  exit 10
}
trap 'rollback interrupted' TERM INT
alive() { say "@@step $1" || { step=$1; rollback client-gone; }; step=$1; }
alive stop
systemctl stop -- "$unit" || rollback stop-failed
state=$(systemctl is-active -- "$unit" 2>/dev/null)
case $state in active|activating|deactivating|reloading) rollback "still-$state" ;; esac
if [ "$stamp" != none ]; then
  alive backup
  if [ ! -e "$member" ] && [ ! -L "$member" ]; then rollback member-missing; fi
  if [ -e "$backup" ] || [ -L "$backup" ]; then rollback backup-exists; fi
  moved=yes
  mv -T -- "$member" "$backup" || { moved=no; rollback backup-failed; }
fi
alive copy
cp -a -- "$src" "$tmp" || rollback copy-failed
sync
alive verify
s=$(manifest "$src") || rollback source-unreadable
c=$(manifest "$tmp") || rollback copy-unreadable
say '@@section source' && say "$s" && say '@@section copy' && say "$c" && say '@@end' || rollback client-gone
case $s in *'@@odd-names 0'*) ;; *) rollback odd-names ;; esac
[ "$(printf '%s\\n' "$s" | norm)" = "$(printf '%s\\n' "$c" | norm)" ] || rollback verify-mismatch
alive commit
if [ -e "$member" ] || [ -L "$member" ]; then rollback member-exists; fi
trap '' TERM INT
mv -T -- "$tmp" "$member" || { trap 'rollback interrupted' TERM INT; rollback rename-failed; }
sync
record "done $member"
say "@@done $member"
exit 0
`;

/**
 * `sh -c MIGRATE atomic-host-etcd SRC DEST ID UNIT STAMP`: see {@link ETCD_MIGRATE_SCRIPT}. `backupTimestamp`
 * (conflict "backup") moves DEST/member to DEST/member.backup-STAMP first; without it, STAMP is `none`.
 */
export function buildEtcdMigrateCommand(spec: {
  source: string;
  destination: string;
  unit: string;
  tempId: string;
  backupTimestamp?: string;
}): string[] {
  if (spec.backupTimestamp !== undefined) memberBackupPath(spec.destination, spec.backupTimestamp);
  return [
    "sh",
    "-c",
    ETCD_MIGRATE_SCRIPT,
    ARG0,
    assertOperand(spec.source, "source"),
    assertOperand(spec.destination, "destination"),
    assertTempId(spec.tempId),
    assertOperand(spec.unit, "unit"),
    spec.backupTimestamp ?? "none",
  ];
}

/** Where {@link ETCD_MIGRATE_SCRIPT} records its outcome: `/run/atomic-host-etcd-migrate-ID`. */
export function migrateResultPath(tempId: string): string {
  return `/run/atomic-host-etcd-migrate-${assertTempId(tempId)}`;
}

/** `cat` of the outcome file, printing `@@none` when it is not there yet. */
export function buildMigrateResultCommand(tempId: string): string[] {
  return ["sh", "-c", 'cat -- "$1" 2>/dev/null || echo @@none', ARG0, migrateResultPath(tempId)];
}

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

/**
 * Is DEST/member the source's own history, continued by etcd? etcd appends to its WAL and never rewrites a record:
 * a segment is preallocated (64 MB of zeros), filled from the front, and truncated to its end when etcd cuts the
 * next one. So once etcd (the system container) has run on a migrated copy, each `SRC/wal/*.wal` is, up to the
 * last byte written in it, a prefix of the same segment in DEST/member, and DEST holds more. A member directory
 * etcd created anew (the container started before the data was copied) diverges within its first records: their
 * request ids and times differ even where the member and cluster IDs, derived from names and URLs, coincide.
 *
 * Per source segment one line, `wal identical|prefix|diverged|missing NAME`, and `wal extra NAME` per DEST segment
 * the source lacks. `prefix`: the first differing byte (cmp) is at or after the source's last written byte, that
 * is the source holds only zeros from there on (the file may be shorter in DEST: truncated at a cut).
 */
export const ETCD_LINEAGE_SCRIPT = `# atomic-host:etcd-lineage v1
export LC_ALL=C
src=$1/wal
dst=$2/wal
command -v cmp >/dev/null 2>&1 || { printf '@@error no-cmp\\n'; exit 3; }
printf '@@etcd-lineage 1\\n'
for f in "$src"/*.wal; do
  [ -f "$f" ] || continue
  n=\${f##*/}
  d=$dst/$n
  if [ ! -f "$d" ]; then printf 'wal missing %s\\n' "$n"; continue; fi
  if cmp -s -- "$f" "$d"; then printf 'wal identical %s\\n' "$n"; continue; fi
  s=$(wc -c < "$f"); t=$(wc -c < "$d")
  m=$s; [ "$t" -lt "$m" ] && m=$t
  at=$(cmp -n "$m" -- "$f" "$d" 2>/dev/null | sed -n 's/.* differ: [a-z]* \\([0-9][0-9]*\\).*/\\1/p')
  [ -n "$at" ] || at=$((m + 1))
  if [ "$(tail -c +"$at" -- "$f" | tr -d '\\000' | head -c 1 | wc -c)" -eq 0 ]; then
    printf 'wal prefix %s\\n' "$n"
  else
    printf 'wal diverged %s\\n' "$n"
  fi
done
for d in "$dst"/*.wal; do
  [ -f "$d" ] || continue
  [ -f "$src/\${d##*/}" ] || printf 'wal extra %s\\n' "\${d##*/}"
done
printf '@@end\\n'
`;

// ---------------------------------------------------------------------------------------------------------------
// Builders

/** `sh -c INSPECT atomic-host-etcd SRC DEST UNIT`. `unit` is a full unit name, e.g. "etcd.service". */
export function buildEtcdInspectCommand(spec: {
  source: string;
  destination: string;
  unit: string;
}): string[] {
  return [
    "sh",
    "-c",
    ETCD_INSPECT_SCRIPT,
    ARG0,
    assertOperand(spec.source, "source"),
    assertOperand(spec.destination, "destination"),
    assertOperand(spec.unit, "unit"),
  ];
}

/** `sh -c MANIFEST atomic-host-etcd DIR`: one line per entry below DIR, with a sha256 for every file. */
export function buildManifestCommand(directory: string): string[] {
  return ["sh", "-c", ETCD_MANIFEST_SCRIPT, ARG0, assertOperand(directory, "directory")];
}

/** `sh -c LINEAGE atomic-host-etcd SRC DEST/member`: is DEST/member SRC's WAL continued? See {@link ETCD_LINEAGE_SCRIPT}. */
export function buildEtcdLineageCommand(source: string, member: string): string[] {
  return [
    "sh",
    "-c",
    ETCD_LINEAGE_SCRIPT,
    ARG0,
    assertOperand(source, "source"),
    assertOperand(member, "member"),
  ];
}

/** `sh -c COPY atomic-host-etcd SRC DEST ID`: `cp -a SRC DEST/.member.tmp-ID`. */
export function buildCopyCommand(source: string, destination: string, tempId: string): string[] {
  return [
    "sh",
    "-c",
    ETCD_COPY_SCRIPT,
    ARG0,
    assertOperand(source, "source"),
    assertOperand(destination, "destination"),
    assertTempId(tempId),
  ];
}

/** `sh -c VERIFY atomic-host-etcd SRC DEST/.member.tmp-ID`: the manifests of the source and of the copy. */
export function buildVerifyCommand(source: string, destination: string, tempId: string): string[] {
  return [
    "sh",
    "-c",
    ETCD_VERIFY_SCRIPT,
    ARG0,
    assertOperand(source, "source"),
    memberTempPath(assertOperand(destination, "destination"), tempId),
  ];
}

/** `sh -c COMMIT atomic-host-etcd DEST ID`: `mv -T DEST/.member.tmp-ID DEST/member`, refused if DEST/member exists. */
export function buildCommitCommand(destination: string, tempId: string): string[] {
  return [
    "sh",
    "-c",
    ETCD_COMMIT_SCRIPT,
    ARG0,
    assertOperand(destination, "destination"),
    assertTempId(tempId),
  ];
}

/** `sh -c BACKUP atomic-host-etcd DEST STAMP`: `mv -T DEST/member DEST/member.backup-STAMP`. */
export function buildBackupCommand(destination: string, timestamp: string): string[] {
  memberBackupPath(destination, timestamp);
  return ["sh", "-c", ETCD_BACKUP_SCRIPT, ARG0, assertOperand(destination, "destination"), timestamp];
}

/** `sh -c DISCARD atomic-host-etcd DEST ID`: removes DEST/.member.tmp-ID if present (and nothing else). */
export function buildDiscardTempCommand(destination: string, tempId: string): string[] {
  return [
    "sh",
    "-c",
    ETCD_DISCARD_SCRIPT,
    ARG0,
    assertOperand(destination, "destination"),
    assertTempId(tempId),
  ];
}

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

// ---------------------------------------------------------------------------------------------------------------
// Manifests

export type ManifestEntryType = "file" | "directory" | "symlink" | "other";

/** One entry below a directory, relative path with `/` separators. */
export interface ManifestEntry {
  path: string;
  type: ManifestEntryType;
  /** Permission bits (`find -printf %m`), e.g. 0o600. */
  mode: number;
  /** Bytes (files), link length (symlinks); 0 for directories, whose size depends on the filesystem. */
  size: number;
  /** Lowercase hex sha256 of a file's content. */
  sha256?: string;
}

function entryType(letter: string): ManifestEntryType {
  return letter === "f" ? "file" : letter === "d" ? "directory" : letter === "l" ? "symlink" : "other";
}

/** Parses the lines of one manifest section (between the function's first and `@@manifest-end` lines). */
function parseManifestLines(lines: string[], label: string): ParseResult<ManifestEntry[]> {
  const entries = new Map<string, ManifestEntry>();
  const hashes = new Map<string, string>();
  let ended = false;
  for (const line of lines) {
    if (line === "") continue;
    if (line === "@@manifest-end") {
      ended = true;
      continue;
    }
    if (line.startsWith("@@error "))
      return fail(
        `${label}: ${line.slice(8) === "no-such-directory" ? "the directory does not exist" : line.slice(8)}`,
      );
    const odd = /^@@odd-names\s+(\d+)$/.exec(line);
    if (odd) {
      if (Number(odd[1]) > 0) {
        return fail(
          `${label}: ${odd[1]} entries have names outside A-Z a-z 0-9 . _ + - , which an etcd member directory ` +
            `never has; refusing to migrate it automatically`,
        );
      }
      continue;
    }
    const e = /^e ([a-zA-Z]) ([0-7]+) ([0-9]+) (.+)$/.exec(line);
    if (e) {
      const type = entryType(e[1]!);
      entries.set(e[4]!, {
        path: e[4]!,
        type,
        mode: parseInt(e[2]!, 8),
        size: type === "directory" ? 0 : Number(e[3]),
      });
      continue;
    }
    const h = /^h ([0-9a-f]{64}) [ *]\.\/(.+)$/.exec(line);
    if (h) {
      hashes.set(h[2]!, h[1]!);
      continue;
    }
    return fail(`${label}: unexpected manifest line ${JSON.stringify(line.slice(0, 120))}`);
  }
  if (!ended) return fail(`${label}: the manifest was cut short (no end marker)`);
  for (const entry of entries.values()) {
    if (entry.type !== "file") continue;
    const sum = hashes.get(entry.path);
    if (sum === undefined) return fail(`${label}: ${entry.path} has no sha256 (unreadable?)`);
    entry.sha256 = sum;
  }
  return ok([...entries.values()].sort((a, b) => compareBytes(a.path, b.path)));
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses the output of {@link buildManifestCommand}: entries sorted by path. */
export function parseManifestOutput(stdout: string): ParseResult<ManifestEntry[]> {
  const lines = stdout.split("\n");
  if (!lines.includes("@@manifest 1"))
    return fail(`the manifest script did not start; it printed: ${tail(stdout, 200)}`);
  const body = lines.slice(lines.indexOf("@@manifest 1") + 1).filter((l) => l !== "@@end");
  return parseManifestLines(body, "manifest");
}

/** Parses the output of {@link buildVerifyCommand}. */
export function parseVerifyOutput(
  stdout: string,
): ParseResult<{ source: ManifestEntry[]; copy: ManifestEntry[] }> {
  const lines = stdout.split("\n");
  const s = lines.indexOf("@@section source");
  const c = lines.indexOf("@@section copy");
  if (s < 0) return fail(`the verify script did not start; it printed: ${tail(stdout, 200)}`);
  if (c < 0) {
    const src = parseManifestLines(lines.slice(s + 1), "source manifest");
    return src.ok ? fail(`the verify script stopped before the copy's manifest: ${tail(stdout, 200)}`) : src;
  }
  const source = parseManifestLines(lines.slice(s + 1, c), "source manifest");
  if (!source.ok) return source;
  const copy = parseManifestLines(
    lines.slice(c + 1).filter((l) => l !== "@@end"),
    "copy manifest",
  );
  if (!copy.ok) return copy;
  return ok({ source: source.value, copy: copy.value });
}

const TYPE_LETTER: Record<ManifestEntryType, string> = {
  file: "f",
  directory: "d",
  symlink: "l",
  other: "o",
};

/** Options for comparing manifests. */
export interface ManifestCompareOptions {
  /**
   * Include permission bits. Default true. Set false when comparing with a destination that
   * `systemd-tmpfiles --create` may have touched since: the etcd container's tmpfiles `Z` line resets modes and
   * owners below DEST.
   */
  modes?: boolean;
}

/**
 * sha256 over every entry, sorted by path (byte order), one line each:
 * `<f|d|l|o> <mode as 4 octal digits, or "-"> <size> <sha256 or "-"> <path>\n`.
 * Owners are not included: tmpfiles `Z` chowns DEST to HOST_UID/HOST_GID (root) at every boot.
 */
export function manifestSha256(
  entries: readonly ManifestEntry[],
  options: ManifestCompareOptions = {},
): string {
  const withModes = options.modes ?? true;
  const hash = createHash("sha256");
  for (const e of [...entries].sort((a, b) => compareBytes(a.path, b.path))) {
    const mode = withModes ? e.mode.toString(8).padStart(4, "0") : "-";
    hash.update(`${TYPE_LETTER[e.type]} ${mode} ${e.size} ${e.sha256 ?? "-"} ${e.path}\n`);
  }
  return hash.digest("hex");
}

/** Number of regular files and their total bytes. */
export function manifestTotals(entries: readonly ManifestEntry[]): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of entries) {
    if (e.type !== "file") continue;
    files++;
    bytes += e.size;
  }
  return { files, bytes };
}

/**
 * The differences between two manifests, one human-readable sentence each, in path order:
 * `only in source: wal/0.tmp (file, 64000000 bytes)`, `changed: snap/db: size 1 -> 2, content`.
 * At most `limit` lines (default 20); a last line says how many more there are.
 */
export function diffManifests(
  a: readonly ManifestEntry[],
  b: readonly ManifestEntry[],
  options: ManifestCompareOptions & { labels?: [string, string]; limit?: number } = {},
): string[] {
  const [la, lb] = options.labels ?? ["source", "destination"];
  const withModes = options.modes ?? true;
  const limit = options.limit ?? 20;
  const ma = new Map(a.map((e) => [e.path, e]));
  const mb = new Map(b.map((e) => [e.path, e]));
  const paths = [...new Set([...ma.keys(), ...mb.keys()])].sort(compareBytes);
  const out: string[] = [];
  const describe = (e: ManifestEntry) => (e.type === "file" ? `file, ${e.size} bytes` : e.type);
  for (const p of paths) {
    const x = ma.get(p);
    const y = mb.get(p);
    if (x && !y) out.push(`only in ${la}: ${p} (${describe(x)})`);
    else if (!x && y) out.push(`only in ${lb}: ${p} (${describe(y)})`);
    else if (x && y) {
      const parts: string[] = [];
      if (x.type !== y.type) parts.push(`type ${x.type} -> ${y.type}`);
      if (x.size !== y.size) parts.push(`size ${x.size} -> ${y.size}`);
      if (x.type === "file" && y.type === "file" && x.sha256 !== y.sha256 && x.size === y.size)
        parts.push("content");
      if (withModes && x.mode !== y.mode) {
        parts.push(`mode ${x.mode.toString(8).padStart(4, "0")} -> ${y.mode.toString(8).padStart(4, "0")}`);
      }
      if (parts.length > 0) out.push(`changed: ${p}: ${parts.join(", ")}`);
    }
  }
  if (out.length > limit) return [...out.slice(0, limit), `... and ${out.length - limit} more differences`];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Step outcomes

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
