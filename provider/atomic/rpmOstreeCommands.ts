/**
 * rpm-ostree commands for LayeredPackage: the ONE transaction that takes the host from its default deployment
 * to the declaration, the checks after a reboot, and classifiers for what rpm-ostree printed.
 *
 * Facts (coreos/rpm-ostree, reference §3):
 * - `--install=PKG` / `--uninstall=PKG` are accepted by `rebase`, `upgrade` and `deploy` (main.c `pkg_entries`,
 *   since v2017.4), so a rebase and a package change are one transaction, as in the migration guide.
 * - `install` takes `--uninstall=PKG` and `uninstall` takes `--install=PKG` (`install_option_entry` /
 *   `uninstall_option_entry` in rpmostree-pkg-builtins.c), both ending in one `PkgChange` D-Bus call whose
 *   signature has always carried both lists. The stored source revision that shows this has `--cache-only`
 *   and `--download-only` (new in v2017.10) and not `--allow-inactive` (v2018.6); "add and remove packages in
 *   one txn" was marked done in rpm-ostree #323 on 2017-07-27. So v2017.10 accepts `install A --uninstall=B`.
 *   (Inferred from those two facts, not read at the v2017.10 tag itself.)
 * - Operations are cumulative: a new transaction builds on the DEFAULT deployment (`[0]`), pending or not.
 * - No `-r`: the daemon would reboot as the transaction ends and drop the SSH channel with no exit status;
 *   rebooting is a separate step so it can be waited for (boot id).
 * - `--idempotent` (v2018.7) is added when supported: the plan only runs when something is missing, so it only
 *   guards against a package requested by someone else between our status read and our transaction. (Running
 *   `install --idempotent` with nothing to do still builds a new deployment and upgrades other layered packages,
 *   community.general #9229 / rpm-ostree #5323; this plan never runs a no-op.)
 * - `--allow-inactive` (v2018.6) is added to `install` when supported, so a declared package the base already
 *   provides becomes an inactive request, as on v2017.10, instead of an error.
 */
import { type CommandOutput, tail } from "./result";
import {
  defaultDeployment,
  bootedDeployment,
  type Deployment,
  type RpmOstreeStatus,
} from "./rpmOstreeStatus";
import type { RpmOstreeCapabilities } from "./rpmOstreeVersion";
import { splitRefspec } from "./references";
import type { RebootPolicy } from "./validate";

/** `rpm-ostree status --json`. */
export function buildRpmOstreeStatusCommand(): string[] {
  return ["rpm-ostree", "status", "--json"];
}

/** `systemctl reboot`: returns at once; the SSH session then drops. */
export function buildRebootCommand(): string[] {
  return ["systemctl", "reboot"];
}

/** What LayeredPackage declares, plus what it declared before. */
export interface LayeringDeclaration {
  /** Packages that must be requested. */
  packages: readonly string[];
  /** Refspec the host must follow, if any (`remote:ref` or `ref`). */
  rebase?: string;
  /**
   * Packages this resource declared before (its previous `packages`). Only these are ever uninstalled, so a
   * package someone else layered is never removed.
   */
  managed?: readonly string[];
}

export type LayeringPlan =
  /** The default deployment already has everything declared. */
  | { kind: "none"; deployment: Deployment }
  /** Run `argv` (one transaction). */
  | {
      kind: "run";
      argv: string[];
      toInstall: string[];
      toUninstall: string[];
      /** The refspec rebased to, when the origin changes. */
      rebaseTo?: string;
      why: string;
    }
  /** A transaction is running: wait and read the status again (a second one fails: "System transaction in progress"). */
  | { kind: "busy"; transaction: [string, string, string] }
  /** No deployment at all: not an rpm-ostree host, or the status is broken. */
  | { kind: "blocked"; reason: string };

/**
 * True when a deployment's origin is the declared refspec. A refspec without a remote (`fedora/27/...`) keeps
 * the current remote on rebase, so only the ref is compared then.
 */
export function originMatches(origin: string | undefined, refspec: string): boolean {
  if (origin === undefined) return false;
  const want = splitRefspec(refspec);
  const have = splitRefspec(origin);
  return want.remote === undefined
    ? have.ref === want.ref
    : have.remote === want.remote && have.ref === want.ref;
}

/**
 * The one rpm-ostree command that makes the default deployment match the declaration, or none.
 *
 * - to install: declared packages not requested in the default deployment (declared order);
 * - to uninstall: previously `managed` packages no longer declared AND still requested (asking to uninstall a
 *   package that is not requested fails: "Package/capability 'x' is not currently requested");
 * - rebase: when the default deployment's origin is not the declared refspec.
 *
 * Command: `rpm-ostree rebase REFSPEC --install=a --uninstall=b` when rebasing; else `rpm-ostree install
 * [--idempotent] [--allow-inactive] a b [--uninstall=c]`; else `rpm-ostree uninstall [--idempotent] c`.
 */
