/**
 * Where the SSH layer reports what it is doing (dial retries, reconnects). The provider points this at
 * `pulumi.log`; by default nothing is printed unless `PULUMI_ATOMIC_HOST_SSH_DEBUG` is set, in which case lines go
 * to stderr. Every line is redacted before it leaves this module.
 */
import { redact } from "./errors";

/** Receives one redacted log line. */
export type SshLogger = (line: string) => void;

let logger: SshLogger | undefined;

/**
 * Sets the function that receives the SSH layer's log lines (already redacted), or `undefined` to restore the
 * default (stderr when `PULUMI_ATOMIC_HOST_SSH_DEBUG` is set, else silence).
 */
export function setSshLogger(fn: SshLogger | undefined): void {
  logger = fn;
}

/** Logs one line, redacted. */
export function logLine(line: string): void {
  const safe = redact(line);
  if (logger) logger(safe);
  else if (process.env.PULUMI_ATOMIC_HOST_SSH_DEBUG) process.stderr.write(`[ssh] ${safe}\n`);
}

let progressSink: SshLogger | undefined;

/**
 * Sets the function that receives progress lines: what a person watching an `up` should see while the SSH layer
 * works (each failed dial attempt), as opposed to the debug lines of {@link setSshLogger}. The provider points it
 * at its progress output; `undefined` sends progress lines to {@link logLine} again.
 */
export function setSshProgress(fn: SshLogger | undefined): void {
  progressSink = fn;
}

/** Reports one progress line, redacted. */
export function progressLine(line: string): void {
  if (progressSink) progressSink(redact(line));
  else logLine(line);
}
