/**
 * Input validation for SystemContainer, LayeredPackage and EtcdDataMigration, run by `check` and so at
 * `pulumi preview`, before anything reaches a host.
 *
 * Rules:
 * - Validators return `{property, reason}[]` and never throw, whatever they are given.
 * - A reason names the property and the accepted form. It may quote a rejected name, path or image (none of
 *   them secret), but never a template value or a connection credential.
 * - `property` is a dotted path (`connection.host`, `values.ETCD_NAME`, `packages[2]`) rather than the top-level
 *   key, on purpose: the engine prints `inputs[property]` next to the reason (diag 2003, "property '%v' value %v
 *   has a problem"), so naming `connection` or `values` would print the whole object, credentials included.
 * - A value Pulumi does not know yet during preview arrives as {@link UNKNOWN}; it is skipped, and checked
 *   again at `up` when it is known.
 *
 * Every value validated here reaches the host as one argv element (the SSH layer quotes it), so shell
 * metacharacters could not inject anything; the character sets are narrow anyway because the same strings
 * also become file names, unit names and template substitutions on the host, where they are not quoted.
 */
import { isIP } from "node:net";
import { ETCD_DATA_MIGRATION_DEFAULTS } from "./defaults";
import { UNIT_TYPE_SUFFIXES } from "./systemd";

/** One problem with one input, as `check` returns it to Pulumi. */
export interface CheckFailure {
  property: string;
  reason: string;
}

/** The value Pulumi substitutes for an input not known yet during preview, whatever the input's type. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when `value` is Pulumi's unknown-during-preview sentinel. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** True when `value` is, or contains at any depth, the unknown sentinel. */
export function containsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Characters that change how a terminal shows the text around them, or show as nothing at all. */
const INVISIBLE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** A short description of a value that is safe to print: non-secret inputs only. */
function shown(value: unknown): string {
  if (typeof value === "string") {
    const s = value.length > 80 ? value.slice(0, 77) + "..." : value;
    // JSON.stringify escapes C0 controls but not C1 controls, bidi overrides (U+202E would make the terminal print
    // the rest of the reason right to left), zero-width characters or line separators: escape those too, so a
    // rejected value is shown as what it is and cannot disguise the reason it is quoted in.
    return JSON.stringify(s).replace(INVISIBLE, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return kindOf(value);
}

/** "a number", "an array"… for type errors, without printing the value. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "object":
      return "an object";
    case "undefined":
      return "nothing";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    case "string":
      return "a string";
    default:
      return `a ${typeof value}`;
  }
}

function failure(property: string, reason: string): CheckFailure[] {
  return [{ property, reason }];
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Runs `check` on a required string input, handling unknown, absent and non-string values uniformly. */
function requiredString(
  value: unknown,
  property: string,
  form: string,
  check: (s: string) => string | undefined,
): CheckFailure[] {
  if (isUnknown(value)) return [];
  if (isAbsent(value)) return failure(property, `${property} is required: ${form}`);
  if (typeof value !== "string")
    return failure(property, `${property} must be a string: ${form}; got ${kindOf(value)}`);
  const reason = check(value);
  return reason === undefined ? [] : failure(property, reason);
}

/** Same as {@link requiredString} for an optional input: absent is fine. */
function optionalString(
  value: unknown,
  property: string,
  form: string,
  check: (s: string) => string | undefined,
): CheckFailure[] {
  if (isAbsent(value)) return [];
  return requiredString(value, property, form, check);
}

function oneOf(value: unknown, property: string, allowed: readonly string[], why: string): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value)) return [];
  if (typeof value === "string" && allowed.includes(value)) return [];
  const list = allowed.map((a) => JSON.stringify(a)).join(", ");
  return failure(property, `${property} must be one of ${list}${why}; got ${shown(value)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// SystemContainer

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const CONTAINER_NAME_FORM =
  '1-64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit, e.g. "etcd"';

/**
 * A system container name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`, not ending in `.<digits>` nor in a unit-type
 * suffix.
 *
 * Why: the name becomes the directory `/var/lib/containers/atomic/NAME` (and the deployments `NAME.0`,
 * `NAME.1`), the unit `/etc/systemd/system/NAME.service`, `/etc/tmpfiles.d/NAME.conf`, runc's container id,
 * and `$NAME` in the image's templates (for etcd `${STATE_DIRECTORY}/etcd/${NAME}.etcd`). So: no `/`, no
 * whitespace, no leading `-` (argparse would read an option), no `@` (systemd reads `a@b.service` as an
 * instance of the template `a@.service`), no `:`; `NAME.1` would be another container's second deployment;
 * and atomic runs `systemctl start NAME`, which for `x.socket` would start a socket unit, not `x.socket.service`.
 */
export function validateContainerName(value: unknown, property = "name"): CheckFailure[] {
  return requiredString(value, property, CONTAINER_NAME_FORM, (name) => {
    if (!CONTAINER_NAME.test(name)) {
      return (
        `${property} must be ${CONTAINER_NAME_FORM}, because it becomes the systemd unit NAME.service and the ` +
        `directory /var/lib/containers/atomic/NAME; got ${shown(name)}`
      );
    }
    if (/\.[0-9]+$/.test(name)) {
      return (
        `${property} must not end in "." and digits: atomic keeps a container's two deployments in ` +
        `/var/lib/containers/atomic/NAME.0 and NAME.1, so ${shown(name)} would collide with a deployment of the ` +
        `container ${shown(name.replace(/\.[0-9]+$/, ""))}`
      );
    }
    const suffix = UNIT_TYPE_SUFFIXES.find((s) => name.endsWith(s));
    if (suffix !== undefined) {
      return (
        `${property} must not end in a systemd unit type such as "${suffix}": atomic runs "systemctl start NAME", ` +
        `which would address that unit, not NAME.service; got ${shown(name)}`
      );
    }
    return undefined;
  });
}

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
const IMAGE_FORM =
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

/** An image reference `registry/path/name[:tag][@sha256:<64hex>]` (see {@link parseImageReference}). */
export function validateImageReference(value: unknown, property = "image"): CheckFailure[] {
  return requiredString(value, property, IMAGE_FORM, (ref) => {
    const parsed = parseImageReference(ref, property);
    return typeof parsed === "string" ? parsed : undefined;
  });
}

/**
 * `storage`: only "ostree". System containers are checked out of the OSTree repository; atomic refuses
 * `--system` with the docker storage ("The --system and --user options are only available for the 'ostree'
 * storage.").
 */
export function validateStorage(value: unknown, property = "storage"): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || value === "ostree") return [];
  return failure(
    property,
    `${property} must be "ostree" (the default): system containers exist only in the OSTree storage, and atomic ` +
      `refuses --system with any other; got ${shown(value)}`,
  );
}

