/**
 * `systemctl` stand-in (systemd 234, as in Fedora 26/27).
 *
 * Map of what each verb does on a simulated host:
 * - `enable` / `disable [--now]` / `is-enabled`: symlinks in `/etc/systemd/system/<target>.wants/`, exactly where
 *   systemd keeps them (so `ls` on the host agrees with `is-enabled`).
 * - `start` / `stop` / `restart`: run by the host's supervisor (the simulator's "PID 1"), which spawns the unit's
 *   process as its own child, detached in its own session, and reaps it; the verb is forwarded over the control
 *   socket. With no supervisor (tools run outside a host, `$ATOMIC_SIM_ROOT` tests) the same code runs in-process.
 * - `is-active` / `is-failed` / `status` / `show`: the state recorded in `DIR/<host>/state/units/<unit>.json`,
 *   checked against `/proc` (the recorded pid must still be that process, and not a zombie).
 * - `reboot` / `poweroff`: ask the supervisor to reboot / power off the host.
 * - `daemon-reload`: nothing to do; unit files are read on every call.
 *
 * What a unit runs: the RPM `etcd.service` (ExecStart names /usr/bin/etcd) and a runc system container whose
 * config.json runs etcd both run the machine's real `/usr/bin/etcd`, with the data dir the real layout implies
 * (see `planEtcdForRpmUnit` and `planEtcdForContainer`). Every other unit runs `sleep infinity`, so its state is
 * that of a real process.
 *
 * The parts, one job each, under `systemd/`: `context.ts` (where a call acts), `units.ts` (unit files),
 * `enablement.ts` (wants/requires symlinks), `environment.ts` (EnvironmentFile=), `plan.ts` (what a unit runs),
 * `runtime.ts` (recorded state and /proc checks), `processes.ts` (start, stop, restart), `status.ts` (status and
 * show text), `main.ts` (the command line). Run as `node bin/sim/tools/systemctl.js ARGS...` from a per-host
 * wrapper named `systemctl` (sim/CONTRACT.md); the host's tool server runs `runSystemctlCommand` in-process.
 */
import { runSystemctlCommand } from "./systemd/main";

// What the supervisor, reboot, the cluster and the tests import from here.
export type { SystemdContext } from "./systemd/context";
export { contextFromEnv, normalizeUnitName } from "./systemd/context";
export { orderByAfter, unitsEnabledAtBoot } from "./systemd/enablement";
export { parseEnvironmentFile } from "./systemd/environment";
export type { SystemctlResult } from "./systemd/main";
export { parseSystemctlArgs, runSystemctlCommand, systemctl } from "./systemd/main";
export { containerToHostPath, mapEtcdUrls, planEtcdForContainer } from "./systemd/plan";
export { resetAllRuntime, runUnitAction, startUnit } from "./systemd/processes";
export { processStartTicks } from "./systemd/runtime";
export { parseUnitFile, splitQuoted, unitFromSections } from "./systemd/units";

async function main(): Promise<void> {
  const result = await runSystemctlCommand(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr, () => process.exit(result.exitCode));
}

if (require.main === module) void main();
