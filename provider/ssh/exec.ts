/**
 * Running one command on a host: argv in, exit status and output out, over a pooled connection.
 *
 * Commands run without a PTY, so stdout and stderr stay separate, exit codes are clean and output has no CR.
 * Both streams are always drained: ssh2 re-opens the channel window only when data is read, so an unread 2 MiB
 * of stderr would stall the remote process forever.
 */
import type { ClientChannel } from "ssh2";
import type { Connection } from "./connection";
import { RemoteError, isRemoteError, messageOf, tailLines } from "./errors";
import { channelError, connectionLost, isChannelOpenFailure, timeoutError } from "./execErrors";
import {
  buildRemoteTimeoutArgv,
  hostTimeoutError,
  planHostTimeout,
  stoppedByHost,
  type HostTimeoutPlan,
} from "./hostTimeout";
import { holdHostUntil } from "./lock";
import { logLine } from "./log";
import { acquire, type Lease } from "./pool";
import { OutputBuffer } from "./outputBuffer";
import { quoteCommand } from "./quote";
import { sleep } from "./sleep";

/** Options for {@link exec}. */
export interface ExecOptions {
  /**
   * Milliseconds the command may take, counted from when it is handed to the connection (after a free channel
   * slot and the connection are available). On expiry the command's process group is sent SIGTERM, then
   * SIGKILL a second later, its channel is closed, and {@link exec} fails with kind `timeout`. OpenSSH refuses
   * channel signals for root logins ("session signalling requires privilege separation"), and closing the
   * channel does not stop the command, so as root it may keep running; when it must stop, also wrap the argv
   * with {@link buildRemoteTimeoutArgv}. Default: none.
   */
  timeoutMs?: number;
  /**
   * Have the host itself stop the command before the client gives up on it: the argv runs under coreutils
   * `timeout` (see {@link planHostTimeout} for the figures), so a command the client reports as timed out is no
   * longer running on the host, whatever sshd does with signals and even when the connection is lost. A command
   * the host stopped fails with kind `timeout`. When the connection is lost while such a command runs, the host
   * stays busy for {@link withHostLock} until the host-side bound has passed. Needs `timeoutMs`. Default: `false`.
   */
  hostTimeout?: boolean;
  /** Milliseconds between the host's SIGTERM and its SIGKILL, with {@link hostTimeout}. Default: see {@link planHostTimeout}. */
  killAfterMs?: number;
  /**
   * Bytes of each of stdout and stderr kept in memory; beyond it the beginning is dropped and the tail kept
   * (the stream is still read to the end). Default: 16 MiB.
   */
  maxOutputBytes?: number;
}

/** What a command did. A non-zero exit is a result, not an error; see {@link requireSuccess}. */
export interface ExecResult {
  /** Exit status, or `null` when the command was killed by a signal. */
  exitCode: number | null;
  /** Signal that killed the command (`SIGKILL`), or `null`. */
  signal: string | null;
  /** Standard output, decoded as UTF-8 (the tail, if longer than `maxOutputBytes`). */
  stdout: string;
  /** Standard error, decoded as UTF-8 (the tail, if longer than `maxOutputBytes`). */
  stderr: string;
  /** True when stdout exceeded `maxOutputBytes` and its beginning was dropped. */
  stdoutTruncated: boolean;
  /** True when stderr exceeded `maxOutputBytes` and its beginning was dropped. */
  stderrTruncated: boolean;
  /** Milliseconds from the call to the end of the command, including waiting for a connection. */
  durationMs: number;
  /** `user@host:port` the command ran on. */
  host: string;
  /** The shell command line that ran (not redacted: pass it through `redact` before showing it). */
  command: string;
}

/** Default cap on kept output per stream. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Channel-open attempts before giving up (a refused channel open ran nothing, so retrying is safe). */
const CHANNEL_OPEN_ATTEMPTS = 8;
/** Connections tried for a command whose connection was gone before it could be sent. */
const NOT_SENT_ATTEMPTS = 3;
/** Grace between SIGTERM and SIGKILL for a timed-out command. */
const KILL_GRACE_MS = 1000;
/** How long a stopped channel may hold its slot before the slot is given back anyway. */
const STOP_RELEASE_MS = 5000;

