/** The default /etc files the catalogued packages ship (also exported, edited or as is, by the images). */

/** The etcd RPM's /etc/etcd/etcd.conf (etcd 3.x in Fedora: data in /var/lib/etcd/default.etcd). */
export const RPM_ETCD_CONF = `#[Member]
#ETCD_CORS=""
ETCD_DATA_DIR="/var/lib/etcd/default.etcd"
#ETCD_WAL_DIR=""
#ETCD_LISTEN_PEER_URLS="http://localhost:2380"
ETCD_LISTEN_CLIENT_URLS="http://localhost:2379"
#ETCD_MAX_SNAPSHOTS="5"
#ETCD_MAX_WALS="5"
ETCD_NAME="default"
#ETCD_SNAPSHOT_COUNT="100000"
#ETCD_HEARTBEAT_INTERVAL="100"
#ETCD_ELECTION_TIMEOUT="1000"
#
#[Clustering]
#ETCD_INITIAL_ADVERTISE_PEER_URLS="http://localhost:2380"
ETCD_ADVERTISE_CLIENT_URLS="http://localhost:2379"
#ETCD_DISCOVERY=""
#ETCD_INITIAL_CLUSTER="default=http://localhost:2380"
#ETCD_INITIAL_CLUSTER_TOKEN="etcd-cluster"
#ETCD_INITIAL_CLUSTER_STATE="new"
`;

/**
 * Default configuration files a package puts under /etc (path → text). rpm-ostree's /etc merge adds these to a
 * host's /etc when the package first appears in the booted tree; the host runtime may seed them from here.
 */
export function packageEtcFiles(name: string): Record<string, string> {
  switch (name) {
    case "etcd":
      return { "/etc/etcd/etcd.conf": RPM_ETCD_CONF };
    case "flannel":
      return { "/etc/sysconfig/flanneld": FLANNELD_SYSCONFIG };
    case "kubernetes-master":
    case "kubernetes-node":
      return { "/etc/kubernetes/config": KUBE_CONFIG };
    default:
      return {};
  }
}

/** /etc/sysconfig/flanneld as the flannel RPM ships it (the flannel image exports the same file). */
export const FLANNELD_SYSCONFIG = `# Flanneld configuration options

# etcd url location.  Point this to the server where etcd runs
FLANNEL_ETCD_ENDPOINTS="http://127.0.0.1:2379"

# etcd config key.  This is the configuration key that flannel queries
# For address range assignment
FLANNEL_ETCD_PREFIX="/atomic.io/network"

# Any additional options that you want to pass
#FLANNEL_OPTIONS=""
`;

/** /etc/kubernetes/config as the kubernetes-master and -node RPMs ship it (the kubernetes images export it too). */
export const KUBE_CONFIG = `###
# kubernetes system config
#
# The following values are used to configure various aspects of all
# kubernetes services, including
#
#   kube-apiserver.service
#   kube-controller-manager.service
#   kube-scheduler.service
#   kubelet.service
#   kube-proxy.service
# logging to stderr means we get it in the systemd journal
KUBE_LOGTOSTDERR="--logtostderr=true"

# journal message level, 0 is debug
KUBE_LOG_LEVEL="--v=0"

# Should this cluster be allowed to run privileged docker containers
KUBE_ALLOW_PRIV="--allow-privileged=false"

# How the controller-manager, scheduler, and proxy find the apiserver
KUBE_MASTER="--master=http://127.0.0.1:8080"
`;
