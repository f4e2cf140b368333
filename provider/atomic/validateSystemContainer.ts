/**
 * Validation of a SystemContainer's inputs: container name, image reference, storage, `--system-package`,
 * template values, `running` and `triggers`. The rules of `validate.ts` apply.
 */
import { validateConnection } from "./validateConnection";
import {
  failure,
  fieldsOf,
  isAbsent,
  kindOf,
  oneOf,
  requiredString,
  shown,
  validateBoolean,
  validateHostName,
  type CheckFailure,
  type UncheckedInputs,
} from "./validateHelpers";
import { IMAGE_FORM, parseImageReference } from "./references";
import { UNIT_TYPE_SUFFIXES } from "./systemd";
import { isPlainObject } from "./result";
import { isUnknown } from "./unknown";

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

/** `triggers`: any array (its elements are only compared, never sent anywhere). */
export function validateTriggers(value: unknown, property = "triggers"): CheckFailure[] {
  if (isAbsent(value) || isUnknown(value) || Array.isArray(value)) return [];
  return failure(property, `${property} must be an array of values; got ${kindOf(value)}`);
}

/** Every check of a SystemContainer's inputs, in property order. */
export function validateSystemContainerInputs(inputs: UncheckedInputs): CheckFailure[] {
  const i = fieldsOf(inputs);
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
