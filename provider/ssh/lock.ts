/**
 * Per-host mutual exclusion inside the provider process.
 *
 * All dynamic resources share one provider process, and the engine runs independent resources in parallel.
 * Some host tools allow one transaction at a time (rpm-ostree refuses a second one with "Transaction in
 * progress"), so work that must not overlap on a host takes this lock; different hosts proceed in parallel.
 */
import { DEFAULT_PORT, type ConnectionArgs } from "./connection";

/** Tail of each lock's FIFO chain: the promise the next comer waits for. */
const tails = new Map<string, Promise<void>>();

/** Default lock name: one lock per host. */
export const DEFAULT_LOCK_NAME = "host";

/**
 * Runs `fn` while holding the lock `name` of the host `conn.host:conn.port` (the user and credentials do not
 * matter: it is the host's state being protected). Waiters run in arrival order. Locks with different names on
 * the same host are independent. The lock is released when `fn` settles, whether it resolves or throws.
 *
 * @param name lock name within the host. Default: `"host"`.
 */
export function withHostLock<T>(
  conn: Pick<ConnectionArgs, "host" | "port">,
  fn: () => Promise<T>,
): Promise<T>;
export function withHostLock<T>(
  conn: Pick<ConnectionArgs, "host" | "port">,
  name: string | undefined,
  fn: () => Promise<T>,
): Promise<T>;
export async function withHostLock<T>(
  conn: Pick<ConnectionArgs, "host" | "port">,
  nameOrFn: string | undefined | (() => Promise<T>),
  maybeFn?: () => Promise<T>,
): Promise<T> {
  const fn = typeof nameOrFn === "function" ? nameOrFn : maybeFn;
  if (!fn) throw new TypeError("withHostLock needs a function to run");
  const name = typeof nameOrFn === "string" ? nameOrFn : DEFAULT_LOCK_NAME;
  const key = `${conn.host.toLowerCase()}:${conn.port ?? DEFAULT_PORT}#${name}`;

  const previous = tails.get(key) ?? Promise.resolve();
  let unlock!: () => void;
  const mine = new Promise<void>((resolve) => (unlock = resolve));
  const tail = previous.then(() => mine);
  tails.set(key, tail);

  await previous;
  try {
    return await fn();
  } finally {
    unlock();
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** Number of locks currently held or waited for (for tests). */
export function activeHostLocks(): number {
  return tails.size;
}
