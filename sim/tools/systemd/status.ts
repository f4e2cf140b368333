/**
 * Text output of a unit's state: the `systemctl status` header block (there is no journal to show) and the
 * properties `systemctl show` prints.
 */
import * as path from "path";
import type { SystemdContext } from "./context";
import { unitFileState } from "./enablement";
import type { ActiveState } from "./runtime";
import { activeState, readRuntime, runtimeAlive } from "./runtime";
import type { Unit } from "./units";

export function subState(state: ActiveState): string {
  return {
    active: "running",
    activating: "start",
    deactivating: "stop-sigterm",
    inactive: "dead",
    failed: "failed",
  }[state];
}

function formatSince(iso: string): string {
  const d = new Date(iso);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const pad = (n: number) => String(n).padStart(2, "0");
  const ago = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  return (
    `${days[d.getUTCDay()]} ${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC; ${ago}s ago`
  );
}

/** `systemctl status UNIT` text (the header block; there is no journal to show). */
export function renderStatus(ctx: SystemdContext, unit: Unit): string {
  const state = activeState(ctx, unit.name);
  const rt = readRuntime(ctx, unit.name);
  const dot = state === "active" ? "\u25cf" : state === "failed" ? "\u25cf" : "\u25cb";
  const lines = [
    `${dot} ${unit.name} - ${unit.description}`,
    `   Loaded: loaded (${unit.fragmentPath}; ${unitFileState(ctx, unit)}; vendor preset: disabled)`,
  ];
  const since = rt ? ` since ${formatSince(rt.since)}` : "";
  if (state === "failed") lines.push(`   Active: failed (Result: ${rt?.result ?? "exit-code"})${since}`);
  else lines.push(`   Active: ${state} (${subState(state)})${state === "inactive" && !rt ? "" : since}`);
  if (rt?.pid && runtimeAlive(rt))
    lines.push(` Main PID: ${rt.pid} (${path.basename(rt.command?.split(" ")[0] ?? "")})`);
  return `${lines.join("\n")}\n`;
}

/** Properties `systemctl show` knows about. */
export function unitProperties(ctx: SystemdContext, name: string, unit: Unit | null): Record<string, string> {
  const state = unit || readRuntime(ctx, name) ? activeState(ctx, name) : "inactive";
  const rt = readRuntime(ctx, name);
  return {
    Id: name,
    Names: name,
    Description: unit?.description ?? name,
    LoadState: unit ? "loaded" : "not-found",
    ActiveState: state,
    SubState: subState(state),
    FragmentPath: unit?.fragmentPath ?? "",
    UnitFileState: unit ? unitFileState(ctx, unit) : "",
    MainPID: String(rt?.pid && runtimeAlive(rt) ? rt.pid : 0),
    ExecMainStatus: String(rt?.exitCode ?? 0),
    Result: rt?.result ?? "success",
  };
}
