/**
 * `reboot` stand-in. Like Fedora's (a symlink to systemctl), it asks systemd to reboot: it runs `systemctl reboot`,
 * which forwards to the host's supervisor. The supervisor then drops every SSH connection, keeps the host down for
 * its configured time, boots the pending rpm-ostree deployment and comes back with a new boot id.
 *
 * Options (`-f`, `--force`, `now`) are accepted and ignored: every simulated reboot is an orderly one.
 */
import type { SystemctlResult } from "./systemctl";
import { contextFromEnv, systemctl } from "./systemctl";

/** `reboot ARGV...` as a command run on the host (the Node entry point and the host's tool server). */
export async function runRebootCommand(argv: string[]): Promise<SystemctlResult> {
  if (argv.includes("--help"))
    return { exitCode: 0, stdout: "reboot [OPTIONS...]\n\nReboot the system.\n", stderr: "" };
  return systemctl(contextFromEnv("standalone"), ["reboot"]);
}

async function main(): Promise<void> {
  const r = await runRebootCommand(process.argv.slice(2));
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr, () => process.exit(r.exitCode));
}

if (require.main === module) void main();
