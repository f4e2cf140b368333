/**
 * The connection pool of the provider process: one authenticated SSH connection per pool key (host, port, user
 * and a hash of credentials, host-key policy and proxy), shared by every command for that host.
 *
 * A handshake costs ~55 ms on a LAN and 0.1-3 s over a WAN; a command on an open connection ~2 ms. Each
 * connection carries at most {@link PoolOptions.maxChannels} channels at once because OpenSSH's `MaxSessions`
 * (default 10) refuses more, and frees a slot only after reaping the session's process. A connection that drops
 * is evicted and the next command dials a new one; an idle connection is closed after
 * {@link PoolOptions.idleMs}.
 */
import type { Client } from "ssh2";
import { endpointHash, resolveConnection, type Connection, type ResolvedConnection } from "./connection";
import { defaultBackoffMs, dial, type DialedConnection, type JumpHosts } from "./dial";
import { RemoteError, isRemoteError } from "./errors";
import { hostIdentity, knownHostIdentity } from "./identity";
import { logLine } from "./log";

/** Pool tuning. Every field has a default; see {@link configurePool}. */
export interface PoolOptions {
  /**
   * Share one connection per host between operations. `false` dials a connection per operation and closes it
   * afterwards, as `@pulumi/command` does (for comparison). Default: `true`, unless the environment variable
   * `PULUMI_ATOMIC_HOST_SSH_REUSE` is `false` or `0`.
   */
  reuse?: boolean;
  /** Channels (concurrent commands) per connection; more wait in FIFO order. Default: `8` (sshd allows 10). */
  maxChannels: number;
  /** Milliseconds a connection may sit unused before it is closed. Default: `2000`. */
  idleMs: number;
  /**
   * Milliseconds between SSH keepalives, which detect a host that died or rebooted without closing the TCP
   * connection. Default: `10000`.
   */
  keepaliveMs: number;
  /** Unanswered keepalives before the connection is declared dead. Default: `3`. */
  keepaliveCountMax: number;
  /** Milliseconds to wait before dial retry `n` (1-based). Default: 250 ms doubling up to 5 s. */
  dialBackoffMs: (attempt: number) => number;
  /**
   * Milliseconds during which a host whose dial failed (every attempt refused, unreachable or timed out) fails
   * again at once instead of being dialled anew, so the resources of a dead host each fail in seconds rather than
   * each spending the whole retry budget. `0` turns it off. Default: `0` (the provider process sets 60 s).
   */
  unreachableMemoMs: number;
}

const DEFAULT_OPTIONS: PoolOptions = {
  reuse: undefined,
  maxChannels: 8,
  idleMs: 2000,
  keepaliveMs: 10_000,
  keepaliveCountMax: 3,
  dialBackoffMs: defaultBackoffMs,
  unreachableMemoMs: 0,
};

/** Hosts whose last dial failed with kind `connect`: when, and what it said. */
const unreachable = new Map<string, { at: number; error: RemoteError }>();

/** Forgets that `conn`'s host was unreachable (a reboot wait polls a host that is down on purpose). */
export function forgetUnreachable(conn: Connection): void {
  unreachable.delete(resolveConnection(conn).poolKey);
}

function recentlyUnreachable(rc: ResolvedConnection): RemoteError | undefined {
  const memo = unreachable.get(rc.poolKey);
  if (!memo || options.unreachableMemoMs <= 0) return undefined;
  const ageMs = Date.now() - memo.at;
  if (ageMs > options.unreachableMemoMs) {
    unreachable.delete(rc.poolKey);
    return undefined;
  }
  return new RemoteError({
    kind: "connect",
    host: memo.error.host,
    summary:
      `not dialled again: this host could not be reached ${Math.round(ageMs / 1000)} s ago in this run ` +
      `(${memo.error.message.split("\n")[0]})`,
    hint: memo.error.hint,
  });
}

let options: PoolOptions = { ...DEFAULT_OPTIONS };

