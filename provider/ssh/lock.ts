/**
 * Per-host mutual exclusion inside the provider process.
 *
 * All dynamic resources share one provider process, and the engine runs independent resources in parallel.
 * Some host tools allow one transaction at a time (rpm-ostree refuses a second one with "Transaction in
 * progress"), so work that must not overlap on a host takes this lock; different hosts proceed in parallel.
 * The lock is keyed by the host's identity ({@link hostIdentity}: resolved address and port), so one host named
 * two ways is one lock. A command whose connection was lost while it ran may still be running on the host until
 * its host-side bound passes ({@link holdHostUntil}); the next holder of that host's lock waits for that, unless the
 * host cannot be reached at all (then it fails at once, as its command would after the wait).
 */
import type { Connection } from "./connection";
import { hostIdentity } from "./identity";
import { logLine } from "./log";
import { acquire } from "./pool";
import { sleep } from "./sleep";

/** Tail of each lock's FIFO chain: the promise the next comer waits for. */
const tails = new Map<string, Promise<void>>();
/** Per host identity: until when (epoch ms) a command the client lost track of may still run there. */
const busyUntil = new Map<string, number>();

/**
 * Runs `fn` while holding the lock of the host `conn.host:conn.port` (the user and credentials do not matter: it
 * is the host's state being protected). Waiters run in arrival order. The lock is released when `fn` settles,
 * whether it resolves or throws. Before `fn` runs, the holder also waits until no orphaned command may still be
 * running on the host.
 */
export async function withHostLock<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  const identity = await hostIdentity(conn);

  const previous = tails.get(identity) ?? Promise.resolve();
  let unlock!: () => void;
  const mine = new Promise<void>((resolve) => (unlock = resolve));
  const tail = previous.then(() => mine);
  tails.set(identity, tail);

  await previous;
  try {
    await waitUntilIdle(identity, conn);
    return await fn();
  } finally {
    unlock();
    if (tails.get(identity) === tail) tails.delete(identity);
  }
}

/**
 * Marks the host busy until `untilMs` (epoch ms): a command was sent there and the connection was lost before its
 * exit status came back, so it may run until its host-side bound. Later lock holders of the host wait for it.
 */
export function holdHostUntil(conn: Pick<Connection, "host" | "port">, untilMs: number): void {
  void hostIdentity(conn).then((identity) => {
    busyUntil.set(identity, Math.max(busyUntil.get(identity) ?? 0, untilMs));
  });
}

/**
 * Says the command that {@link holdHostUntil} waited for is known to have ended (its outcome was read from the
 * host after a reconnect), so later lock holders need not wait for its bound.
 */
export function releaseHostHold(conn: Pick<Connection, "host" | "port">): void {
  void hostIdentity(conn).then((identity) => busyUntil.delete(identity));
}

async function waitUntilIdle(identity: string, conn: Connection): Promise<void> {
  const until = busyUntil.get(identity);
  if (until === undefined) return;
  if (until > Date.now()) {
    await failIfUnreachable(conn);
    const wait = until - Date.now();
    if (wait > 0) {
      logLine(
        `waiting ${Math.ceil(wait / 1000)} s for ${conn.host}: a command whose connection was lost may run until then`,
      );
      await sleep(wait);
    }
  }
  if ((busyUntil.get(identity) ?? 0) <= Date.now()) busyUntil.delete(identity);
}

/**
 * Before waiting out an orphaned command's bound: a host that cannot be reached now could not take the next command
 * after the wait either, so its dial error is thrown at once (a dead sshd fails the host's queued resources in
 * seconds instead of after the bound, up to half an hour). The probe is the pool's own acquire: the connection it
 * opens stays pooled for the command that follows, and a host found unreachable earlier in the run fails at once.
 * Nothing runs on the host.
 */
async function failIfUnreachable(conn: Connection): Promise<void> {
  try {
    (await acquire(conn)).release();
  } catch (err) {
    logLine(
      `not waiting for ${conn.host}: a command whose connection was lost may still run there, but the host cannot be reached`,
    );
    throw err;
  }
}

/** Number of locks currently held or waited for (for tests). */
export function activeHostLocks(): number {
  return tails.size;
}
