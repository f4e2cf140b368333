/**
 * The RPM packages Fedora's rpm-md repositories hold for releases 26 and 27, and the Fedora Atomic Host base images
 * (ref, commit, packages) of each release. Package versions are illustrative F26/F27-era NEVRAs: nothing keys on
 * their exact value, only on their presence and on F27 having newer builds than F26.
 */

export type Release = 26 | 27;

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

export const BASES: Record<Release, Omit<BaseImage, "packages">> = {
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
