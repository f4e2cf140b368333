/**
 * `systemd-tmpfiles` stand-in: `--create` / `--remove` (both allowed together, like the real one) for the line
 * types atomic's system containers ship in `/etc/tmpfiles.d/NAME.conf` (fedora-atomic-tools.md §4):
 *
 * | type | --create                                              | --remove                          |
 * |------|-------------------------------------------------------|-----------------------------------|
 * | d    | make the directory, then set mode/owner               | nothing                           |
 * | D    | as d                                                  | empty the directory               |
 * | Z    | set mode/owner recursively (if the path exists)       | nothing                           |
 * | z    | set mode/owner on the path itself                      | nothing                           |
 * | f    | create an empty file if missing                       | nothing                           |
 * | L    | create the symlink if missing                         | nothing                           |
 * | r    | nothing                                               | remove the path (empty dir/file)  |
 * | R    | nothing                                               | remove the path recursively       |
 *
 * Without FILE arguments, every `/etc/tmpfiles.d/*.conf` is read (what the supervisor does at boot). Paths are
 * host paths prefixed with `$ATOMIC_SIM_ROOT`.
 */
import * as fs from "fs";
import * as path from "path";

/** One parsed tmpfiles.d line. */
export interface TmpfilesLine {
  type: string;
  path: string;
  mode?: number;
  user?: string;
  group?: string;
  argument?: string;
}

/** Parses tmpfiles.d text (`Type Path Mode User Group Age Argument`; `-` means "default"). */
export function parseTmpfiles(text: string): TmpfilesLine[] {
  const out: TmpfilesLine[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [type, p, mode, user, group, , ...arg] = line.split(/\s+/);
    if (!type || !p) continue;
    const dash = (v: string | undefined) => (v === undefined || v === "-" ? undefined : v);
    const m = dash(mode);
    out.push({
      type: type.replace(/[!+=~-]+$/, ""),
      path: p,
      mode: m === undefined ? undefined : parseInt(m.replace(/^~/, ""), 8),
      user: dash(user),
      group: dash(group),
      argument: dash(arg.length ? arg.join(" ") : undefined),
    });
  }
  return out;
}

/** Resolves a user or group name (or number) through the host's /etc/passwd or /etc/group. */
function resolveId(root: string, db: "passwd" | "group", name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  if (/^\d+$/.test(name)) return Number(name);
  try {
    for (const line of fs.readFileSync(`${root}/etc/${db}`, "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === name) return Number(f[2]);
    }
  } catch {
    // no database: fall through
  }
  throw new Error(`Failed to resolve ${db === "passwd" ? "user" : "group"} '${name}'.`);
}

function applyOwnership(root: string, file: string, l: TmpfilesLine): void {
  const uid = resolveId(root, "passwd", l.user);
  const gid = resolveId(root, "group", l.group);
  if (uid !== undefined || gid !== undefined) fs.lchownSync(file, uid ?? -1, gid ?? -1);
  if (l.mode !== undefined && !fs.lstatSync(file).isSymbolicLink()) fs.chmodSync(file, l.mode);
}

function applyRecursive(root: string, file: string, l: TmpfilesLine): void {
  if (!fs.existsSync(file)) return;
  applyOwnership(root, file, l);
  if (!fs.lstatSync(file).isDirectory()) return;
  for (const entry of fs.readdirSync(file)) applyRecursive(root, path.join(file, entry), l);
}

function create(root: string, l: TmpfilesLine): void {
  const file = root + l.path;
  switch (l.type) {
    case "d":
    case "D":
      fs.mkdirSync(file, { recursive: true, mode: l.mode ?? 0o755 });
      applyOwnership(root, file, l);
      return;
    case "Z":
      applyRecursive(root, file, l);
      return;
    case "z":
      if (fs.existsSync(file)) applyOwnership(root, file, l);
      return;
    case "f":
      if (!fs.existsSync(file)) {
        fs.writeFileSync(file, l.argument ?? "", { mode: l.mode ?? 0o644 });
        applyOwnership(root, file, l);
      }
      return;
    case "L":
      if (!fs.existsSync(file) && l.argument) fs.symlinkSync(l.argument, file);
      return;
    default:
      return; // r/R act only on --remove; other types are not used by atomic's templates
  }
}

function remove(root: string, l: TmpfilesLine): void {
  const file = root + l.path;
  switch (l.type) {
    case "D":
      if (fs.existsSync(file))
        for (const e of fs.readdirSync(file)) fs.rmSync(path.join(file, e), { recursive: true, force: true });
      return;
    case "r":
      // Like rmdir(2)/unlink(2): a non-empty directory stays.
      try {
        if (fs.lstatSync(file).isDirectory()) fs.rmdirSync(file);
        else fs.unlinkSync(file);
      } catch {
        // missing or not empty: systemd-tmpfiles ignores both
      }
      return;
    case "R":
      fs.rmSync(file, { recursive: true, force: true });
      return;
    default:
      return;
  }
}

/** What one run should do. */
export interface TmpfilesRun {
  create: boolean;
  remove: boolean;
  files: string[];
}

/** Parses `systemd-tmpfiles [--create] [--remove] [--boot] [FILE...]`. */
export function parseTmpfilesArgs(argv: string[]): TmpfilesRun | { error: string } {
  const run: TmpfilesRun = { create: false, remove: false, files: [] };
  for (const a of argv) {
    if (a === "--create") run.create = true;
    else if (a === "--remove") run.remove = true;
    else if (
      a === "--boot" ||
      a === "--clean" ||
      a.startsWith("--prefix") ||
      a.startsWith("--exclude-prefix")
    )
      continue;
    else if (a.startsWith("-")) return { error: `Unknown option ${a}.` };
    else run.files.push(a);
  }
  if (!run.create && !run.remove)
    return { error: "You need to specify at least one of --clean, --create or --remove." };
  return run;
}

/** Runs tmpfiles over `files` (host paths; default every /etc/tmpfiles.d/*.conf); returns stderr and exit code. */
export function runTmpfiles(root: string, run: TmpfilesRun): { exitCode: number; stderr: string } {
  let files = run.files;
  if (files.length === 0) {
    try {
      files = fs
        .readdirSync(`${root}/etc/tmpfiles.d`)
        .filter((f) => f.endsWith(".conf"))
        .sort()
        .map((f) => `/etc/tmpfiles.d/${f}`);
    } catch {
      files = [];
    }
  }
  let stderr = "";
  let exitCode = 0;
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(root + f, "utf8");
    } catch {
      stderr += `Failed to open '${f}', ignoring: No such file or directory\n`;
      if (run.files.length > 0) exitCode = 1;
      continue;
    }
    for (const line of parseTmpfiles(text)) {
      try {
        if (run.remove) remove(root, line);
        if (run.create) create(root, line);
      } catch (err) {
        stderr += `${line.path}: ${(err as Error).message}\n`;
        exitCode = 1;
      }
    }
  }
  return { exitCode, stderr };
}

/** `systemd-tmpfiles ARGV...` as a command run on the host (the Node entry point and the host's tool server). */
export function runTmpfilesCommand(argv: string[], root: string): { exitCode: number; stderr: string } {
  const run = parseTmpfilesArgs(argv);
  if ("error" in run) return { exitCode: 1, stderr: `${run.error}\n` };
  return runTmpfiles(root, run);
}

function main(): void {
  const r = runTmpfilesCommand(process.argv.slice(2), process.env.ATOMIC_SIM_ROOT ?? "");
  process.stderr.write(r.stderr);
  process.exitCode = r.exitCode;
}

if (require.main === module) main();
