/**
 * The simulator's catalogues: what Fedora's registry and rpm-md repositories hold, what the Fedora Atomic Host
 * 26 and 27 base images ship, and which systemd units each package brings.
 *
 * Owned by the stand-in tools (`atomic`, `rpm-ostree`); read by the host runtime (`systemctl` asks
 * {@link classifyExecStart} what a unit runs). Modelled from `shared/reference/fedora-atomic-tools.md` §3-§4 and
 * from projectatomic/atomic-system-containers@825192b (etcd, flannel, kubernetes-* exports). Package versions are
 * illustrative F26/F27-era NEVRAs: nothing keys on their exact value, only on their presence and on F27 having
 * newer builds than F26.
 *
 * This module never imports from `provider/`: the simulator must not share a constant with the code it tests.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

export type Release = 26 | 27;

/** sha256 hex of a string: every checksum and digest in the simulator is derived from content this way. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

// ---------------------------------------------------------------------------------------------------------------
// RPM packages and systemd units
// ---------------------------------------------------------------------------------------------------------------

/** One RPM as the rpm-md repositories (or a base image) carry it. */
export interface RpmPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  /** Unit files the package installs into /usr/lib/systemd/system. */
  units: string[];
  /** Other package names pulled in by dependency resolution when this one is layered. */
  requires: string[];
  /** Download size, bytes (for rpm-ostree's "Will download: N packages (X MB)"). */
  sizeBytes: number;
}

/** `name-[epoch:]version-release.arch`, the way rpm-ostree prints a NEVRA (epoch only when non-zero). */
export function nevra(p: RpmPackage): string {
  return `${p.name}-${evr(p)}.${p.arch}`;
}

/** `[epoch:]version-release`. */
export function evr(p: RpmPackage): string {
  return `${p.epoch ? `${p.epoch}:` : ""}${p.version}-${p.release}`;
}

function pkg(
  name: string,
  evrText: string,
  opts: { units?: string[]; requires?: string[]; sizeBytes?: number; arch?: string } = {},
): RpmPackage {
  const m = /^(?:(\d+):)?([^-]+)-(.+)$/.exec(evrText);
  if (!m) throw new Error(`bad EVR ${evrText}`);
  return {
    name,
    epoch: m[1] ? Number(m[1]) : 0,
    version: m[2],
    release: m[3],
    arch: opts.arch ?? "x86_64",
    units: opts.units ?? [],
    requires: opts.requires ?? [],
    sizeBytes: opts.sizeBytes ?? 1_000_000,
  };
}

/** Packages common to both base images (a representative slice of the real ~400; enough for tree diffs). */
function commonBase(r: Release): RpmPackage[] {
  const fc = `fc${r}`;
  return r === 26
    ? [
        pkg("atomic", `1.19.1-5.${fc}`, { sizeBytes: 650_000 }),
        pkg("docker", `2:1.13.1-22.gitb5e3294.${fc}`, { units: ["docker.service"], sizeBytes: 19_600_000 }),
        pkg("kernel", `4.13.9-200.${fc}`, { sizeBytes: 101_000 }),
        pkg("ostree", `2017.12-2.${fc}`, { sizeBytes: 300_000 }),
        pkg("rpm-ostree", `2017.10-2.${fc}`, { sizeBytes: 900_000 }),
        pkg("runc", `2:1.0.0-10.rc4.gitaea4f21.${fc}`, { sizeBytes: 2_100_000 }),
        pkg("skopeo", `0.1.24-6.dev.git28d4e08.${fc}`, { sizeBytes: 5_200_000 }),
        pkg("systemd", `233-7.${fc}`, { sizeBytes: 3_100_000 }),
      ]
    : [
        pkg("atomic", `1.20.1-3.${fc}`, { sizeBytes: 660_000 }),
        pkg("docker", `2:1.13.1-42.git4402c09.${fc}`, { units: ["docker.service"], sizeBytes: 20_100_000 }),
        pkg("kernel", `4.13.11-300.${fc}`, { sizeBytes: 102_000 }),
        pkg("ostree", `2017.13-1.${fc}`, { sizeBytes: 310_000 }),
        pkg("rpm-ostree", `2017.10-3.${fc}`, { sizeBytes: 910_000 }),
        pkg("runc", `2:1.0.0-13.rc4.gitaea4f21.${fc}`, { sizeBytes: 2_200_000 }),
        pkg("skopeo", `0.1.26-1.dev.gitec2ab5c.${fc}`, { sizeBytes: 5_300_000 }),
        pkg("systemd", `234-8.${fc}`, { sizeBytes: 3_200_000 }),
      ];
}

