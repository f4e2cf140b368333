/**
 * The container registry: the F27 system-container images a cluster's `atomic pull` sees
 * (`$ATOMIC_SIM_CLUSTER_DIR/registry.json`, the default catalogue when absent), and publishing or withdrawing a tag.
 */
import * as fs from "fs";
import * as path from "path";
import { sha256Hex } from "./digest";
import { IMAGE_TEMPLATES } from "./images";

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
