/**
 * What each registry image holds (atomic-system-containers @ 825192b, reference §4): labels, manifest,
 * config.json template, unit and tmpfiles templates, hostfs and rootfs files.
 */
import { FLANNELD_SYSCONFIG, KUBE_CONFIG, RPM_ETCD_CONF } from "./etcFiles";
import type { SystemContainerManifest } from "./registry";

interface ImageTemplate {
  virtualSize: number;
  labels: Record<string, string>;
  manifest: SystemContainerManifest | null;
  configTemplate: string;
  serviceTemplate: string | null;
  tmpfilesTemplate: string | null;
  hostfs: Record<string, string>;
  rootfs: Record<string, string>;
}

const ETCD_VARS = [
  "ETCD_NAME",
  "ETCD_DATA_DIR",
  "ETCD_ADVERTISE_CLIENT_URLS",
  "ETCD_LISTEN_CLIENT_URLS",
  "ETCD_INITIAL_ADVERTISE_PEER_URLS",
  "ETCD_LISTEN_PEER_URLS",
  "ETCD_INITIAL_CLUSTER",
  "ETCD_INITIAL_CLUSTER_STATE",
  "ETCD_WAL_DIR",
  "ETCD_SNAPSHOT_COUNT",
  "ETCD_HEARTBEAT_INTERVAL",
  "ETCD_ELECTION_TIMEOUT",
  "ETCD_MAX_SNAPSHOTS",
  "ETCD_MAX_WALS",
  "ETCD_CORS",
  "ETCD_INITIAL_CLUSTER_TOKEN",
  "ETCD_DISCOVERY",
  "ETCD_DISCOVERY_SRV",
  "ETCD_DISCOVERY_FALLBACK",
  "ETCD_DISCOVERY_PROXY",
  "ETCD_PROXY",
  "ETCD_PROXY_FAILURE_WAIT",
  "ETCD_PROXY_REFRESH_INTERVAL",
  "ETCD_PROXY_DIAL_TIMEOUT",
  "ETCD_PROXY_WRITE_TIMEOUT",
  "ETCD_PROXY_READ_TIMEOUT",
  "ETCD_CERT_FILE",
  "ETCD_KEY_FILE",
  "ETCD_CLIENT_CERT_AUTH",
  "ETCD_TRUSTED_CA_FILE",
  "ETCD_PEER_CERT_FILE",
  "ETCD_PEER_KEY_FILE",
  "ETCD_PEER_CLIENT_CERT_AUTH",
  "ETCD_PEER_TRUSTED_CA_FILE",
  "ETCD_DEBUG",
  "ETCD_LOG_PACKAGE_LEVELS",
  "ETCD_STRICT_RECONFIG_CHECK",
  "ETCD_ENABLE_PPROF",
];

const ETCD_DEFAULTS: Record<string, string> = {
  CONF_DIRECTORY: "/etc",
  ADDTL_MOUNTS: "",
  ...Object.fromEntries(ETCD_VARS.map((v) => [v, ""])),
  ETCD_INITIAL_CLUSTER_STATE: "new",
  ETCD_SNAPSHOT_COUNT: "10000",
  ETCD_HEARTBEAT_INTERVAL: "100",
  ETCD_ELECTION_TIMEOUT: "1000",
  ETCD_MAX_SNAPSHOTS: "5",
  ETCD_MAX_WALS: "5",
  ETCD_INITIAL_CLUSTER_TOKEN: "etcd-cluster",
  ETCD_DISCOVERY_FALLBACK: "proxy",
  ETCD_PROXY: "off",
  ETCD_PROXY_FAILURE_WAIT: "5000",
  ETCD_PROXY_REFRESH_INTERVAL: "30000",
  ETCD_PROXY_DIAL_TIMEOUT: "1000",
  ETCD_PROXY_WRITE_TIMEOUT: "5000",
  ETCD_PROXY_READ_TIMEOUT: "0",
  ETCD_CLIENT_CERT_AUTH: "false",
  ETCD_PEER_CLIENT_CERT_AUTH: "false",
  ETCD_DEBUG: "false",
  ETCD_STRICT_RECONFIG_CHECK: "false",
  ETCD_ENABLE_PPROF: "false",
};