export const SYSTEM_PACKAGE_MODES = ["no", "yes", "auto", "build"] as const;
export type SystemPackageMode = (typeof SYSTEM_PACKAGE_MODES)[number];

/** `systemPackage`: atomic's `--system-package` choices. */
export function validateSystemPackage(value: unknown, property = "systemPackage"): CheckFailure[] {
  return oneOf(value, property, SYSTEM_PACKAGE_MODES, " (atomic install --system-package)");
}

/**
 * Keys atomic sets itself after applying `--set`, so a declared value for them is silently replaced: declaring
 * one would leave a difference between declared and installed that no update can remove.
 */
export const ATOMIC_FORCED_VALUES: readonly string[] = [
  "DESTDIR",
  "NAME",
  "EXEC_START",
  "EXEC_STOP",
  "EXEC_STARTPRE",
  "EXEC_STOPPOST",
  "HOST_UID",
  "HOST_GID",
  "IMAGE_NAME",
  "IMAGE_ID",
];

const VALUE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Longest accepted template value, in characters. Far above any etcd or kube setting; keeps argv small. */
export const MAX_VALUE_LENGTH = 4096;

/** The property path of one key of `values`, quoted when the key is not an identifier. */
function valuePath(property: string, key: string): string {
  return VALUE_KEY.test(key) ? `${property}.${key}` : `${property}[${shown(key)}]`;
}

