/**
 * The remote steps of an etcd data migration, the guide's `systemctl stop etcd; cp -r /var/lib/etcd/member
 * /var/lib/etcd/etcd.etcd/` made safe: scripts and their argv (read back: `etcdMigrationOutputs.ts`).
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
import { assertOperand } from "./result";

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
  const iso = date.toISOString(); // 2017-11-20T10:11:12.345Z
  return iso.replace(/[-:]/g, "").replace(/\.[0-9]{3}Z$/, "Z");
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

/**
 * The apply's first inspection, with the destination's `mkdir` in it: when the source is a directory (not a
 * symlink) and nothing is at the destination, as {@link ETCD_INSPECT_SCRIPT} would report them, `mkdir -p -m 0700
 * -- DEST` runs first and the script says how it ended (`@@made-destination STATUS`; mkdir's words on stderr); then
 * the inspection, which sees the folder made. One command for what was the inspection, the mkdir and a second
 * inspection. Only a create or update runs it; a refresh runs the plain inspection, which changes nothing.
 */
export const ETCD_PREPARE_INSPECT_SCRIPT = `# atomic-host:etcd-prepare-inspect v1
if [ ! -L "$1" ] && [ -d "$1" ] && [ ! -L "$2" ] && [ ! -e "$2" ]; then
  mkdir -p -m 0700 -- "$2"
  printf '@@made-destination %s\\n' "$?"
fi
${ETCD_INSPECT_SCRIPT}`;

/** The status of the `mkdir` {@link ETCD_PREPARE_INSPECT_SCRIPT} ran, or undefined when it ran none. */
export function parseMadeDestination(stdout: string): number | undefined {
  const m = /^@@made-destination ([0-9]+)$/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

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

/** `sh -c SCRIPT atomic-host-etcd SRC DEST UNIT`: the inspection's operands, whichever form of it runs. */
function inspectArgv(script: string, spec: { source: string; destination: string; unit: string }): string[] {
  return [
    "sh",
    "-c",
    script,
    ARG0,
    assertOperand(spec.source, "source"),
    assertOperand(spec.destination, "destination"),
    assertOperand(spec.unit, "unit"),
  ];
}

/** `sh -c INSPECT atomic-host-etcd SRC DEST UNIT`. `unit` is a full unit name, e.g. "etcd.service". */
export function buildEtcdInspectCommand(spec: {
  source: string;
  destination: string;
  unit: string;
}): string[] {
  return inspectArgv(ETCD_INSPECT_SCRIPT, spec);
}

/** {@link buildEtcdInspectCommand} with the destination's `mkdir` first (see {@link ETCD_PREPARE_INSPECT_SCRIPT}). */
export function buildEtcdPrepareInspectCommand(spec: {
  source: string;
  destination: string;
  unit: string;
}): string[] {
  return inspectArgv(ETCD_PREPARE_INSPECT_SCRIPT, spec);
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
