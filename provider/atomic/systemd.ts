/**
 * systemd unit names and `systemctl` commands.
 *
 * atomic names a system container's unit after the container (`/etc/systemd/system/NAME.service`) and runs
 * `systemctl start NAME`; systemctl appends `.service` only when the name has no unit-type suffix.
 */
import { assertOperand, fail, ok, type ParseResult, tail } from "./result";

/** Unit-type suffixes systemd recognises (systemd.unit(5)). A name ending in one of these is not a service. */
export const UNIT_TYPE_SUFFIXES: readonly string[] = [
  ".service",
  ".socket",
  ".device",
  ".mount",
  ".automount",
  ".swap",
  ".target",
  ".path",
  ".timer",
  ".slice",
  ".scope",
];

/** The unit name systemctl resolves `name` to: `name` itself if it has a unit-type suffix, else `name.service`. */
export function serviceUnitName(name: string): string {
  return UNIT_TYPE_SUFFIXES.some((s) => name.endsWith(s)) ? name : `${name}.service`;
}

/** The systemctl verbs this package runs against a single unit. */
export type SystemctlVerb = "start" | "stop" | "restart" | "enable" | "disable" | "is-active" | "is-enabled";

/**
 * `systemctl VERB UNIT`, e.g. `buildSystemctlCommand("start", "etcd.service")` →
 * `["systemctl", "start", "etcd.service"]`. Pass a full unit name (see {@link serviceUnitName}) so a container
 * named like another unit type is never confused with it.
 *
 * Note `is-active` exits 3 for an inactive unit while printing `inactive`: read stdout, not the exit code.
 */
export function buildSystemctlCommand(verb: SystemctlVerb, unit: string): string[] {
  return ["systemctl", verb, assertOperand(unit, "unit name")];
}

/**
 * `systemd-tmpfiles --create CONF`: creates what the tmpfiles.d file declares and is missing, leaves what exists.
 * atomic runs it after installing a container (`/etc/tmpfiles.d/NAME.conf`), and systemd at every boot.
 */
export function buildTmpfilesCreateCommand(conf: string): string[] {
  return ["systemd-tmpfiles", "--create", assertOperand(conf, "tmpfiles.d file")];
}

/** `systemctl status --no-pager --lines=0 UNIT`: the unit's header lines only (no journal). Exits 3 when inactive. */
export function buildSystemctlStatusCommand(unit: string): string[] {
  return ["systemctl", "status", "--no-pager", "--lines=0", assertOperand(unit, "unit name")];
}

/** The first line of `systemctl is-active` output, trimmed; `""` when there was none. */
export function parseIsActiveOutput(stdout: string): string {
  return stdout.split("\n")[0]?.trim() ?? "";
}

/** What `systemctl status UNIT` says about a unit (its header lines; the journal tail is not parsed). */
export interface SystemctlStatus {
  /** `etcd.service` of `● etcd.service - Etcd Server`. */
  unit: string;
  description: string;
  /** `loaded`, `not-found`, `masked`... */
  loadState: string;
  /** The unit file path in `Loaded: loaded (/etc/systemd/system/etcd.service; enabled; ...)`. */
  unitFile?: string;
  /** `enabled`, `disabled`, `static`... */
  enabled?: string;
  /** `active`, `inactive`, `failed`, `activating`... */
  activeState: string;
  /** `running`, `dead`, `exited`, `start`... (in parentheses after the active state). */
  subState?: string;
  /** The whole `Active:` value, e.g. "failed (Result: timeout) since ...". */
  active: string;
}

/**
 * Parses the header of `systemctl status UNIT` (systemd 233-234 on Fedora 26/27): `● UNIT - DESCRIPTION`,
 * `Loaded: STATE (PATH; ENABLED; vendor preset: ...)`, `Active: STATE (SUB) ...`. The bullet is `●` (or `*`
 * without UTF-8); lines are right-aligned on the colon.
 */
export function parseSystemctlStatus(stdout: string): ParseResult<SystemctlStatus> {
  const lines = stdout.split("\n");
  const head = /^[●*]?\s*(\S+)(?: - (.*))?$/u.exec(lines[0]?.trimEnd() ?? "");
  const field = (key: string) =>
    lines
      .map((l) => new RegExp(`^\\s+${key}: (.*)$`).exec(l))
      .find((m) => m !== null)?.[1]
      ?.trimEnd();
  const loaded = field("Loaded");
  const active = field("Active");
  if (!head || loaded === undefined || active === undefined) {
    return fail(
      `systemctl status printed no unit header with Loaded: and Active: lines: ${tail(stdout, 200)}`,
    );
  }
  const l = /^(\S+)(?: \(([^;)]+)(?:; ([^;)]+))?)?/.exec(loaded)!;
  const a = /^(\S+)(?: \(([^)]+)\))?/.exec(active)!;
  const status: SystemctlStatus = {
    unit: head[1]!,
    description: head[2] ?? "",
    loadState: l[1]!,
    activeState: a[1]!,
    active,
  };
  if (l[2] !== undefined) status.unitFile = l[2];
  if (l[3] !== undefined) status.enabled = l[3];
  if (a[2] !== undefined) status.subState = a[2];
  return ok(status);
}
