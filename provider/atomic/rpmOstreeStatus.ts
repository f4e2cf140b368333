/**
 * Parser for `rpm-ostree status --json` and helpers over its deployments (reference §3).
 *
 * v2017.10 prints one compact line `{"deployments":[...],"transaction":null}`; releases from 2019-05 pretty-print
 * the same object, and from v2018.2 add `"cached-update"`. Each deployment is a GVariant dict, so key order is
 * unspecified. `deployments` is in boot order: `[0]` is the default (next-boot) deployment, `booted: true` marks
 * the running one.
 */
import { fail, isPlainObject, ok, stringsOf, type ParseResult, tail } from "./result";

/** One deployment, with the fields this package uses. */
export interface Deployment {
  /** `<osname>-<checksum>.<serial>`. */
  id: string;
  osname: string;
  serial: number;
  /** The deployment's commit (the layered commit when packages are layered). */
  checksum: string;
  /** The base OS version, e.g. "27.1" (`base-version` when layered, else `version`). */
  version?: string;
  timestamp: number;
  /** The refspec the deployment follows, e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host". */
  origin?: string;
  /** Packages requested in the origin (`requested-packages`), active or not. */
  requestedPackages: string[];
  /** Local RPMs requested (`requested-local-packages`). */
  requestedLocalPackages: string[];
  /** Packages actually layered in this deployment (`packages`). A request provided by the base is not here. */
  packages: string[];
  booted: boolean;
  /** The base commit, when packages are layered (`base-checksum`). */
  baseChecksum?: string;
  /** v2018.5+: the deployment is staged (finalized at shutdown). */
  staged?: boolean;
  /** v2018.4+: pinned. */
  pinned?: boolean;
}

export interface RpmOstreeStatus {
  deployments: Deployment[];
  /** The running transaction as `[method, sender, object path]`, or null when idle. */
  transaction: null | [string, string, string];
}

/** Removes the `ostree://` scheme some releases put in front of a refspec. */
export function normalizeOrigin(origin: string): string {
  return origin.startsWith("ostree://") ? origin.slice("ostree://".length) : origin;
}

function deploymentFrom(raw: Record<string, unknown>, index: number): ParseResult<Deployment> {
  if (typeof raw.checksum !== "string") return fail(`deployment ${index} has no "checksum" string`);
  const d: Deployment = {
    id: typeof raw.id === "string" ? raw.id : "",
    osname: typeof raw.osname === "string" ? raw.osname : "",
    serial: typeof raw.serial === "number" ? raw.serial : 0,
    checksum: raw.checksum,
    timestamp: typeof raw.timestamp === "number" ? raw.timestamp : 0,
    requestedPackages: stringsOf(raw["requested-packages"]),
    requestedLocalPackages: stringsOf(raw["requested-local-packages"]),
    packages: stringsOf(raw.packages),
    booted: raw.booted === true,
  };
  const version = typeof raw["base-version"] === "string" ? raw["base-version"] : raw.version;
  if (typeof version === "string") d.version = version;
  if (typeof raw.origin === "string") d.origin = normalizeOrigin(raw.origin);
  if (typeof raw["base-checksum"] === "string") d.baseChecksum = raw["base-checksum"];
  if (typeof raw.staged === "boolean") d.staged = raw.staged;
  if (typeof raw.pinned === "boolean") d.pinned = raw.pinned;
  return ok(d);
}

/**
 * Parses `rpm-ostree status --json`, compact (2017.10) or pretty-printed (2019+), and the first releases' form
 * (2016, rpm-ostree PR #315): a bare list of deployments, without `booted` or `transaction`. Lines before the
 * JSON (a warning printed on stdout) are skipped.
 */
export function parseRpmOstreeStatus(stdout: string): ParseResult<RpmOstreeStatus> {
  const start = /^[ \t]*[[{]/m.exec(stdout);
  if (start === null)
    return fail(`rpm-ostree status --json printed no JSON object (or list): ${tail(stdout, 200)}`);
  let raw: unknown;
  try {
    raw = JSON.parse(stdout.slice(start.index));
  } catch (e) {
    return fail(
      `rpm-ostree status --json printed invalid JSON (${(e as Error).message}): ${tail(stdout, 200)}`,
    );
  }
  if (Array.isArray(raw)) raw = { deployments: raw, transaction: null };
  if (!isPlainObject(raw) || !Array.isArray(raw.deployments)) {
    return fail('rpm-ostree status --json printed an object without a "deployments" list');
  }
  const deployments: Deployment[] = [];
  for (const [i, d] of raw.deployments.entries()) {
    if (!isPlainObject(d)) return fail(`deployment ${i} is not an object`);
    const parsed = deploymentFrom(d, i);
    if (!parsed.ok) return parsed;
    deployments.push(parsed.value);
  }
  let transaction: RpmOstreeStatus["transaction"] = null;
  if (Array.isArray(raw.transaction) && raw.transaction.length >= 3) {
    const [method, sender, path] = raw.transaction.map((x) => String(x));
    transaction = [method!, sender!, path!];
  }
  return ok({ deployments, transaction });
}

/** The deployment the host is running, if any is marked booted. */
export function bootedDeployment(status: RpmOstreeStatus): Deployment | undefined {
  return status.deployments.find((d) => d.booted);
}

/** The default deployment (`[0]`): what the next boot runs, and what the next transaction builds on. */
export function defaultDeployment(status: RpmOstreeStatus): Deployment | undefined {
  return status.deployments[0];
}

/** The default deployment when it is not the booted one: a change waiting for a reboot. */
export function pendingDeployment(status: RpmOstreeStatus): Deployment | undefined {
  const first = status.deployments[0];
  return first !== undefined && !first.booted ? first : undefined;
}

/** True when rebooting would boot another deployment than the running one. */
export function needsReboot(status: RpmOstreeStatus): boolean {
  return pendingDeployment(status) !== undefined;
}
