/**
 * Python's `json.dumps` as atomic calls it, byte for byte: atomic writes its `info` file with
 * `json.dumps(info, indent=4)`, `containers list --json` and `images list --json` with `output_json`
 * (`indent=4, separators=(',', ': ')`, Atomic/util.py:267-269 at V1.12.1). Clients parse these, so
 * the exact spacing matters less than the key order, but golden files compare bytes.
 *
 * Differences from `JSON.stringify` reproduced here: `ensure_ascii` (non-ASCII as `\uXXXX`), `", "`/`": "` in the
 * compact form, empty containers as `[]`/`{}` even when indenting, and floats always with a fraction (`1.0`).
 */

/** A JSON value whose numbers may be marked as Python floats (so `2` prints `2.0`). */
export type PyValue = null | boolean | number | string | PyFloat | PyValue[] | { [key: string]: PyValue };

/** A number Python holds as a float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

export interface DumpsOptions {
  /** Spaces per level; undefined for the one-line form. */
  indent?: number;
  /** [item separator, key separator]. Python's default is [", ", ": "], or [",", ": "] when indenting. */
  separators?: [string, string];
}

function encodeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code < 0x20 || code > 0x7e) {
      if (code > 0xffff) {
        const v = code - 0x10000;
        out += `\\u${(0xd800 + (v >> 10)).toString(16).padStart(4, "0")}`;
        out += `\\u${(0xdc00 + (v & 0x3ff)).toString(16).padStart(4, "0")}`;
      } else out += `\\u${code.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out + '"';
}

function encodeFloat(n: number): string {
  if (Number.isInteger(n)) return `${n}.0`;
  return String(n);
}

/** `json.dumps(value, indent=..., separators=...)`. */
export function pyJsonDumps(value: PyValue, opts: DumpsOptions = {}): string {
  const indent = opts.indent;
  const [itemSep, keySep] = opts.separators ?? (indent === undefined ? [", ", ": "] : [",", ": "]);
  const enc = (v: PyValue, level: number): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (v instanceof PyFloat) return encodeFloat(v.value);
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : encodeFloat(v);
    if (typeof v === "string") return encodeString(v);
    const isArray = Array.isArray(v);
    const entries: string[] = isArray
      ? (v as PyValue[]).map((x) => enc(x, level + 1))
      : Object.entries(v).map(([k, x]) => `${encodeString(k)}${keySep}${enc(x, level + 1)}`);
    const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) return open + close;
    if (indent === undefined) return open + entries.join(itemSep) + close;
    const pad = "\n" + " ".repeat(indent * (level + 1));
    return open + pad + entries.join(itemSep + pad) + "\n" + " ".repeat(indent * level) + close;
  };
  return enc(value, 0);
}
