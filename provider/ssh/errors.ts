/**
 * The one error type of the SSH layer, and the secret registry every message passes through.
 *
 * Callers branch on `RemoteError.kind`, never on message text (as ssh2 does with `err.level`). Every string
 * that reaches a message, a field or a log line goes through {@link redact} first, so a password, private key
 * or passphrase registered with {@link registerSecret} can never leak through an error.
 */

/**
 * What went wrong, as a field to branch on.
 *
 * - `connect`: the TCP connection or SSH handshake could not be set up (refused, unreachable, DNS, dial
 *   timeout, proxy refused to forward). Nothing ran on the host.
 * - `hostkey`: the server's host key is not the pinned one, or nothing was pinned. Nothing was sent.
 * - `auth`: the server refused every credential offered, or no credential was available. Nothing ran.
 * - `timeout`: a command (or a wait such as {@link waitForReboot}) ran past its deadline.
 * - `command`: the command ran and exited non-zero or was killed by a signal.
 * - `connection`: an established connection was lost while a command was in flight; the command may or
 *   may not have completed.
 * - `parse`: the command ran, but its output was not in the expected form.
 * - `refused`: the host was read and the change is refused, because making it would destroy data, take over
 *   something the caller does not own, or break what runs there (a {@link RefusalError}). This operation changed
 *   nothing on the host.
 */
export type RemoteErrorKind =
  "connect" | "hostkey" | "auth" | "timeout" | "command" | "connection" | "parse" | "refused";

/** Fields accepted by the {@link RemoteError} constructor. */
export interface RemoteErrorInit {
  /** What went wrong; see {@link RemoteErrorKind}. */
  kind: RemoteErrorKind;
  /** `user@host:port` of the host the operation targeted. */
  host: string;
  /** One sentence saying what happened, without the host (the message adds it). */
  summary: string;
  /** The shell command line that ran or was about to run (redacted before it is stored). */
  command?: string;
  /** Exit status of the command, or `null` when it had none (killed by a signal, or never finished). */
  exitCode?: number | null;
  /** Signal name (`SIGKILL`) when the command was killed by one, else `null`. */
  signal?: string | null;
  /** The last lines of the command's standard error (redacted before it is stored). */
  stderrTail?: string;
  /** What the person on call should do next. */
  hint?: string;
}

/**
 * An error from remote work over SSH.
 *
 * Its message is written for a person on call: which host, what ran, what it said, what to do next. All of its
 * enumerable fields are plain redacted strings and numbers, so it can be logged or serialised safely.
 */
export class RemoteError extends Error {
  /** What went wrong; branch on this. */
  readonly kind: RemoteErrorKind;
  /** `user@host:port`. */
  readonly host: string;
  /** The redacted command line, or `undefined` when the failure happened before any command. */
  readonly command: string | undefined;
  /** Exit status, or `null` when there is none. */
  readonly exitCode: number | null;
  /** Signal name, or `null`. */
  readonly signal: string | null;
  /** Last lines of standard error, redacted; `""` when there were none. */
  readonly stderrTail: string;
  /** What to do next; `""` when there is no specific advice. */
  readonly hint: string;

  constructor(init: RemoteErrorInit) {
    const safe = redactInit(init);
    super(formatRemoteError(safe));
    this.kind = safe.kind;
    this.host = safe.host;
    this.command = safe.command;
    this.exitCode = safe.exitCode ?? null;
    this.signal = safe.signal ?? null;
    this.stderrTail = safe.stderrTail ?? "";
    this.hint = safe.hint ?? "";
  }
}

// On the prototype, so that an instance's own enumerable fields are exactly the documented ones.
Object.defineProperty(RemoteError.prototype, "name", {
  value: "RemoteError",
  writable: true,
  configurable: true,
});

/**
 * A refusal: the host answered, and what it holds forbids the change (a different member directory at the
 * destination, a remote of the same name that differs, a cluster that would lose its quorum...). Its own class so
 * that a caller can tell "will not" from "could not", and kind `refused` so that it reads like every other
 * {@link RemoteError}: which host, what is wrong, what to do.
 */
export class RefusalError extends RemoteError {
  declare readonly kind: "refused";

  constructor(init: Omit<RemoteErrorInit, "kind">) {
    super({ ...init, kind: "refused" });
  }
}

Object.defineProperty(RefusalError.prototype, "name", {
  value: "RefusalError",
  writable: true,
  configurable: true,
});

/** True when `err` is a {@link RemoteError}, optionally of one of the given kinds. */
export function isRemoteError(err: unknown, ...kinds: RemoteErrorKind[]): err is RemoteError {
  return err instanceof RemoteError && (kinds.length === 0 || kinds.includes(err.kind));
}

/**
 * Formats the fields of a {@link RemoteError} into its message. Pure; callers redact first.
 *
 * ```
 * [command] root@10.0.0.5:22: the command exited with code 1
 *   command: rpm-ostree install etcd
 *   stderr (last lines):
 *     error: Packages not found: etcd
 *   next: ...
 * ```
 */
export function formatRemoteError(init: RemoteErrorInit): string {
  const lines = [`[${init.kind}] ${init.host}: ${init.summary}`];
  if (init.command !== undefined) lines.push(`  command: ${init.command}`);
  if (init.stderrTail) {
    lines.push("  stderr (last lines):");
    for (const line of init.stderrTail.split("\n")) lines.push(`    ${line}`);
  }
  if (init.hint) lines.push(`  next: ${init.hint}`);
  return lines.join("\n");
}

