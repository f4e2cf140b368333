/**
 * What to do next when a remote command failed: one piece of advice per known failure class, for the `next:` line
 * of the error. The tool's own words are already in the error's `stderr` lines; this says what to check or change.
 */
import type { AtomicFailureKind } from "./systemContainerOutcomes";
import type { RpmOstreeOutcome } from "./rpmOstreeCommands";

/** What a failed atomic command was doing, for the advice. */
export interface AtomicFailureContext {
  /** Container (and unit) name. */
  name: string;
  /** The declared image reference. */
  image: string;
  /** Which step failed: pull, install, update, rollback, uninstall. */
  step: string;
}

/** The registry part of an image reference ("registry.fedoraproject.org" of "registry.fedoraproject.org/f27/etcd"). */
export function registryOf(image: string): string {
  const first = image.split("/")[0] ?? "";
  return image.includes("/") && /[.:]|^localhost$/.test(first) ? first : "docker.io";
}

/** Advice for a failed `atomic` command, by failure class (see `AtomicFailureKind`). */
export function atomicFailureAdvice(failure: AtomicFailureKind, ctx: AtomicFailureContext): string {
  switch (failure) {
    case "imageNotFound":
      return (
        `the registry has no image "${ctx.image}": check the image name and tag, and the registry ` +
        `(${registryOf(ctx.image)}; an AtomicCluster builds the names from its \`registry\` setting, default ` +
        `registry.fedoraproject.org/f27)`
      );
    case "notRoot":
      return "atomic installs system containers as root only: log in as root (connection.user or atomic-host:user)";
    case "unitFileExists":
      return (
        `a hand-made /etc/systemd/system/${ctx.name}.service (or /etc/tmpfiles.d/${ctx.name}.conf) is in the way: ` +
        "move it aside on the host (it would override the container's unit), then run pulumi up again"
      );
    case "notInstalled":
      return (
        `the system container ${ctx.name} is not installed on the host any more (removed by hand?): ` +
        "run pulumi refresh, then pulumi up installs it again"
      );
    case "noPreviousDeployment":
      return (
        `${ctx.name} has no previous deployment to roll back to: run pulumi refresh, and declare the image to ` +
        "install instead"
      );
    case "noSpace":
      return (
        `the host ran out of disk space while atomic ran ${ctx.step} for ${ctx.name}: free space on the filesystems ` +
        "holding the checkouts and the images (df -h /var/lib/containers/atomic /ostree/repo), then run pulumi up " +
        "again; it reads the host and continues from what atomic left"
      );
    case "killed":
      return (
        `atomic was killed before it finished (${ctx.step} of ${ctx.name}) and ran no cleanup: the host may hold ` +
        "a partial checkout under /var/lib/containers/atomic, the unit file without the container's symlink, or " +
        "an installed container whose unit is not enabled yet. Nothing to do by hand: the next pulumi up reads the " +
        "host and repairs what it finds"
      );
    case "other":
      return (
        `atomic could not ${ctx.step} ${ctx.name}: its words are above; run the command on the host to see its ` +
        "whole output, and check the host's free space (df -h /var/lib/containers) and journalctl"
      );
  }
}

/** Advice for a failed rpm-ostree transaction, by outcome (see `classifyRpmOstreeOutcome`). */
export function rpmOstreeFailureAdvice(kind: RpmOstreeOutcome["kind"]): string {
  switch (kind) {
    case "packageNotFound":
      return "check the package names and the host's enabled rpm-md repositories (/etc/yum.repos.d)";
    case "unknownOption":
      return (
        "this host's rpm-ostree does not know an option the plan used: check `rpm-ostree --version` " +
        "(2017.10 or later is needed) and report the version with this error"
      );
    case "busy":
      return (
        "another rpm-ostree transaction is running: wait for it (`rpm-ostree status`), or cancel a stuck one " +
        "(`rpm-ostree cancel` on 2018.1+, else restart rpm-ostreed), then run pulumi up again"
      );
    case "daemonGone":
      return (
        "see why rpm-ostreed stopped (`journalctl -u rpm-ostreed`: the OOM killer, a crash, a restart); the next " +
        "rpm-ostree command starts a fresh daemon, so run pulumi up again: it reads `rpm-ostree status` and runs " +
        "the transaction again"
      );
    case "noSpace":
      return (
        "free space on the filesystem that holds /ostree/repo (`df -h /sysroot /boot`; /var is on /sysroot too), then run " +
        "pulumi up again: libostree checks the space before each repo transaction, so a full disk stops the " +
        "transaction before it deploys anything, and the next up reads `rpm-ostree status` before acting"
      );
    default:
      return (
        "rpm-ostree refused the transaction: its words are above; `rpm-ostree status` on the host shows the " +
        "deployments, and the host's free space (df -h /sysroot) and `journalctl -u rpm-ostreed` say more"
      );
  }
}

/** What `systemctl is-active` and `is-enabled` said of etcd's unit when a migration was deleted. */
export interface EtcdUnitAfterDelete {
  active: string;
  enabled: string;
}

/**
 * The line `pulumi destroy` prints when it deletes an EtcdDataMigration (after the etcd container, which depends on
 * it, was uninstalled): etcd is left stopped and disabled on purpose, and how to run it again. `unit` is what the
 * host said, or undefined when it could not be read.
 */
export function etcdLeftStoppedMessage(
  spec: { source: string; destination: string; unit: string },
  unit: EtcdUnitAfterDelete | undefined,
): string {
  const again =
    `To run etcd again: "pulumi up" installs the etcd container again on ${spec.destination}/member; or, to go back ` +
    `to the RPM's etcd, move ${spec.source} aside, "cp -a ${spec.destination}/member ${spec.source}", ` +
    `"chown -R etcd:etcd ${spec.source}" (the RPM's unit runs as etcd) and "systemctl enable --now ${spec.unit}".`;
  const why =
    `the etcd container is removed and the RPM's etcd is not restarted on ${spec.source}: that copy stopped at ` +
    `the migration, and etcd started on it would rewind the cluster to that moment.`;
  if (unit && unit.active === "active") {
    return (
      `warning: ${spec.unit} is active (${unit.enabled || "unknown"}) although the etcd container is removed: ` +
      `check which data it runs on (ETCD_DATA_DIR in /etc/etcd/etcd.conf); ${spec.source} is older than ` +
      `${spec.destination}/member. ${again}`
    );
  }
  const state = unit ? ` (${unit.active || "inactive"}, ${unit.enabled || "no unit file"})` : "";
  return `${spec.unit} is left stopped and disabled${state}: ${why} ${again}`;
}
