/**
 * Input validation, run by `check` and so at `pulumi preview`, before anything reaches a host: here for
 * LayeredPackage, EtcdDataMigration and OstreeRemote; SystemContainer's in `validateSystemContainer.ts`, the
 * connection's in `validateConnection.ts`, what they share in `validateHelpers.ts`.
 *
 * Rules:
 * - Validators return `{property, reason}[]` and never throw, whatever they are given.
 * - A reason names the property and the accepted form. It may quote a rejected name, path or image (none of
 *   them secret), but never a template value or a connection credential.
 * - `property` is a dotted path (`connection.host`, `values.ETCD_NAME`, `packages[2]`) rather than the top-level
 *   key, on purpose: the engine prints `inputs[property]` next to the reason (diag 2003, "property '%v' value %v
 *   has a problem"), so naming `connection` or `values` would print the whole object, credentials included.
 * - A value Pulumi does not know yet during preview arrives as `UNKNOWN` (`unknown.ts`); it is skipped, and
 *   checked again at `up` when it is known.
 *
 * Every value validated here reaches the host as one argv element (the SSH layer quotes it), so shell
 * metacharacters could not inject anything; the character sets are narrow anyway because the same strings
 * also become file names, unit names and template substitutions on the host, where they are not quoted.
 */
import { isOstreeRefspec, isOstreeRemoteName } from "./references";
import { isUnknown } from "./unknown";
import { validateConnection } from "./validateConnection";
import {
  failure,
  fieldsOf,
  isAbsent,
  kindOf,
  oneOf,
  optionalString,
  requiredString,
  shown,
  validateBoolean,
  validateHostName,
  type CheckFailure,
  type UncheckedInputs,
} from "./validateHelpers";
import { ETCD_DATA_MIGRATION_DEFAULTS } from "./defaults";

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

const REFSPEC_FORM =
  '"remote:ref" or "ref", e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host" (letters, digits and _ . - ; ' +
  '"/" between ref components; no "..")';

/** `rebase`: an OSTree refspec `remote:ref` or `ref`, as `rpm-ostree rebase` takes it. */
export function validateRefspec(value: unknown, property = "rebase"): CheckFailure[] {
  return optionalString(value, property, REFSPEC_FORM, (refspec) =>
    isOstreeRefspec(refspec)
      ? undefined
      : `${property} must be an OSTree refspec ${REFSPEC_FORM}; got ${shown(refspec)}`,
  );
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
// Per resource

/** Every check of a LayeredPackage's inputs, in property order. */
export function validateLayeredPackageInputs(inputs: UncheckedInputs): CheckFailure[] {
  const i = fieldsOf(inputs);
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
export function validateEtcdDataMigrationInputs(inputs: UncheckedInputs): CheckFailure[] {
  const i = fieldsOf(inputs);
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
    isOstreeRemoteName(name) ? undefined : `${property} must be ${REMOTE_NAME_FORM}; got ${shown(name)}`,
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
export function validateOstreeRemoteInputs(inputs: UncheckedInputs): CheckFailure[] {
  const i = fieldsOf(inputs);
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