/**
 * `values`: template variables passed as `--set=KEY=VALUE`.
 *
 * Keys match `^[A-Za-z_][A-Za-z0-9_]*$` (atomic substitutes `$KEY`/`${KEY}` in the image's templates) and are
 * not one of {@link ATOMIC_FORCED_VALUES}. Values are strings of at most 4096 characters with no NUL, newline
 * or carriage return: atomic writes them into the systemd unit and config.json, where a newline would start a
 * new unit directive. Spaces, quotes and `$` are accepted: each `--set=K=V` is one argv element, and atomic
 * inserts values verbatim. Reasons never print a value (it may be a password).
 */
export function validateValues(value: unknown, property = "values"): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value)) return [];
  if (!isPlainObject(value)) {
    return failure(
      property,
      `${property} must be an object of KEY: "value" strings, e.g. { ETCD_NAME: "node1" }; got ${kindOf(value)}`,
    );
  }
  const failures: CheckFailure[] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = valuePath(property, key);
    if (!VALUE_KEY.test(key)) {
      failures.push({
        property: path,
        reason:
          `${property} key ${shown(key)} must match [A-Za-z_][A-Za-z0-9_]* ` +
          `(atomic substitutes it as $KEY in the image's templates)`,
      });
      continue;
    }
    if (ATOMIC_FORCED_VALUES.includes(key)) {
      failures.push({
        property: path,
        reason:
          `${property} key ${key} is set by atomic itself after --set is applied ` +
          `(${ATOMIC_FORCED_VALUES.join(", ")}), so the installed value would never be the declared one`,
      });
      continue;
    }
    if (isUnknown(v)) continue;
    if (typeof v !== "string") {
      failures.push({ property: path, reason: `${path} must be a string; got ${kindOf(v)}` });
    } else if (/[\0\n\r]/.test(v)) {
      failures.push({
        property: path,
        reason:
          `${path} must not contain a newline, carriage return or NUL: atomic writes values into the ` +
          `systemd unit and config.json, where a newline would start a new directive`,
      });
    } else if (v.length > MAX_VALUE_LENGTH) {
      failures.push({
        property: path,
        reason: `${path} must be at most ${MAX_VALUE_LENGTH} characters; got ${v.length}`,
      });
    }
  }
  return failures;
}

/** A boolean input such as `running`. */
export function validateBoolean(value: unknown, property: string): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || typeof value === "boolean") return [];
  return failure(property, `${property} must be true or false; got ${shown(value)}`);
}