/**
 * Runs `argv` on the host over its pooled connection and returns its exit status and output. A non-zero exit
 * is returned, not thrown (use {@link execOk} or {@link requireSuccess}).
 *
 * @throws RemoteError `connect` / `hostkey` / `auth` (no connection; nothing ran), `timeout` (ran past
 *   `timeoutMs`), `connection` (the connection dropped while the command ran: it may or may not have completed).
 * @throws TypeError for an empty argv or an argument containing NUL (nothing is sent).
 */
export async function exec(
  conn: Connection,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const bound =
    opts.hostTimeout && opts.timeoutMs !== undefined
      ? planHostTimeout(opts.timeoutMs, opts.killAfterMs)
      : undefined;
  if (opts.hostTimeout && !bound) throw new TypeError("hostTimeout needs timeoutMs");
  const run = bound ? buildRemoteTimeoutArgv(bound.termMs / 1000, argv, bound.killAfterMs / 1000) : argv;
  const command = quoteCommand(run);
  const started = Date.now();
  let result: ExecResult | undefined;
  for (let attempt = 1; result === undefined; attempt++) {
    const lease = await acquire(conn);
    try {
      result = await runOnLease(lease, command, opts, started, bound);
    } catch (err) {
      if (err instanceof NotSent) {
        // Nothing ran: a fresh connection may carry it (the pool dials one), a few times at most.
        if (attempt < NOT_SENT_ATTEMPTS) continue;
        throw new RemoteError({
          kind: "connect",
          host: lease.label,
          command,
          summary: `the connection kept dropping before the command could be sent (${attempt} connections); the command did not run`,
          hint: "check the host's sshd and network; running pulumi up again is safe",
        });
      }
      // Lost after it was sent, or no exit status even after the host's bound: it may still run on the host, until
      // its own bound at the latest, counted from now (it started before now).
      if (bound && isRemoteError(err, "connection", "timeout"))
        holdHostUntil(conn, Date.now() + bound.boundMs);
      throw err;
    }
  }
  if (bound && stoppedByHost(result, bound)) throw hostTimeoutError(result, bound);
  return result;
}

/**
 * Like {@link exec}, but a non-zero exit or a signal throws a RemoteError of kind `command` ({@link requireSuccess}).
 */
export async function execOk(
  conn: Connection,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return requireSuccess(await exec(conn, argv, opts));
}

/**
 * Returns `result` when the command exited 0.
 *
 * @param hint What to do about it, for the error's reader. Default: check what the command changed before
 *   retrying.
 * @throws RemoteError of kind `command` with the exit code or signal and the tail of stderr.
 */
