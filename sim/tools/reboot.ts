/**
 * `reboot` stand-in. Like Fedora's (a symlink to systemctl), it asks systemd to reboot: it runs `systemctl reboot`,
 * which forwards to the host's supervisor. The supervisor then drops every SSH connection, keeps the host down for
 * its configured time, boots the pending rpm-ostree deployment and comes back with a new boot id.
 *
 * Options (`-f`, `--force`, `now`) are accepted and ignored: every simulated reboot is an orderly one.
 */
import { contextFromEnv, systemctl } from "./systemctl";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help")) {
    process.stdout.write("reboot [OPTIONS...]\n\nReboot the system.\n");
    return;
  }
  const r = await systemctl(contextFromEnv("standalone"), ["reboot"]);
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr, () => process.exit(r.exitCode));
}

if (require.main === module) void main();