export function planLayeringTransaction(
  declaration: LayeringDeclaration,
  status: RpmOstreeStatus,
  capabilities: RpmOstreeCapabilities,
): LayeringPlan {
  if (status.transaction !== null) return { kind: "busy", transaction: status.transaction };
  const base = defaultDeployment(status);
  if (base === undefined) {
    return {
      kind: "blocked",
      reason: "rpm-ostree status lists no deployment: is this an rpm-ostree (Atomic) host?",
    };
  }
  const requested = new Set(base.requestedPackages);
  const declared = new Set(declaration.packages);
  const toInstall = [...new Set(declaration.packages)].filter((p) => !requested.has(p));
  const toUninstall = [...new Set(declaration.managed ?? [])].filter(
    (p) => !declared.has(p) && requested.has(p),
  );
  const rebase =
    declaration.rebase !== undefined && !originMatches(base.origin, declaration.rebase)
      ? declaration.rebase
      : undefined;

  if (rebase === undefined && toInstall.length === 0 && toUninstall.length === 0) {
    return { kind: "none", deployment: base };
  }
  const install = toInstall.map((p) => `--install=${p}`);
  const uninstall = toUninstall.map((p) => `--uninstall=${p}`);
  const idempotent = capabilities.idempotent ? ["--idempotent"] : [];
  const whyParts: string[] = [];
  if (rebase !== undefined) whyParts.push(`origin ${base.origin ?? "(none)"} is not ${rebase}`);
  if (toInstall.length > 0) whyParts.push(`not requested yet: ${toInstall.join(", ")}`);
  if (toUninstall.length > 0) whyParts.push(`no longer declared: ${toUninstall.join(", ")}`);
  const why = whyParts.join("; ");

  if (rebase !== undefined) {
    return {
      kind: "run",
      argv: ["rpm-ostree", "rebase", rebase, ...install, ...uninstall],
      toInstall,
      toUninstall,
      rebaseTo: rebase,
      why,
    };
  }
  if (toInstall.length > 0) {
    const allowInactive = capabilities.allowInactive ? ["--allow-inactive"] : [];
    return {
      kind: "run",
      argv: ["rpm-ostree", "install", ...idempotent, ...allowInactive, ...toInstall, ...uninstall],
      toInstall,
      toUninstall,
      why,
    };
  }
  return {
    kind: "run",
    argv: ["rpm-ostree", "uninstall", ...idempotent, ...toUninstall],
    toInstall,
    toUninstall,
    why,
  };
}

/** How the booted deployment compares with the declaration. */
export interface BootedVerification {
  /** True when every declared package is requested and the origin matches. */
  ok: boolean;
  /** Declared packages not requested in the booted deployment. */
  missing: string[];
  /**
   * Declared packages requested but not layered: the base already provides them ("inactive requests"). They are
   * available, so they do not make `ok` false.
   */
  inactive: string[];
  /** Set when the origin is not the declared refspec. */
  origin?: { expected: string; actual: string | undefined };
  /** Set when no deployment is marked booted. */
  noBootedDeployment?: true;
}

/** Checks the BOOTED deployment (what runs now) against the declaration. */
export function verifyBooted(
  status: RpmOstreeStatus,
  declaration: Pick<LayeringDeclaration, "packages" | "rebase">,
): BootedVerification {
  const booted = bootedDeployment(status);
  if (booted === undefined) {
    return { ok: false, missing: [...declaration.packages], inactive: [], noBootedDeployment: true };
  }
  return verifyDeployment(booted, declaration);
}

/** Checks any deployment against the declaration (see {@link verifyBooted}). */
export function verifyDeployment(
  deployment: Deployment,
  declaration: Pick<LayeringDeclaration, "packages" | "rebase">,
): BootedVerification {
  const requested = new Set(deployment.requestedPackages);
  const layered = new Set(deployment.packages);
  const missing = declaration.packages.filter((p) => !requested.has(p));
  const inactive = declaration.packages.filter((p) => requested.has(p) && !layered.has(p));
  const result: BootedVerification = { ok: missing.length === 0, missing, inactive };
  if (declaration.rebase !== undefined && !originMatches(deployment.origin, declaration.rebase)) {
    result.origin = { expected: declaration.rebase, actual: deployment.origin };
    result.ok = false;
  }
  return result;
}

/**
 * Whether to reboot now.
 * - "never": no.
 * - "ifNeeded": when the pending deployment matches the declaration and either the booted one does not, or this
 *   run staged the pending one (`transactionRan`). The second case is a removal: after `rpm-ostree uninstall`
 *   the booted deployment still "has" every declared package, yet the package taken out stays layered and
 *   running until a reboot. A pending deployment someone else staged, with ours already booted, is left alone.
 * - "always": whenever a deployment is pending (ours or not) or this run ran a transaction.
 */
