/**
 * The host-side bound of a command (`ExecOptions.hostTimeout`): coreutils `timeout` around the argv, so the host
 * itself stops the command before the client gives up on it, and how to tell that it did.
 */
import { RemoteError, tailLines } from "./errors";
import type { ExecResult } from "./exec";

/**
 * Wraps argv in coreutils `timeout`, so the host itself stops the command after `seconds`: SIGTERM to the
 * command (and, as `timeout` runs it in its own process group, to its children), SIGKILL `killAfterSeconds`
 * later, exit status 124. Unlike `ExecOptions.timeoutMs` this holds for root logins and when the
 * connection is lost. Pure.
 */
export function buildRemoteTimeoutArgv(
  seconds: number,
  argv: readonly string[],
  killAfterSeconds = 10,
): string[] {
  if (!(seconds > 0) || !(killAfterSeconds > 0)) throw new RangeError("timeout seconds must be > 0");
  // Fractions to the millisecond: coreutils has taken floating-point durations since 8.x (Fedora 26: 8.27).
  const s = (x: number) => `${Number(x.toFixed(3))}s`;
  return ["timeout", "--kill-after", s(killAfterSeconds), s(seconds), ...argv];
}

/** The host-side bound of a command with `ExecOptions.hostTimeout`: all milliseconds. */
export interface HostTimeoutPlan {
  /** When the host sends SIGTERM, counted from the command's start. */
  termMs: number;
  /** How long after SIGTERM the host sends SIGKILL. */
  killAfterMs: number;
  /** `termMs + killAfterMs`: by then the command has ended on the host. Always below the client's timeout. */
  boundMs: number;
}

/**
 * The host-side bound for a client timeout of `timeoutMs`: SIGKILL (`killAfterMs`, default 5% of the timeout,
 * 0.5 to 10 s) comes a margin (2%, 0.5 to 5 s, for the network and the session's start) before the client would
 * give up, and SIGTERM that much earlier again. So when the client reports a timeout, the host's own bound has
 * already passed. Pure.
 *
 * @throws RangeError when `timeoutMs` leaves no time to run the command.
 */
export function planHostTimeout(timeoutMs: number, killAfterMs?: number): HostTimeoutPlan {
  const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
  const margin = clamp(timeoutMs * 0.02, 500, 5000);
  const kill = killAfterMs ?? clamp(timeoutMs * 0.05, 500, 10_000);
  const term = timeoutMs - margin - kill;
  if (!(term >= 100)) {
    throw new RangeError(`timeoutMs ${timeoutMs} is too short for a host-side bound (kill grace ${kill} ms)`);
  }
  return { termMs: term, killAfterMs: kill, boundMs: term + kill };
}

/** `timeout` exits 124 when it stopped the command, or dies of its own group SIGKILL (137) after the grace. */
export function stoppedByHost(r: ExecResult, bound: HostTimeoutPlan): boolean {
  const killed = r.exitCode === 124 || r.exitCode === 137 || r.signal === "KILL" || r.signal === "SIGKILL";
  return killed && r.durationMs >= bound.termMs;
}

export function hostTimeoutError(r: ExecResult, bound: HostTimeoutPlan): RemoteError {
  return new RemoteError({
    kind: "timeout",
    host: r.host,
    command: r.command,
    exitCode: r.exitCode,
    signal: r.signal,
    summary:
      `the command ran past its limit of ${bound.termMs / 1000} s and the host stopped it (coreutils timeout: ` +
      `SIGTERM, then SIGKILL ${bound.killAfterMs / 1000} s later); it is no longer running`,
    stderrTail: tailLines(r.stderr),
    hint: "if it is just slow, raise the timeout; it may have partly run, so check the host before retrying",
  });
}
