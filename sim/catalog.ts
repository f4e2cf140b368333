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
 *
 * The parts, one job each, under `catalog/`: `packages.ts` (RPMs and base images), `ostree.ts` (remotes, served
 * refs, GPG keys), `units.ts` (unit files the RPMs ship), `etcFiles.ts` (their /etc files), `execStart.ts` (what a
 * unit runs), `registry.ts` (registry images, publish and withdraw), `images.ts` (what each image holds),
 * `digest.ts` (content digests). This module re-exports them all, so importers name only `catalog`.
 */
export { sha256Hex } from "./catalog/digest";
export { RPM_ETCD_CONF, packageEtcFiles } from "./catalog/etcFiles";
export type { ExecStartKind } from "./catalog/execStart";
export { classifyExecStart, systemContainerRunsEtcd, systemContainerRunsFlannel } from "./catalog/execStart";
export type { GpgKeyFile } from "./catalog/ostree";
export { fedoraGpgKeyFiles, fedoraOstreeRemoteConf, ostreeServerRefs } from "./catalog/ostree";
export type { BaseImage, Release, RpmPackage } from "./catalog/packages";
export {
  baseImage,
  baseImageForChecksum,
  baseImageForRef,
  evr,
  nevra,
  rpmRepository,
} from "./catalog/packages";
export type { RegistryCatalogue, RegistryImage, SystemContainerManifest } from "./catalog/registry";
export {
  F27_REPOSITORIES,
  buildRegistryImage,
  canonicalImageRef,
  defaultRegistry,
  deterministicDigest,
  lookupImage,
  manifestDigest,
  publishImage,
  readRegistry,
  registryPath,
  withdrawImage,
  writeRegistry,
} from "./catalog/registry";
export { rpmUnitFileText, unitFilesForPackages } from "./catalog/units";
