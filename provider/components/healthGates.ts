import type { HealthCheck } from "../atomic/healthGate";
import type { MigrationMethod } from "./defaults";
import {
  APISERVER_CONTAINER,
  ETCD_CONTAINER,
  FLANNEL_CONTAINER,
  MASTER_CONTROL_CONTAINERS,
  WORKER_CONTAINERS,
} from "./defaults";
import type { Role } from "./clusterSpec";

/** A check a user declares per role in the cluster configuration (`healthChecks.<role>`). */
export interface UserHealthCheck {
  /** Shown in preview, in the outputs and in a failure. */
  name: string;
  /** Run with `sh -c` on every host of the role, over the migration's own SSH connection: passes on exit 0. */
  command: string;
  /** How long to keep retrying until it passes, seconds. Default 120. */
  timeoutSeconds?: number;
}

/** `healthChecks` of the cluster configuration: extra checks per role. */
export type UserHealthChecks = Partial<Record<Role, UserHealthCheck[]>>;

/**
 * Where flanneld writes its lease. The RPM's flanneld writes `/run/flannel/subnet.env` (flannel's default
 * `-subnet-file`); the flannel system container's `/run/flannel` is the host's `${RUN_DIRECTORY}/${NAME}`
 * (projectatomic/atomic-system-containers `flannel/config.json.template` line 160), i.e. `/run/flanneld` for the
 * guide's `--name flanneld`. Its `flanneld-run.sh` tells systemd it is ready only once that file exists.
 */
export function flannelSubnetFile(method: MigrationMethod): string {
  return method === "systemContainers"
    ? `/run/${FLANNEL_CONTAINER.name}/subnet.env`
    : "/run/flannel/subnet.env";
}

/** The units a migrated host of `role` runs (system container names are their unit names). */
export function roleUnits(role: Role, method: MigrationMethod, colocatedEtcd = false): string[] {
  const etcd = [ETCD_CONTAINER.name];
  if (role === "etcd") return etcd;
  const flannel = FLANNEL_CONTAINER.name;
  if (role === "master") {
    const units = [flannel, APISERVER_CONTAINER.name, ...MASTER_CONTROL_CONTAINERS.map((c) => c.name)];
    return method === "packageLayering" && colocatedEtcd ? [...etcd, ...units] : units;
  }
  return [flannel, ...WORKER_CONTAINERS.map((c) => c.name)];
}

function userChecks(role: Role, checks: UserHealthChecks | undefined): HealthCheck[] {
  return (checks?.[role] ?? []).map((c) => ({
    kind: "command",
    name: c.name,
    command: c.command,
    ...(c.timeoutSeconds !== undefined ? { timeoutSeconds: c.timeoutSeconds } : {}),
  }));
}

/**
 * The gate on a master or worker just changed: every declared unit active, flanneld holding a lease, then the
 * user's checks for the role.
 */
export function nodeGateChecks(
  role: "master" | "worker",
  method: MigrationMethod,
  checks: UserHealthChecks | undefined,
  colocatedEtcd = false,
): HealthCheck[] {
  return [
    ...roleUnits(role, method, colocatedEtcd).map((unit): HealthCheck => ({
      kind: "unitActive",
      name: `${unit} active`,
      unit,
    })),
    { kind: "flannelLease", name: "flanneld lease", path: flannelSubnetFile(method) },
    ...userChecks(role, checks),
  ];
}

/** The gate on an etcd member just migrated: rejoined as the same member and caught up, unit active, user checks. */
export function etcdMemberGateChecks(
  memberId: string | undefined,
  checks: UserHealthChecks | undefined,
): HealthCheck[] {
  return [
    { kind: "unitActive", name: `${ETCD_CONTAINER.name} active`, unit: ETCD_CONTAINER.name },
    { kind: "etcdMember", name: "etcd member rejoined", ...(memberId ? { memberId } : {}) },
    ...userChecks("etcd", checks),
  ];
}

/** The cluster-wide check run from an etcd host after each master or worker batch. */
export const ETCD_CLUSTER_CHECK: HealthCheck = { kind: "etcdCluster", name: "etcd cluster healthy" };