/** `triggers`: any array (its elements are only compared, never sent anywhere). */
export function validateTriggers(value: unknown, property = "triggers"): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || Array.isArray(value)) return [];
  return failure(property, `${property} must be an array of values; got ${kindOf(value)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// LayeredPackage

const RPM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const RPM_NAME_FORM =
  'an RPM package name (letters, digits and . _ + -, starting with a letter or digit), e.g. "etcd"';

/**
 * `packages`: a non-empty list of distinct RPM names matching `^[A-Za-z0-9][A-Za-z0-9._+-]*$` (at most 255
 * characters), none ending in `.rpm`: rpm-ostree treats any argument ending in `.rpm` as a local RPM file
 * (`pkg_change` in rpmostree-pkg-builtins.c switches to the local-package API on that suffix).
 */
export function validatePackageList(value: unknown, property = "packages"): CheckFailure[] {
  if (isUnknown(value)) return [];
  if (!Array.isArray(value)) {
    const got = isAbsent(value) ? "" : `; got ${kindOf(value)}`;
    const verb = isAbsent(value) ? "is required" : "must be a list";
    return failure(
      property,
      `${property} ${verb}: a non-empty list of RPM package names, e.g. ["kubernetes-master", "flannel", "etcd"]${got}`,
    );
  }
  if (value.length === 0) {
    return failure(
      property,
      `${property} must list at least one RPM package name: to remove every package this resource layered, ` +
        `delete the resource`,
    );
  }
  const failures: CheckFailure[] = [];
  const firstIndex = new Map<string, number>();
  value.forEach((pkg, i) => {
    const path = `${property}[${i}]`;
    if (isUnknown(pkg)) return;
    if (typeof pkg !== "string" || !RPM_NAME.test(pkg) || pkg.length > 255) {
      failures.push({ property: path, reason: `${path} must be ${RPM_NAME_FORM}; got ${shown(pkg)}` });
      return;
    }
    if (pkg.endsWith(".rpm")) {
      failures.push({
        property: path,
        reason: `${path} must be a package name, not a file: rpm-ostree treats an argument ending in ".rpm" as a local RPM file; got ${shown(pkg)}`,
      });
      return;
    }
    const seen = firstIndex.get(pkg);
    if (seen !== undefined) {
      failures.push({
        property: path,
        reason: `${property} lists ${JSON.stringify(pkg)} more than once (${property}[${seen}] and ${path})`,
      });
      return;
    }
    firstIndex.set(pkg, i);
  });
  return failures;
}

/** ostree's remote-name and ref grammars (`OSTREE_REMOTE_NAME_REGEXP`, `OSTREE_REF_REGEXP` in ostree-core.c). */
const OSTREE_REMOTE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const OSTREE_REF = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
const REFSPEC_FORM =
  '"remote:ref" or "ref", e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host" (letters, digits and _ . - ; ' +
  '"/" between ref components; no "..")';

/** Splits an OSTree refspec into its optional remote and its ref. */
export function splitRefspec(refspec: string): { remote?: string; ref: string } {
  const colon = refspec.indexOf(":");
  return colon < 0 ? { ref: refspec } : { remote: refspec.slice(0, colon), ref: refspec.slice(colon + 1) };
}

/** `rebase`: an OSTree refspec `remote:ref` or `ref`, as `rpm-ostree rebase` takes it. */
export function validateRefspec(value: unknown, property = "rebase"): CheckFailure[] {
  return optionalString(value, property, REFSPEC_FORM, (refspec) => {
    const { remote, ref } = splitRefspec(refspec);
    const valid =
      refspec.length <= 255 &&
      !refspec.includes("..") &&
      (remote === undefined || OSTREE_REMOTE.test(remote)) &&
      OSTREE_REF.test(ref);
    return valid ? undefined : `${property} must be an OSTree refspec ${REFSPEC_FORM}; got ${shown(refspec)}`;
  });
}

export const REBOOT_POLICIES = ["ifNeeded", "always", "never"] as const;
export type RebootPolicy = (typeof REBOOT_POLICIES)[number];

/** `reboot`: when to reboot after a transaction. */
export function validateRebootPolicy(value: unknown, property = "reboot"): CheckFailure[] {
  return oneOf(value, property, REBOOT_POLICIES, "");
}

/** `rebootTimeoutSeconds`: a whole number of seconds from 1 to 86400 (24 hours). */
export function validateRebootTimeoutSeconds(
  value: unknown,
  property = "rebootTimeoutSeconds",
): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value)) return [];
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 86400) return [];
  return failure(
    property,
    `${property} must be a whole number of seconds from 1 to 86400 (24 hours); got ${shown(value)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// EtcdDataMigration

const PATH_CHARS = /^[A-Za-z0-9._/-]+$/;

/**
 * Why an absolute path is not acceptable, or undefined: absolute, at most 1024 characters, only
 * `[A-Za-z0-9._/-]`, not "/", and normalised (no `.` or `..` components, no `//`, no trailing `/`), so that
 * comparing two paths as strings tells whether one is inside the other.
 */
function pathProblem(path: string, property: string, example: string): string | undefined {
  if (!path.startsWith("/"))
    return `${property} must be an absolute path, e.g. ${JSON.stringify(example)}; got ${shown(path)}`;
  if (!PATH_CHARS.test(path) || path.length > 1024) {
    return `${property} may contain only A-Z a-z 0-9 . _ - and "/" (at most 1024 characters); got ${shown(path)}`;
  }
  if (path === "/") return `${property} must not be "/"`;
  const parts = path.slice(1).split("/");
  if (path.endsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
    return `${property} must be a normalised absolute path: no "." or ".." components, no "//", no trailing "/"; got ${shown(path)}`;
  }
  return undefined;
}

/** True when `inner` is `outer` or lies below it (both normalised absolute paths). */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer + "/");
}

