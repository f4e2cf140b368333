/**
 * Planned commands as lines a person reads at `pulumi preview` (`commands` output, logs).
 *
 * `pulumi preview --diff` cuts every line of a string property value after 150 bytes and every string after three
 * lines (pulumi/pulumi v3.248.0 pkg/backend/display/object_diff.go, `truncatePropertyString`: "if string exceeds
 * three lines or is >150 characters, truncate and add ..."), which cut the image name off an `atomic install`
 * line. So a command longer than that is shown as several items of the `commands` list, split between arguments:
 * a line that starts with four spaces continues the command above it (one space between), and one that starts
 * with three spaces and `+` continues an argument too long for one line (no space). {@link unwrapPlanLines}
 * joins them back.
 *
 * The quoting itself is NOT done here: the caller passes the SSH layer's `quoteCommand`, the one place that
 * turns argv into a shell line (it quotes only where needed), so what preview shows is byte for byte what runs,
 * except for two display-only substitutions made on the argv first:
 * - an embedded script (an argument starting with `# atomic-host:NAME vN`) is shown as `<NAME script>`;
 * - every occurrence of a masked string (a template value the user marked secret) is shown as `[secret]`.
 */

/** The one argv → shell-line function (the SSH layer's `quoteCommand`). */
export type QuoteCommand = (argv: readonly string[]) => string;

export interface DisplayOptions {
  quote: QuoteCommand;
  /** Strings never to show; each occurrence inside an argument is replaced by `[secret]`. Empty strings are ignored. */
  mask?: readonly string[];
}

const SCRIPT_HEADER = /^# atomic-host:([A-Za-z0-9_-]+) v[0-9]+\n/;

/** The argv with scripts abbreviated and masked strings hidden (still an argv, not yet a line). */
export function displayArgv(argv: readonly string[], mask: readonly string[] = []): string[] {
  const secrets = mask.filter((m) => m.length > 0).sort((a, b) => b.length - a.length);
  return argv.map((arg) => {
    const script = SCRIPT_HEADER.exec(arg);
    if (script) return `<${script[1]} script>`;
    let shown = arg;
    for (const s of secrets) shown = shown.split(s).join("[secret]");
    return shown;
  });
}

/**
 * One display line, e.g. `atomic install --system --system-package=no --storage=ostree --name=etcd
 * registry.fedoraproject.org/f27/etcd`.
 */
export function formatCommandForDisplay(argv: readonly string[], options: DisplayOptions): string {
  return options.quote(displayArgv(argv, options.mask));
}

/** The longest string line the engine's diff display shows whole, in bytes (see the file comment). */
export const DISPLAY_LINE_MAX = 150;
/** Starts a line that continues the command above with its next argument. */
export const NEXT_ARGUMENT = "    ";
/** Starts a line that continues the argument above (no space between). */
export const SAME_ARGUMENT = "   +";
/** Follows a command that runs only on a condition the preview cannot know (`LINE # only if ...`). */
export const CONDITION_MARK = "# only if ";

function bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Cuts `text` into pieces of at most `max` bytes, never inside a UTF-8 character. */
function chunks(text: string, max: number): string[] {
  const out: string[] = [];
  let cur = "";
  for (const ch of text) {
    if (bytes(cur + ch) > max) {
      out.push(cur);
      cur = "";
    }
    cur += ch;
  }
  if (cur !== "") out.push(cur);
  return out;
}

/**
 * Splits one display command (already quoted `words`) into lines of at most `max` bytes: between words where
 * possible, inside a word only when the word alone is longer than a line.
 */
export function wrapDisplayWords(words: readonly string[], max = DISPLAY_LINE_MAX): string[] {
  const lines: string[] = [];
  let cur: string | undefined;
  for (const word of words) {
    if (cur !== undefined && bytes(`${cur} ${word}`) <= max) {
      cur = `${cur} ${word}`;
      continue;
    }
    if (cur !== undefined) lines.push(cur);
    const prefix = cur === undefined ? "" : NEXT_ARGUMENT;
    if (bytes(prefix + word) <= max) {
      cur = prefix + word;
      continue;
    }
    const [first, ...rest] = chunks(word, max - Math.max(bytes(prefix), bytes(SAME_ARGUMENT)));
    lines.push(prefix + first!);
    for (const piece of rest.slice(0, -1)) lines.push(SAME_ARGUMENT + piece);
    cur = rest.length > 0 ? SAME_ARGUMENT + rest[rest.length - 1]! : undefined;
    if (cur === undefined) cur = lines.pop();
  }
  if (cur !== undefined) lines.push(cur);
  return lines;
}

/** A planned command as it is displayed: its argv, and the fact it depends on when preview cannot see it. */
export interface DisplayStep {
  argv: readonly string[];
  why?: string;
  /** Set when the step runs only if a fact of the host holds that only the apply reads (e.g. "etcd.service is active"). */
  condition?: string;
}

/**
 * Display lines for a list of planned commands, in order: each command on one line, or wrapped over several (see
 * the file comment); `# only if CONDITION` after a conditional step; `why` as a `# comment` when asked.
 */
export function formatPlanLines(
  steps: readonly DisplayStep[],
  options: DisplayOptions & { withReasons?: boolean; maxLineBytes?: number },
): string[] {
  return steps.flatMap((s) => {
    const words = displayArgv(s.argv, options.mask).map((a, i) => quoteAt(options, a, i));
    if (s.condition) words.push(`${CONDITION_MARK}${s.condition}`);
    if (options.withReasons && s.why) words.push(`# ${s.why}`);
    return wrapDisplayWords(words, options.maxLineBytes ?? DISPLAY_LINE_MAX);
  });
}

/** One argument quoted as the whole line would quote it at position `i` (the command word is quoted stricter). */
function quoteAt(options: DisplayOptions, arg: string, i: number): string {
  if (i === 0) return options.quote([arg]);
  // Quote as a non-first argument: the quoter's rules depend on the position only through "first or not".
  const line = options.quote(["x", arg]);
  return line.slice(2);
}

/**
 * The inverse of {@link formatPlanLines}: the display lines joined back into one line per command, with the
 * condition, if any, split off. Used by tests that compare a preview with what the host ran.
 */
export function unwrapPlanLines(lines: readonly string[]): { line: string; condition?: string }[] {
  const joined: string[] = [];
  for (const l of lines) {
    if (l.startsWith(SAME_ARGUMENT) && joined.length > 0)
      joined[joined.length - 1] += l.slice(SAME_ARGUMENT.length);
    else if (l.startsWith(NEXT_ARGUMENT) && joined.length > 0)
      joined[joined.length - 1] += " " + l.slice(NEXT_ARGUMENT.length);
    else joined.push(l);
  }
  return joined.map((l) => {
    const at = l.lastIndexOf(` ${CONDITION_MARK}`);
    return at < 0
      ? { line: l }
      : { line: l.slice(0, at), condition: l.slice(at + 1 + CONDITION_MARK.length) };
  });
}
