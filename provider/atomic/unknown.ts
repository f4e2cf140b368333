/**
 * Pulumi's unknown-during-preview sentinel: an input not known yet arrives as {@link UNKNOWN}, whatever its type.
 * Validation skips it (it is checked again at `up`) and the diff counts it as a change.
 */

/** The value Pulumi substitutes for an input not known yet during preview, whatever the input's type. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when `value` is Pulumi's unknown-during-preview sentinel. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** True when `value` is, or contains at any depth, the unknown sentinel. */
export function containsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
