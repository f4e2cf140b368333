/**
 * What every validator shares: the failure shape, how a rejected value is quoted in a reason (never a secret,
 * never a character that could disguise the reason), and the required/optional/one-of checks.
 */
import { isUnknown } from "./unknown";

/** A resource's inputs as `check` receives them: any object, validated field by field. */
export type UncheckedInputs = object | undefined | null;

/** The fields of `inputs`, each still to be validated. */
export function fieldsOf(inputs: UncheckedInputs): Record<string, unknown> {
  return (inputs ?? {}) as Record<string, unknown>;
}

/** One problem with one input, as `check` returns it to Pulumi. */
export interface CheckFailure {
  property: string;
  reason: string;
}

/** Characters that change how a terminal shows the text around them, or show as nothing at all. */
const INVISIBLE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** A short description of a value that is safe to print: non-secret inputs only. */
export function shown(value: unknown): string {
  if (typeof value === "string") {
    const s = value.length > 80 ? value.slice(0, 77) + "..." : value;
    // JSON.stringify escapes C0 controls but not C1 controls, bidi overrides (U+202E would make the terminal print
    // the rest of the reason right to left), zero-width characters or line separators: escape those too, so a
    // rejected value is shown as what it is and cannot disguise the reason it is quoted in.
    return JSON.stringify(s).replace(INVISIBLE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return kindOf(value);
}

/** "a number", "an array"… for type errors, without printing the value. */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "object":
      return "an object";
    case "undefined":
      return "nothing";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "string":
      return "a string";
    default:
      return `a ${typeof value}`;
  }
}

export function failure(property: string, reason: string): CheckFailure[] {
  return [{ property, reason }];
}

export function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** Runs `check` on a required string input, handling unknown, absent and non-string values uniformly. */
export function requiredString(
  value: unknown,
  property: string,
  form: string,
  check: (s: string) => string | undefined,
): CheckFailure[] {
  if (isUnknown(value)) return [];
  if (isAbsent(value)) return failure(property, `${property} is required: ${form}`);
  if (typeof value !== "string")
    return failure(property, `${property} must be a string: ${form}; got ${kindOf(value)}`);
  const reason = check(value);
  return reason === undefined ? [] : failure(property, reason);
}

/** Same as {@link requiredString} for an optional input: absent is fine. */
export function optionalString(
  value: unknown,
  property: string,
  form: string,
  check: (s: string) => string | undefined,
): CheckFailure[] {
  if (isAbsent(value)) return [];
  return requiredString(value, property, form, check);
}

export function oneOf(
  value: unknown,
  property: string,
  allowed: readonly string[],
  why: string,
): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value)) return [];
  if (typeof value === "string" && allowed.includes(value)) return [];
  const list = allowed.map((a) => JSON.stringify(a)).join(", ");
  return failure(property, `${property} must be one of ${list}${why}; got ${shown(value)}`);
}

/** A boolean input such as `running`. */
export function validateBoolean(value: unknown, property: string): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || typeof value === "boolean") return [];
  return failure(property, `${property} must be true or false; got ${shown(value)}`);
}

/**
 * `hostName`: optional; a label for progress lines and the preview, so one line of printable characters, at most
 * 253 (a DNS name's length).
 */
export function validateHostName(value: unknown): CheckFailure[] {
  if (value === undefined || value === null || isUnknown(value)) return [];
  if (
    typeof value !== "string" ||
    value.trim() === "" ||
    value.length > 253 ||
    [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    return [
      {
        property: "hostName",
        reason:
          'hostName must be a non-empty label of at most 253 printable characters on one line, e.g. "master1"',
      },
    ];
  }
  return [];
}
