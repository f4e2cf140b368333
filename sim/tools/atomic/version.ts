/**
 * Which atomic a host runs, and what differs between the two releases the simulator models.
 *
 * Fedora 26 Atomic Host ships atomic 1.19.1 and Fedora 27 ships 1.20.1 (the base images in catalog.ts); the tool
 * comes with the booted deployment, so a host rebased to 27 runs 1.20.1 after its reboot. A host whose booted
 * release is unknown (a test sandbox without rpm-ostree state) counts as Fedora 26, the simulator's default.
 *
 * What differs, from projectatomic/atomic's Atomic/syscontainers.py at the two tags:
 *  - The image ID atomic records as `revision` and compares in `containers update`. 1.19.1
 *    `_get_image_id_from_manifest` (v1.19.1 lines 507-519): the stored manifest's `Digest`, else its
 *    `config.digest`, i.e. the config digest for the v2 manifests skopeo stores. 1.20.1 `_get_image_id`
 *    (V1.12.1 lines 564-579) first reads the commit metadata `docker.digest` (the manifest digest). So the first
 *    `containers update` after a host moves to 1.20.1 sees a different ID and redeploys even if the image did not
 *    change (update_container, V1.12.1 lines 1085-1102).
 *  - `_canonicalize_location` (v1.19.1 lines 608-620; V1.12.1 lines 683-706): both rewrite a checkout destination
 *    to `realpath(/ostree/deploy/OSNAME/<destination>)` on an OSTree-booted host using /ostree/repo; 1.20.1 only
 *    when that folder is the destination's own (same device and inode, `_are_on_the_same_filesystem`), which on a
 *    standard Atomic host it is (/var is the deployment's var). Outside a booted system (no booted deployment) both
 *    keep the destination (the bare `except` around `sysroot.get_booted_deployment()`).
 */
import * as fs from "fs";
import * as path from "path";
import { RegistryImage, baseImageForChecksum, manifestDigest } from "../../catalog";
import { HostEnv } from "./hostEnv";

export type AtomicVersion = "1.19.1" | "1.20.1";

interface BootedDeployment {
  osname: string;
  release: 26 | 27;
}

/** The booted deployment as the rpm-ostree stand-in records it, or undefined outside a simulated host. */
export function bootedDeployment(env: HostEnv): BootedDeployment | undefined {
  if (!env.hostDir) return undefined;
  try {
    const state = JSON.parse(fs.readFileSync(path.join(env.hostDir, "state", "rpm-ostree.json"), "utf8")) as {
      deployments: { osname: string; baseChecksum: string; booted: boolean }[];
    };
    const d = state.deployments.find((x) => x.booted);
    const base = d ? baseImageForChecksum(d.baseChecksum) : undefined;
    return d && base ? { osname: d.osname, release: base.release } : undefined;
  } catch {
    return undefined;
  }
}

export function atomicVersion(env: HostEnv): AtomicVersion {
  return bootedDeployment(env)?.release === 27 ? "1.20.1" : "1.19.1";
}

/** The image ID this atomic records and compares (no `sha256:` prefix). */
export function imageIdOf(env: HostEnv, image: RegistryImage): string {
  const digest = atomicVersion(env) === "1.20.1" ? manifestDigest(image) : image.digest;
  return digest.replace(/^sha256:/, "");
}

/** `_canonicalize_location` of this atomic (see the file comment). Paths are host paths as atomic prints them. */
export function canonicalizeLocation(env: HostEnv, destination: string, repoLocation: string): string {
  if (repoLocation !== "/ostree/repo") return destination;
  const booted = bootedDeployment(env);
  if (!booted) return destination;
  const ostreeDestination = path.posix.join(
    "/ostree/deploy",
    booted.osname,
    path.posix.relative("/", destination),
  );
  if (atomicVersion(env) === "1.19.1") return realpathOrSelf(env, ostreeDestination);
  fs.mkdirSync(env.path(path.posix.dirname(destination)), { recursive: true });
  try {
    const a = fs.statSync(env.path(path.posix.dirname(destination)));
    const b = fs.statSync(env.path(path.posix.dirname(ostreeDestination)));
    if (a.dev === b.dev && a.ino === b.ino) return realpathOrSelf(env, ostreeDestination);
  } catch {
    // the ostree destination does not exist: keep the destination (bare except)
  }
  return destination;
}

/** os.path.realpath: resolves what exists, keeps the rest. */
function realpathOrSelf(env: HostEnv, p: string): string {
  try {
    const real = fs.realpathSync(env.path(p));
    return env.root ? "/" + path.relative(env.root, real) : real;
  } catch {
    return p;
  }
}