/** Changes pool tuning for connections opened from now on. Pass `{}` after {@link resetPoolOptions} in tests. */
export function configurePool(changes: Partial<PoolOptions>): void {
  options = { ...options, ...changes };
}

/** Restores every pool option to its default. */
export function resetPoolOptions(): void {
  options = { ...DEFAULT_OPTIONS };
}

/** True when operations share pooled connections (option, else environment, else `true`). */
export function reuseEnabled(): boolean {
  if (options.reuse !== undefined) return options.reuse;
  const env = (process.env.PULUMI_ATOMIC_HOST_SSH_REUSE ?? "").trim().toLowerCase();
  return env !== "false" && env !== "0";
}

/** A channel slot on a connection, held while one command runs. */
export interface Lease {
  /** The authenticated ssh2 client. Open at most one channel on it per lease. */
  readonly client: Client;
  /** `user@host:port`. */
  readonly label: string;
  /** True once the connection is gone; a channel opened now would never get an answer. */
  readonly gone: boolean;
  /** Gives the slot back. Idempotent. */
  release(): void;
}

/** Counters for tests and benchmarks. */
export interface PoolStats {
  /** Connections currently open or being dialed, pooled ones only. */
  open: number;
  /** Connections successfully established since the process started (pooled or not). */
  dialed: number;
}

const entries = new Map<string, PoolEntry>();
const stats = { dialed: 0 };

/**
 * Takes a channel slot on the connection for `conn`, dialing it if needed.
 *
 * @throws RemoteError of kind `connect`, `hostkey` or `auth` when no connection can be made.
 */
export async function acquire(conn: Connection): Promise<Lease> {
  const rc = resolveConnection(conn);
  const known = recentlyUnreachable(rc);
  if (known) throw known;
  const key = entryKey(rc, await hostIdentity(rc));
  // A pooled connection can drop between being chosen and being used; then nothing was sent, so take a fresh one.
  for (let attempt = 1; ; attempt++) {
    const entry = reuseEnabled() ? pooledEntry(rc, key) : new PoolEntry(rc, false, key);
    const lease = await entry.lease();
    if (!lease.gone || attempt >= 3) return lease;
    lease.release();
  }
}

/** Closes the pooled connection for `conn`, if any (commands in flight on it fail with kind `connection`). */
export function evict(conn: Connection): void {
  const rc = resolveConnection(conn);
  const identity = knownHostIdentity(rc);
  if (identity !== undefined) entries.get(entryKey(rc, identity))?.close("evicted");
}

/** `user@ADDRESS:PORT#hash`: one entry per host identity, user and credentials (see {@link hostIdentity}). */
function entryKey(rc: ResolvedConnection, identity: string): string {
  return `${rc.user}@${identity}#${rc.credentialHash}`;
}

/** Closes every pooled connection and waits (at most `timeoutMs`, default 2 s) until they are closed. */
export async function closeAll(timeoutMs = 2000): Promise<void> {
  const closing = [...entries.values()].map((e) => e.closeAndWait(timeoutMs));
  entries.clear();
  unreachable.clear();
  await Promise.all(closing);
}

/** Current pool counters. */
export function poolStats(): PoolStats {
  return { open: entries.size, dialed: stats.dialed };
}

function pooledEntry(rc: ResolvedConnection, key: string): PoolEntry {
  let entry = entries.get(key);
  if (!entry || entry.closed) {
    entry = new PoolEntry(rc, true, key);
    entries.set(key, entry);
  }
  return entry;
}

/**
 * Jump host connections, one per jump host identity (address, port, user, credentials), shared by every target
 * connection through it: one bastion connection per run, not one per target. Closed once no target uses it.
 */
const jumpHosts = new Map<string, { client: Promise<Client>; users: number }>();
const jumpKeyOf = new Map<Client, string>();

