/**
 * Planned commands as lines a person reads at `pulumi preview` (`commands` output, logs).
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

/** Display lines for a list of planned commands, in order; `why` is appended as a `# comment` when asked. */
export function formatPlanLines(
  steps: readonly { argv: readonly string[]; why?: string }[],
  options: DisplayOptions & { withReasons?: boolean },
): string[] {
  return steps.map((s) => {
    const line = formatCommandForDisplay(s.argv, options);
    return options.withReasons && s.why ? `${line}  # ${s.why}` : line;
  });
}
