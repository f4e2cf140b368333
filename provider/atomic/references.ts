/**
 * Image references and OSTree refspecs, parsed: what an `image` and a `rebase` input consist of, for validation
 * (`validate.ts`) and for the builders that need their parts.
 */
import { shown } from "./validateHelpers";

/** The parts of an image reference, as the docker reference grammar splits it. */
export interface ImageReference {
  /** Registry host, with an optional `:port`, e.g. `registry.fedoraproject.org`. */
  domain: string;
  /** Repository path below the registry, e.g. `f27/etcd`. */
  path: string;
  tag?: string;
  /** `sha256:<64 hex>`. */
  digest?: string;
}

const DOMAIN_COMPONENT = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
export const IMAGE_FORM =
  'registry/path/name[:tag][@sha256:<64 hex digits>], e.g. "registry.fedoraproject.org/f27/etcd"';

/**
 * Splits an image reference per the docker reference grammar (distribution/reference), requiring a registry.
 * Returns the parts, or a reason naming `property` and what is wrong.
 */
export function parseImageReference(ref: string, property = "image"): ImageReference | string {
  if (ref.length > 255) return `${property} must be at most 255 characters; got ${ref.length}`;
  if (ref.startsWith("-") || !/^[A-Za-z0-9._:@/-]+$/.test(ref)) {
    return (
      `${property} must be ${IMAGE_FORM}, with no whitespace or shell metacharacters and not starting with "-"; ` +
      `got ${shown(ref)}`
    );
  }
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      return `${property} digest must be "sha256:" followed by 64 lowercase hex digits; got ${shown(digest)}`;
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      return (
        `${property} tag must be 1-128 characters from A-Z a-z 0-9 _ . -, not starting with "." or "-"; ` +
        `got ${shown(tag)}`
      );
    }
  }
  const components = rest.split("/");
  const first = components[0] ?? "";
  const hasDomain =
    components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasDomain) {
    return (
      `${property} must start with a registry host (a name containing "." or ":", or "localhost"), as in ` +
      `${IMAGE_FORM}: a short name is resolved through the host's own registry search list, so what gets ` +
      `installed would depend on the host; got ${shown(ref)}`
    );
  }
  if (!DOMAIN.test(first)) {
    return `${property} registry ${shown(first)} is not a valid host name with an optional :port`;
  }
  for (const component of components.slice(1)) {
    if (!PATH_COMPONENT.test(component)) {
      return (
        `${property} path components must be lowercase letters and digits separated by ".", "_", "__" or "-" ` +
        `(docker reference grammar); ${shown(component)} in ${shown(ref)} is not`
      );
    }
  }
  return { domain: first, path: components.slice(1).join("/"), tag, digest };
}

/** ostree's remote-name and ref grammars (`OSTREE_REMOTE_NAME_REGEXP`, `OSTREE_REF_REGEXP` in ostree-core.c). */
const OSTREE_REMOTE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const OSTREE_REF = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/** Splits an OSTree refspec into its optional remote and its ref. */
export function splitRefspec(refspec: string): { remote?: string; ref: string } {
  const colon = refspec.indexOf(":");
  return colon < 0 ? { ref: refspec } : { remote: refspec.slice(0, colon), ref: refspec.slice(colon + 1) };
}

/** Whether `name` is an ostree remote name (`OSTREE_REMOTE_NAME_REGEXP`), at most 255 characters. */
export function isOstreeRemoteName(name: string): boolean {
  return OSTREE_REMOTE.test(name) && name.length <= 255;
}

/** Whether `refspec` is `remote:ref` or `ref` in ostree's grammars, at most 255 characters and without "..". */
export function isOstreeRefspec(refspec: string): boolean {
  const { remote, ref } = splitRefspec(refspec);
  return (
    refspec.length <= 255 &&
    !refspec.includes("..") &&
    (remote === undefined || OSTREE_REMOTE.test(remote)) &&
    OSTREE_REF.test(ref)
  );
}
