/**
 * ostree remotes: the `ostree remote add|delete` commands, the one-round-trip read of a host's remotes, parsers
 * for what ostree prints and keeps, and the plan OstreeRemote runs.
 *
 * Facts (ostreedev/ostree v2017.13, the release Fedora 27 shipped; v2017.10 on Fedora 26 has the same code):
 * - `ostree remote add [--set=KEY=VALUE...] [--no-gpg-verify] NAME URL` (src/ostree/ot-remote-builtin-add.c,
 *   `option_entries`). GPG verification is on unless `--no-gpg-verify` is given, which writes
 *   `gpg-verify=false`; there is no `--gpg-verify` flag, and a key path is only ever `--set=gpgkeypath=PATH`.
 * - On a booted host the system repo has `add-remotes-config-dir`, so the remote is written to
 *   `/etc/ostree/remotes.d/NAME.conf` as a GKeyFile group `[remote "NAME"]` with `url=` and each `--set` key
 *   (src/libostree/ostree-repo.c `impl_repo_remote_add`). Remotes added without that option live in
 *   `/ostree/repo/config`.
 * - Adding a name that exists fails: `Remote configuration for "NAME" already exists: FILE`
 *   (`impl_repo_remote_add`); `ostree remote delete NAME` removes the remotes.d file, or the group from the repo
 *   config (`impl_repo_remote_delete`).
 * - `ostree remote list -u` prints `%-*s  %s` (name padded to the longest, two spaces, URL) per remote
 *   (src/ostree/ot-remote-builtin-list.c); without `-u`, one name per line.
 * - Remote names follow `OSTREE_REMOTE_NAME_REGEXP` = `[\w\d][-._\w\d]*` (src/libostree/ostree-core.c).
 */
import { assertOperand, fail, ok, type ParseResult, type PlannedCommand, tail } from "./result";

/** What an OstreeRemote declares (defaults applied). */
export interface OstreeRemoteDeclaration {
  name: string;
  url: string;
  /** ostree's `gpg-verify`; true unless `--no-gpg-verify`. */
  gpgVerify: boolean;
  /** `gpgkeypath`: the ASCII-armoured key file pulls are verified with. */
  gpgKeyPath?: string;
}

/** One remote as the host has it. */
export interface ObservedRemote {
  name: string;
  url: string;
  /** `gpg-verify` as configured; true when the key is absent (ostree's default). */
  gpgVerify: boolean;
  gpgKeyPath?: string;
  /** The file that defines it (`/etc/ostree/remotes.d/NAME.conf` or `/ostree/repo/config`), when found. */
  file?: string;
  /** Every key of its group, as written. */
  options: Record<string, string>;
}

/** The system repo of an ostree-booted host (`/sysroot/ostree/repo` is the same directory). */
export const OSTREE_SYSTEM_REPO = "/ostree/repo";
/** Where `ostree remote add` writes a system remote. */
export const OSTREE_REMOTES_DIR = "/etc/ostree/remotes.d";

/**
 * `ostree remote add [--set=gpgkeypath=PATH] [--no-gpg-verify] NAME URL`, the upgrade guide's command:
 * `ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27
 * https://kojipkgs.fedoraproject.org/atomic/27`.
 */
export function buildOstreeRemoteAddCommand(remote: OstreeRemoteDeclaration): string[] {
  return [
    "ostree",
    "remote",
    "add",
    ...(remote.gpgKeyPath === undefined
      ? []
      : [`--set=gpgkeypath=${assertOperand(remote.gpgKeyPath, "gpg key path")}`]),
    ...(remote.gpgVerify ? [] : ["--no-gpg-verify"]),
    assertOperand(remote.name, "remote name"),
    assertOperand(remote.url, "remote URL"),
  ];
}

/** `ostree remote delete NAME`. */
export function buildOstreeRemoteDeleteCommand(name: string): string[] {
  return ["ostree", "remote", "delete", assertOperand(name, "remote name")];
}

/** `ostree remote list`: the names only, which is all LayeredPackage needs to know before a rebase. */
export function buildOstreeRemoteListCommand(): string[] {
  return ["ostree", "remote", "list"];
}

/** `$0` of the read script, so a shell error on the host reads "atomic-host-read: ...". */
const READ_ARG0 = "atomic-host-read";

/**
 * Every remote of the system repo: `ostree remote list -u` (what ostree itself resolves), then the text of each
 * file that can define a remote, between marker lines. A key file line never starts with `@@`. Exits 0 unless
 * `ostree` itself fails (then its status), so "not an ostree host" is an error, not "no remotes".
 */
export const OSTREE_REMOTES_READ_SCRIPT = `# atomic-host:ostree-remotes-read v1
export LC_ALL=C
repo=$1
dir=$2
printf '@@read 1\\n'
printf '@@list-begin\\n'
ostree remote list -u || exit $?
printf '@@list-end\\n'
for f in "$dir"/*.conf "$repo/config"; do
  [ -f "$f" ] || continue
  printf '@@file %s\\n' "$f"
  cat -- "$f"
  printf '\\n@@file-end\\n'
done
printf '@@end\\n'
exit 0
`;

