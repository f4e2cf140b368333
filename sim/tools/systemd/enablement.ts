/**
 * Enablement: the symlinks in `/etc/systemd/system/<target>.{wants,requires}/` that `enable` creates, `disable`
 * removes and `is-enabled` reads, exactly where systemd keeps them (so `ls` on the host agrees), and the units a
 * boot starts.
 */
import * as fs from "fs";
import * as path from "path";
import type { SystemdContext } from "./context";
import { hp } from "./context";
import type { Unit } from "./units";
import { loadUnit } from "./units";

/** Every enablement symlink of `unit` that exists (host paths). */
export function enablementLinks(ctx: SystemdContext, unit: string): string[] {
  const base = "/etc/systemd/system";
  let entries: string[];
  try {
    entries = fs.readdirSync(hp(ctx, base));
  } catch {
    return [];
  }
  return entries
    .filter((d) => d.endsWith(".wants") || d.endsWith(".requires"))
    .map((d) => path.join(base, d, unit))
    .filter((link) => {
      try {
        fs.lstatSync(hp(ctx, link));
        return true;
      } catch {
        return false;
      }
    });
}

/** `enabled` / `disabled` / `static` (no [Install] section), as `systemctl is-enabled` prints it. */
export function unitFileState(ctx: SystemdContext, unit: Unit): "enabled" | "disabled" | "static" {
  if (enablementLinks(ctx, unit.name).length > 0) return "enabled";
  return unit.hasInstallSection ? "disabled" : "static";
}

const NO_INSTALL_CONFIG = [
  "The unit files have no installation config (WantedBy, RequiredBy, Also, Alias",
  "settings in the [Install] section, and DefaultInstance for template units).",
  "This means they are not meant to be enabled using systemctl.",
  "",
].join("\n");

/** Creates the [Install] symlinks; returns systemd's stderr lines for the links it created. */
export function enableUnit(ctx: SystemdContext, unit: Unit): string {
  if (unit.wantedBy.length + unit.requiredBy.length === 0) return NO_INSTALL_CONFIG;
  let out = "";
  const links = [
    ...unit.wantedBy.map((t) => `/etc/systemd/system/${t}.wants/${unit.name}`),
    ...unit.requiredBy.map((t) => `/etc/systemd/system/${t}.requires/${unit.name}`),
  ];
  for (const link of links) {
    try {
      fs.lstatSync(hp(ctx, link));
      continue;
    } catch {
      // not there yet: create it below
    }
    fs.mkdirSync(path.dirname(hp(ctx, link)), { recursive: true });
    fs.symlinkSync(unit.fragmentPath, hp(ctx, link));
    out += `Created symlink ${link} \u2192 ${unit.fragmentPath}.\n`;
  }
  return out;
}

/** Removes every enablement symlink of the unit; returns systemd 234's stderr lines. */
export function disableUnit(ctx: SystemdContext, name: string): string {
  let out = "";
  for (const link of enablementLinks(ctx, name)) {
    fs.rmSync(hp(ctx, link), { force: true });
    out += `Removed ${link}.\n`;
  }
  return out;
}

/** Units enabled for boot (multi-user.target and the targets it pulls in), ordered by their After= lines. */
export function unitsEnabledAtBoot(ctx: SystemdContext): Unit[] {
  const names = new Set<string>();
  for (const target of ["multi-user.target", "default.target", "sysinit.target", "basic.target"]) {
    try {
      for (const n of fs.readdirSync(hp(ctx, `/etc/systemd/system/${target}.wants`))) names.add(n);
    } catch {
      // no such target folder
    }
  }
  const units = [...names].map((n) => loadUnit(ctx, n)).filter((u): u is Unit => u !== null);
  return orderByAfter(units);
}

/** Stable topological order: a unit comes after every unit it names in After=. */
export function orderByAfter(units: Unit[]): Unit[] {
  const byName = new Map(units.map((u) => [u.name, u]));
  const done = new Set<string>();
  const out: Unit[] = [];
  const visit = (u: Unit, stack: Set<string>) => {
    if (done.has(u.name) || stack.has(u.name)) return;
    stack.add(u.name);
    for (const dep of u.after) {
      const d = byName.get(dep);
      if (d) visit(d, stack);
    }
    done.add(u.name);
    out.push(u);
  };
  for (const u of units) visit(u, new Set());
  return out;
}
