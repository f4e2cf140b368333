/**
 * Telling reboots apart: the kernel draws a random `boot_id` at every boot, so a host that reports a different
 * one has rebooted (the method of Ansible's `reboot` module). Uptime and "the connection dropped" are not proof:
 * sshd restarts drop connections too, and a reboot can be faster than a poll interval.
 */
import { connectionLabel, DEFAULT_PER_DIAL_TIMEOUT_S, type Connection } from "./connection";
import { RemoteError, isRemoteError, messageOf } from "./errors";
import { execOk } from "./exec";
import { logLine } from "./log";
import { evict, forgetUnreachable } from "./pool";
import { sleep } from "./sleep";

/** Where Linux exposes the current boot's id. */
export const BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id";

/** Default for {@link WaitForRebootOptions.timeoutMs}: 600 s, as Ansible's `reboot_timeout`. */
export const DEFAULT_REBOOT_TIMEOUT_MS = 600_000;
/** Default for {@link WaitForRebootOptions.pollMs}. */
export const DEFAULT_REBOOT_POLL_MS = 2000;
/** Upper bound for one boot-id read during the wait, so a half-dead connection cannot eat the deadline. */
const POLL_COMMAND_TIMEOUT_MS = 10_000;

const BOOT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses the content of {@link BOOT_ID_PATH}. Pure; returns an `Error` when it is not a UUID. */
export function parseBootId(stdout: string): string | Error {
  const id = stdout.trim().toLowerCase();
  return BOOT_ID_RE.test(id)
    ? id
    : new Error(`expected a UUID in ${BOOT_ID_PATH}, got ${JSON.stringify(stdout.slice(0, 80))}`);
}

/**
 * Reads the host's current boot id.
 *
 * @throws RemoteError of kind `parse` when the file does not hold a UUID, or any kind {@link execOk} throws.
 */
export async function readBootId(conn: Connection, opts: { timeoutMs?: number } = {}): Promise<string> {
  const result = await execOk(conn, ["cat", BOOT_ID_PATH], { timeoutMs: opts.timeoutMs });
  const id = parseBootId(result.stdout);
  if (id instanceof Error) {
    throw new RemoteError({
      kind: "parse",
      host: result.host,
      command: result.command,
      summary: id.message,
      hint: "the host does not look like a Linux host with a standard /proc",
    });
  }
  return id;
}

/** Options for {@link waitForReboot}. */
export interface WaitForRebootOptions {
  /** The boot id read before the reboot was requested (see {@link readBootId}). Required. */
  previousBootId: string;
  /** Milliseconds to wait for the host to come back with a new boot id. Default: 600000 (10 min). */
  timeoutMs?: number;
  /** Milliseconds between attempts to read the boot id. Default: 2000. */
  pollMs?: number;
}

/**
 * Waits until the host reports a boot id different from `previousBootId`, i.e. it went away and booted again,
 * and returns the new boot id. Unreachable, refused, dropped and timed-out attempts are expected while the host
 * is down and are retried every `pollMs`, each dial attempted once with a timeout bounded by the deadline.
 *
 * @throws RemoteError of kind `timeout` when the deadline passes, saying whether the host stayed unreachable or
 *   kept its old boot id; `hostkey` or `auth` at once (a host that comes back with another key or refuses the
 *   credentials will not fix itself).
 */
export async function waitForReboot(conn: Connection, opts: WaitForRebootOptions): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REBOOT_TIMEOUT_MS;
  const pollMs = opts.pollMs ?? DEFAULT_REBOOT_POLL_MS;
  const previous = opts.previousBootId.trim().toLowerCase();
  const deadline = Date.now() + timeoutMs;
  // What the wait saw: whether the host ever answered with its old boot id, and the last failure that was not
  // just the deadline cutting an attempt short (that says nothing about the host).
  let sawOldId = false;
  let lastFailure: string | undefined;
  logLine(`waiting up to ${timeoutMs / 1000} s for ${connectionLabel(conn)} to boot again`);
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw rebootTimeout(conn, timeoutMs, sawOldId, lastFailure, previous);
    forgetUnreachable(conn);
    try {
      const id = await readBootId(pollConnection(conn, remaining), {
        timeoutMs: Math.min(POLL_COMMAND_TIMEOUT_MS, remaining),
      });
      if (id !== previous) return id;
      sawOldId = true;
      lastFailure = undefined;
    } catch (err) {
      if (isRemoteError(err, "hostkey", "auth")) throw err;
      const cutByDeadline = isRemoteError(err, "timeout") && Date.now() >= deadline;
      if (!cutByDeadline || (!sawOldId && lastFailure === undefined))
        lastFailure = messageOf(err).split("\n")[0];
      // A connection that timed out may be half-dead (no FIN from a host that lost power): start afresh.
      if (isRemoteError(err, "timeout")) evict(conn);
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
}

/** The connection with one dial attempt per poll, its timeout bounded by what is left of the deadline. */
function pollConnection(conn: Connection, remainingMs: number): Connection {
  const bound = (perDialTimeout: number | undefined) => {
    const s = perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT_S;
    const left = Math.max(1, Math.ceil(remainingMs / 1000));
    return s === 0 ? left : Math.min(s, left);
  };
  return {
    ...conn,
    dialErrorLimit: 1,
    perDialTimeout: bound(conn.perDialTimeout),
    proxy: conn.proxy
      ? { ...conn.proxy, dialErrorLimit: 1, perDialTimeout: bound(conn.proxy.perDialTimeout) }
      : undefined,
  };
}

function rebootTimeout(
  conn: Connection,
  timeoutMs: number,
  sawOldId: boolean,
  lastFailure: string | undefined,
  previous: string,
): RemoteError {
  const seen = !sawOldId
    ? `it was unreachable at every attempt (last: ${lastFailure ?? "no attempt finished"})`
    : lastFailure === undefined
      ? `it still reported the old boot id ${previous} at the last attempt`
      : `it still reported the old boot id ${previous}, then became unreachable (${lastFailure})`;
  return new RemoteError({
    kind: "timeout",
    host: connectionLabel(conn),
    summary: `the host did not come back with a new boot id within ${Math.round(timeoutMs / 1000)} s; ${seen}`,
    hint:
      "look at the host's console: it may be stuck shutting down, have failed to boot (rpm-ostree boots the previous " +
      "deployment if the new one fails), or have come back on another address; if it is just slow, raise the timeout",
  });
}