/**
 * `source` and `destination` of an etcd data migration.
 *
 * `source` is the member directory itself (e.g. "/var/lib/etcd/member"); `destination` is the folder that will
 * CONTAIN `member/` (e.g. "/var/lib/etcd/etcd.etcd"), as in the guide's `cp -r /var/lib/etcd/member
 * /var/lib/etcd/etcd.etcd/`. Each is a normalised absolute path; neither may be inside the other, nor equal:
 * a destination inside the source would copy the copy, and a source inside the destination means
 * `destination/member` is the source itself or its neighbour being written while it is read.
 */
export function validateMigrationPaths(source: unknown, destination: unknown): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const src = isAbsent(source) ? ETCD_DATA_MIGRATION_DEFAULTS.source : source;
  const dest = isAbsent(destination) ? ETCD_DATA_MIGRATION_DEFAULTS.destination : destination;
  failures.push(
    ...requiredString(src, "source", "an absolute path", (p) =>
      pathProblem(p, "source", "/var/lib/etcd/member"),
    ),
    ...requiredString(dest, "destination", "an absolute path", (p) =>
      pathProblem(p, "destination", "/var/lib/etcd/etcd.etcd"),
    ),
  );
  if (failures.length > 0 || typeof src !== "string" || typeof dest !== "string") return failures;
  if (isUnknown(src) || isUnknown(dest)) return [];
  if (src === dest) {
    return failure(
      "destination",
      `source and destination must differ: source is the member directory itself (e.g. "/var/lib/etcd/member"), ` +
        `destination the folder that will contain member/ (e.g. "/var/lib/etcd/etcd.etcd"); both are ${shown(src)}`,
    );
  }
  if (isSameOrInside(dest, src)) {
    return failure(
      "destination",
      `destination must not be inside source (${shown(dest)} is inside ${shown(src)}): the copy would be written ` +
        `into the directory being copied`,
    );
  }
  if (isSameOrInside(src, dest)) {
    return failure(
      "source",
      `source must not be inside destination (${shown(src)} is inside ${shown(dest)}): destination/member would ` +
        `be the source itself or be written next to it while it is read`,
    );
  }
  return [];
}

const UNIT_NAME = /^[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,254}$/;

/** `service`: a systemd unit name (`etcd` or `etcd.service`), characters `[A-Za-z0-9:_.@-]`, at most 255. */
export function validateUnitName(value: unknown, property = "service"): CheckFailure[] {
  const form =
    'a systemd unit name (letters, digits and : _ . @ -, not starting with "-" or "."), e.g. "etcd"';
  return optionalString(value, property, form, (unit) =>
    UNIT_NAME.test(unit) ? undefined : `${property} must be ${form}; got ${shown(unit)}`,
  );
}

export const CONFLICT_POLICIES = ["fail", "backup"] as const;

