/**
 * Unit files: systemd's ini dialect parsed, and a unit loaded from `/etc/systemd/system` or
 * `/usr/lib/systemd/system` (read on every call, so `daemon-reload` has nothing to do).
 */
import * as fs from "fs";
import * as path from "path";
import type { SystemdContext } from "./context";
import { hp } from "./context";

/** Section → key → values (a key may repeat, e.g. `After=`, `Environment=`). */
export type UnitSections = Record<string, Record<string, string[]>>;

/** Parses systemd's ini dialect: sections, `Key=Value`, `#`/`;` comments, backslash line continuations. */
export function parseUnitFile(text: string): UnitSections {
  const sections: UnitSections = {};
  let current: Record<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !current) continue;
    const key = line.slice(0, eq).trim();
    (current[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return sections;
}

/** A unit as systemctl uses it. */
export interface Unit {
  name: string;
  /** Host path of the file that defines it (systemd's FragmentPath). */
  fragmentPath: string;
  description: string;
  execStart: string;
  environmentFiles: { path: string; optional: boolean }[];
  environment: Record<string, string>;
  workingDirectory?: string;
  runtimeDirectories: string[];
  after: string[];
  wantedBy: string[];
  requiredBy: string[];
  hasInstallSection: boolean;
  /** Service Type= (`simple` when unset): `notify` makes `start` wait until the service is ready. */
  type: string;
}

/** Directories units load from, in systemd's priority order (admin config overrides the image). */
export const UNIT_DIRS = ["/etc/systemd/system", "/usr/lib/systemd/system"];

function words(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => splitQuoted(v)).filter((w) => w !== "");
}

/** Splits on whitespace, honouring "double" and 'single' quotes (systemd's `Environment=` / ExecStart rules). */
export function splitQuoted(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]));
  }
  return out;
}

/** Builds a `Unit` from a parsed file. */
export function unitFromSections(name: string, fragmentPath: string, s: UnitSections): Unit {
  const service = s.Service ?? {};
  const environment: Record<string, string> = {};
  for (const w of words(service.Environment)) {
    const eq = w.indexOf("=");
    if (eq > 0) environment[w.slice(0, eq)] = w.slice(eq + 1);
  }
  const last = (vals: string[] | undefined) => (vals && vals.length ? vals[vals.length - 1] : undefined);
  return {
    name,
    fragmentPath,
    description: last(s.Unit?.Description) ?? name,
    execStart: (service.ExecStart ?? []).filter((v) => v !== "").pop() ?? "",
    environmentFiles: (service.EnvironmentFile ?? []).map((v) =>
      v.startsWith("-") ? { path: v.slice(1), optional: true } : { path: v, optional: false },
    ),
    environment,
    workingDirectory: last(service.WorkingDirectory)?.replace(/^-/, ""),
    runtimeDirectories: words(service.RuntimeDirectory),
    after: words(s.Unit?.After),
    wantedBy: words(s.Install?.WantedBy),
    requiredBy: words(s.Install?.RequiredBy),
    hasInstallSection: s.Install !== undefined,
    type: last(service.Type) ?? "simple",
  };
}

/** Loads a unit from `/etc/systemd/system`, then `/usr/lib/systemd/system`; null when neither has it. */
export function loadUnit(ctx: SystemdContext, name: string): Unit | null {
  for (const dir of UNIT_DIRS) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(hp(ctx, file), "utf8");
    } catch {
      continue;
    }
    return unitFromSections(name, file, parseUnitFile(text));
  }
  return null;
}
