/**
 * Parser for the tables atomic prints for people: `atomic containers list` and `atomic images list`.
 *
 * atomic pads each column to a fixed width and truncates long values (names to 12, images to 20 characters
 * unless `--no-trunc`), and the columns changed across releases (2016: `... STATUS RUNTIME`; 1.17: `STATE
 * RUNTIME`, then `STATE BACKEND RUNTIME`; images: `... VIRTUAL SIZE TYPE`). So columns are found from the header
 * line: each header word starts a column, and a value is the text from that column's start to the next one's
 * (Atomic/containers.py and images.py print with `"{0:12} {1:20} ..."`-style format strings). The first three
 * characters are a marker gutter in most releases (`>` marks a dangling or in-use image).
 */
import { fail, ok, type ParseResult, tail } from "./result";

export interface AtomicTableRow {
  /** The gutter marker, e.g. ">" in `atomic images list`; "" when none. */
  marker: string;
  /** Column name (as the header spells it, e.g. "CONTAINER ID", "VIRTUAL SIZE") → trimmed value. */
  values: Record<string, string>;
}

export interface AtomicTable {
  columns: string[];
  rows: AtomicTableRow[];
}

/** Multi-word column names atomic prints: kept as one column. */
const COMPOUND = ["CONTAINER ID", "IMAGE ID", "VIRTUAL SIZE", "IMAGE NAME"];

/** Parses an atomic list table. Blank lines are skipped; an output of a header only is an empty table. */
export function parseAtomicTable(stdout: string): ParseResult<AtomicTable> {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return ok({ columns: [], rows: [] });
  const header = lines[0]!;
  const starts: { name: string; at: number }[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) {
    const prev = starts[starts.length - 1];
    if (prev && COMPOUND.includes(`${prev.name} ${m[0]}`)) prev.name = `${prev.name} ${m[0]}`;
    else starts.push({ name: m[0], at: m.index });
  }
  if (starts.length < 2 || !/^[A-Z][A-Z ]*$/.test(starts.map((s) => s.name).join(" "))) {
    return fail(`atomic printed no table header: ${tail(header, 120)}`);
  }
  const rows: AtomicTableRow[] = [];
  for (const line of lines.slice(1)) {
    const values: Record<string, string> = {};
    starts.forEach((col, i) => {
      // The first column starts at 0: a row may start left of its header (2016 images list has no gutter).
      const from = i === 0 ? 0 : col.at;
      const to = i + 1 < starts.length ? starts[i + 1]!.at : undefined;
      values[col.name] = line.slice(from, to).trim();
    });
    const firstName = starts[0]!.name;
    // A gutter marker is one non-alphanumeric character followed by space (`>  docker.io/registry`).
    const marked = /^([^\sA-Za-z0-9])\s+(.*)$/.exec(values[firstName]!);
    const marker = marked ? marked[1]! : "";
    if (marked) values[firstName] = marked[2]!;
    if (values[firstName] === "")
      return fail(`atomic printed a row without a ${firstName}: ${tail(line, 120)}`);
    rows.push({ marker, values });
  }
  return ok({ columns: starts.map((s) => s.name), rows });
}
