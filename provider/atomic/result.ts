/**
 * Shapes shared by every builder and parser in `provider/atomic/`.
 *
 * Parsers never throw on bad tool output: they return a {@link ParseResult}, and the caller (the provider)
 * turns `{ ok: false }` into a `RemoteError` of kind `parse`, which carries the host and the command.
 */

/** The outcome of parsing one tool's output: the value, or a sentence saying what was wrong with the text. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * What a finished remote command produced, as the SSH layer reports it.
 *
 * `exitCode` is `null` when the command had no exit status (killed by a signal, or the connection dropped).
 */
export interface CommandOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended the command (`SIGKILL`...), when it was killed. */
  signal?: string | null;
}

/** A command in a plan: the argv to run and a sentence saying why it runs (shown at preview). */
export interface PlannedCommand<K extends string = string> {
  kind: K;
  argv: string[];
  why: string;
  /**
   * Only in a plan made without reading the host (a create at preview): the fact of the host this step depends
   * on, e.g. "etcd.service is active". The apply reads the host and runs the step or not.
   */
  condition?: string;
}

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(error: string): ParseResult<T> {
  return { ok: false, error };
}

/** True for an object that is not an array nor null: a JSON object, as parsers and validators read one. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The strings of `value` when it is an array (other items dropped), else none. */
export function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === "string") : [];
}

/** The last `max` characters of `text`, for quoting tool output in an error without flooding it. */
export function tail(text: string, max = 300): string {
  const t = text.trim();
  return t.length <= max ? t : "…" + t.slice(t.length - max);
}

/**
 * Throws a TypeError when a value about to become an argv operand could be read as an option or is empty.
 *
 * Builders assume validated input (see `validate.ts`); this is the second line of defence for a provider path
 * that forgot to validate (for example old state read back for `delete`). The message names the role of the
 * value, never the value itself.
 */
export function assertOperand(value: string, role: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${role} must be a non-empty string`);
  }
  if (value.startsWith("-")) {
    throw new TypeError(`${role} must not start with "-" (it would be read as an option)`);
  }
  if (value.includes("\0") || value.includes("\n")) {
    throw new TypeError(`${role} must not contain a NUL or newline character`);
  }
  return value;
}

/**
 * JSON with object keys sorted and undefined-valued keys left out, so two equal values compare equal whatever
 * their key order (triggers, connections).
 */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}
