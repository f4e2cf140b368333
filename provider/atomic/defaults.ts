/**
 * Defaults of every optional input, in one place, so `check`, `diff` and the planners agree on them.
 *
 * Each value is the Fedora 27 migration guide's choice (see the JSDoc of each resource's Args for the fact).
 */

/** The connection's port and user when not given (the `@pulumi/command` defaults). */
export const CONNECTION_DEFAULTS = { port: 22, user: "root" } as const;

export const SYSTEM_CONTAINER_DEFAULTS = {
  /** `atomic install --system` works only with the ostree storage. */
  storage: "ostree",
  /** The migration guide installs every system container with `--system-package=no`. */
  systemPackage: "no",
  /** `atomic install` only enables the unit; this package starts it unless told otherwise. */
  running: true,
} as const;

export const LAYERED_PACKAGE_DEFAULTS = {
  reboot: "ifNeeded",
  /** Ansible's `reboot` module waits 600 s for the host to come back. */
  rebootTimeoutSeconds: 600,
} as const;

export const ETCD_DATA_MIGRATION_DEFAULTS = {
  /** kubernetes/contrib sets `ETCD_DATA_DIR=/var/lib/etcd`, so the member directory is /var/lib/etcd/member. */
  source: "/var/lib/etcd/member",
  /** The etcd system container named `etcd` bind-mounts host /var/lib/etcd/etcd.etcd at /var/lib/etcd. */
  destination: "/var/lib/etcd/etcd.etcd",
  service: "etcd",
  conflict: "fail",
} as const;

export const OSTREE_REMOTE_DEFAULTS = {
  /** `ostree remote add` verifies GPG signatures unless `--no-gpg-verify` is given. */
  gpgVerify: true,
  /** A different remote of the same name is refused, never silently replaced. */
  replace: false,
} as const;