/** `conflict`: what to do when the destination already holds a different member directory. */
export function validateConflictPolicy(value: unknown, property = "conflict"): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || value === "fail" || value === "backup") return [];
  return failure(
    property,
    `${property} must be "fail" (refuse when the destination holds a different member directory) or "backup" ` +
      `(move it aside to member.backup-<UTC time> first); got ${shown(value)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Connection

const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const POSIX_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/**
 * The connection's `host`, `port` and `user` (and its proxy's). They reach the host indirectly: the host and
 * user appear in logs, error messages and lock names, and the user becomes the remote login.
 * - host: an IPv4/IPv6 address or a DNS name of letters, digits and `-` per label (at most 253 characters);
 * - port: a whole number from 1 to 65535;
 * - user: a POSIX portable user name, `^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`.
 * Credentials (password, keys, passphrase) are not validated here and never appear in a reason.
 */
export function validateConnection(value: unknown, property = "connection"): CheckFailure[] {
  if (isUnknown(value)) return [];
  if (isAbsent(value))
    return failure(property, `${property} is required: { host, port?, user?, privateKey?, ... }`);
  if (!isPlainObject(value)) {
    // Reported at `.host`, not at the connection itself: the engine prints the program's value of the named
    // property next to the reason, and the resources pass the connection as a secret, so a failure naming
    // "connection" printed it in plaintext ("property connection value {&{{ssh://root:pw@node1}}} has a
    // problem"). For "connection.host" it prints nothing, and host is indeed what is missing.
    return failure(
      `${property}.host`,
      `${property} must be an object { host, port?, user?, ... }; got ${kindOf(value)}`,
    );
  }
  const failures: CheckFailure[] = [];
  const hostForm = 'a host name or an IP address, e.g. "node1.example.com" or "192.0.2.10"';
  failures.push(
    ...requiredString(value.host, `${property}.host`, hostForm, (host) =>
      isIP(host) !== 0 || (host.length <= 253 && HOSTNAME.test(host))
        ? undefined
        : `${property}.host must be ${hostForm}; got ${shown(host)}`,
    ),
  );
  const port = value.port;
  if (!isAbsent(port) && !isUnknown(port)) {
    if (!(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) {
      failures.push({
        property: `${property}.port`,
        reason: `${property}.port must be a whole number from 1 to 65535 (default 22); got ${shown(port)}`,
      });
    }
  }
  const userForm =
    'a POSIX user name (letters, digits, "_", "." and "-", not starting with "-", at most 32 characters), e.g. "root"';
  failures.push(
    ...optionalString(value.user, `${property}.user`, userForm, (user) =>
      POSIX_USER.test(user) ? undefined : `${property}.user must be ${userForm}; got ${shown(user)}`,
    ),
  );
  failures.push(...validateConnectionOptions(value, property));
  if (!isAbsent(value.proxy)) failures.push(...validateConnection(value.proxy, `${property}.proxy`));
  return failures;
}

/** The connection fields that must be strings; the first three are credentials. */
const CONNECTION_STRING_FIELDS = [
  "password",
  "privateKey",
  "privateKeyPassword",
  "agentSocketPath",
  "hostKey",
  "hostKeySource",
  "knownHosts",
] as const;

/**
 * The types of the credential and option fields. Without this a number given as `password` passed `check` and
 * failed at `up` inside the SSH layer with a TypeError ("value.trim is not a function") instead of naming the
 * field; and a `dialErrorLimit` of "3" was only refused once the connection was dialled. A reason here gives the
 * kind of the value, never the value: these fields hold credentials.
 */
function validateConnectionOptions(value: Record<string, unknown>, property: string): CheckFailure[] {
  const failures: CheckFailure[] = [];
  for (const field of CONNECTION_STRING_FIELDS) {
    const v = value[field];
    if (isAbsent(v) || isUnknown(v) || typeof v === "string") continue;
    failures.push({
      property: `${property}.${field}`,
      reason: `${property}.${field} must be a string; got ${kindOf(v)}`,
    });
  }
  const flag = value.insecureIgnoreHostKey;
  if (!isAbsent(flag) && !isUnknown(flag) && typeof flag !== "boolean") {
    failures.push({
      property: `${property}.insecureIgnoreHostKey`,
      reason: `${property}.insecureIgnoreHostKey must be true or false; got ${kindOf(flag)}`,
    });
  }
  const limit = value.dialErrorLimit;
  if (!isAbsent(limit) && !isUnknown(limit) && !(Number.isInteger(limit) && (limit as number) >= -1)) {
    failures.push({
      property: `${property}.dialErrorLimit`,
      reason: `${property}.dialErrorLimit must be a whole number of attempts, or -1 for no limit (default 10); got ${shown(limit)}`,
    });
  }
  const perDial = value.perDialTimeout;
  if (
    !isAbsent(perDial) &&
    !isUnknown(perDial) &&
    !(typeof perDial === "number" && Number.isFinite(perDial) && perDial >= 0)
  ) {
    failures.push({
      property: `${property}.perDialTimeout`,
      reason: `${property}.perDialTimeout must be a number of seconds >= 0, 0 for no limit (default 15); got ${shown(perDial)}`,
    });
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------------------------
// Per resource

type Inputs = Record<string, unknown> | undefined | null;

/** Every check of a SystemContainer's inputs, in property order. */
export function validateSystemContainerInputs(inputs: Inputs): CheckFailure[] {
  const i = inputs ?? {};
  return [
    ...validateConnection(i.connection),
    ...validateHostName(i.hostName),
    ...validateContainerName(i.name),
    ...validateImageReference(i.image),
    ...validateStorage(i.storage),
    ...validateSystemPackage(i.systemPackage),
    ...validateValues(i.values),
    ...validateBoolean(i.running, "running"),
    ...validateTriggers(i.triggers),
  ];
}

/**
 * `hostName`: optional; a label for progress lines and the preview, so one line of printable characters, at most
 * 253 (a DNS name's length).
 */
export function validateHostName(value: unknown): CheckFailure[] {
  if (value === undefined || value === null || isUnknown(value)) return [];
  if (
    typeof value !== "string" ||
    value.trim() === "" ||
    value.length > 253 ||
    [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
  ) {
    return [
      {
        property: "hostName",
        reason:
          'hostName must be a non-empty label of at most 253 printable characters on one line, e.g. "master1"',
      },
    ];
  }
  return [];
}

/** Every check of a LayeredPackage's inputs, in property order. */
export function validateLayeredPackageInputs(inputs: Inputs): CheckFailure[] {
  const i = inputs ?? {};
  return [
    ...validateConnection(i.connection),
    ...validateHostName(i.hostName),
    ...validatePackageList(i.packages),
    ...validateRefspec(i.rebase),
    ...validateRebootPolicy(i.reboot),
    ...validateRebootTimeoutSeconds(i.rebootTimeoutSeconds),
  ];
}

/** Every check of an EtcdDataMigration's inputs, in property order (absent paths take their defaults). */
export function validateEtcdDataMigrationInputs(inputs: Inputs): CheckFailure[] {
  const i = inputs ?? {};
  return [
    ...validateConnection(i.connection),
    ...validateHostName(i.hostName),
    ...validateMigrationPaths(i.source, i.destination),
    ...validateUnitName(i.service),
    ...validateConflictPolicy(i.conflict),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// OstreeRemote

const REMOTE_NAME_FORM =
  'an ostree remote name: letters, digits and _ . -, starting with a letter, digit or _, e.g. "fedora-atomic-27"';
const REMOTE_URL =
  /^(?:https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:\/[A-Za-z0-9._~%+,=:@/-]*)?|file:\/\/\/[A-Za-z0-9._/-]*)$/;
const REMOTE_URL_FORM =
  'an http(s):// URL or a file:/// path, e.g. "https://kojipkgs.fedoraproject.org/atomic/27" (no spaces or quotes)';

/** `name` of an OstreeRemote: `OSTREE_REMOTE_NAME_REGEXP` (ostree-core.c), at most 255 characters. */
export function validateRemoteName(value: unknown, property = "name"): CheckFailure[] {
  return requiredString(value, property, REMOTE_NAME_FORM, (name) =>
    OSTREE_REMOTE.test(name) && name.length <= 255
      ? undefined
      : `${property} must be ${REMOTE_NAME_FORM}; got ${shown(name)}`,
  );
}

/** `url` of an OstreeRemote: what `ostree remote add NAME URL` writes as `url=`. */
export function validateRemoteUrl(value: unknown, property = "url"): CheckFailure[] {
  return requiredString(value, property, REMOTE_URL_FORM, (url) =>
    REMOTE_URL.test(url) && url.length <= 2048
      ? undefined
      : `${property} must be ${REMOTE_URL_FORM}; got ${shown(url)}`,
  );
}

/** `gpgKeyPath`: a normalised absolute path (written as `gpgkeypath=`). */
export function validateGpgKeyPath(value: unknown, property = "gpgKeyPath"): CheckFailure[] {
  return optionalString(value, property, "an absolute path", (path) =>
    pathProblem(path, property, "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary"),
  );
}

/** Every check of an OstreeRemote's inputs, in property order. */
export function validateOstreeRemoteInputs(inputs: Inputs): CheckFailure[] {
  const i = inputs ?? {};
  const failures = [
    ...validateConnection(i.connection),
    ...validateHostName(i.hostName),
    ...validateRemoteName(i.name),
    ...validateRemoteUrl(i.url),
    ...validateBoolean(i.gpgVerify, "gpgVerify"),
    ...validateGpgKeyPath(i.gpgKeyPath),
    ...validateBoolean(i.replace, "replace"),
  ];
  if (i.gpgVerify === false && typeof i.gpgKeyPath === "string") {
    failures.push({
      property: "gpgKeyPath",
      reason: "gpgKeyPath is only used when gpgVerify is true: remove it, or set gpgVerify to true",
    });
  }
  return failures;
}