function redactInit(init: RemoteErrorInit): RemoteErrorInit {
  return {
    ...init,
    host: redact(init.host), // a registered identifier: kept whole, unless it is not one
    summary: redact(init.summary),
    command: init.command === undefined ? undefined : redact(init.command),
    stderrTail: init.stderrTail === undefined ? undefined : redact(init.stderrTail),
    hint: init.hint === undefined ? undefined : redact(init.hint),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

const REDACTED = "[redacted]";
/** Fragments shorter than this are not registered on their own (a key's short lines would match everywhere). */
const MIN_FRAGMENT_LENGTH = 16;

const secrets = new Set<string>();
/** Registered secrets, longest first, so a secret containing another is replaced whole. */
let ordered: string[] = [];

/**
 * Registers a secret (password, private key, passphrase) so that {@link redact} removes it from every string.
 * A multi-line value (a PEM or OpenSSH private key) also registers each of its long lines, so that a fragment of
 * the key quoted by a library error is removed too. `undefined` and `""` are ignored.
 */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  const before = secrets.size;
  secrets.add(value);
  const trimmed = value.trim();
  if (trimmed) secrets.add(trimmed);
  for (const line of value.split(/\r?\n/)) {
    const t = line.trim();
    if (t.length >= MIN_FRAGMENT_LENGTH && !t.startsWith("-----")) secrets.add(t);
  }
  if (secrets.size !== before) ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/**
 * Registers a string that names something rather than hides it (`user@host:port`, `user@host`), so that
 * {@link redact} leaves it whole even when a secret happens to occur inside it: a password `root` must not turn
 * every `root@10.0.0.5:22` into `[redacted]@10.0.0.5:22`. A secret occurrence that reaches outside such a name
 * is still replaced whole.
 */
export function registerIdentifier(value: string | undefined): void {
  if (!value || identifiers.has(value)) return;
  identifiers.add(value);
  orderedIdentifiers = [...identifiers].sort((a, b) => b.length - a.length);
}

const identifiers = new Set<string>();
let orderedIdentifiers: string[] = [];

/**
 * Returns `text` with every registered secret replaced by `[redacted]`, except where the occurrence lies wholly
 * inside a registered identifier (see {@link registerIdentifier}). Apply it to anything that may be shown to a
 * person: error messages, log lines, command lines, captured stderr.
 */
export function redact(text: string): string {
  if (!ordered.some((secret) => text.includes(secret))) return text;
  const kept = occurrences(text, orderedIdentifiers);
  const hidden: Array<[number, number]> = [];
  const found = occurrences(text, ordered);
  for (const [start, end] of found) {
    if (end - start < SHORT_SECRET_LENGTH && !standsAlone(text, start, end, found)) continue;
    if (!kept.some(([ks, ke]) => ks <= start && end <= ke)) hidden.push([start, end]);
  }
  if (hidden.length === 0) return text;
  hidden.sort((a, b) => a[0] - b[0]);
  let out = "";
  let at = 0;
  for (const [start, end] of hidden) {
    if (end <= at) continue;
    if (start >= at) out += text.slice(at, start) + REDACTED;
    at = Math.max(at, end);
  }
  return out + text.slice(at);
}

/**
 * Secrets shorter than this are hidden only where they stand alone: on each side the text's edge, a character that
 * is not a letter, digit or `_`, or another secret's occurrence. A password `x` is hidden in `password x` and
 * `:x@`, `root` in `rootroot`, but `exited` stays `exited` and `rootfs` stays `rootfs`: inside a longer word a short
 * string says nothing of the secret, and hiding it there would mangle every message (`e[redacted]ited`).
 */
const SHORT_SECRET_LENGTH = 8;

/** Whether `text[start, end)` is bounded on both sides (see {@link SHORT_SECRET_LENGTH}). */
function standsAlone(
  text: string,
  start: number,
  end: number,
  occurrences: ReadonlyArray<[number, number]>,
): boolean {
  const word = /[A-Za-z0-9_]/;
  const leftBound = start === 0 || !word.test(text[start - 1]!) || occurrences.some(([, e]) => e === start);
  const rightBound = end === text.length || !word.test(text[end]!) || occurrences.some(([s]) => s === end);
  return leftBound && rightBound;
}

/** Every `[start, end)` where one of `needles` occurs in `text` (overlaps included). */
function occurrences(text: string, needles: readonly string[]): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const n of needles) {
    for (let i = text.indexOf(n); i >= 0; i = text.indexOf(n, i + 1)) found.push([i, i + n.length]);
  }
  return found;
}

/** Forgets every registered secret. For tests only. */
export function clearSecretsForTesting(): void {
  secrets.clear();
  ordered = [];
  identifiers.clear();
  orderedIdentifiers = [];
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers for messages

/**
 * The last `maxLines` lines of `text` (at most `maxChars` characters), without a trailing newline. Used for the
 * stderr tail in errors: the end of a tool's output is where it says why it failed.
 */
export function tailLines(text: string, maxLines = 20, maxChars = 4000): string {
  const trimmed = text.replace(/\s+$/, "");
  if (!trimmed) return "";
  let tail = trimmed.split("\n").slice(-maxLines).join("\n");
  if (tail.length > maxChars) tail = "…" + tail.slice(tail.length - maxChars);
  return tail;
}

/** The message of any thrown value, redacted. */
export function messageOf(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}