const sharedJumpHosts: JumpHosts = {
  async acquire(ep, dialOne) {
    const key = `${ep.user}@${await hostIdentity(ep)}#${endpointHash(ep)}`;
    let entry = jumpHosts.get(key);
    if (!entry) {
      entry = { client: dialOne(), users: 0 };
      jumpHosts.set(key, entry);
      const mine = entry;
      mine.client.then(
        (c) => {
          jumpKeyOf.set(c, key);
          stats.dialed++;
          // A jump host that drops is dialled afresh by the next target.
          c.on("close", () => {
            if (jumpHosts.get(key) === mine) jumpHosts.delete(key);
          });
        },
        () => {
          if (jumpHosts.get(key) === mine) jumpHosts.delete(key);
        },
      );
    }
    entry.users++;
    try {
      return await entry.client;
    } catch (err) {
      entry.users--;
      throw err;
    }
  },
  release(client) {
    const key = jumpKeyOf.get(client);
    const entry = key === undefined ? undefined : jumpHosts.get(key);
    if (!entry) return void client.end();
    entry.users--;
    if (entry.users > 0) return;
    jumpHosts.delete(key!);
    jumpKeyOf.delete(client);
    client.end();
  },
};

/** One connection (dialed lazily, once) and its channel semaphore. */
class PoolEntry {
  closed = false;
  private connection?: Promise<DialedConnection>;
  private dialed?: DialedConnection;
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private idleTimer?: NodeJS.Timeout;

  constructor(
    private readonly rc: ResolvedConnection,
    private readonly pooled: boolean,
    private readonly key: string,
  ) {}

  async lease(): Promise<Lease> {
    await this.takeSlot();
    let dialed: DialedConnection;
    try {
      dialed = await this.connect();
    } catch (err) {
      this.releaseSlot();
      throw err;
    }
    return this.makeLease(dialed);
  }

  close(reason: string): void {
    if (!this.closed) logLine(`closing connection to ${this.rc.label} (${reason})`);
    this.markClosed();
    this.dialed?.close();
  }

  async closeAndWait(timeoutMs: number): Promise<void> {
    const dialed = this.dialed;
    this.close("closeAll");
    if (!dialed || dialed.gone) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      dialed.onGone(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private connect(): Promise<DialedConnection> {
    if (!this.connection) {
      const dialOptions = {
        keepaliveMs: options.keepaliveMs,
        keepaliveCountMax: options.keepaliveCountMax,
        backoffMs: options.dialBackoffMs,
      };
      this.connection = dial(this.rc, dialOptions, reuseEnabled() ? sharedJumpHosts : undefined).then(
        (d) => {
          unreachable.delete(this.rc.poolKey);
          return this.adopt(d);
        },
        (err: unknown) => {
          if (isRemoteError(err, "connect")) unreachable.set(this.rc.poolKey, { at: Date.now(), error: err });
          // Everyone queued on this attempt gets its error; the next caller dials afresh.
          this.markClosed();
          throw err;
        },
      );
    }
    return this.connection;
  }

  private adopt(d: DialedConnection): DialedConnection {
    stats.dialed++;
    this.dialed = d;
    d.onGone((reason) => {
      if (!this.closed) logLine(`connection to ${this.rc.label} lost (${reason})`);
      this.markClosed();
    });
    if (this.closed) d.close(); // closeAll() ran while we were dialing
    return d;
  }

  private makeLease(d: DialedConnection): Lease {
    let released = false;
    return {
      client: d.client,
      label: this.rc.label,
      get gone() {
        return d.gone;
      },
      release: () => {
        if (released) return;
        released = true;
        this.releaseSlot();
      },
    };
  }

  private takeSlot(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.active < options.maxChannels) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the slot to the next waiter (FIFO), or frees it and arms the idle timer. */
  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next) return next();
    this.active--;
    if (this.active > 0) return;
    if (!this.pooled) return this.close("operation finished, reuse is off");
    this.idleTimer = setTimeout(() => this.close(`idle for ${options.idleMs} ms`), options.idleMs);
    // An idle pooled connection alone must not keep the process alive waiting for this timer.
    this.idleTimer.unref();
  }

  private markClosed(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (entries.get(this.key) === this) entries.delete(this.key);
  }
}
