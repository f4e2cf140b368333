/** The systemd unit files the catalogued RPMs ship, by unit and by package. */
import type { Release } from "./packages";
import { rpmRepository } from "./packages";

/**
 * Unit files as the Fedora RPMs ship them (kubernetes, flannel and etcd from the Fedora dist-git specs of the
 * F26/F27 era). The etcd ExecStart is the one the host runtime recognises as "runs etcd with the RPM layout".
 */
const RPM_UNITS: Record<string, string> = {
  "etcd.service": `[Unit]
Description=Etcd Server
After=network.target
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
WorkingDirectory=/var/lib/etcd/
EnvironmentFile=-/etc/etcd/etcd.conf
User=etcd
# set GOMAXPROCS to number of processors
ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd --name=\\"\${ETCD_NAME}\\" --data-dir=\\"\${ETCD_DATA_DIR}\\" --listen-client-urls=\\"\${ETCD_LISTEN_CLIENT_URLS}\\""
Restart=on-failure
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`,
  "flanneld.service": `[Unit]
Description=Flanneld overlay address etcd agent
After=network.target
After=network-online.target
Wants=network-online.target
After=etcd.service
Before=docker.service

[Service]
Type=notify
EnvironmentFile=/etc/sysconfig/flanneld
EnvironmentFile=-/etc/sysconfig/docker-network
ExecStart=/usr/bin/flanneld-start $FLANNEL_OPTIONS
ExecStartPost=/usr/libexec/flannel/mk-docker-opts.sh -k DOCKER_NETWORK_OPTIONS -d /run/flannel/docker
Restart=on-failure

[Install]
WantedBy=multi-user.target
RequiredBy=docker.service
`,
  "kube-apiserver.service": kubeUnit(
    "Kubernetes API Server",
    "apiserver",
    "kube-apiserver",
    ["KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_ETCD_SERVERS", "KUBE_API_ADDRESS", "KUBE_API_PORT"],
    true,
  ),
  "kube-controller-manager.service": kubeUnit(
    "Kubernetes Controller Manager",
    "controller-manager",
    "kube-controller-manager",
    ["KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_MASTER", "KUBE_CONTROLLER_MANAGER_ARGS"],
    false,
  ),
  "kube-scheduler.service": kubeUnit(
    "Kubernetes Scheduler Plugin",
    "scheduler",
    "kube-scheduler",
    ["KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_MASTER", "KUBE_SCHEDULER_ARGS"],
    false,
  ),
  "kubelet.service": kubeUnit(
    "Kubernetes Kubelet Server",
    "kubelet",
    "kubelet",
    ["KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBELET_API_SERVER", "KUBELET_ADDRESS", "KUBELET_ARGS"],
    false,
  ),
  "kube-proxy.service": kubeUnit(
    "Kubernetes Kube-Proxy Server",
    "proxy",
    "kube-proxy",
    ["KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_MASTER", "KUBE_PROXY_ARGS"],
    false,
  ),
  "docker.service": `[Unit]
Description=Docker Application Container Engine
Documentation=http://docs.docker.com
After=network.target
Wants=docker-storage-setup.service

[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/docker
EnvironmentFile=-/etc/sysconfig/docker-storage
EnvironmentFile=-/etc/sysconfig/docker-network
ExecStart=/usr/bin/dockerd-current $OPTIONS $DOCKER_STORAGE_OPTIONS $DOCKER_NETWORK_OPTIONS
Restart=on-abnormal

[Install]
WantedBy=multi-user.target
`,
};

function kubeUnit(
  description: string,
  conf: string,
  binary: string,
  vars: string[],
  notify: boolean,
): string {
  const args = vars.map((v) => `\t    $${v}`).join(" \\\n");
  return `[Unit]
Description=${description}
Documentation=https://github.com/GoogleCloudPlatform/kubernetes
After=network.target

[Service]
EnvironmentFile=-/etc/kubernetes/config
EnvironmentFile=-/etc/kubernetes/${conf}
${binary === "kubelet" || binary === "kube-proxy" ? "" : "User=kube\n"}ExecStart=/usr/bin/${binary} \\
${args}
Restart=on-failure
${notify ? "Type=notify\n" : ""}LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

/** The text of a unit file an RPM ships, or undefined when no catalogued package ships it. */
export function rpmUnitFileText(unit: string): string | undefined {
  return RPM_UNITS[unit];
}

/**
 * Unit files the given packages ship, unit name → text. `packages` are package names; unknown names and
 * packages without units contribute nothing.
 */
export function unitFilesForPackages(release: Release, packages: Iterable<string>): Record<string, string> {
  const repo = rpmRepository(release);
  const out: Record<string, string> = {};
  for (const name of packages) {
    for (const unit of repo.get(name)?.units ?? []) {
      const text = RPM_UNITS[unit];
      if (text !== undefined) out[unit] = text;
    }
  }
  return out;
}