export function decideReboot(
  policy: RebootPolicy,
  status: RpmOstreeStatus,
  declaration: Pick<LayeringDeclaration, "packages" | "rebase">,
  transactionRan: boolean,
): { reboot: boolean; reason: string } {
  const pending = status.deployments[0] !== undefined && !status.deployments[0].booted;
  if (policy === "never") {
    return {
      reboot: false,
      reason: pending ? 'a deployment is pending, but reboot is "never"' : "nothing is pending",
    };
  }
  if (policy === "always") {
    return pending || transactionRan
      ? { reboot: true, reason: 'reboot is "always" and a deployment is pending' }
      : { reboot: false, reason: "nothing is pending" };
  }
  if (!pending) return { reboot: false, reason: "nothing is pending" };
  const pendingMatches = verifyDeployment(status.deployments[0]!, declaration).ok;
  const bootedMatches = verifyBooted(status, declaration).ok;
  if (pendingMatches && !bootedMatches) {
    return { reboot: true, reason: "the declared packages are in the pending deployment only" };
  }
  if (pendingMatches && transactionRan) {
    return {
      reboot: true,
      reason: "this run's change (a removal, say) is staged in the pending deployment only",
    };
  }
  if (bootedMatches) {
    return {
      reboot: false,
      reason: "the booted deployment already matches; the pending one is not needed for it",
    };
  }
  return { reboot: false, reason: "the pending deployment does not match the declaration either" };
}

/** What an rpm-ostree transaction command did. */
export type RpmOstreeOutcome =
  | { kind: "changed" }
  /** exit 77 (`--unchanged-exit-77`), or "No change." from rebase. */
  | { kind: "unchanged" }
  /** Another transaction holds the sysroot: read the status again later. */
  | { kind: "busy"; message: string }
  | { kind: "alreadyRequested"; packages: string[]; message: string }
  | { kind: "notRequested"; packages: string[]; message: string }
  | { kind: "packageNotFound"; packages: string[]; message: string }
  /** libostree's `Remote "NAME" not found`: the refspec names a remote the host's repo lacks. */
  | { kind: "remoteNotFound"; remote: string; message: string }
  /** `Old and new refs are equal`: a rebase to the refspec already followed; read the status and re-plan. */
  | { kind: "refsEqual"; message: string }
  /** An option this release does not know: the capabilities were wrong. */
  | { kind: "unknownOption"; message: string }
  /** No exit status: the connection dropped (a reboot?). Read the status before deciding anything. */
  | { kind: "interrupted"; message: string }
  /**
   * `Bus owner changed, aborting.`: rpm-ostreed went away (killed, crashed, restarted) while the client followed
   * its transaction (rpm-ostree v2017.10 rpmostree-dbus-helpers.c `on_owner_changed`). The transaction did not
   * finish; the deployments say whether it got as far as writing one.
   */
  | { kind: "daemonGone"; message: string }
  /**
   * The host's /ostree/repo filesystem is full: libostree refuses a repo transaction below
   * `core.min-free-space-percent` (3 % by default; "min-free-space-percent '3%' would be exceeded, 89.2 MB
   * available", ostree-repo-commit.c v2017.12), or a write failed with ENOSPC.
   */
  | { kind: "noSpace"; message: string }
  | { kind: "failed"; message: string };

function quotedNames(text: string, re: RegExp): string[] {
  return [...text.matchAll(re)].map((m) => m[1]!);
}

/**
 * Classifies an rpm-ostree install/uninstall/rebase result. Errors are printed on stderr as `error: <msg>`
 * with exit 1 (reference §3); both streams are searched because some builds print errors on stdout.
 */
export function classifyRpmOstreeOutcome(out: CommandOutput): RpmOstreeOutcome {
  const text = `${out.stdout}\n${out.stderr}`;
  const message = tail(out.stderr.trim() !== "" ? out.stderr : out.stdout);
  if (out.exitCode === null) return { kind: "interrupted", message };
  if (out.exitCode === 77) return { kind: "unchanged" };
  if (out.exitCode === 0)
    return /^No change\.$/m.test(out.stdout) ? { kind: "unchanged" } : { kind: "changed" };
  if (/System transaction in progress|Transaction in progress/.test(text)) return { kind: "busy", message };
  if (/Bus owner changed, aborting/.test(text)) return { kind: "daemonGone", message };
  if (/min-free-space-(percent|size) '?[^ ]+'? would be exceeded|No space left on device/.test(text))
    return { kind: "noSpace", message };
  const already = quotedNames(text, /Package\/capability '([^']+)' is already requested/g);
  if (already.length > 0) return { kind: "alreadyRequested", packages: already, message };
  const notReq = quotedNames(text, /Package\/capability '([^']+)' is not currently requested/g);
  if (notReq.length > 0) return { kind: "notRequested", packages: notReq, message };
  const noMatch = quotedNames(text, /No package matches '([^']+)'/g);
  const notFound = /Packages not found: (.+)$/m.exec(text);
  if (noMatch.length > 0 || notFound) {
    const pkgs = notFound ? notFound[1]!.split(/[\s,]+/).filter(Boolean) : noMatch;
    return { kind: "packageNotFound", packages: pkgs, message };
  }
  const remote = /Remote "([^"]+)" not found/.exec(text);
  if (remote) return { kind: "remoteNotFound", remote: remote[1]!, message };
  if (/Old and new refs are equal/.test(text)) return { kind: "refsEqual", message };
  if (/Unknown option|unrecognized option/i.test(text)) return { kind: "unknownOption", message };
  return { kind: "failed", message };
}
