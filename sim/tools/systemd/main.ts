/**
 * `systemctl`'s command line: options and verb parsed, each verb run against a context, and the result as the
 * exit status and text systemd 234 gives. start/stop/restart go to the host's supervisor when it has one.
 */
import * as fs from "fs";
import { requestSupervisor } from "../../host";
import type { SystemdContext } from "./context";
import { contextFromEnv, normalizeUnitName } from "./context";
import { disableUnit, enableUnit, enablementLinks, unitFileState } from "./enablement";
import { runUnitAction } from "./processes";
import type { ActiveState } from "./runtime";
import { activeState } from "./runtime";
import { renderStatus, subState, unitProperties } from "./status";
import { loadUnit } from "./units";

interface Parsed {
  verb: string;
  units: string[];
  now: boolean;
  quiet: boolean;
  value: boolean;
  properties: string[];
}

/** Splits `systemctl [OPTIONS...] COMMAND [UNIT...]`; unknown options (--no-pager, --system...) are ignored. */
export function parseSystemctlArgs(argv: string[]): Parsed {
  const out: Parsed = {
    verb: "list-units",
    units: [],
    now: false,
    quiet: false,
    value: false,
    properties: [],
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--now") out.now = true;
    else if (a === "-q" || a === "--quiet") out.quiet = true;
    else if (a === "--value") out.value = true;
    else if (a === "-p" || a === "--property") out.properties.push(...(argv[++i] ?? "").split(","));
    else if (a.startsWith("--property=")) out.properties.push(...a.slice(11).split(","));
    else if (a === "-n" || a === "--lines" || a === "-t" || a === "--type" || a === "--state") i++;
    else if (a.startsWith("-")) continue;
    else positional.push(a);
  }
  if (positional.length) out.verb = positional[0];
  out.units = positional.slice(1).map(normalizeUnitName);
  return out;
}

/** Output of one systemctl invocation. */
export interface SystemctlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** start/stop/restart through the supervisor when the host has one, else in this process. */
async function unitAction(ctx: SystemdContext, action: "start" | "stop" | "restart", units: string[]) {
  try {
    const res = await requestSupervisor(ctx.paths.dir, { op: "unit", action, units });
    if (!res.ok || !res.unit)
      return { exitCode: 1, stderr: `Failed to ${action}: ${res.error ?? "no answer"}\n` };
    return res.unit;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSUPERVISOR") throw err;
    return runUnitAction({ ...ctx, manager: "standalone" }, action, units);
  }
}

async function hostPowerAction(ctx: SystemdContext, op: "reboot" | "kill"): Promise<SystemctlResult> {
  try {
    const res = await requestSupervisor(ctx.paths.dir, { op }, 10_000);
    return res.ok
      ? { exitCode: 0, stdout: "", stderr: "" }
      : {
          exitCode: 1,
          stdout: "",
          stderr: `Failed to ${op === "kill" ? "power off" : "reboot"} system: ${res.error}\n`,
        };
  } catch {
    return { exitCode: 1, stdout: "", stderr: "Failed to connect to bus: No such file or directory\n" };
  }
}

function isEnabledCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  let stderr = "";
  let anyEnabled = false;
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit) {
      stderr += `Failed to get unit file state for ${name}: No such file or directory\n`;
      continue;
    }
    const s = unitFileState(ctx, unit);
    if (s !== "disabled") anyEnabled = true;
    stdout += `${s}\n`;
  }
  return { exitCode: anyEnabled ? 0 : 1, stdout: p.quiet ? "" : stdout, stderr };
}

function isActiveCmd(ctx: SystemdContext, p: Parsed, wanted: ActiveState): SystemctlResult {
  let stdout = "";
  let found = false;
  for (const name of p.units) {
    const s = activeState(ctx, name);
    if (s === wanted) found = true;
    stdout += `${s}\n`;
  }
  // systemd: 0 when at least one unit is in the asked-for state; is-active uses 3 (LSB "not running") otherwise.
  return { exitCode: found ? 0 : wanted === "active" ? 3 : 1, stdout: p.quiet ? "" : stdout, stderr: "" };
}

async function enableCmd(ctx: SystemdContext, p: Parsed): Promise<SystemctlResult> {
  let stderr = "";
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit)
      return {
        exitCode: 1,
        stdout: "",
        stderr: `${stderr}Failed to enable unit: Unit file ${name} does not exist.\n`,
      };
    stderr += enableUnit(ctx, unit);
  }
  if (!p.now) return { exitCode: 0, stdout: "", stderr };
  const r = await unitAction(ctx, "start", p.units);
  return { exitCode: r.exitCode, stdout: "", stderr: stderr + r.stderr };
}