/** `sh -c SCRIPT atomic-host-read /ostree/repo /etc/ostree/remotes.d`. */
export function buildOstreeRemotesReadCommand(
  repo: string = OSTREE_SYSTEM_REPO,
  dir: string = OSTREE_REMOTES_DIR,
): string[] {
  return [
    "sh",
    "-c",
    OSTREE_REMOTES_READ_SCRIPT,
    READ_ARG0,
    assertOperand(repo, "ostree repo"),
    assertOperand(dir, "remotes directory"),
  ];
}

/** One line of `ostree remote list [-u]`. */
export interface RemoteListEntry {
  name: string;
  url?: string;
}

/** Parses `ostree remote list` (one name per line) or `ostree remote list -u` (name, two or more spaces, URL). */
export function parseOstreeRemoteList(stdout: string): ParseResult<RemoteListEntry[]> {
  const entries: RemoteListEntry[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trimEnd();
    if (line === "") continue;
    const m = /^(\S+)(?:\s+(\S+))?$/.exec(line);
    if (!m || !REMOTE_NAME.test(m[1]!)) {
      return fail(`ostree remote list printed a line that is not "NAME [URL]": ${tail(line, 120)}`);
    }
    entries.push(m[2] === undefined ? { name: m[1]! } : { name: m[1]!, url: m[2] });
  }
  return ok(entries);
}

/** `OSTREE_REMOTE_NAME_REGEXP` (ostree-core.c): `[\w\d][-._\w\d]*`, ASCII. */
const REMOTE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A GKeyFile boolean (`true`/`false`, and `1`/`0` which GLib also accepts). */
function keyFileBoolean(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.trim();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return fallback;
}

/**
 * Parses a GKeyFile (an ostree repo `config` or a remotes.d `*.conf`) and returns its `[remote "NAME"]` groups.
 * Comments (`#`) and blank lines are skipped; other groups (`[core]`) are ignored. A line that is neither a
 * group header nor `key=value` is an error, as GLib's parser makes it.
 */
export function parseOstreeRemoteKeyFile(text: string, file?: string): ParseResult<ObservedRemote[]> {
  const remotes: ObservedRemote[] = [];
  let current: ObservedRemote | undefined;
  let inOtherGroup = false;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const group = /^\[(.*)\]$/.exec(line);
    if (group) {
      const remote = /^remote "([^"]+)"$/.exec(group[1]!);
      if (remote) {
        current = { name: remote[1]!, url: "", gpgVerify: true, options: {}, ...(file ? { file } : {}) };
        remotes.push(current);
        inOtherGroup = false;
      } else {
        current = undefined;
        inOtherGroup = true;
      }
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0)
      return fail(`line ${i + 1} of ${file ?? "the key file"} is not "key=value": ${tail(line, 120)}`);
    if (current === undefined) {
      if (inOtherGroup) continue;
      return fail(`line ${i + 1} of ${file ?? "the key file"} is outside any [group]`);
    }
    current.options[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  for (const r of remotes) {
    r.url = r.options.url ?? r.options.metalink ?? "";
    r.gpgVerify = keyFileBoolean(r.options["gpg-verify"], true);
    if (r.options.gpgkeypath !== undefined && r.options.gpgkeypath !== "")
      r.gpgKeyPath = r.options.gpgkeypath;
  }
  return ok(remotes);
}

/** What {@link buildOstreeRemotesReadCommand} found. */
export interface OstreeRemotesObservation {
  /** Every remote `ostree remote list` names, with its options from the file that defines it. */
  remotes: ObservedRemote[];
  warnings: string[];
}

/** Parses the read script's output. `ostree remote list` is the authority on which remotes exist. */
export function parseOstreeRemotesReadOutput(stdout: string): ParseResult<OstreeRemotesObservation> {
  const lines = stdout.split("\n");
  if (!lines.includes("@@read 1") || !lines.includes("@@end")) {
    return fail(`the ostree remotes read script did not run to the end; it printed: ${tail(stdout, 200)}`);
  }
  const listStart = lines.indexOf("@@list-begin");
  const listEnd = lines.indexOf("@@list-end");
  if (listStart < 0 || listEnd < listStart)
    return fail("the ostree remotes read script printed no remote list");
  const listed = parseOstreeRemoteList(lines.slice(listStart + 1, listEnd).join("\n"));
  if (!listed.ok) return listed;
  const fromFiles = new Map<string, ObservedRemote>();
  const warnings: string[] = [];
  for (let i = listEnd + 1; i < lines.length; i++) {
    const header = /^@@file (.+)$/.exec(lines[i]!);
    if (!header) continue;
    const end = lines.indexOf("@@file-end", i + 1);
    if (end < 0)
      return fail(`the ostree remotes read script printed an unterminated file block (${header[1]})`);
    const parsed = parseOstreeRemoteKeyFile(lines.slice(i + 1, end).join("\n"), header[1]);
    if (!parsed.ok) warnings.push(parsed.error);
    else for (const r of parsed.value) if (!fromFiles.has(r.name)) fromFiles.set(r.name, r);
    i = end;
  }
  const remotes = listed.value.map((entry): ObservedRemote => {
    const known = fromFiles.get(entry.name);
    if (known) return { ...known, url: entry.url ?? known.url };
    warnings.push(`remote ${entry.name} is listed by ostree but defined in no file this read looked at`);
    return { name: entry.name, url: entry.url ?? "", gpgVerify: true, options: {} };
  });
  return ok({ remotes, warnings });
}

