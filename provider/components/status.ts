import * as pulumi from "@pulumi/pulumi";
import type { EtcdDataMigration } from "../etcdDataMigration";
import type { LayeredPackage } from "../layeredPackage";
import type { SystemContainer } from "../systemContainer";
import type { Role } from "./clusterSpec";

/** A system container as the last `up` or `refresh` read it from the host. */
export interface UnitStatus {
  /** The image it runs, e.g. "registry.fedoraproject.org/f27/etcd". */
  image: string;
  /** Digest of the installed image (the `revision` in atomic's info file). */
  imageId: string;
  /** `systemctl is-active` of its unit: "active", "inactive", "failed"... */
  state: string;
}

/** What the etcd data migration did (`EtcdDataMigration`'s outputs). */
export interface EtcdMigrationStatus {
  /** The member directory copied, e.g. "/var/lib/etcd/member". */
  source: string;
  /** The folder that received `member/`, e.g. "/var/lib/etcd/etcd.etcd". */
  destination: string;
  /** Files and bytes copied and verified. */
  files: number;
  bytes: number;
  /** sha256 over the path, size, mode and content hash of every file copied. */
  manifestSha256: string;
  /** When the verified copy was moved into place (ISO 8601, UTC). */
  migratedAt: string;
  /** Where a different member directory found at the destination was moved (conflict: "backup"), if it was. */
  backupPath?: string;
}

/**
 * One node component's part of a host, as the last `up` or `refresh` read it. Unknown during a preview of a
 * change (the values come from the host).
 */
export interface NodeStatus {
  /** The role this component gives its host. */
  role: Role;
  /** System containers by unit name (method "systemContainers"); {} with package layering. */
  units: Record<string, UnitStatus>;
  /** Packages layered in the booted deployment (method "packageLayering"). */
  layeredPackages?: string[];
  /** Packages requested for the next boot (method "packageLayering"). */
  requestedPackages?: string[];
  /** The booted deployment's version, e.g. "27.1.5" (method "packageLayering"). */
  bootedVersion?: string;
  /** The booted deployment's origin refspec (method "packageLayering"). */
  bootedOrigin?: string;
  /** True when a staged change waits for a reboot (method "packageLayering"). */
  pendingReboot?: boolean;
  /** The etcd data migration's result (an etcd node with method "systemContainers"). */
  etcdMigration?: EtcdMigrationStatus;
}

/** A host of an AtomicCluster: what every node component on it reports, merged. */
export interface HostStatus extends Omit<NodeStatus, "role"> {
  /** "host:port" the host is reached at. */
  address: string;
  /** Its roles, as configured. */
  roles: Role[];
}

/** The parts a node component is made of. */
export interface NodeParts {
  containers: SystemContainer[];
  packages?: LayeredPackage;
  migration?: EtcdDataMigration;
}

/** A node component's status Output, from its children's outputs. */
export function nodeStatus(role: Role, parts: NodeParts): pulumi.Output<NodeStatus> {
  const units = pulumi
    .all(
      parts.containers.map((c) =>
        pulumi.all([c.name, c.image, c.imageId, c.unitState]).apply(([name, image, imageId, state]) => ({
          name,
          image,
          imageId,
          state,
        })),
      ),
    )
    .apply((list) => Object.fromEntries(list.map(({ name, ...u }) => [name, u] as [string, UnitStatus])));
  const p = parts.packages;
  const packages = p
    ? pulumi
        .all([p.layeredPackages, p.requestedPackages, p.booted, p.pendingReboot])
        .apply(([layeredPackages, requestedPackages, booted, pendingReboot]) => ({
          layeredPackages,
          requestedPackages,
          bootedVersion: booted?.version,
          bootedOrigin: booted?.origin,
          pendingReboot,
        }))
    : pulumi.output({});
  const m = parts.migration;
  const migration = m
    ? pulumi
        .all([m.source, m.destination, m.files, m.bytes, m.manifestSha256, m.migratedAt, m.backupPath])
        .apply(([source, destination, files, bytes, manifestSha256, migratedAt, backupPath]) => ({
          etcdMigration: dropUndefined({
            source,
            destination,
            files,
            bytes,
            manifestSha256,
            migratedAt,
            backupPath,
          }) as EtcdMigrationStatus,
        }))
    : pulumi.output({});
  return pulumi
    .all([units, packages, migration])
    .apply(([u, pk, mg]) => dropUndefined({ role, units: u, ...pk, ...mg }) as NodeStatus);
}

/** Merges the statuses of the node components on one host (an etcd node and a master, say). */
export function mergeHostStatus(address: string, roles: Role[], parts: NodeStatus[]): HostStatus {
  const merged: HostStatus = { address, roles, units: {} };
  for (const { role: _role, units, ...rest } of parts) {
    Object.assign(merged.units, units);
    Object.assign(merged, dropUndefined(rest));
  }
  return merged;
}

/** Copies `o` without its undefined values (stack outputs show them as null otherwise). */
function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