/** An OCI config.json.template in the style of the atomic-system-containers images (tabs and all). */
function ociConfigTemplate(opts: {
  args: string[];
  env: string[];
  mounts: Array<{ source: string; destination: string; options: string[] }>;
  trailer?: string;
  user?: [number, number];
}): string {
  const q = (s: string) => JSON.stringify(s);
  const envLines = [
    ...opts.env,
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
  ]
    .map((e) => `\t\t\t${q(e)}`)
    .join(",\n");
  const caps = ["CAP_DAC_READ_SEARCH", "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    .map((c) => `\t\t\t\t${q(c)}`)
    .join(",\n");
  const capBlock = ["bounding", "permitted", "inheritable", "effective", "ambient"]
    .map((k) => `\t\t\t"${k}": [\n${caps}\n\t\t\t]`)
    .join(",\n");
  const binds = opts.mounts
    .map(
      (m) =>
        `\t\t{\n\t\t\t"type": "bind",\n\t\t\t"source": ${q(m.source)},\n\t\t\t"destination": ${q(m.destination)},\n\t\t\t"options": [\n${m.options.map((o) => `\t\t\t\t${q(o)}`).join(",\n")}\n\t\t\t]\n\t\t}`,
    )
    .join(",\n");
  const [uid, gid] = opts.user ?? [0, 0];
  return `{
\t"ociVersion": "1.0.0",
\t"platform": {
\t\t"os": "linux",
\t\t"arch": "amd64"
\t},
\t"process": {
\t\t"terminal": false,
\t\t"user": {
\t\t\t"uid": ${uid},
\t\t\t"gid": ${gid}
\t\t},
\t\t"args": [
${opts.args.map((a) => `\t\t\t${q(a)}`).join(",\n")}
\t\t],
\t\t"env": [
${envLines}
\t\t],
\t\t"cwd": "/",
\t\t"capabilities": {
${capBlock}
\t\t},
\t\t"rlimits": [
\t\t\t{
\t\t\t\t"type": "RLIMIT_NOFILE",
\t\t\t\t"hard": 1024,
\t\t\t\t"soft": 1024
\t\t\t}
\t\t]
\t},
\t"root": {
\t\t"path": "rootfs",
\t\t"readonly": true
\t},
\t"mounts": [
\t\t{
\t\t\t"destination": "/proc",
\t\t\t"type": "proc",
\t\t\t"source": "proc"
\t\t},
\t\t{
\t\t\t"destination": "/dev",
\t\t\t"type": "tmpfs",
\t\t\t"source": "tmpfs",
\t\t\t"options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
\t\t},
${binds}${opts.trailer ?? ""}
\t],
\t"linux": {
\t\t"resources": {
\t\t\t"devices": [
\t\t\t\t{
\t\t\t\t\t"allow": false,
\t\t\t\t\t"access": "rwm"
\t\t\t\t}
\t\t\t]
\t\t},
\t\t"namespaces": [
\t\t\t{
\t\t\t\t"type": "pid"
\t\t\t},
\t\t\t{
\t\t\t\t"type": "ipc"
\t\t\t},
\t\t\t{
\t\t\t\t"type": "mount"
\t\t\t}
\t\t],
\t\t"devices": null,
\t\t"apparmorProfile": ""
\t}
}
`;
}

const RESOLV_BIND = {
  source: "/etc/resolv.conf",
  destination: "/etc/resolv.conf",
  options: ["ro", "rbind", "rprivate"],
};

/** The etcd image's exported conf: the RPM's, with ETCD_DATA_DIR deleted and ETCD_NAME commented out (§4). */
const EXPORTED_ETCD_CONF = RPM_ETCD_CONF.replace(/^ETCD_DATA_DIR=.*\n/m, "").replace(
  /^ETCD_NAME=/m,
  "#ETCD_NAME=",
);

const KUBE_COMPONENT_CONF: Record<string, string> = {
  apiserver: `###
# kubernetes system config
#
# The following values are used to configure the kube-apiserver
#

# The address on the local server to listen to.
KUBE_API_ADDRESS="--insecure-bind-address=127.0.0.1"

# Comma separated list of nodes in the etcd cluster
KUBE_ETCD_SERVERS="--etcd-servers=http://127.0.0.1:2379"

# Address range to use for services
KUBE_SERVICE_ADDRESSES="--service-cluster-ip-range=10.254.0.0/16"

# default admission control policies
KUBE_ADMISSION_CONTROL="--admission-control=NamespaceLifecycle,NamespaceExists,LimitRanger,SecurityContextDeny,ServiceAccount,ResourceQuota"

# Add your own!
KUBE_API_ARGS=""
`,
  "controller-manager": `###
# The following values are used to configure the kubernetes controller-manager

# defaults from config and apiserver should be adequate

# Add your own!
KUBE_CONTROLLER_MANAGER_ARGS=""
`,
  scheduler: `###
# kubernetes scheduler config

# default config should be adequate

# Add your own!
KUBE_SCHEDULER_ARGS=""
`,
  kubelet: `###
# kubernetes kubelet (minion) config

# The address for the info server to serve on (set to 0.0.0.0 or "" for all interfaces)
KUBELET_ADDRESS="--address=127.0.0.1"

# You may leave this blank to use the actual hostname
KUBELET_HOSTNAME="--hostname-override=127.0.0.1"

# location of the api-server
KUBELET_API_SERVER="--api-servers=http://127.0.0.1:8080"

# Add your own!
KUBELET_ARGS="--cgroup-driver=systemd"
`,
  proxy: `###
# kubernetes proxy config

# default config should be adequate

# Add your own!
KUBE_PROXY_ARGS=""
`,
};

function kubeImage(
  component: string,
  description: string,
  extraHostfs: Record<string, string>,
): ImageTemplate {
  const isKubelet = component === "kubelet";
  const mounts = [
    { source: "/etc/kubernetes", destination: "/etc/kubernetes", options: ["rbind", "ro", "rprivate"] },
    RESOLV_BIND,
    ...(isKubelet
      ? [
          { source: "/", destination: "/rootfs", options: ["rbind", "ro", "rslave"] },
          { source: "/var/lib", destination: "/var/lib", options: ["rbind", "rshared", "rw"] },
          { source: "/var/log", destination: "/var/log", options: ["rbind", "rw"] },
          { source: "/run", destination: "/run", options: ["rbind", "rw"] },
          { source: "/dev", destination: "/dev", options: ["rbind", "rw"] },
        ]
      : []),
  ];
  const binary =
    component === "controller-manager"
      ? "kube-controller-manager"
      : isKubelet
        ? "kubelet"
        : `kube-${component}`;
  return {
    virtualSize: 258_000_000,
    labels: {
      BZComponent: `kubernetes-${component}`,
      Name: `f27/kubernetes-${component}`,
      Version: "1.7.3",
      Architecture: "x86_64",
      "atomic.type": "system",
    },
    manifest: null,
    configTemplate: ociConfigTemplate({
      args: [`/usr/bin/${binary}-docker.sh`],
      env: [],
      mounts,
    }),
    serviceTemplate: `[Unit]
Description=${description}
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=$EXEC_START
ExecStop=$EXEC_STOP
Restart=on-failure
WorkingDirectory=$DESTDIR

[Install]
WantedBy=multi-user.target
`,
    tmpfilesTemplate: null,
    hostfs: {
      "/etc/kubernetes/config": KUBE_CONFIG,
      [`/etc/kubernetes/${component}`]: KUBE_COMPONENT_CONF[component],
      ...extraHostfs,
    },
    rootfs: {
      [`/usr/bin/${binary}-docker.sh`]: `#!/bin/sh\n. /etc/kubernetes/config\n. /etc/kubernetes/${component}\nexec /usr/bin/${binary} "$@"\n`,
    },
  };
}

export const IMAGE_TEMPLATES: Record<string, ImageTemplate> = {
  etcd: {
    virtualSize: 277_400_000,
    // The etcd Dockerfile carries no atomic.type label (§2 atomic pull), hence `--storage=ostree` in the guide.
    labels: {
      BZComponent: "etcd",
      Name: "f27/etcd",
      Version: "3.2.7",
      Architecture: "x86_64",
      summary: "Etcd system container",
    },
    manifest: {
      version: "1.0",
      defaultValues: ETCD_DEFAULTS,
      renameFiles: {
        "/etc/etcd/etcd.conf": "$CONF_DIRECTORY/$NAME/etcd.conf",
        "/usr/local/bin/etcdctl": "/usr/local/bin/${NAME}ctl",
      },
    },
    configTemplate: ociConfigTemplate({
      args: ["/usr/bin/etcd-env.sh", "/usr/bin/etcd"],
      env: ["NAME=$NAME", ...ETCD_VARS.map((v) => `${v}=$${v}`)],
      mounts: [
        {
          source: "${STATE_DIRECTORY}/etcd/${NAME}.etcd",
          destination: "/var/lib/etcd",
          options: ["rbind", "rw", "mode=755"],
        },
        {
          source: "${RUN_DIRECTORY}/${NAME}",
          destination: "/var/run/etcd",
          options: ["rbind", "rw", "mode=755"],
        },
        RESOLV_BIND,
        { source: "$CONF_DIRECTORY/$NAME", destination: "/etc/etcd/", options: ["rbind", "ro", "rprivate"] },
      ],
      trailer: "\n\t\t$ADDTL_MOUNTS",
    }),
    serviceTemplate: `[Unit]
Description=Etcd Server
After=network.target

[Service]
ExecStart=$EXEC_START
ExecStop=$EXEC_STOP
Restart=on-failure
WorkingDirectory=$DESTDIR
RuntimeDirectory=\${NAME}

[Install]
WantedBy=multi-user.target
`,
    tmpfilesTemplate: `d    \${STATE_DIRECTORY}/etcd/\${NAME}.etcd   0700 \${HOST_UID} \${HOST_GID} - -
Z    \${STATE_DIRECTORY}/etcd/\${NAME}.etcd   0700 \${HOST_UID} \${HOST_GID} - -
d    \${RUN_DIRECTORY}/\${NAME}   - - - - -
`,
    hostfs: {
      "/etc/etcd/etcd.conf": EXPORTED_ETCD_CONF,
      "/usr/local/bin/etcdctl": '#!/bin/sh\nexec runc exec etcd /usr/bin/etcdctl "$@"\n',
    },
    rootfs: {
      "/usr/bin/etcd-env.sh": `#!/bin/sh
export ETCD_NAME=\${ETCD_NAME:-$HOSTNAME}
export ETCD_DATA_DIR=/var/lib/etcd/\${NAME}.etcd
[ -e /etc/etcd/etcd.conf ] && source /etc/etcd/etcd.conf
exec "$@"
`,
    },
  },
  flannel: {
    virtualSize: 244_700_000,
    labels: {
      BZComponent: "flannel",
      Name: "f27/flannel",
      Version: "0.7.1",
      Architecture: "x86_64",
      "atomic.type": "system",
    },
    manifest: {
      version: "1.0",
      defaultValues: {
        FLANNELD_ETCD_PREFIX: "/atomic.io/network",
        FLANNELD_ETCD_ENDPOINTS: "http://127.0.0.1:2379",
        AFTER: "etcd.service",
        REQUIRED_BY: "docker.service",
      },
    },
    configTemplate: ociConfigTemplate({
      args: ["/usr/bin/flanneld-run.sh"],
      env: [
        "NAME=$NAME",
        "FLANNELD_ETCD_PREFIX=$FLANNELD_ETCD_PREFIX",
        "FLANNELD_ETCD_ENDPOINTS=$FLANNELD_ETCD_ENDPOINTS",
      ],
      mounts: [
        {
          source: "${RUN_DIRECTORY}/${NAME}",
          destination: "/run/flannel",
          options: ["rbind", "rw", "mode=755"],
        },
        {
          source: "/etc/sysconfig/flanneld",
          destination: "/etc/sysconfig/flanneld",
          options: ["rbind", "ro"],
        },
        {
          source: "/etc/systemd/system/docker.service.d",
          destination: "/etc/systemd/system/docker.service.d",
          options: ["rbind", "rw"],
        },
        RESOLV_BIND,
      ],
    }),
    // atomic-system-containers flannel/service.template (Type=notify, NotifyAccess=all: flanneld-run.sh notifies).
    serviceTemplate: `[Unit]
Description=Flanneld overlay address etcd agent
After=network.target
After=network-online.target
Wants=network-online.target
After=$AFTER
Before=docker.service

[Service]
Type=notify
NotifyAccess=all
ExecStart=$EXEC_START
ExecStop=$EXEC_STOP
ExecStopPost=/bin/rm /etc/systemd/system/docker.service.d/$NAME.conf
Restart=on-failure
WorkingDirectory=$DESTDIR
RuntimeDirectory=\${NAME}

[Install]
WantedBy=multi-user.target
RequiredBy=$REQUIRED_BY
`,
    tmpfilesTemplate: `D    \${RUN_DIRECTORY}/\${NAME}   - - - - -
d    /etc/systemd/system/docker.service.d   - - - - -
r    /etc/systemd/system/docker.service.d/$NAME.conf   - - - - -
`,
    hostfs: { "/etc/sysconfig/flanneld": FLANNELD_SYSCONFIG },
    rootfs: {
      "/usr/bin/flanneld-run.sh": `#!/bin/sh\n. /etc/sysconfig/flanneld\nexec /usr/bin/flanneld -etcd-endpoints=\${FLANNEL_ETCD_ENDPOINTS} -etcd-prefix=\${FLANNEL_ETCD_PREFIX} $FLANNEL_OPTIONS\n`,
    },
  },
  "kubernetes-apiserver": kubeImage("apiserver", "Kubernetes API Server", {
    "/usr/local/bin/kubectl": '#!/bin/sh\nexec runc exec kube-apiserver /usr/bin/kubectl "$@"\n',
  }),
  "kubernetes-controller-manager": kubeImage("controller-manager", "Kubernetes Controller Manager", {}),
  "kubernetes-scheduler": kubeImage("scheduler", "Kubernetes Scheduler Plugin", {}),
  "kubernetes-kubelet": kubeImage("kubelet", "Kubernetes Kubelet Server", {}),
  "kubernetes-proxy": kubeImage("proxy", "Kubernetes Kube-Proxy Server", {}),
};