/** The ways a remote on the host differs from the declaration, as sentences; empty when it matches. */
export function remoteDifferences(declared: OstreeRemoteDeclaration, observed: ObservedRemote): string[] {
  const out: string[] = [];
  const norm = (u: string) => u.replace(/\/+$/, "");
  if (norm(observed.url) !== norm(declared.url)) out.push(`url is ${observed.url}, not ${declared.url}`);
  if (observed.gpgVerify !== declared.gpgVerify) {
    out.push(`gpg-verify is ${String(observed.gpgVerify)}, not ${String(declared.gpgVerify)}`);
  }
  if ((observed.gpgKeyPath ?? "") !== (declared.gpgKeyPath ?? "")) {
    out.push(`gpgkeypath is ${observed.gpgKeyPath ?? "(none)"}, not ${declared.gpgKeyPath ?? "(none)"}`);
  }
  return out;
}

export type OstreeRemoteStepKind = "add" | "delete";
export type OstreeRemoteStep = PlannedCommand<OstreeRemoteStepKind>;

export type OstreeRemotePlan =
  /** The host has exactly this remote and this resource did not add it: adopt it, and leave it on delete. */
  | { kind: "adopt"; steps: []; observed: ObservedRemote }
  /** The host has exactly this remote, added by this resource before. */
  | { kind: "none"; steps: []; observed: ObservedRemote }
  /** Add it (after deleting a different one of the same name when told to replace). */
  | { kind: "add"; steps: OstreeRemoteStep[]; replaced?: ObservedRemote }
  /** A different remote of that name exists and replacing was not allowed. */
  | { kind: "blocked"; steps: []; reason: string };

/**
 * The plan for making the host's remote `declared.name` match. `observed` undefined means "not read" (preview):
 * the plan is then the add, which is what a host without the remote runs. `owned` says this resource added the
 * remote earlier (its state says `adopted: false`), so a match is kept as ours, not adopted.
 */
export function planOstreeRemote(
  declared: OstreeRemoteDeclaration,
  options: { replace: boolean; owned: boolean },
  observed?: OstreeRemotesObservation,
): OstreeRemotePlan {
  const add: OstreeRemoteStep = {
    kind: "add",
    argv: buildOstreeRemoteAddCommand(declared),
    why: `the host has no ostree remote ${declared.name}`,
  };
  const existing = observed?.remotes.find((r) => r.name === declared.name);
  if (existing === undefined) return { kind: "add", steps: [add] };
  const differences = remoteDifferences(declared, existing);
  if (differences.length === 0) {
    return options.owned
      ? { kind: "none", steps: [], observed: existing }
      : { kind: "adopt", steps: [], observed: existing };
  }
  const where = existing.file ? ` (${existing.file})` : "";
  if (!options.replace) {
    return {
      kind: "blocked",
      steps: [],
      reason:
        `the host already has an ostree remote ${declared.name}${where} that differs: ${differences.join("; ")}. ` +
        `Declare it as it is to adopt it, set replace: true to delete it and add the declared one, or run ` +
        `"ostree remote delete ${declared.name}" on the host`,
    };
  }
  return {
    kind: "add",
    replaced: existing,
    steps: [
      {
        kind: "delete",
        argv: buildOstreeRemoteDeleteCommand(declared.name),
        why: `replace: the host's remote ${declared.name} differs (${differences.join("; ")})`,
      },
      { ...add, why: `add the declared remote ${declared.name}` },
    ],
  };
}

/** What `ostree remote add` / `delete` did. */
export type OstreeRemoteOutcome =
  | { kind: "done" }
  /** `Remote configuration for "NAME" already exists`: someone added it meanwhile; read again. */
  | { kind: "exists"; message: string }
  /** `Remote "NAME" not found`: already gone (delete). */
  | { kind: "notFound"; message: string }
  | { kind: "failed"; message: string };

/** Classifies `ostree remote add|delete` output (ostree prints `error: MESSAGE` on stderr and exits 1). */
export function classifyOstreeRemoteOutcome(out: {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}): OstreeRemoteOutcome {
  if (out.exitCode === 0) return { kind: "done" };
  const text = `${out.stdout}\n${out.stderr}`;
  const message = tail(out.stderr.trim() !== "" ? out.stderr : out.stdout);
  if (/Remote configuration for "[^"]+" already exists/.test(text)) return { kind: "exists", message };
  if (/Remote "[^"]+" not found/.test(text)) return { kind: "notFound", message };
  return { kind: "failed", message };
}
