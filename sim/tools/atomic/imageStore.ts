/**
 * Local container images: the OSTree repository atomic imports images into (`ociimage/<encoded ref>` branches and
 * `ociimage/<layer hex>` branches, `Atomic/syscontainers.py`), plus a minimal record of images pulled into docker
 * storage (which only needs to exist so `atomic pull` without `--storage` lands somewhere other than ostree).
 *
 * On disk the refs are real ostree ref files (`<repo>/refs/heads/ociimage/...` holding the commit checksum); the
 * commit contents the simulator needs (manifest, exports) are kept as JSON beside them in `<repo>/sim-commits/`.
 */
import * as fs from "fs";
import * as path from "path";
import { RegistryImage, canonicalImageRef, sha256Hex } from "../../catalog";
import { HostEnv } from "./hostEnv";
import { imageIdOf } from "./version";

export const OSTREE_OCIIMAGE_PREFIX = "ociimage/";

/** `SystemContainers._encode_to_ostree_ref`: keep `[A-Za-z0-9.-]`, escape anything else as `_%02X`. */
export function encodeOstreeRef(ref: string): string {
  return [...canonicalImageRef(ref)]
    .map((c) =>
      /^[A-Za-z0-9.-]$/.test(c) ? c : `_${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

/** `SystemContainers._decode_from_ostree_ref`. */
export function decodeOstreeRef(encoded: string): string {
  return encoded.replace(/_([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * `get_default_system_name(image)`: the last path component, with `-TAG` appended when the tag is not `latest`
 * (`registry.fedoraproject.org/f27/etcd` → `etcd`).
 */
export function defaultSystemName(image: string): string {
  const noDigest = image.split("@sha256:")[0].replace(/^(oci|docker):/, "");
  const canonical = canonicalImageRef(noDigest);
  const colon = canonical.lastIndexOf(":");
  const repo = canonical.slice(0, colon);
  const tag = canonical.slice(colon + 1);
  const name = repo.split("/").pop() ?? repo;
  return tag === "latest" ? name : `${name}-${tag}`;
}

/** A pulled image as the local store knows it. */
export interface LocalImage {
  /** `repo:tag`. */
  ref: string;
  /** OSTree commit of the image branch. */
  rev: string;
  /** The registry image as it was when pulled (digest, layers, exports). */
  image: RegistryImage;
  /** When it was pulled (commit timestamp), unix seconds. */
  pulled: number;
}

interface CommitRecord {
  ref: string;
  image: RegistryImage;
  pulled: number;
}

export class OstreeImageStore {
  constructor(private readonly env: HostEnv) {}

  /**
   * The repository atomic uses: `$ATOMIC_OSTREE_REPO`, else `/ostree/repo` on an OSTree-booted host (atomic 1.19
   * and the usual 1.20 case), else 1.20's `/var/lib/containers/atomic/.storage/ostree`. Returned as a host path.
   */
  repoLocation(): string {
    if (this.env.env.ATOMIC_OSTREE_REPO) return this.env.env.ATOMIC_OSTREE_REPO;
    if (fs.existsSync(this.env.path("/ostree"))) return "/ostree/repo";
    return "/var/lib/containers/atomic/.storage/ostree";
  }

  private repo(): string {
    return this.env.path(this.repoLocation());
  }

  /** Create the repository if missing (atomic does `repo.create(BARE)` when `config` is absent). */
  ensureRepo(): void {
    const repo = this.repo();
    if (!fs.existsSync(path.join(repo, "config"))) {
      fs.mkdirSync(path.join(repo, "refs", "heads"), { recursive: true });
      fs.writeFileSync(path.join(repo, "config"), "[core]\nrepo_version=1\nmode=bare\n");
    }
  }

  private refFile(branch: string): string {
    return path.join(this.repo(), "refs", "heads", branch);
  }

  private commitFile(rev: string): string {
    return path.join(this.repo(), "sim-commits", `${rev}.json`);
  }

  private readRev(branch: string): string | undefined {
    try {
      return fs.readFileSync(this.refFile(branch), "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }

  hasLayer(layerDigest: string): boolean {
    return this.readRev(OSTREE_OCIIMAGE_PREFIX + layerDigest.replace(/^sha256:/, "")) !== undefined;
  }

  /** The image behind `ref` (`repo[:tag]`), if pulled. */
  resolve(ref: string): LocalImage | undefined {
    const branch = OSTREE_OCIIMAGE_PREFIX + encodeOstreeRef(ref);
    const rev = this.readRev(branch);
    if (!rev) return undefined;
    try {
      const rec = JSON.parse(fs.readFileSync(this.commitFile(rev), "utf8")) as CommitRecord;
      return { ref: rec.ref, rev, image: rec.image, pulled: rec.pulled };
    } catch {
      return undefined;
    }
  }

  /**
   * `_resolve_image`: the image named `nameOrId`, or else the single tagged image whose ID starts with it (only
   * tried when the argument is alphanumeric, as atomic does).
   */
  resolveNameOrId(nameOrId: string): LocalImage | undefined {
    const byName = this.resolve(nameOrId.replace(/^sha256:/, ""));
    if (byName) return byName;
    if (!/^[A-Za-z0-9]+$/.test(nameOrId)) return undefined;
    const matches = this.list().filter((i) => imageIdOf(this.env, i.image).startsWith(nameOrId));
    if (matches.length > 1) throw new Error(`more images matching prefix \`${nameOrId}\``);
    return matches[0];
  }

  /** Every tagged image in the repository, sorted by reference. */
  list(): LocalImage[] {
    const dir = path.join(this.repo(), "refs", "heads", "ociimage");
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const out: LocalImage[] = [];
    for (const n of names.sort()) {
      if (/^[0-9a-f]{64}$/.test(n)) continue;
      const img = this.resolve(decodeOstreeRef(n));
      if (img) out.push(img);
    }
    return out;
  }

  /** Layer branches (64-hex names), for `images list -a`. */
  listLayers(): Array<{ hex: string; rev: string }> {
    const dir = path.join(this.repo(), "refs", "heads", "ociimage");
    try {
      return fs
        .readdirSync(dir)
        .filter((n) => /^[0-9a-f]{64}$/.test(n))
        .sort()
        .map((hex) => ({ hex, rev: this.readRev(OSTREE_OCIIMAGE_PREFIX + hex)! }));
    } catch {
      return [];
    }
  }

  /** Import a pulled image: layer branches, the image branch and its commit record. Returns the commit. */
  importImage(ref: string, image: RegistryImage, pulled: number): string {
    this.ensureRepo();
    const canonical = canonicalImageRef(ref);
    for (const layer of image.layers) {
      const hex = layer.replace(/^sha256:/, "");
      const file = this.refFile(OSTREE_OCIIMAGE_PREFIX + hex);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, sha256Hex(`ostree-layer-commit:${hex}`) + "\n");
    }
    const rev = sha256Hex(`ostree-image-commit:${canonical}:${image.digest}`);
    fs.mkdirSync(path.dirname(this.commitFile(rev)), { recursive: true });
    const rec: CommitRecord = { ref: canonical, image, pulled };
    fs.writeFileSync(this.commitFile(rev), JSON.stringify(rec, null, 2) + "\n");
    const file = this.refFile(OSTREE_OCIIMAGE_PREFIX + encodeOstreeRef(canonical));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, rev + "\n");
    return rev;
  }
}

/**
 * Images "pulled" into docker storage. The simulated hosts run no docker daemon; this record only lets
 * `atomic pull` (docker default storage) succeed without touching the ostree repository — which is exactly why
 * the guide's `atomic pull` of etcd (no atomic.type label) followed by `atomic containers update etcd` finds no
 * new image (reference §2).
 */
export class DockerImageRecord {
  constructor(private readonly env: HostEnv) {}

  private file(): string {
    return this.env.path("/var/lib/docker/atomic-sim-images.json");
  }

  list(): Array<{ ref: string; image: RegistryImage; pulled: number }> {
    try {
      return JSON.parse(fs.readFileSync(this.file(), "utf8"));
    } catch {
      return [];
    }
  }

  record(ref: string, image: RegistryImage, pulled: number): void {
    const canonical = canonicalImageRef(ref);
    const rest = this.list().filter((i) => i.ref !== canonical);
    fs.mkdirSync(path.dirname(this.file()), { recursive: true });
    fs.writeFileSync(
      this.file(),
      JSON.stringify([...rest, { ref: canonical, image, pulled }], null, 2) + "\n",
    );
  }
}
