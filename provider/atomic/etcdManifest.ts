/**
 * Manifests of an etcd member directory: what the manifest and verify scripts print (see
 * `etcdMigrationCommands.ts`), parsed, hashed and compared file by file.
 */
import { createHash } from "node:crypto";
import { fail, ok, type ParseResult, tail } from "./result";

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
