/**
 * What each `atomic` system-container command did, classified from its exit status and output (the commands are
 * built in `systemContainerCommands.ts`). Facts are from projectatomic/atomic 1.19/1.20 (reference §1, §2).
 */
import { type CommandOutput, tail } from "./result";

function combined(out: CommandOutput): string {
  return `${out.stdout}\n${out.stderr}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Why an atomic command failed, as a field to branch on. */
export type AtomicFailureKind =
  | "notRoot"
  | "unitFileExists"
  | "imageNotFound"
  | "notInstalled"
  | "noPreviousDeployment"
  | "noSpace"
  | "killed"
  | "other";

/**
 * A command ended by a signal: no exit status (the signal reported as such), or the 128+N a shell reports for
 * SIGKILL and SIGTERM (what the host-side `timeout` bound sends). Python runs no `except` clause then: SIGKILL
 * cannot be caught, and SIGTERM's default action ends the process (it is not KeyboardInterrupt).
 */
function wasKilled(out: CommandOutput): boolean {
  return (out.exitCode === null && !!out.signal) || out.exitCode === 137 || out.exitCode === 143;
}

export interface AtomicFailure {
  kind: "failed";
  failure: AtomicFailureKind;
  /** The tool's own words (last lines of stderr, else stdout). */
  message: string;
}

function failed(out: CommandOutput): AtomicFailure {
  const text = combined(out);
  let failure: AtomicFailureKind = "other";
  if (wasKilled(out)) failure = "killed";
  else if (/Only root can use --system/.test(text)) failure = "notRoot";
  else if (/The file \/etc\/(systemd\/system|tmpfiles\.d)\/\S+ already exists\./.test(text))
    failure = "unitFileExists";
  else if (/System container '[^']*' is not installed/.test(text)) failure = "notInstalled";
  else if (/Cannot find a previous deployment to rollback/.test(text)) failure = "noPreviousDeployment";
  else if (
    /manifest unknown|Image \S+ not found|not found in registry|unable to find image|Error reading manifest/i.test(
      text,
    )
  ) {
    failure = "imageNotFound";
  }
  // ENOSPC as Python's OSError ("[Errno 28] No space left on device") or libostree's GLib.Error ("regfile copy:
  // No space left on device (12)") words it.
  else if (/No space left on device/.test(text)) failure = "noSpace";
  return { kind: "failed", failure, message: tail(out.stderr.trim() !== "" ? out.stderr : out.stdout) };
}

/** What `atomic install` did. */
export type InstallOutcome =
  /** Installed now (`Extracting to ...`). */
  | { kind: "installed"; checkoutPath?: string }
  /** `NAME already present`, and the installed image is the declared one: adopt it. */
  | { kind: "adopted"; installedImage: string }
  /** `NAME already present` from ANOTHER image: nothing was changed, and adopting it would be wrong. */
  | { kind: "conflict"; installedImage: string }
  /** `NAME already present`, but the installed image is not known yet: read the container, then classify again. */
  | { kind: "alreadyPresent" }
  | AtomicFailure;

/**
 * Classifies `atomic install` output. atomic prints `NAME already present` on stdout and exits 0 when
 * /var/lib/containers/atomic/NAME exists (syscontainers.py `_install`), after having pulled the image. That is
 * an adoption only if the installed info's image equals the declared one; pass `installedImage` from a read.
 */
export function classifyInstallOutcome(
  out: CommandOutput,
  name: string,
  declaredImage: string,
  installedImage?: string,
): InstallOutcome {
  if (out.exitCode !== 0) return failed(out);
  if (new RegExp(`^${escapeRegExp(name)} already present$`, "m").test(out.stdout)) {
    if (installedImage === undefined) return { kind: "alreadyPresent" };
    return installedImage === declaredImage
      ? { kind: "adopted", installedImage }
      : { kind: "conflict", installedImage };
  }
  const m = /^Extracting to (\S+)$/m.exec(out.stdout);
  return m ? { kind: "installed", checkoutPath: m[1] } : { kind: "installed" };
}

/** What `atomic containers update` did. */
export type UpdateOutcome =
  | { kind: "updated"; checkoutPath?: string }
  /** `Latest version already installed.`: same digest and no `--set` value changed. */
  | { kind: "unchanged" }
  | AtomicFailure;

export function classifyUpdateOutcome(out: CommandOutput): UpdateOutcome {
  if (out.exitCode !== 0) return failed(out);
  if (/^Latest version already installed\.$/m.test(out.stdout)) return { kind: "unchanged" };
  const m = /^Extracting to (\S+)$/m.exec(out.stdout);
  return m ? { kind: "updated", checkoutPath: m[1] } : { kind: "updated" };
}

/** What `atomic containers rollback` did. */
export type RollbackOutcome = { kind: "rolledBack"; checkoutPath?: string } | AtomicFailure;

export function classifyRollbackOutcome(out: CommandOutput): RollbackOutcome {
  if (out.exitCode !== 0) return failed(out);
  const m = /^Rolling back container \S+ to the checkout at (\S+)$/m.exec(out.stdout);
  return m ? { kind: "rolledBack", checkoutPath: m[1] } : { kind: "rolledBack" };
}

/** What `atomic uninstall` did. */
export type UninstallOutcome = { kind: "removed" } | { kind: "absent" } | AtomicFailure;

/**
 * `Unable to find etcd in the ostree backend` (with `--storage`) or `Unable to find 'etcd' in the following
 * backends` (exit 1) means there was nothing to remove: delete treats it as done.
 */
export function classifyUninstallOutcome(out: CommandOutput): UninstallOutcome {
  if (out.exitCode === 0) return { kind: "removed" };
  if (/Unable to find \S+ in the (ostree backend|following backends)/.test(combined(out)))
    return { kind: "absent" };
  return failed(out);
}

/** What `atomic pull` did. */
export type PullOutcome = { kind: "pulled" } | AtomicFailure;

export function classifyPullOutcome(out: CommandOutput): PullOutcome {
  return out.exitCode === 0 ? { kind: "pulled" } : failed(out);
}
