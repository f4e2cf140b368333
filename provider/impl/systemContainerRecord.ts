/**
 * What SystemContainer's state records of the host (`__recorded`), and the template values the program marked
 * secret, which the record and the logs must never hold in plaintext.
 */
import { createHash } from "crypto";
import type { SystemContainerRecord } from "../atomic";
import type { SystemContainerInputs, SystemContainerOutputs } from "../types";

/**
 * `__recorded`: what the state knows of the host (see SystemContainerRecord), written by check (what the plan
 * leaves) and by read (what refresh found); the engine never displays `__` keys. `priorImage` is the field older
 * releases kept for the same purpose, read from old state only.
 */
export type StoredInputs = SystemContainerInputs & {
  __recorded?: SystemContainerRecord;
  priorImage?: string;
  __provider?: string;
};
export type StoredOutputs = SystemContainerOutputs & {
  __recorded?: SystemContainerRecord;
  priorImage?: string;
  __provider?: string;
};

/**
 * The template values the program marked secret. A dynamic provider receives every input decrypted and cannot tell
 * a secret from a plain string, so SystemContainer passes the keys (`secretValueKeys`, "*" for all). Without this
 * a secret value was written in plaintext into `commands` (the install line's `--set=KEY=VALUE`, stored in state
 * as an input and an output) and printed in the progress line of every `atomic install` and `containers update`.
 */
export function secretValuesOf(inputs: Partial<StoredInputs>): string[] {
  const keys = Array.isArray(inputs.secretValueKeys) ? inputs.secretValueKeys : [];
  const values = inputs.values !== null && typeof inputs.values === "object" ? inputs.values : {};
  return Object.entries(values)
    .filter(([k, v]) => typeof v === "string" && v !== "" && (keys.includes("*") || keys.includes(k)))
    .map(([, v]) => v);
}

/** Keys of the template values the program marked secret ("*": all). */
function secretKeysOf(inputs: Partial<StoredInputs>, key: string): boolean {
  const keys = Array.isArray(inputs.secretValueKeys) ? inputs.secretValueKeys : [];
  return keys.includes("*") || keys.includes(key);
}

const RECORD_DIGEST = "sha256:";
const digestOf = (v: string) => RECORD_DIGEST + createHash("sha256").update(v).digest("hex");

/**
 * `__recorded` is stored in the state as plain inputs, so a secret template value is recorded as its digest only:
 * the planner needs to know whether the host's value is the declared one, never the value itself.
 */
export function maskRecord(
  record: SystemContainerRecord | undefined,
  inputs: Partial<StoredInputs>,
): SystemContainerRecord | undefined {
  if (record === undefined) return undefined;
  const mask = (values: Record<string, string> | undefined) =>
    values === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(values).map(([k, v]) => [
            k,
            secretKeysOf(inputs, k) && !v.startsWith(RECORD_DIGEST) ? digestOf(v) : v,
          ]),
        );
  return { ...record, values: mask(record.values)!, previousValues: mask(record.previousValues) };
}

/** The record with each secret digest that matches the declared value replaced by that value (for the planner). */
export function unmaskRecord(
  record: SystemContainerRecord | undefined,
  inputs: Partial<StoredInputs>,
): SystemContainerRecord | undefined {
  if (record === undefined) return undefined;
  const declared = inputs.values ?? {};
  const unmask = (values: Record<string, string> | undefined) =>
    values === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(values).map(([k, v]) => [
            k,
            declared[k] !== undefined && v === digestOf(declared[k]!) ? declared[k]! : v,
          ]),
        );
  return { ...record, values: unmask(record.values)!, previousValues: unmask(record.previousValues) };
}

/**
 * What the state records of the host: `__recorded`, or for state written before it existed, the declaration
 * (the apply made the host match it) with `priorImage` as the other slot's image.
 */
export function recordOf(olds: Partial<StoredInputs>): SystemContainerRecord | undefined {
  if (olds.__recorded !== undefined) return olds.__recorded;
  if (olds.image === undefined) return undefined;
  return {
    image: olds.image,
    values: olds.values ?? {},
    previousImage: olds.priorImage,
    active: olds.running ?? true,
  };
}
