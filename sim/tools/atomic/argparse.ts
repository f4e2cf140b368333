/**
 * The part of Python's argparse that atomic's command lines exercise, as a pure function.
 *
 * Reproduced because clients depend on it: `--opt=v` and `--opt v`, `-nNAME` and `-n NAME`, unique-prefix
 * abbreviations (`--stor ostree`), `append` options (`--set` repeated), `--` ending options, and the REMAINDER
 * positional that atomic gives `install`/`uninstall`: once the image positional is consumed, REMAINDER swallows
 * every later word, options included (`atomic install IMG --name x` leaves `name` unset and `args=['--name','x']`;
 * checked against CPython's argparse).
 *
 * Errors return `{ok: false}` with argparse's message; atomic's HelpByDefaultArgumentParser prints it as
 * `<prog>: <message>` + `Try '<prog> --help' for more information.` and exits 2 (`atomic`:79-82).
 */

export type OptionAction = "store" | "store_true" | "store_false" | "append";

export interface OptionSpec {
  /** e.g. ["-n", "--name"]. */
  flags: string[];
  dest: string;
  action: OptionAction;
  /** Default when absent (store_true defaults to false, store_false to true, append to undefined). */
  default?: string | boolean;
}

export interface PositionalSpec {
  dest: string;
  /** "one" (required, one word), "optional" (`?`) or "remainder" (argparse.REMAINDER). */
  nargs: "one" | "optional" | "remainder";
}

export interface ParserSpec {
  /** argparse `prog`, e.g. "atomic install" (named in "Try '... --help'"). */
  prog: string;
  options: OptionSpec[];
  positionals: PositionalSpec[];
}

export type ArgValue = string | boolean | string[] | undefined;
export type ParsedArgs = Record<string, ArgValue>;

export type ParseResult =
  { ok: true; values: ParsedArgs; extras: string[] } | { ok: false; prog: string; message: string };

function looksLikeOption(word: string): boolean {
  return word.startsWith("-") && word !== "-" && !/^-\d+$|^-\d*\.\d+$/.test(word);
}

function displayFlags(o: OptionSpec): string {
  return o.flags.join("/");
}

/**
 * Parse `argv` against `spec`. Unknown options become `extras` (argparse's parse_known_args); the caller decides
 * whether they are an error (`unrecognized arguments: ...`, reported by the top-level parser).
 */
export function parseArgs(spec: ParserSpec, argv: readonly string[]): ParseResult {
  const values: ParsedArgs = {};
  for (const o of spec.options) {
    values[o.dest] =
      o.default !== undefined
        ? o.default
        : o.action === "store_true"
          ? false
          : o.action === "store_false"
            ? true
            : undefined;
  }
  for (const p of spec.positionals) values[p.dest] = p.nargs === "remainder" ? [] : undefined;

  const extras: string[] = [];
  const fail = (message: string): ParseResult => ({ ok: false, prog: spec.prog, message });
  const longFlags = spec.options.flatMap((o) =>
    o.flags.filter((f) => f.startsWith("--")).map((f) => ({ f, o })),
  );
  const shortFlags = new Map(
    spec.options.flatMap((o) => o.flags.filter((f) => /^-[^-]$/.test(f)).map((f) => [f, o] as const)),
  );

  let posIndex = 0;
  let i = 0;
  let optionsEnded = false;

  const takePositionalRun = (): void => {
    // Fill positionals from argv[i] on; REMAINDER, once reached, swallows everything that is left.
    while (i < argv.length && posIndex < spec.positionals.length) {
      const p = spec.positionals[posIndex];
      if (p.nargs === "remainder") {
        values[p.dest] = argv.slice(i);
        i = argv.length;
        posIndex++;
        return;
      }
      const word = argv[i];
      if (!optionsEnded && looksLikeOption(word)) return;
      values[p.dest] = word;
      posIndex++;
      i++;
      // The same run continues into a REMAINDER that directly follows.
      if (posIndex < spec.positionals.length && spec.positionals[posIndex].nargs === "remainder") continue;
      return;
    }
  };

  const apply = (o: OptionSpec, value: string | undefined): ParseResult | undefined => {
    if (o.action === "store_true" || o.action === "store_false") {
      if (value !== undefined)
        return fail(`argument ${displayFlags(o)}: ignored explicit argument '${value}'`);
      values[o.dest] = o.action === "store_true";
      return undefined;
    }
    if (value === undefined) {
      const next = argv[i];
      if (next === undefined || looksLikeOption(next))
        return fail(`argument ${displayFlags(o)}: expected one argument`);
      value = next;
      i++;
    }
    if (o.action === "append") values[o.dest] = [...((values[o.dest] as string[] | undefined) ?? []), value];
    else values[o.dest] = value;
    return undefined;
  };

  while (i < argv.length) {
    const word = argv[i];
    if (!optionsEnded && word === "--") {
      optionsEnded = true;
      i++;
      continue;
    }
    if (optionsEnded || !looksLikeOption(word)) {
      const before = i;
      takePositionalRun();
      if (i === before) {
        extras.push(word);
        i++;
      }
      continue;
    }
    i++;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = eq >= 0 ? word.slice(0, eq) : word;
      const inline = eq >= 0 ? word.slice(eq + 1) : undefined;
      const exact = longFlags.find((l) => l.f === name);
      let match = exact;
      if (!match) {
        const candidates = longFlags.filter((l) => l.f.startsWith(name));
        if (candidates.length > 1) {
          return fail(`ambiguous option: ${name} could match ${candidates.map((c) => c.f).join(", ")}`);
        }
        match = candidates[0];
      }
      if (!match) {
        extras.push(word);
        continue;
      }
      const err = apply(match.o, inline);
      if (err) return err;
      continue;
    }
    // Short option(s): "-n", "-nVALUE", "-aq" (a cluster of flags).
    let rest = word.slice(1);
    while (rest.length > 0) {
      const o = shortFlags.get(`-${rest[0]}`);
      if (!o) {
        extras.push(rest.length === word.length - 1 ? word : `-${rest}`);
        break;
      }
      if (o.action === "store" || o.action === "append") {
        const attached = rest.slice(1);
        const err = apply(o, attached.length ? attached.replace(/^=/, "") : undefined);
        if (err) return err;
        break;
      }
      const err = apply(o, undefined);
      if (err) return err;
      rest = rest.slice(1);
    }
  }

  // A REMAINDER matches nothing happily, but argparse still names it when an earlier positional is missing.
  const pending = spec.positionals.slice(posIndex);
  if (pending.some((p) => p.nargs === "one")) {
    const missing = pending.filter((p) => p.nargs !== "optional").map((p) => p.dest);
    return fail(`the following arguments are required: ${missing.join(", ")}`);
  }
  return { ok: true, values, extras };
}
