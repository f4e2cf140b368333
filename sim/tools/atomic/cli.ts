/**
 * atomic's command line (the verbs the simulator models), parsed into a typed command. Pure: no I/O.
 *
 * Option tables follow `Atomic/install.py`, `uninstall.py`, `containers.py`, `images.py`, `pull.py`, `info.py` at
 * 1.20.1 (reference §1-§2). Validation that atomic does *after* argparse (e.g. `--system-package` values) is left
 * to the command code so the messages come out where atomic prints them.
 */
import { ArgValue, ParserSpec, parseArgs } from "./argparse";

export interface GlobalFlags {
  debug: boolean;
  assumeyes: boolean;
  ignore: boolean;
}

export interface InstallArgs {
  image: string;
  name?: string;
  system: boolean;
  user: boolean;
  systemPackage: string;
  storage?: string;
  setValues?: string[];
  rootfs?: string;
  display: boolean;
  args: string[];
}

export type AtomicCommand =
  | { verb: "install"; args: InstallArgs }
  | { verb: "uninstall"; image: string; name?: string; storage?: string; force: boolean; display: boolean }
  | { verb: "pull"; image: string; storage?: string; srcCreds?: string; type?: string }
  | { verb: "info"; image: string; storage?: string; remote: boolean }
  | {
      verb: "containers list";
      all: boolean;
      filters: string[];
      json: boolean;
      heading: boolean;
      truncate: boolean;
      quiet: boolean;
    }
  | { verb: "containers update"; container: string; rebase?: string; setValues?: string[] }
  | { verb: "containers rollback"; container: string }
  | {
      verb: "images list";
      all: boolean;
      filters: string[];
      json: boolean;
      heading: boolean;
      truncate: boolean;
      quiet: boolean;
    }
  | { verb: "version" };

export type ParsedCommandLine =
  | { ok: true; global: GlobalFlags; command: AtomicCommand }
  | { ok: false; prog: string; message: string; usage?: boolean };

const flag = (flags: string[], dest: string) => ({ flags, dest, action: "store_true" as const });
const store = (flags: string[], dest: string, def?: string) => ({
  flags,
  dest,
  action: "store" as const,
  default: def,
});
const append = (flags: string[], dest: string) => ({ flags, dest, action: "append" as const });

const SPECS: Record<string, ParserSpec> = {
  install: {
    prog: "atomic install",
    options: [
      store(["-n", "--name"], "name"),
      flag(["--display"], "display"),
      flag(["--system"], "system"),
      flag(["--user"], "user"),
      store(["--system-package"], "system_package", "auto"),
      store(["--storage"], "storage"),
      append(["--set"], "setvalues"),
      store(["--rootfs"], "remote"),
      store(["--runtime"], "runtime"),
    ],
    positionals: [
      { dest: "image", nargs: "one" },
      { dest: "args", nargs: "remainder" },
    ],
  },
  uninstall: {
    prog: "atomic uninstall",
    options: [
      store(["-n", "--name"], "name"),
      flag(["-f", "--force"], "force"),
      flag(["--display"], "display"),
      store(["--storage"], "storage"),
    ],
    positionals: [
      { dest: "image", nargs: "one" },
      { dest: "args", nargs: "remainder" },
    ],
  },
  pull: {
    prog: "atomic pull",
    options: [
      store(["--storage"], "storage"),
      store(["--src-creds"], "src_creds"),
      store(["-t", "--type"], "type"),
    ],
    positionals: [{ dest: "image", nargs: "one" }],
  },
  info: {
    prog: "atomic info",
    options: [flag(["--remote"], "force"), store(["--storage"], "storage")],
    positionals: [{ dest: "image", nargs: "one" }],
  },
  "containers list": {
    prog: "atomic containers list",
    options: [
      flag(["-a", "--all"], "all"),
      append(["-f", "--filter"], "filters"),
      flag(["--json"], "json"),
      { flags: ["-n", "--noheading"], dest: "heading", action: "store_false" },
      { flags: ["--no-trunc"], dest: "truncate", action: "store_false" },
      flag(["-q", "--quiet"], "quiet"),
    ],
    positionals: [],
  },
  "containers update": {
    prog: "atomic containers update",
    options: [append(["--set"], "setvalues"), store(["--rebase"], "rebase")],
    positionals: [{ dest: "container", nargs: "one" }],
  },
  "containers rollback": {
    prog: "atomic containers rollback",
    options: [],
    positionals: [{ dest: "container", nargs: "one" }],
  },
  "images list": {
    prog: "atomic images list",
    options: [
      flag(["-a", "--all"], "all"),
      append(["-f", "--filter"], "filter"),
      { flags: ["-n", "--noheading"], dest: "heading", action: "store_false" },
      { flags: ["--no-trunc"], dest: "truncate", action: "store_false" },
      flag(["-q", "--quiet"], "quiet"),
      flag(["--json"], "json"),
    ],
    positionals: [],
  },
};

