/**
 * A unit's runtime state: what systemctl records in `DIR/<host>/state/units/<unit>.json`, checked against `/proc`
 * (the recorded pid must still be that process, and not a zombie).
 */
import * as fs from "fs";
import * as path from "path";
import { readJson, writeJson } from "../../host";
import type { SystemdContext } from "./context";

/** What systemctl records about a unit's process. */
export interface UnitRuntime {
  unit: string;
  phase: "activating" | "active" | "deactivating" | "inactive" | "failed";
  pid?: number;
  /** /proc/<pid>/stat start time, so a reused pid is never mistaken for the unit. */
  startTicks?: string;
  since: string;
  result?: "success" | "exit-code" | "signal" | "timeout" | "resources";
  exitCode?: number;
  signal?: string;
  manager: SystemdContext["manager"];
  command?: string;
  dataDir?: string;
}

export type ActiveState = "active" | "inactive" | "failed" | "activating" | "deactivating";

function runtimeFile(ctx: SystemdContext, unit: string): string {
  return path.join(ctx.paths.units, `${unit}.json`);
}

export function readRuntime(ctx: SystemdContext, unit: string): UnitRuntime | null {
  return readJson<UnitRuntime | null>(runtimeFile(ctx, unit), null);
}

export function writeRuntime(ctx: SystemdContext, rt: UnitRuntime): void {
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  writeJson(runtimeFile(ctx, rt.unit), rt);
}

/** Start time of a live (non-zombie) process, or null when it is gone. */
export function processStartTicks(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the parenthesised command name: state is the 1st, starttime the 20th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return fields[19] ?? null;
}

/** True when the runtime's recorded pid is still the unit's process. */
export function runtimeAlive(rt: UnitRuntime | null): boolean {
  return !!rt?.pid && processStartTicks(rt.pid) === rt.startTicks;
}

/** `systemctl is-active`'s answer. A recorded process that vanished without a stop counts as failed. */
export function activeState(ctx: SystemdContext, unit: string): ActiveState {
  const rt = readRuntime(ctx, unit);
  if (!rt) return "inactive";
  if (rt.phase === "inactive" || rt.phase === "failed") return rt.phase;
  return runtimeAlive(rt) ? rt.phase : "failed";
}
