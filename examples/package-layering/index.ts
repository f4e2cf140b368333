// The Fedora 27 migration with rpm-ostree package layering: each host rebased to Fedora 27 with its role's
// packages layered in the same transaction, rebooted and verified; workers one batch at a time.
import * as pulumi from "@pulumi/pulumi";
import { AtomicCluster, readClusterConfig } from "pulumi-atomic-host";

const spec = readClusterConfig();
const cluster = new AtomicCluster("cluster", { ...spec, method: "packageLayering" });

const nodes = [...cluster.etcdNodes, ...cluster.masters, ...cluster.workers];
export const layered = pulumi.all(
  nodes.flatMap((n) =>
    n.packages ? [pulumi.interpolate`${n.packages.booted.version} ${n.packages.layeredPackages}`] : [],
  ),
);

// Per host: address, roles, layered packages, booted version and origin, pending reboot.
export const hosts = cluster.hosts;
