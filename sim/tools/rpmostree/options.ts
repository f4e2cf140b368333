/**
 * GLib's GOptionContext parsing as rpm-ostree's builtins use it, pure. Options may appear anywhere (GLib
 * permutes), `--` ends them, `--opt=value` and `--opt value` both work for arguments, short flags cluster
 * (`-rn`). An option the builtin does not define fails the whole command with GLib's
 * "Unknown option --idempotent" — which is exactly what v2017.10 says to `--idempotent`/`--allow-inactive`
 * (added in v2018.7/v2018.6, reference §3 version matrix).
 */
import { RpmOstreeVersion } from "./model";

export interface OptionDef {
  long: string;
  short?: string;
  /** "flag" (no argument), "string" (one), "strings" (repeatable). */
  kind: "flag" | "string" | "strings";
  /** First rpm-ostree release that has the option (absent before). */
  since?: RpmOstreeVersion;
}

export type OptionValues = Record<string, boolean | string | string[] | undefined>;

export type OptionParse = { ok: true; values: OptionValues; args: string[] } | { ok: false; error: string };

/** Options every builtin accepts (rpmostree_option_context_parse: global and daemon-connection options). */
const COMMON: OptionDef[] = [
  { long: "version", kind: "flag" },
  { long: "sysroot", kind: "string" },
  { long: "peer", kind: "flag" },
  { long: "quiet", short: "q", kind: "flag" },
];

const OS_REBOOT: OptionDef[] = [
  { long: "os", kind: "string" },
  { long: "reboot", short: "r", kind: "flag" },
];

const PKG_ENTRIES: OptionDef[] = [
  { long: "install", kind: "strings" },
  { long: "uninstall", kind: "strings" },
];

/** Option tables per builtin (rpm-ostree v2017.10 `rpmostree-*-builtin*.c`, plus the 2018.x additions). */
export const BUILTIN_OPTIONS: Record<string, OptionDef[]> = {
  status: [
    { long: "verbose", short: "v", kind: "flag" },
    { long: "json", kind: "flag" },
    { long: "pretty", short: "p", kind: "flag" },
    { long: "jsonpath", short: "J", kind: "string", since: "2018.7" },
  ],
  install: [
    ...OS_REBOOT,
    { long: "dry-run", short: "n", kind: "flag" },
    { long: "uninstall", kind: "strings" },
    { long: "cache-only", short: "C", kind: "flag" },
    { long: "download-only", kind: "flag" },
    { long: "allow-inactive", kind: "flag", since: "2018.7" },
    { long: "idempotent", kind: "flag", since: "2018.7" },
    { long: "unchanged-exit-77", kind: "flag", since: "2018.7" },
  ],
  uninstall: [
    ...OS_REBOOT,
    { long: "dry-run", short: "n", kind: "flag" },
    { long: "install", kind: "strings" },
    { long: "idempotent", kind: "flag", since: "2018.7" },
    { long: "unchanged-exit-77", kind: "flag", since: "2018.7" },
  ],
  rebase: [
    ...OS_REBOOT,
    { long: "branch", short: "b", kind: "string" },
    { long: "remote", short: "m", kind: "string" },
    { long: "skip-purge", kind: "flag" },
    { long: "cache-only", short: "C", kind: "flag" },
    { long: "download-only", kind: "flag" },
    ...PKG_ENTRIES,
  ],
  upgrade: [
    ...OS_REBOOT,
    { long: "allow-downgrade", kind: "flag" },
    { long: "preview", kind: "flag" },
    { long: "check", kind: "flag" },
    { long: "cache-only", short: "C", kind: "flag" },
    { long: "download-only", kind: "flag" },
    { long: "upgrade-unchanged-exit-77", kind: "flag" },
    ...PKG_ENTRIES,
  ],
  deploy: [
    ...OS_REBOOT,
    { long: "preview", kind: "flag" },
    { long: "cache-only", short: "C", kind: "flag" },
    { long: "download-only", kind: "flag" },
  ],
  rollback: [...OS_REBOOT],
  cancel: [],
};

function available(defs: OptionDef[], version: RpmOstreeVersion): OptionDef[] {
  return [...defs, ...COMMON].filter((d) => d.since === undefined || d.since <= version);
}

/** Parse a builtin's arguments (argv after the command name). */
export function parseOptions(
  builtin: string,
  argv: readonly string[],
  version: RpmOstreeVersion,
): OptionParse {
  const defs = available(BUILTIN_OPTIONS[builtin] ?? [], version);
  const values: OptionValues = {};
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const def = defs.find((d) => d.long === name);
      if (!def) return { ok: false, error: `Unknown option ${a}` };
      if (def.kind === "flag") {
        if (eq >= 0) return { ok: false, error: `Unexpected argument for --${name}` };
        values[def.long] = true;
        continue;
      }
      let value: string | undefined = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) return { ok: false, error: `Missing argument for --${name}` };
      value = String(value);
      if (def.kind === "string") values[def.long] = value;
      else values[def.long] = [...((values[def.long] as string[] | undefined) ?? []), value];
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const def = defs.find((d) => d.short === a[j]);
        if (!def) return { ok: false, error: `Unknown option -${a[j]}` };
        if (def.kind === "flag") {
          values[def.long] = true;
          continue;
        }
        const rest = a.slice(j + 1);
        const value = rest.length ? rest : argv[++i];
        if (value === undefined) return { ok: false, error: `Missing argument for -${a[j]}` };
        if (def.kind === "string") values[def.long] = value;
        else values[def.long] = [...((values[def.long] as string[] | undefined) ?? []), value];
        break;
      }
      continue;
    }
    args.push(a);
  }
  return { ok: true, values, args };
}
