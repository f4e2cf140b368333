/**
 * Parser for the human form of `rpm-ostree status` (and `atomic host status`, which passes through to it).
 *
 * The provider reads `status --json`; this form is what people paste and what `rpm-ostree status` prints in a
 * terminal, so it is parsed to diagnose a host from its text (and proven on real captures). Layout
 * (rpmostree-builtin-status.c, 2017-2020): `State: idle[; auto updates ...]`, optional `AutomaticUpdates:` and
 * `Transaction:` lines, `Deployments:`, then one block per deployment: a first line `● ORIGIN` (booted) or
 * `  ORIGIN` (`*` in old releases), then `Key: value` lines right-aligned on the colon, blocks separated by a
 * blank line. The origin may carry an `ostree://` scheme (2018+), or be a bare ref or a local name.
 */
import { fail, ok, type ParseResult, tail } from "./result";
import { normalizeOrigin } from "./rpmOstreeStatus";

export interface TextDeployment {
  /** The refspec, without `ostree://`. */
  origin: string;
  booted: boolean;
  /** `Version: 27.1 (2017-11-10 11:54:36)` → "27.1". */
  version?: string;
  /** `Commit:` or, when packages are layered, `BaseCommit:`. */
  commit?: string;
  baseCommit?: string;
  layeredPackages: string[];
  pinned: boolean;
  /** Every `Key: value` line of the block, as printed. */
  fields: Record<string, string>;
}

export interface TextStatus {
  /** `idle`, `busy`... (the word after `State:`). */
  state: string;
  /** The `Transaction:` line, when one runs. */
  transaction?: string;
  deployments: TextDeployment[];
}

/** Parses `rpm-ostree status` text. Trailing spaces and ellipsis lines (`...`) of pasted output are tolerated. */
export function parseRpmOstreeStatusText(stdout: string): ParseResult<TextStatus> {
  const lines = stdout.split("\n").map((l) => l.replace(/\s+$/, ""));
  const stateLine = lines.find((l) => l.startsWith("State: "));
  if (stateLine === undefined)
    return fail(`rpm-ostree status printed no "State:" line: ${tail(stdout, 200)}`);
  const status: TextStatus = {
    state: stateLine.slice("State: ".length).split(";")[0]!.trim(),
    deployments: [],
  };
  const tx = lines.find((l) => l.startsWith("Transaction: "));
  if (tx !== undefined) status.transaction = tx.slice("Transaction: ".length);
  const start = lines.indexOf("Deployments:");
  if (start < 0) return fail('rpm-ostree status printed no "Deployments:" line');
  let current: TextDeployment | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line === "") {
      current = undefined;
      continue;
    }
    const head = /^([●*]| ) (\S.*)$/u.exec(line);
    if (head && current === undefined) {
      current = {
        origin: normalizeOrigin(head[2]!.trim()),
        booted: head[1] !== " ",
        layeredPackages: [],
        pinned: false,
        fields: {},
      };
      status.deployments.push(current);
      continue;
    }
    const field = /^\s+([A-Za-z]+): ?(.*)$/.exec(line);
    if (field && current !== undefined) {
      current.fields[field[1]!] = field[2]!;
      continue;
    }
    return fail(`rpm-ostree status printed a line outside any deployment block: ${tail(line, 120)}`);
  }
  for (const d of status.deployments) {
    const f = d.fields;
    if (f.Version !== undefined) d.version = f.Version.split(" ")[0];
    if (f.BaseCommit !== undefined) d.baseCommit = f.BaseCommit;
    d.commit = f.Commit ?? f.BaseCommit;
    d.layeredPackages = (f.LayeredPackages ?? "").split(/\s+/).filter(Boolean);
    d.pinned = f.Pinned === "yes";
  }
  if (status.deployments.length === 0) return fail("rpm-ostree status listed no deployment");
  return ok(status);
}
