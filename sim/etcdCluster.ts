/**
 * The etcd hosts of a simulated cluster as one multi-member etcd cluster (`atomic-host-sim up --etcd-cluster`,
 * `ClusterOptions.etcdCluster`), as kubernetes/contrib's ansible leaves a cluster of several etcd hosts.
 *
 * contrib's `roles/etcd/templates/etcd.conf.j2` writes, for a host in an etcd group of more than one host,
 * `ETCD_NAME={{ ansible_hostname }}` (not `default`), the peer listen URL, and a `#[cluster]` block with
 * `ETCD_INITIAL_ADVERTISE_PEER_URLS`, `ETCD_INITIAL_CLUSTER` (every peer as `hostname=peer URL`),
 * `ETCD_INITIAL_CLUSTER_STATE` and `ETCD_INITIAL_CLUSTER_TOKEN` (its defaults: `new`, `etcd-k8-cluster`);
 * reference notes §4 ("ETCD_NAME=default for a single node and the hostname for a cluster"). Data stays in
 * `ETCD_DATA_DIR=/var/lib/etcd`, so each member keeps its own data dir and member ID on its own host.
 *
 * Every host shares the machine's loopback, so the URLs carry each host's own client and peer ports. The etcd
 * system container reads the same file (its config bind-mounts `$CONF_DIRECTORY/$NAME` at `/etc/etcd`, and
 * `etcd-env.sh` sources it over the manifest's exported `ETCD_*`), so a migrated member starts with the same name,
 * the same initial cluster and its own WAL: etcd ignores the initial-cluster settings once a WAL exists and
 * rejoins as the member the WAL names (etcd `etcdserver/server.go`, the `haveWAL` case).
 */
import type { EtcdLayout } from "./host";

/** One member: its host name and the ports of its host. */
export interface EtcdClusterMember {
  name: string;
  clientPort: number;
  peerPort: number;
}

/** contrib's default `etcd_initial_cluster_token`. */
export const ETCD_CLUSTER_TOKEN = "etcd-k8-cluster";

/** `name=http://127.0.0.1:PEER,...` in member order. */
export function initialClusterValue(members: readonly EtcdClusterMember[]): string {
  return members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
}

/**
 * `/etc/etcd/etcd.conf` of `member` in a cluster of `members` (contrib's template for a host of a multi-host etcd
 * group). The RPM layout writes the same settings into the RPM's file, quoted as it quotes them.
 */
export function renderEtcdClusterConf(
  layout: EtcdLayout,
  member: EtcdClusterMember,
  members: readonly EtcdClusterMember[],
): string {
  const client = `http://127.0.0.1:${member.clientPort}`;
  const peer = `http://127.0.0.1:${member.peerPort}`;
  if (layout === "contrib") {
    return [
      "# [member]",
      `ETCD_NAME=${member.name}`,
      "ETCD_DATA_DIR=/var/lib/etcd",
      '#ETCD_SNAPSHOT_COUNTER="10000"',
      '#ETCD_HEARTBEAT_INTERVAL="100"',
      '#ETCD_ELECTION_TIMEOUT="1000"',
      `ETCD_LISTEN_PEER_URLS=${peer}`,
      `ETCD_LISTEN_CLIENT_URLS=${client}`,
      '#ETCD_MAX_SNAPSHOTS="5"',
      '#ETCD_MAX_WALS="5"',
      '#ETCD_CORS=""',
      "",
      "#[cluster]",
      `ETCD_INITIAL_ADVERTISE_PEER_URLS=${peer}`,
      `ETCD_INITIAL_CLUSTER=${initialClusterValue(members)}`,
      "ETCD_INITIAL_CLUSTER_STATE=new",
      `ETCD_INITIAL_CLUSTER_TOKEN=${ETCD_CLUSTER_TOKEN}`,
      '#ETCD_DISCOVERY=""',
      '#ETCD_DISCOVERY_SRV=""',
      '#ETCD_DISCOVERY_FALLBACK="proxy"',
      '#ETCD_DISCOVERY_PROXY=""',
      `ETCD_ADVERTISE_CLIENT_URLS=${client}`,
      "",
    ].join("\n");
  }
  return [
    "#[Member]",
    '#ETCD_CORS=""',
    'ETCD_DATA_DIR="/var/lib/etcd/default.etcd"',
    '#ETCD_WAL_DIR=""',
    `ETCD_LISTEN_PEER_URLS="${peer}"`,
    `ETCD_LISTEN_CLIENT_URLS="${client}"`,
    '#ETCD_MAX_SNAPSHOTS="5"',
    '#ETCD_MAX_WALS="5"',
    `ETCD_NAME="${member.name}"`,
    "#",
    "#[Clustering]",
    `ETCD_INITIAL_ADVERTISE_PEER_URLS="${peer}"`,
    `ETCD_ADVERTISE_CLIENT_URLS="${client}"`,
    `ETCD_INITIAL_CLUSTER="${initialClusterValue(members)}"`,
    `ETCD_INITIAL_CLUSTER_TOKEN="${ETCD_CLUSTER_TOKEN}"`,
    'ETCD_INITIAL_CLUSTER_STATE="new"',
    "",
  ].join("\n");
}

/** Checks the member count: etcd needs at least one; an even count tolerates no more failures than one fewer. */
export function etcdClusterWarnings(memberCount: number): string[] {
  if (memberCount === 0) throw new Error("etcdCluster: no host runs etcd (see etcdHosts)");
  if (memberCount % 2 === 0) {
    return [
      `etcdCluster: ${memberCount} members tolerate ${memberCount / 2 - 1} failure(s), no more than ` +
        `${memberCount - 1} would: an odd member count is usual`,
    ];
  }
  return [];
}
