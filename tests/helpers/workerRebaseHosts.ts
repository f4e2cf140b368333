/**
 * What the LayeredPackage suites that run against simulated hosts share: the worker's rebase to Fedora 27 and a
 * Fedora 26 host ready for it.
 */
import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { inHost, useSimClusters, type SimClusters } from "./simFixture";

/** The Fedora 27 ref the worker rebases to. */
export const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
/** A worker's layered packages. */
export const WORKER = ["kubernetes-node", "flannel"];
/** The one rpm-ostree command the worker's LayeredPackage runs to get there. */
export const WORKER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-node --install=flannel`;
/** A transaction: what changes the deployments (status, --version and boot-id reads are not). */
export const TRANSACTION = /^rpm-ostree (install|uninstall|rebase|upgrade|deploy|rollback)\b/;

/** Fedora's 26→27 upgrade guide, before the rebase: the Fedora 27 remote a Fedora 26 host lacks. */
export const ADD_F27_REMOTE =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";

/**
 * A one-host Fedora 26 cluster of the suite (reboots 1.5 s down) whose host has the guide's Fedora 27 remote, as
 * the LayeredPackage suites rebase it.
 */
export async function f26HostWithF27Remote(
  clusters: SimClusters,
  tag: string,
): Promise<{ sim: SimCluster; h: ClusterHostEntry }> {
  const sim = await clusters.start(tag, { hosts: 1, release: 26, rebootDownMs: 1500 });
  const h = sim.hosts[0]!;
  const r = await inHost(sim, h, ADD_F27_REMOTE);
  expect(r.exitCode, r.stderr).to.equal(0);
  return { sim, h };
}

/** Lets go of an rpm-ostree transaction a test held on the first host (so the cluster can stop). */
export function releaseTransactionHolds(sim: SimCluster): void {
  sim.holdTransaction(sim.hosts[0]!, false);
  sim.holdTransactionCleanup(sim.hosts[0]!, false);
}

/** A LayeredPackage suite's hosts, as {@link useWorkerRebaseHosts} sets them up. */
export interface WorkerRebaseHosts extends SimClusters {
  /** A new one-host cluster (see {@link f26HostWithF27Remote}). */
  host(tag: string): Promise<{ sim: SimCluster; h: ClusterHostEntry }>;
}

/**
 * {@link useSimClusters} for a LayeredPackage suite: the provider's progress captured (printed too when
 * `LAYERED_PACKAGE_TEST_VERBOSE` is set), held transactions released before the clusters stop.
 */
export function useWorkerRebaseHosts(): WorkerRebaseHosts {
  const clusters = useSimClusters({
    captureProgress: "LAYERED_PACKAGE_TEST_VERBOSE",
    beforeStop: releaseTransactionHolds,
  }) as WorkerRebaseHosts;
  clusters.host = (tag) => f26HostWithF27Remote(clusters, tag);
  return clusters;
}