export function requireSuccess(
  result: ExecResult,
  hint = "read the command's stderr above; it ran on the host, so check what it changed before retrying",
): ExecResult {
  if (result.exitCode === 0) return result;
  const how =
    result.exitCode !== null
      ? `exited with code ${result.exitCode}`
      : `was killed by ${result.signal ?? "a signal"}`;
  const stdoutNote =
    result.stderr.trim() === "" && result.stdout.trim() !== ""
      ? `; stderr was empty, stdout ended with: ${tailLines(result.stdout, 3, 500)}`
      : "";
  throw new RemoteError({
    kind: "command",
    host: result.host,
    summary: `the command ${how}${stdoutNote}`,
    command: result.command,
    exitCode: result.exitCode,
    signal: result.signal,
    stderrTail: tailLines(result.stderr),
    hint,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// One command on one channel

/** Thrown inside this module when the connection was gone before the command was sent: nothing ran. */
class NotSent extends Error {}

function runOnLease(
  lease: Lease,
  command: string,
  opts: ExecOptions,
  started: number,
  bound: HostTimeoutPlan | undefined,
): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const out = { stdout: new OutputBuffer(cap), stderr: new OutputBuffer(cap) };
    let channel: ClientChannel | undefined;
    let timedOut = false;
    let settled = false;
    /** The channel request on the wire, if any: a timeout waits for it (see below). */
    let inFlight: Promise<unknown> | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const deadline = opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? started + opts.timeoutMs : Infinity;
    let timer: NodeJS.Timeout | undefined;
    const onDeadline = () => {
      // A started command under a host-side bound: the host stops it, so wait for the exit status the host sends
      // (exit 124, "stopped by the host"), which proves it ended; give up only if even that does not come, by
      // another host bound (the connection stalled, or the host's timeout itself was killed).
      if (bound && channel && Date.now() < deadline + bound.boundMs) {
        timer = setTimeout(onDeadline, deadline + bound.boundMs - Date.now());
        return;
      }
      timedOut = true;
      const fail = () =>
        settle(() => reject(timeoutError(lease, command, opts.timeoutMs!, out.stderr.text(), bound)));
      // A request on the wire may still start the command: report the timeout only once it is known whether it
      // did (then it is stopped as any timed-out command), never before.
      if (inFlight && !channel) void inFlight.finally(fail);
      else fail();
      if (channel) stopChannel(channel, lease);
    };
    if (deadline !== Infinity) timer = setTimeout(onDeadline, Math.max(0, deadline - Date.now()));

    // Wired synchronously in ssh2's callback: a short command's exit status can arrive in the same packet
    // batch as the exec reply, and an 'exit' event emitted before we listen would be lost.
    const onChannel = (ch: ClientChannel) => {
      channel = ch;
      if (timedOut) return stopChannel(ch, lease);
      collect(ch, out, lease, (exit) =>
        settle(() =>
          exit
            ? resolve(toResult(exit, out, lease, command, started))
            : reject(connectionLost(lease, command, out.stderr.text())),
        ),
      );
      ch.end(); // stdin: closed at once, so a command that reads it does not hang
    };
    const attempt = {
      deadline,
      timedOut: () => timedOut,
      track: (p: Promise<unknown>) => (inFlight = p.catch(() => undefined)),
    };
    openChannel(lease, command, onChannel, attempt).catch((err: unknown) => {
      lease.release();
      settle(() => reject(err));
    });
  });
}

interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** Drains both streams and reports the exit status (or `undefined` when the channel closed without one). */
function collect(
  ch: ClientChannel,
  out: { stdout: OutputBuffer; stderr: OutputBuffer },
  lease: Lease,
  done: (exit: ExitStatus | undefined) => void,
): void {
  let exit: ExitStatus | undefined;
  ch.on("data", (chunk: Buffer) => out.stdout.push(chunk));
  ch.stderr.on("data", (chunk: Buffer) => out.stderr.push(chunk));
  ch.on("error", () => undefined); // e.g. closing stdin of a command that already exited; the exit status tells
  ch.on("exit", (code: number | null, signal?: string) => {
    exit = { code: code ?? null, signal: signal ?? null };
  });
  // @types/ssh2 types 'close' as () => void, but ssh2 passes the exit status again; 'exit' is what we rely on.
  ch.on("close", () => {
    lease.release();
    done(exit);
  });
}

/**
 * Opens a session channel and starts the command, retrying refused channel opens (nothing ran) until the exec's
 * deadline: no attempt starts (and no backoff sleeps) past it, so no command starts after its caller was told it
 * timed out. `onChannel` is called synchronously from ssh2's callback with the started channel.
 *
 * @throws NotSent when the connection was already gone (nothing was sent).
 */