/** The Kubernetes/flannel/etcd RPMs: baked into the F26 base, only in the repositories for F27. */
function clusterPackages(r: Release): RpmPackage[] {
  const fc = `fc${r}`;
  const kube = r === 26 ? `1.7.3-1.${fc}` : `1.7.3-2.${fc}`;
  return [
    pkg("etcd", r === 26 ? `3.1.9-1.${fc}` : `3.2.7-1.${fc}`, {
      units: ["etcd.service"],
      sizeBytes: 9_500_000,
    }),
    pkg("flannel", r === 26 ? `0.7.0-5.${fc}` : `0.7.1-3.${fc}`, {
      units: ["flanneld.service"],
      sizeBytes: 3_100_000,
    }),
    pkg("kubernetes-client", kube, { sizeBytes: 11_800_000 }),
    pkg("kubernetes-master", kube, {
      units: ["kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"],
      requires: ["kubernetes-client"],
      sizeBytes: 17_400_000,
    }),
    pkg("kubernetes-node", kube, {
      units: ["kubelet.service", "kube-proxy.service"],
      requires: ["kubernetes-client"],
      sizeBytes: 15_900_000,
    }),
  ];
}

/** Extra repository-only packages, so layering something that is in neither base works too. */
function repoOnlyPackages(r: Release): RpmPackage[] {
  const fc = `fc${r}`;
  return [pkg("htop", `2.0.2-${r === 26 ? 2 : 3}.${fc}`, { sizeBytes: 105_000 })];
}

/**
 * Every package the release's enabled repositories (`fedora`, `updates`) can resolve, by name. rpm-ostree's
 * "No package matches 'x'" is decided against this.
 */
export function rpmRepository(release: Release): ReadonlyMap<string, RpmPackage> {
  const all = [...commonBase(release), ...clusterPackages(release), ...repoOnlyPackages(release)];
  return new Map(all.map((p) => [p.name, p]));
}

/** One Fedora Atomic Host base commit on the release's ref. */
export interface BaseImage {
  release: Release;
  /** OSTree ref on the remote, e.g. `fedora/26/x86_64/atomic-host`. */
  ref: string;
  version: string;
  /** Base commit checksum (the real 26.157 and 27.1 commits, from the reference §3 sample). */
  checksum: string;
  /** Commit timestamp, unix seconds (UTC). */
  timestamp: number;
  /** Fingerprint of the Fedora release key that signs the commit. */
  gpgFingerprint: string;
  packages: RpmPackage[];
}

const BASES: Record<Release, Omit<BaseImage, "packages">> = {
  26: {
    release: 26,
    ref: "fedora/26/x86_64/atomic-host",
    version: "26.157",
    checksum: "c099633883cd8d06895e32a14c63f6672072430c151de882223e4abe20efa7ca",
    timestamp: Date.UTC(2017, 9, 29, 14, 42, 37) / 1000,
    gpgFingerprint: "E641850B77DF435378D1D7E2812A6B4B64DAB85D",
  },
  27: {
    release: 27,
    ref: "fedora/27/x86_64/atomic-host",
    version: "27.1",
    checksum: "d428d3ad8ecf44e53d138042bad56a10308883a0c5d64b9c51eff27fdc9da82c",
    timestamp: Date.UTC(2017, 10, 10, 11, 54, 36) / 1000,
    gpgFingerprint: "860E19B0AFA800A1751881A6F55E7430F5282EE4",
  },
};

