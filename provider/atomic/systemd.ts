/**
 * systemd unit names and `systemctl` commands.
 *
 * atomic names a system container's unit after the container (`/etc/systemd/system/NAME.service`) and runs
 * `systemctl start NAME`; systemctl appends `.service` only when the name has no unit-type suffix.
 */
import { assertOperand } from "./result";

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

/** The states `systemctl is-active` prints. Anything else (an empty line when systemctl is missing) is kept as is. */
export type UnitActiveState =
  "active" | "inactive" | "failed" | "activating" | "deactivating" | "reloading" | "unknown";

/** The first line of `systemctl is-active` output, trimmed; `""` when there was none. */
export function parseIsActiveOutput(stdout: string): string {
  return stdout.split("\n")[0]?.trim() ?? "";
}
