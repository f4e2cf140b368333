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

// The ostree remote each host's rebase pulls from ("fedora-atomic-27", as Fedora's upgrade guide adds it): added
// by this stack, or adopted when the host already had it exactly so (an adopted remote is left on destroy).
export const remotes = pulumi.all(
  nodes.flatMap((n) =>
    n.remote
      ? [
          pulumi.interpolate`${n.remote.name} ${n.remote.url} ${n.remote.adopted.apply((a) => (a ? "adopted" : "added"))}`,
        ]
      : [],
  ),
);

// Every health gate of the rollout: which batch it closes, the host it ran on, what it checked, when it passed.
export const healthGates = cluster.gateSummaries;

// Per host: address, roles, layered packages, booted version and origin, pending reboot.
export const hosts = cluster.hosts;
