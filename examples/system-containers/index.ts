// The Fedora 27 migration with system containers, for the cluster described in this stack's configuration:
// etcd's data moved to the etcd container's layout, then etcd, flanneld and the Kubernetes components installed
// with `atomic install --system --system-package=no` on each host by role.
import * as pulumi from "@pulumi/pulumi";
import { AtomicCluster, readClusterConfig } from "pulumi-atomic-host";

const spec = readClusterConfig();
const cluster = new AtomicCluster("cluster", { ...spec, method: "systemContainers" });

export const etcdNodes = cluster.etcdNodes.map((n) => n.etcd?.unitState);
export const containers = pulumi.all(
  [...cluster.masters, ...cluster.workers].flatMap((n) =>
    n.containers.map((c) => pulumi.interpolate`${c.name} ${c.unitState} ${c.imageId}`),
  ),
);

// Per host: address, roles, units (image, image digest, state), the etcd migration's result.
export const hosts = cluster.hosts;

// Every health gate of the rollout: which batch it closes, the host it ran on, what it checked, when it passed.
export const healthGates = cluster.gateSummaries;