/**
 * The base image of a release. Fedora 26 Atomic Host bakes in kubernetes-master, kubernetes-node (and their
 * kubernetes-client), flannel and etcd; Fedora 27 dropped them (migration guide, first paragraph).
 */
export function baseImage(release: Release): BaseImage {
  const packages = release === 26 ? [...commonBase(26), ...clusterPackages(26)] : commonBase(27);
  return { ...BASES[release], packages: [...packages].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** The base image whose ref is `ref` (`fedora/27/x86_64/atomic-host`), or undefined for an unknown ref. */
export function baseImageForRef(ref: string): BaseImage | undefined {
  for (const r of [26, 27] as const) if (BASES[r].ref === ref) return baseImage(r);
  return undefined;
}

/** The base image with this commit checksum, or undefined. */
export function baseImageForChecksum(checksum: string): BaseImage | undefined {
  for (const r of [26, 27] as const) if (BASES[r].checksum === checksum) return baseImage(r);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// OSTree remotes and the Fedora GPG keys
// ---------------------------------------------------------------------------------------------------------------

/**
 * `/etc/ostree/remotes.d/fedora-atomic.conf` as a release's installation leaves it. Fedora 26: byte for byte the
 * capture `real-outputs/ostree-remotes-d-fedora-atomic-conf-01.txt` (F26 AH 26.120). Fedora 27: the same file for
 * the 27 repository and key (no capture of an F27 file was found; the per-release form is the one F26 shows, and
 * the F29 capture `-02` shows the same four keys).
 */
export function fedoraOstreeRemoteConf(release: Release): string {
  return [
    '[remote "fedora-atomic"]',
    `url=https://kojipkgs.fedoraproject.org/atomic/${release}/`,
    "gpg-verify=true",
    `gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-${release}-primary`,
    "",
  ].join("\n");
}

/**
 * Refs an OSTree repository URL serves. In 2017 Fedora published one repository per release
 * (`https://kojipkgs.fedoraproject.org/atomic/26/` holds Fedora 26's refs only: hence the upgrade guide's
 * `ostree remote add ... fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27`,
 * real-outputs/ostree-remote-add-01.txt); the later unified repository (`https://dl.fedoraproject.org/atomic/repo/`,
 * capture -02) holds every release. A URL the simulator does not know serves nothing.
 */
export function ostreeServerRefs(url: string): string[] {
  const u = url.replace(/\/+$/, "");
  const perRelease = /^https?:\/\/kojipkgs\.fedoraproject\.org\/atomic\/(\d+)$/.exec(u);
  if (perRelease) {
    const base = baseImageForRef(`fedora/${perRelease[1]}/x86_64/atomic-host`);
    return base ? [base.ref] : [];
  }
  if (u === "https://dl.fedoraproject.org/atomic/repo") return [BASES[26].ref, BASES[27].ref];
  return [];
}

/** One file of `/etc/pki/rpm-gpg`: a key (placeholder text) or a symlink to one. */
export interface GpgKeyFile {
  name: string;
  text?: string;
  symlinkTo?: string;
}

/**
 * `/etc/pki/rpm-gpg` as the release's fedora-repos package installs it: `RPM-GPG-KEY-fedora-N-primary` for every
 * release from 7 up to the next one (the key of release N+1 is added on N's branch before N+1 branches from
 * rawhide: fedora-repos 27-0.1 "Setup for rawhide being f27" on 2017-02-25 carries the 27 key already, and 27-0.3
 * "Add Fedora 28 key"; a real F26 host used `RPM-GPG-KEY-fedora-27-primary` in the upgrade post,
 * real-outputs/ostree-remote-add-01.txt, and its rebase succeeded, -rebase-01), the `-x86_64` links the spec makes
 * from its archmap, and the `RPM-GPG-KEY-N-fedora` compatibility link. Secondary-architecture keys are left out.
 * The keys are placeholders at the real paths: the simulator checks a key file exists, never a signature.
 */
export function fedoraGpgKeyFiles(release: Release): GpgKeyFile[] {
  const out: GpgKeyFile[] = [];
  for (let n = 7; n <= release + 1; n++) {
    const key = `RPM-GPG-KEY-fedora-${n}-primary`;
    out.push({
      name: key,
      text: `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n(atomic-host-sim placeholder for ${key})\n-----END PGP PUBLIC KEY BLOCK-----\n`,
    });
    out.push({ name: `RPM-GPG-KEY-fedora-${n}-x86_64`, symlinkTo: key });
  }
  out.push({ name: `RPM-GPG-KEY-${release}-fedora`, symlinkTo: `RPM-GPG-KEY-fedora-${release}-primary` });
  return out;
}

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

/** What a unit's ExecStart= runs, as far as the simulator's process supervision needs to know. */
export type ExecStartKind =
  /** The etcd RPM unit: etcd with `--data-dir=$ETCD_DATA_DIR` from /etc/etcd/etcd.conf (RPM layout). */
  | { kind: "etcd-rpm" }
  /** Fedora 26's RPM flanneld.service (`ExecStart=/usr/bin/flanneld-start $FLANNEL_OPTIONS`). */
  | { kind: "flannel-rpm" }
  /**
   * A system container started by runc (`/bin/runc --systemd-cgroup run 'NAME'`): what it runs is in
   * /var/lib/containers/atomic/NAME/config.json `process.args` (see {@link systemContainerRunsEtcd}).
   */
  | { kind: "runc"; container: string }
  /** Anything else: a long-lived placeholder process stands in for it. */
  | { kind: "other" };

/** Classify an `ExecStart=` value (the text after `=`, continuation lines already joined). */
export function classifyExecStart(execStart: string): ExecStartKind {
  const runc =
    /(?:^|\s)\S*runc\s+(?:--systemd-cgroup\s+)?(?:run|start)\s+(?:-d\s+--pid-file\s+\S+\s+)?'?([^'\s]+)'?/.exec(
      execStart,
    );
  if (runc) return { kind: "runc", container: runc[1] };
  if (/\/usr\/bin\/etcd(\s|$|")/.test(execStart)) return { kind: "etcd-rpm" };
  if (/\/usr\/bin\/flanneld-start(\s|$)/.test(execStart)) return { kind: "flannel-rpm" };
  return { kind: "other" };
}

/** True when a system container's config.json (text) runs flannel (`/usr/bin/flanneld-run.sh`). */
export function systemContainerRunsFlannel(configJsonText: string): boolean {
  try {
    const args: unknown = JSON.parse(configJsonText)?.process?.args;
    return Array.isArray(args) && args.some((a) => a === "/usr/bin/flanneld-run.sh");
  } catch {
    return false;
  }
}

/** True when a system container's config.json (text) runs etcd (`/usr/bin/etcd-env.sh /usr/bin/etcd`). */
export function systemContainerRunsEtcd(configJsonText: string): boolean {
  try {
    const args: unknown = JSON.parse(configJsonText)?.process?.args;
    return Array.isArray(args) && args.some((a) => a === "/usr/bin/etcd");
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Container registry
// ---------------------------------------------------------------------------------------------------------------

/** `/exports/manifest.json` of a system-container image. */
export interface SystemContainerManifest {
  version?: string;
  defaultValues?: Record<string, string>;
  renameFiles?: Record<string, string>;
  installedFilesTemplate?: string[];
  noContainerService?: boolean;
}

/** One tag of one repository in the registry, with everything `atomic` needs to pull and install it. */
export interface RegistryImage {
  /** Image ID (config digest) `sha256:<64 hex>`; atomic records it as `revision` without the prefix. */
  digest: string;
  /** Layer digests, base first. */
  layers: string[];
  /** Image creation time, unix seconds. */
  created: number;
  /** Uncompressed size, bytes (atomic images list "VIRTUAL SIZE"). */
  virtualSize: number;
  /** Image labels; `atomic.type: system` makes `atomic pull` switch from docker to ostree storage. */
  labels: Record<string, string>;
  /** `/exports/manifest.json`, or null when the image has none (the kubernetes-* images). */
  manifest: SystemContainerManifest | null;
  /** `/exports/config.json.template`. */
  configTemplate: string;
  /** `/exports/service.template`, or null (atomic then uses its default unit template). */
  serviceTemplate: string | null;
  /** `/exports/tmpfiles.template`, or null. */
  tmpfilesTemplate: string | null;
  /** `/exports/hostfs/...` files: host path → content (copied to the host at install). */
  hostfs: Record<string, string>;
  /** A few other rootfs files (path inside the image → content), e.g. /usr/bin/etcd-env.sh. */
  rootfs: Record<string, string>;
}

/** `$ATOMIC_SIM_CLUSTER_DIR/registry.json`: image reference `repo:tag` → image. */
export interface RegistryCatalogue {
  images: Record<string, RegistryImage>;
}

/** The F27 system-container repositories named in the migration guide. */
export const F27_REPOSITORIES = [
  "registry.fedoraproject.org/f27/etcd",
  "registry.fedoraproject.org/f27/flannel",
  "registry.fedoraproject.org/f27/kubernetes-apiserver",
  "registry.fedoraproject.org/f27/kubernetes-controller-manager",
  "registry.fedoraproject.org/f27/kubernetes-scheduler",
  "registry.fedoraproject.org/f27/kubernetes-kubelet",
  "registry.fedoraproject.org/f27/kubernetes-proxy",
] as const;

/**
 * `repo[:tag]` → `repo:tag` (tag defaults to `latest`). A `:` after the last `/` is a tag; one before it is a
 * registry port.
 */
export function canonicalImageRef(ref: string): string {
  const r = ref.replace(/^(docker|oci):(\/\/)?/, "");
  const slash = r.lastIndexOf("/");
  return r.indexOf(":", slash + 1) >= 0 || r.includes("@") ? r : `${r}:latest`;
}

/** Deterministic digest for a reference and a generation number (0 for the default catalogue). */
export function deterministicDigest(ref: string, generation: number): string {
  return `sha256:${sha256Hex(`image-config:${canonicalImageRef(ref)}:${generation}`)}`;
}

/**
 * The image's manifest digest (`sha256:...`), which skopeo records as `docker.digest` in the ostree commit and atomic
 * 1.20.1 takes as the image ID; derived from the config digest and layers, so it moves exactly when they do.
 */
export function manifestDigest(image: Pick<RegistryImage, "digest" | "layers">): string {
  return `sha256:${sha256Hex(`image-manifest:${image.digest}:${image.layers.join(",")}`)}`;
}

const IMAGE_CREATED = Date.UTC(2017, 10, 14, 9, 0, 0) / 1000;

function layersFor(ref: string, digest: string): string[] {
  // The Fedora 27 base layer is shared by every image; the top layer changes with the image.
  return [
    `sha256:${sha256Hex("layer:registry.fedoraproject.org/fedora:27")}`,
    `sha256:${sha256Hex(`layer:${digest}`)}`,
  ];
}

/** A registry image built from its repository's template, at a given digest. */
export function buildRegistryImage(repository: string, digest: string, generation = 0): RegistryImage {
  const component = repository.split("/").pop() ?? repository;
  const t = IMAGE_TEMPLATES[component];
  if (!t) throw new Error(`no image template for ${repository}`);
  return {
    digest,
    layers: layersFor(repository, digest),
    created: IMAGE_CREATED + generation * 86400,
    virtualSize: t.virtualSize,
    labels: { ...t.labels, release: `${generation + 1}` },
    manifest: t.manifest,
    configTemplate: t.configTemplate,
    serviceTemplate: t.serviceTemplate,
    tmpfilesTemplate: t.tmpfilesTemplate,
    hostfs: t.hostfs,
    rootfs: t.rootfs,
  };
}

/** The registry as Fedora published it at F27 GA: the seven guide images, tag `latest`, generation 0. */
export function defaultRegistry(): RegistryCatalogue {
  const images: Record<string, RegistryImage> = {};
  for (const repo of F27_REPOSITORIES) {
    const ref = `${repo}:latest`;
    images[ref] = buildRegistryImage(repo, deterministicDigest(ref, 0), 0);
  }
  return { images };
}

/** Path of the registry catalogue for a cluster directory. */
export function registryPath(clusterDir: string): string {
  return path.join(clusterDir, "registry.json");
}

/**
 * The cluster's registry. A cluster directory without `registry.json` sees {@link defaultRegistry} (so a freshly
 * created cluster needs no setup step); {@link publishImage} writes the file.
 */
export function readRegistry(clusterDir: string): RegistryCatalogue {
  const file = registryPath(clusterDir);
  if (!fs.existsSync(file)) return defaultRegistry();
  return JSON.parse(fs.readFileSync(file, "utf8")) as RegistryCatalogue;
}

/** Write the registry atomically (rename), so a concurrent `atomic pull` never reads half a file. */
export function writeRegistry(clusterDir: string, registry: RegistryCatalogue): void {
  fs.mkdirSync(clusterDir, { recursive: true });
  const file = registryPath(clusterDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(registry, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

/** The image a reference names in a registry, or undefined ("manifest unknown"). */
export function lookupImage(registry: RegistryCatalogue, ref: string): RegistryImage | undefined {
  return registry.images[canonicalImageRef(ref)];
}

/**
 * Publish (or re-publish) `ref` in the cluster's registry, as a registry push of a rebuilt image would: the tag
 * now points at `digest` (default: the next deterministic generation), with a new top layer. The repository must be
 * one of the catalogued components (its templates are reused). Returns the digest now behind the tag.
 */
export function publishImage(clusterDir: string, ref: string, digest?: string): string {
  const registry = readRegistry(clusterDir);
  const canonical = canonicalImageRef(ref);
  const repository = canonical.slice(0, canonical.lastIndexOf(":"));
  const previous = registry.images[canonical];
  const generation = previous ? Math.round((previous.created - IMAGE_CREATED) / 86400) + 1 : 0;
  const newDigest = digest ?? deterministicDigest(canonical, generation);
  if (!/^sha256:[0-9a-f]{64}$/.test(newDigest))
    throw new Error(`digest must be sha256:<64 hex>, got ${newDigest}`);
  registry.images[canonical] = buildRegistryImage(repository, newDigest, generation);
  writeRegistry(clusterDir, registry);
  return newDigest;
}

/** Remove a tag from the cluster's registry (a later pull of it fails with "manifest unknown"). */
export function withdrawImage(clusterDir: string, ref: string): boolean {
  const registry = readRegistry(clusterDir);
  const canonical = canonicalImageRef(ref);
  const had = canonical in registry.images;
  delete registry.images[canonical];
  writeRegistry(clusterDir, registry);
  return had;
}

// ---------------------------------------------------------------------------------------------------------------
// Image templates (atomic-system-containers @ 825192b, reference §4)
// ---------------------------------------------------------------------------------------------------------------

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

const FLANNELD_SYSCONFIG = `# Flanneld configuration options

# etcd url location.  Point this to the server where etcd runs
FLANNEL_ETCD_ENDPOINTS="http://127.0.0.1:2379"

# etcd config key.  This is the configuration key that flannel queries
# For address range assignment
FLANNEL_ETCD_PREFIX="/atomic.io/network"

# Any additional options that you want to pass
#FLANNEL_OPTIONS=""
`;

const KUBE_CONFIG = `###
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

const IMAGE_TEMPLATES: Record<string, ImageTemplate> = {
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
