/**
 * A declarative `diff`: each resource has a table of the input properties it compares, and which of them force
 * a replacement. Anything not in the table is ignored: `__provider` (which changes with every release of this
 * package), computed outputs present in the old state, and connection credentials (a new password or key
 * reaches the same host; only `connection.host` and `connection.port` say which host it is).
 *
 * `olds` are the old OUTPUTS (Pulumi passes outputs to diff), so a table lists input names only.
 */
import {
  CONNECTION_DEFAULTS,
  ETCD_DATA_MIGRATION_DEFAULTS,
  LAYERED_PACKAGE_DEFAULTS,
  OSTREE_REMOTE_DEFAULTS,
  SYSTEM_CONTAINER_DEFAULTS,
} from "./defaults";
import { stableJson } from "./result";
import { containsUnknown, isUnknown } from "./unknown";

/** One compared property. */
export interface DiffRow {
  /** Dotted path into the inputs: `name`, `connection.host`. */
  path: string;
  /** What a change means: an in-place update, or a new resource. */
  onChange: "update" | "replace";
  /** The value an absent property stands for, so that "absent" and "the default" are no change. */
  default?: unknown;
  /** Compare arrays as sets: order and repeats do not matter (package lists). */
  unordered?: boolean;
  /** The fact behind the row, for the reader and the test name. */
  why: string;
}

export interface DiffTable {
  resource: string;
  rows: readonly DiffRow[];
  /**
   * Whether a replacement may have to delete the old resource before creating the new one, because the two would
   * collide on the host (only reported when something is replaced, and see {@link identity}).
   */
  deleteBeforeReplace: boolean;
  /**
   * Paths that say which object on which host this is (host, port, a container's name). A replacement that
   * changes one of them creates the new object elsewhere: no collision, so it is created first and the old one
   * deleted after, without downtime. Only a replacement that keeps them all (an install-time setting) deletes
   * first. A value unknown at preview may be the same, so it counts as kept. Default: none.
   */
  identity?: readonly string[];
}

/** The result, in the shape `pulumi.dynamic.DiffResult` takes, plus the changed paths for logs. */
export interface PropertyDiff {
  changes: boolean;
  /** Top-level property names whose change forces replacement (`connection` for `connection.host`). */
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Every changed path from the table, in table order. */
  changed: string[];
}

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (isUnknown(cur)) return cur; // a whole object unknown at preview: every path below it is unknown
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A value as compared: {@link stableJson}, with an unordered array's items deduplicated and sorted. */
function canonical(v: unknown, unordered: boolean): string {
  if (unordered && Array.isArray(v)) return `[${[...new Set(v.map((x) => stableJson(x)))].sort().join(",")}]`;
  return stableJson(v);
}

/**
 * Compares `olds` and `news` through `table`. A new value that is unknown (preview) counts as a change, so a
 * replacement that may happen is shown as one; the real diff at `up` sees known values.
 */
export function diffProperties(table: DiffTable, olds: unknown, news: unknown): PropertyDiff {
  const changed: string[] = [];
  const knownChanged = new Set<string>();
  const replaces = new Set<string>();
  for (const row of table.rows) {
    const n = get(news, row.path);
    const o = get(olds, row.path);
    let differs: boolean;
    if (containsUnknown(n)) differs = true;
    else {
      const ov = o === undefined || o === null ? row.default : o;
      const nv = n === undefined || n === null ? row.default : n;
      differs = canonical(ov, row.unordered ?? false) !== canonical(nv, row.unordered ?? false);
    }
    if (!differs) continue;
    changed.push(row.path);
    if (!containsUnknown(n)) knownChanged.add(row.path);
    if (row.onChange === "replace") replaces.add(row.path.split(".")[0]!);
  }
  const replaceList = [...replaces];
  const moved = (table.identity ?? []).some((p) => knownChanged.has(p));
  return {
    changes: changed.length > 0,
    replaces: replaceList,
    deleteBeforeReplace: table.deleteBeforeReplace && replaceList.length > 0 && !moved,
    changed,
  };
}

const HOST_ROWS: readonly DiffRow[] = [
  { path: "connection.host", onChange: "replace", why: "another host is another resource" },
  { path: "hostName", onChange: "update", why: "a label for progress lines and the preview: runs nothing" },
  {
    path: "connection.port",
    onChange: "replace",
    default: CONNECTION_DEFAULTS.port,
    why: "another port is another host (several sshd behind one address)",
  },
];

