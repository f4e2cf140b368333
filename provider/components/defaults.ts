/** Where the Fedora 27 migration guide's system container images live. */
export const DEFAULT_REGISTRY = "registry.fedoraproject.org/f27";
/** The Fedora 27 Atomic Host refspec the guide rebases to. */
export const DEFAULT_REBASE = "fedora-atomic-27:fedora/27/x86_64/atomic-host";

/**
 * The remote the default rebase pulls from, as Fedora's 26→27 upgrade guide adds it: `ostree remote add
 * --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27
 * https://kojipkgs.fedoraproject.org/atomic/27` (a Fedora 26 host ships only `fedora-atomic`, pointing at 26).
 */
export const DEFAULT_REMOTE = {
  name: "fedora-atomic-27",
  url: "https://kojipkgs.fedoraproject.org/atomic/27",
  gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
} as const;

/** Migration method of a cluster: the two paths of the Fedora 27 migration guide. */
export type MigrationMethod = "systemContainers" | "packageLayering";

/** System containers per role, in install order: name and image (under the registry prefix). */
export const ETCD_CONTAINER = { name: "etcd", image: "etcd" } as const;
export const FLANNEL_CONTAINER = { name: "flanneld", image: "flannel" } as const;
export const APISERVER_CONTAINER = { name: "kube-apiserver", image: "kubernetes-apiserver" } as const;
export const MASTER_CONTROL_CONTAINERS = [
  { name: "kube-controller-manager", image: "kubernetes-controller-manager" },
  { name: "kube-scheduler", image: "kubernetes-scheduler" },
] as const;
export const WORKER_CONTAINERS = [
  { name: "kubelet", image: "kubernetes-kubelet" },
  { name: "kube-proxy", image: "kubernetes-proxy" },
] as const;

/** Packages the guide layers per role: masters (with etcd when colocated) and workers. */
export const MASTER_PACKAGES = ["kubernetes-master", "flannel"] as const;
export const ETCD_PACKAGES = ["etcd"] as const;
export const WORKER_PACKAGES = ["kubernetes-node", "flannel"] as const;

/** `registry` + "/" + image, tolerating a trailing slash on the prefix. */
export function imageRef(registry: string, image: string, tag?: string): string {
  const prefix = registry.replace(/\/+$/, "");
  return `${prefix}/${image}${tag ? `:${tag}` : ""}`;
}
