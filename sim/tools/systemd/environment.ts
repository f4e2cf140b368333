/**
 * Environment files: systemd's EnvironmentFile= and the `source` of etcd-env.sh read the same KEY=VALUE lines.
 */
import * as fs from "fs";
import type { SystemdContext } from "./context";
import { hp } from "./context";
import type { Unit } from "./units";

/** Parses `KEY=VALUE` lines: comments, blank lines, `export`, and one level of quotes. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    const quoted = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
    if (quoted) value = quoted[1];
    env[m[1]] = value;
  }
  return env;
}

/** The environment systemd gives a unit: EnvironmentFile= files in order, then Environment=. */
export function unitEnvironment(
  ctx: SystemdContext,
  unit: Unit,
): Record<string, string> | { missing: string } {
  const env: Record<string, string> = {};
  for (const f of unit.environmentFiles) {
    let text: string;
    try {
      text = fs.readFileSync(hp(ctx, f.path), "utf8");
    } catch {
      if (f.optional) continue;
      return { missing: f.path };
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return Object.assign(env, unit.environment);
}