async function disableCmd(ctx: SystemdContext, p: Parsed): Promise<SystemctlResult> {
  let stderr = "";
  for (const name of p.units) {
    if (!loadUnit(ctx, name) && enablementLinks(ctx, name).length === 0) {
      return {
        exitCode: 1,
        stdout: "",
        stderr: `${stderr}Failed to disable unit: Unit file ${name} does not exist.\n`,
      };
    }
    stderr += disableUnit(ctx, name);
  }
  if (!p.now) return { exitCode: 0, stdout: "", stderr };
  const r = await unitAction(ctx, "stop", p.units);
  return { exitCode: r.exitCode, stdout: "", stderr: stderr + r.stderr };
}

function statusCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  let stderr = "";
  let exitCode = 0;
  for (const name of p.units) {
    const unit = loadUnit(ctx, name);
    if (!unit) {
      stderr += `Unit ${name} could not be found.\n`;
      exitCode = 4;
      continue;
    }
    stdout += (stdout ? "\n" : "") + renderStatus(ctx, unit);
    if (activeState(ctx, name) !== "active" && exitCode === 0) exitCode = 3;
  }
  return { exitCode, stdout, stderr };
}

function showCmd(ctx: SystemdContext, p: Parsed): SystemctlResult {
  let stdout = "";
  for (const name of p.units) {
    const props = unitProperties(ctx, name, loadUnit(ctx, name));
    const keys = p.properties.length ? p.properties.filter((k) => k !== "") : Object.keys(props);
    for (const k of keys) stdout += p.value ? `${props[k] ?? ""}\n` : `${k}=${props[k] ?? ""}\n`;
    if (p.units.length > 1) stdout += "\n";
  }
  return { exitCode: 0, stdout, stderr: "" };
}

function listUnitsCmd(ctx: SystemdContext): SystemctlResult {
  let files: string[] = [];
  try {
    files = fs.readdirSync(ctx.paths.units).filter((f) => f.endsWith(".json"));
  } catch {
    // nothing has run yet
  }
  const rows = files
    .map((f) => f.slice(0, -5))
    .map((name) => ({ name, state: activeState(ctx, name), unit: loadUnit(ctx, name) }))
    .filter((r) => r.state !== "inactive");
  const lines = ["UNIT LOAD ACTIVE SUB DESCRIPTION"];
  for (const r of rows)
    lines.push(`${r.name} loaded ${r.state} ${subState(r.state)} ${r.unit?.description ?? ""}`);
  lines.push("", `${rows.length} loaded units listed.`);
  return { exitCode: 0, stdout: `${lines.join("\n")}\n`, stderr: "" };
}

const NEEDS_UNITS = new Set([
  "start",
  "stop",
  "restart",
  "try-restart",
  "reload-or-restart",
  "enable",
  "disable",
  "is-active",
  "is-enabled",
  "is-failed",
  "status",
]);

/** Runs one systemctl command line against `ctx`. */
export async function systemctl(ctx: SystemdContext, argv: string[]): Promise<SystemctlResult> {
  const p = parseSystemctlArgs(argv);
  if (NEEDS_UNITS.has(p.verb) && p.units.length === 0) {
    return { exitCode: 1, stdout: "", stderr: `Too few arguments.\n` };
  }
  const ok = (stderr = ""): SystemctlResult => ({ exitCode: 0, stdout: "", stderr });
  switch (p.verb) {
    case "start":
    case "stop":
    case "restart": {
      const r = await unitAction(ctx, p.verb, p.units);
      return { exitCode: r.exitCode, stdout: "", stderr: r.stderr };
    }
    case "try-restart":
    case "reload-or-restart": {
      const r = await unitAction(ctx, "restart", p.units);
      return { exitCode: r.exitCode, stdout: "", stderr: r.stderr };
    }
    case "enable":
      return enableCmd(ctx, p);
    case "disable":
      return disableCmd(ctx, p);
    case "is-enabled":
      return isEnabledCmd(ctx, p);
    case "is-active":
      return isActiveCmd(ctx, p, "active");
    case "is-failed":
      return isActiveCmd(ctx, p, "failed");
    case "status":
      return statusCmd(ctx, p);
    case "show":
      return showCmd(ctx, p);
    case "list-units":
      return listUnitsCmd(ctx);
    case "daemon-reload":
    case "reset-failed":
      return ok();
    case "reboot":
      return hostPowerAction(ctx, "reboot");
    case "poweroff":
    case "halt":
      return hostPowerAction(ctx, "kill");
    default:
      return { exitCode: 1, stdout: "", stderr: `Unknown operation ${p.verb}.\n` };
  }
}

/** `systemctl ARGV...` as a command run on the host (the Node entry point and the host's tool server). */
export async function runSystemctlCommand(argv: string[]): Promise<SystemctlResult> {
  try {
    return await systemctl(contextFromEnv("standalone"), argv);
  } catch (err) {
    return { exitCode: 1, stdout: "", stderr: `systemctl: ${(err as Error).message}\n` };
  }
}