async function openChannel(
  lease: Lease,
  command: string,
  onChannel: (ch: ClientChannel) => void,
  attempt: { deadline: number; timedOut: () => boolean; track: (p: Promise<unknown>) => void },
): Promise<void> {
  for (let n = 1; ; n++) {
    if (attempt.timedOut()) return;
    if (lease.gone) throw new NotSent("the connection was lost before the command was sent");
    try {
      const request = execRequest(lease, command, onChannel);
      attempt.track(request);
      return await request;
    } catch (err) {
      if (err instanceof NotSent) throw err;
      if (!isChannelOpenFailure(err) || n >= CHANNEL_OPEN_ATTEMPTS) throw channelError(err, lease, command);
      // sshd frees a session slot only after reaping the previous session's process: wait a little.
      const wait = 20 * 2 ** (n - 1);
      if (Date.now() + wait >= attempt.deadline) throw channelError(err, lease, command);
      logLine(`channel open on ${lease.label} refused (${messageOf(err)}); retry ${n} in ${wait} ms`);
      await sleep(wait);
    }
  }
}

function execRequest(lease: Lease, command: string, onChannel: (ch: ClientChannel) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      lease.client.exec(command, (err, ch) => {
        // A connection that closes while the session channel is still being opened fails the open with "No response
        // from server" (ssh2 1.x lib/client.js: the socket's close handler passes that error to
        // `_chanMgr.cleanup`, and lib/utils.js `onChannelOpenFailure` hands it to the pending open): the exec
        // request is sent only once the channel is open, so nothing ran. Once the channel is open, a close fails
        // the exec request with "Unable to exec" instead (`onCHANNEL_CLOSE` → the request's callback gets `true`):
        // the request was sent, and may have started the command.
        if (err)
          return reject(/^No response from server$/.test(err.message) ? new NotSent(err.message) : err);
        onChannel(ch);
        resolve();
      });
    } catch (err) {
      // ssh2 throws "Not connected" synchronously when the connection is already closed: nothing was sent.
      reject(/Not connected/i.test(messageOf(err)) ? new NotSent(messageOf(err)) : err);
    }
  });
}

/** Asks the command to stop (TERM, then KILL), then closes the channel; the slot is freed when it closes. */
function stopChannel(ch: ClientChannel, lease: Lease): void {
  ch.on("close", () => lease.release());
  ch.on("error", () => undefined);
  ch.stderr.resume();
  ch.resume();
  trySignal(ch, "TERM");
  const kill = setTimeout(() => {
    trySignal(ch, "KILL");
    ch.close();
  }, KILL_GRACE_MS);
  kill.unref();
  const release = setTimeout(() => lease.release(), KILL_GRACE_MS + STOP_RELEASE_MS);
  release.unref();
  ch.on("close", () => {
    clearTimeout(kill);
    clearTimeout(release);
  });
}

/** The parts of ssh2's channel internals that sending a signal needs (ssh2 1.x). */
interface ChannelInternals {
  type?: string;
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
}

/**
 * Sends a `signal` channel request; OpenSSH delivers it with killpg() to the session's process group, so a
 * compound command dies whole. ssh2's public `signal()` sends nothing once stdin is closed (it checks that the
 * stream is writable), although RFC 4254 allows requests after EOF, so the protocol method is used directly.
 */
function trySignal(ch: ClientChannel, name: string): void {
  const internals = ch as unknown as ChannelInternals;
  const protocol = internals._client?._protocol;
  const id = internals.outgoing?.id;
  try {
    if (
      internals.type === "session" &&
      internals.outgoing?.state !== "closed" &&
      id !== undefined &&
      protocol?.signal
    ) {
      protocol.signal(id, name);
    } else {
      ch.signal(name);
    }
  } catch {
    // The channel may already be closing; the close below still ends our side.
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Results and errors

function toResult(
  exit: ExitStatus,
  out: { stdout: OutputBuffer; stderr: OutputBuffer },
  lease: Lease,
  command: string,
  started: number,
): ExecResult {
  return {
    exitCode: exit.code,
    signal: exit.signal,
    stdout: out.stdout.text(),
    stderr: out.stderr.text(),
    stdoutTruncated: out.stdout.truncated,
    stderrTruncated: out.stderr.truncated,
    durationMs: Date.now() - started,
    host: lease.label,
    command,
  };
}