export const SYSTEM_CONTAINER_DIFF: DiffTable = {
  resource: "SystemContainer",
  rows: [
    ...HOST_ROWS,
    {
      path: "name",
      onChange: "replace",
      why: "atomic cannot rename a container: the name is its unit and its directory",
    },
    {
      path: "image",
      onChange: "update",
      why: "atomic pull + atomic containers update --rebase (or rollback)",
    },
    {
      path: "storage",
      onChange: "update",
      default: SYSTEM_CONTAINER_DEFAULTS.storage,
      why: "only ostree is accepted, so it never really changes",
    },
    {
      path: "systemPackage",
      onChange: "replace",
      default: SYSTEM_CONTAINER_DEFAULTS.systemPackage,
      why: "--system-package exists only at install; containers update cannot change it",
    },
    { path: "values", onChange: "update", default: {}, why: "atomic containers update --set" },
    {
      path: "running",
      onChange: "update",
      default: SYSTEM_CONTAINER_DEFAULTS.running,
      why: "systemctl start / stop",
    },
    {
      path: "triggers",
      onChange: "update",
      default: [],
      why: "pull again and update in place, like @pulumi/command's re-run",
    },
  ],
  // Two containers with one name cannot coexist on a host (the name is the unit and the directory): a
  // replacement that keeps host and name (systemPackage) removes the old one first. Another host or another name
  // creates the new one first, so the service is never down in between.
  deleteBeforeReplace: true,
  identity: ["connection.host", "connection.port", "name"],
};

export const LAYERED_PACKAGE_DIFF: DiffTable = {
  resource: "LayeredPackage",
  rows: [
    ...HOST_ROWS,
    {
      path: "packages",
      onChange: "update",
      unordered: true,
      why: "one rpm-ostree transaction adds and removes packages",
    },
    { path: "rebase", onChange: "update", why: "rpm-ostree rebase, in the same transaction" },
    {
      path: "reboot",
      onChange: "update",
      default: LAYERED_PACKAGE_DEFAULTS.reboot,
      why: "only affects the next apply",
    },
    {
      path: "rebootTimeoutSeconds",
      onChange: "update",
      default: LAYERED_PACKAGE_DEFAULTS.rebootTimeoutSeconds,
      why: "only affects the next apply",
    },
  ],
  // A replacement is another host: the new host's packages do not depend on the old host's being removed.
  deleteBeforeReplace: false,
};

export const ETCD_DATA_MIGRATION_DIFF: DiffTable = {
  resource: "EtcdDataMigration",
  rows: [
    ...HOST_ROWS,
    {
      path: "source",
      onChange: "replace",
      default: ETCD_DATA_MIGRATION_DEFAULTS.source,
      why: "another source is another migration",
    },
    {
      path: "destination",
      onChange: "replace",
      default: ETCD_DATA_MIGRATION_DEFAULTS.destination,
      why: "another destination is another migration",
    },
    {
      path: "service",
      onChange: "update",
      default: ETCD_DATA_MIGRATION_DEFAULTS.service,
      why: "only used while migrating",
    },
    {
      path: "conflict",
      onChange: "update",
      default: ETCD_DATA_MIGRATION_DEFAULTS.conflict,
      why: "only used while migrating",
    },
  ],
  // Delete leaves the data in place, so the order does not matter; create the new one first.
  deleteBeforeReplace: false,
};

export const OSTREE_REMOTE_DIFF: DiffTable = {
  resource: "OstreeRemote",
  rows: [
    ...HOST_ROWS,
    {
      path: "name",
      onChange: "replace",
      why: "another name is another remote (another /etc/ostree/remotes.d file)",
    },
    { path: "url", onChange: "update", why: "ostree remote delete + add of the remote this resource added" },
    {
      path: "gpgVerify",
      onChange: "update",
      default: OSTREE_REMOTE_DEFAULTS.gpgVerify,
      why: "ostree remote delete + add (--no-gpg-verify)",
    },
    { path: "gpgKeyPath", onChange: "update", why: "ostree remote delete + add (--set=gpgkeypath=)" },
    {
      path: "replace",
      onChange: "update",
      default: OSTREE_REMOTE_DEFAULTS.replace,
      why: "only affects the next apply",
    },
  ],
  // A new name is another file: add the new remote before deleting the old one, so a rebase never lacks one.
  deleteBeforeReplace: false,
};