const TOP_VERBS = ["containers", "images", "info", "install", "pull", "uninstall"];
const SUB_VERBS: Record<string, string[]> = {
  containers: ["list", "rollback", "update"],
  images: ["info", "list"],
};

const s = (v: ArgValue): string | undefined => (typeof v === "string" ? v : undefined);
const b = (v: ArgValue): boolean => v === true;
const l = (v: ArgValue): string[] | undefined => (Array.isArray(v) ? v : undefined);

function choice(dest: string, word: string, choices: string[]): string {
  return `argument ${dest}: invalid choice: '${word}' (choose from ${choices.map((c) => `'${c}'`).join(", ")})`;
}

/** Parse `atomic ARGV...` (argv without the program name). */
export function parseAtomicCommandLine(argv: readonly string[]): ParsedCommandLine {
  const global: GlobalFlags = { debug: false, assumeyes: false, ignore: false };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    const a = argv[i];
    if (a === "--debug") global.debug = true;
    else if (a === "-y" || a === "--assumeyes") global.assumeyes = true;
    else if (a === "-i" || a === "--ignore") global.ignore = true;
    else if (a === "-v" || a === "--version") return { ok: true, global, command: { verb: "version" } };
    else return { ok: false, prog: "atomic", message: `unrecognized arguments: ${a}` };
  }
  const top = argv[i];
  // Python 3 argparse with no subcommand leaves `func` unset; atomic catches the AttributeError and prints usage.
  if (top === undefined) return { ok: false, prog: "atomic", message: "", usage: true };
  if (!TOP_VERBS.includes(top))
    return { ok: false, prog: "atomic", message: choice("action", top, TOP_VERBS) };
  let key = top;
  let rest = argv.slice(i + 1);
  if (SUB_VERBS[top]) {
    const sub = rest[0];
    if (sub === undefined || !SUB_VERBS[top].includes(sub)) {
      if (sub === undefined) return { ok: false, prog: `atomic ${top}`, message: "", usage: true };
      return {
        ok: false,
        prog: `atomic ${top}`,
        message: choice("{" + SUB_VERBS[top].join(",") + "}", sub, SUB_VERBS[top]),
      };
    }
    key = sub === "info" ? "info" : `${top} ${sub}`;
    rest = rest.slice(1);
  }
  const spec = SPECS[key];
  const r = parseArgs(spec, rest);
  if (!r.ok) return { ok: false, prog: r.prog, message: r.message };
  // Unknown options are reported by the top-level parser (parse_args → "unrecognized arguments").
  if (r.extras.length > 0)
    return { ok: false, prog: "atomic", message: `unrecognized arguments: ${r.extras.join(" ")}` };
  const v = r.values;
  const command = ((): AtomicCommand => {
    switch (key) {
      case "install":
        return {
          verb: "install",
          args: {
            image: s(v.image)!,
            name: s(v.name),
            system: b(v.system),
            user: b(v.user),
            systemPackage: s(v.system_package) ?? "auto",
            storage: s(v.storage),
            setValues: l(v.setvalues),
            rootfs: s(v.remote),
            display: b(v.display),
            args: l(v.args) ?? [],
          },
        };
      case "uninstall":
        return {
          verb: "uninstall",
          image: s(v.image)!,
          name: s(v.name),
          storage: s(v.storage),
          force: b(v.force),
          display: b(v.display),
        };
      case "pull":
        return {
          verb: "pull",
          image: s(v.image)!,
          storage: s(v.storage),
          srcCreds: s(v.src_creds),
          type: s(v.type),
        };
      case "info":
        return { verb: "info", image: s(v.image)!, storage: s(v.storage), remote: b(v.force) };
      case "containers list":
        return {
          verb: "containers list",
          all: b(v.all),
          filters: l(v.filters) ?? [],
          json: b(v.json),
          heading: v.heading !== false,
          truncate: v.truncate !== false,
          quiet: b(v.quiet),
        };
      case "containers update":
        return {
          verb: "containers update",
          container: s(v.container)!,
          rebase: s(v.rebase),
          setValues: l(v.setvalues),
        };
      case "containers rollback":
        return { verb: "containers rollback", container: s(v.container)! };
      case "images list":
        return {
          verb: "images list",
          all: b(v.all),
          filters: l(v.filter) ?? [],
          json: b(v.json),
          heading: v.heading !== false,
          truncate: v.truncate !== false,
          quiet: b(v.quiet),
        };
      default:
        throw new Error(`unhandled verb ${key}`);
    }
  })();
  return { ok: true, global, command };
}
