/**
 * Dialing: one authenticated ssh2 `Client` per call, through at most one jump host, with retries where they
 * are safe.
 *
 * Retried (with backoff, up to `dialErrorLimit` attempts of at most `perDialTimeout` each): refused, reset,
 * unreachable, timed-out and DNS failures, and a connection lost before the SSH banner. Never retried:
 * authentication and host-key failures (retrying cannot fix them, and `@pulumi/command` hammering a server with
 * a wrong password is how accounts get locked), and anything after authentication succeeded.
 */
import * as net from "net";
import { Client, utils, type AnyAuthMethod, type ConnectConfig } from "ssh2";
import type { Duplex } from "stream";
import { RemoteError, messageOf } from "./errors";
import { buildHostKeyCheck, hostKeySetting, type HostKeyCheck, type HostKeyVerdict } from "./hostKey";
import type { ResolvedConnection, ResolvedEndpoint } from "./connection";
import {
  classifyDialError,
  classifySocketFailure,
  dialFailureReason,
  dialTimeout,
  fail,
  lostBeforeReady,
  type Attempt,
} from "./dialErrors";
import { progressLine } from "./log";
import { sleep } from "./sleep";

/** Tuning for {@link dial}. */
export interface DialOptions {
  /** Milliseconds between SSH keepalives on an established connection; `0` disables them. */
  keepaliveMs: number;
  /** Unanswered keepalives before the connection is declared dead. */
  keepaliveCountMax: number;
  /** Milliseconds to wait before retry `n` (1-based) of a failed dial. */
  backoffMs: (attempt: number) => number;
}

/** An authenticated connection, possibly through a jump host. */
export interface DialedConnection {
  /** The authenticated client of the target host. */
  readonly client: Client;
  /** Ends the target connection and, when there is one, the jump host connection. Idempotent. */
  close(): void;
  /**
   * Calls `fn` once when the connection is gone (closed, ended, errored or keepalive timeout), with the reason.
   * Called immediately if it is already gone.
   */
  onGone(fn: (reason: string) => void): void;
  /** True once the connection is gone. */
  readonly gone: boolean;
}

/**
 * Where {@link dial} gets its jump host connection: a shared one (the pool keeps one per jump host for every
 * target behind it) that it hands back with `release` when the target connection is gone.
 */
export interface JumpHosts {
  acquire(ep: ResolvedEndpoint, dialOne: () => Promise<Client>): Promise<Client>;
  release(client: Client): void;
}

/** Default backoff: 250 ms, doubling, at most 5 s. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 5000);
}

/**
 * Opens an authenticated connection to `rc` (through `rc.proxy` when set).
 *
 * @throws RemoteError of kind `connect`, `hostkey` or `auth`.
 */
export async function dial(
  rc: ResolvedConnection,
  opts: DialOptions,
  jumpHosts?: JumpHosts,
): Promise<DialedConnection> {
  const dialProxy = () => dialWithRetry(rc.proxy!, (signal) => directSocket(rc.proxy!, signal), opts);
  const proxy = rc.proxy
    ? await (jumpHosts ? jumpHosts.acquire(rc.proxy, dialProxy) : dialProxy())
    : undefined;
  const letGo = (c: Client) => (jumpHosts ? jumpHosts.release(c) : c.end());
  try {
    const proxyState = proxy ? watch(proxy) : undefined;
    const sockFactory = proxy
      ? (signal: AbortSignal) => forwardedSocket(proxy, proxyState!, rc.proxy!, rc, signal)
      : (signal: AbortSignal) => directSocket(rc, signal);
    const target = await dialWithRetry(rc, sockFactory, opts);
    return wrap(target, proxy, proxyState, letGo);
  } catch (err) {
    if (proxy) letGo(proxy);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Retry loop

/** Opens the byte stream one attempt runs SSH over; when `signal` aborts, the stream (or the connect) is torn down. */
type SocketFactory = (signal: AbortSignal) => Promise<Duplex>;

async function dialWithRetry(
  ep: ResolvedEndpoint,
  makeSock: SocketFactory,
  opts: DialOptions,
): Promise<Client> {
  const hostCheck = buildHostKeyCheck(ep);
  if (hostCheck instanceof Error) {
    throw new RemoteError({
      kind: "hostkey",
      host: ep.label,
      summary: hostCheck.message,
      hint: `fix ${hostKeySetting(ep.hostKeyPolicy)}`,
    });
  }
  const authMethods = buildAuthMethods(ep);
  const limitText = ep.dialErrorLimit === Infinity ? "unlimited" : String(ep.dialErrorLimit);
  for (let attempt = 1; ; attempt++) {
    const result = await dialOnce(ep, makeSock, hostCheck, authMethods, opts);
    if (result.ok) return result.client;
    if (!result.retriable) throw result.error;
    // One line per attempt, so a person watching an `up` sees why it waits (10 attempts take about 27 s).
    const failed = `${ep.label}: dial attempt ${attempt}/${limitText} failed: ${dialFailureReason(result.error.message)}`;
    if (attempt >= ep.dialErrorLimit) {
      progressLine(`${failed}; giving up`);
      throw result.error;
    }
    const wait = opts.backoffMs(attempt);
    progressLine(`${failed}; retrying in ${wait < 1000 ? `${wait} ms` : `${(wait / 1000).toFixed(1)} s`}`);
    await sleep(wait);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One attempt

function dialOnce(
  ep: ResolvedEndpoint,
  makeSock: SocketFactory,
  hostCheck: HostKeyCheck,
  authMethods: AnyAuthMethod[],
  opts: DialOptions,
): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    const client = new Client();
    const notes: string[] = [];
    let verdict: HostKeyVerdict | undefined;
    let sock: Duplex | undefined;
    let settled = false;
    const abort = new AbortController();

    const finish = (result: Attempt) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      // A TCP connect still waiting for its SYN-ACK is aborted too: no half-open socket outlives its attempt.
      if (!result.ok) abort.abort();
      client.removeAllListeners();
      // An 'error' event without a listener would crash the process; the new owner adds its own next.
      client.on("error", () => undefined);
      if (!result.ok) {
        client.end();
        sock?.destroy();
      }
      resolve(result);
    };
    const timer =
      ep.perDialTimeoutMs > 0 ? setTimeout(() => finish(dialTimeout(ep)), ep.perDialTimeoutMs) : undefined;

    makeSock(abort.signal).then(
      (s) => {
        sock = s;
        if (settled) return void s.destroy();
        client.on("ready", () => finish({ ok: true, client }));
        client.on("error", (err: Error & { level?: string }) => {
          // ssh2 reports an unusable agent and then moves on to the next method: not fatal.
          if (err.level === "agent") return void notes.push(`ssh-agent: ${messageOf(err)}`);
          finish(classifyDialError(err, ep, verdict, notes));
        });
        client.on("close", () => finish(lostBeforeReady(ep, notes)));
        try {
          client.connect(connectConfig(ep, s, hostCheck, authMethods, opts, (v) => (verdict = v)));
        } catch (err) {
          const summary = `could not start the SSH client: ${messageOf(err)}`;
          finish(fail(new RemoteError({ kind: "connect", host: ep.label, summary }), false));
        }
      },
      (err: unknown) => finish(classifySocketFailure(err, ep)),
    );
  });
}

function connectConfig(
  ep: ResolvedEndpoint,
  sock: Duplex,
  hostCheck: HostKeyCheck,
  authHandler: AnyAuthMethod[],
  opts: DialOptions,
  record: (v: HostKeyVerdict) => void,
): ConnectConfig {
  return {
    sock,
    username: ep.user,
    // Our own per-dial timer covers connect + handshake + auth; ssh2's would only cover the handshake.
    readyTimeout: 0,
    keepaliveInterval: opts.keepaliveMs,
    keepaliveCountMax: opts.keepaliveCountMax,
    algorithms: hostCheck.serverHostKeyAlgorithms
      ? {
          serverHostKey: hostCheck.serverHostKeyAlgorithms as NonNullable<
            ConnectConfig["algorithms"]
          >["serverHostKey"],
        }
      : undefined,
    hostVerifier: (blob: Buffer): boolean => {
      const v = hostCheck.verify(blob);
      record(v);
      return v.ok;
    },
    authHandler,
  };
}

/**
 * The order of `@pulumi/command`: private key, then password (and keyboard-interactive answering the password to
 * every prompt, for servers that only offer that), then the agent.
 */
function buildAuthMethods(ep: ResolvedEndpoint): AnyAuthMethod[] {
  const { privateKey, privateKeyPassword, password, agentSocketPath } = ep.auth;
  const username = ep.user;
  const methods: AnyAuthMethod[] = [];
  if (privateKey !== undefined) {
    methods.push({ type: "publickey", username, key: parsePrivateKey(ep, privateKey, privateKeyPassword) });
  }
  if (password !== undefined) {
    methods.push({ type: "password", username, password });
    methods.push({
      type: "keyboard-interactive",
      username,
      prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => password)),
    });
  }
  if (agentSocketPath) methods.push({ type: "agent", username, agent: agentSocketPath });
  if (methods.length === 0) {
    throw new RemoteError({
      kind: "auth",
      host: ep.label,
      summary:
        "no credentials to log in with: no private key, no password and no ssh-agent (SSH_AUTH_SOCK is unset)",
      hint:
        'set the stack secret atomic-host:privateKey ("pulumi config set --secret atomic-host:privateKey < ~/.ssh/KEY"), ' +
        "or atomic-host:password (atomic-host:privateKeyPassword for an encrypted key, atomic-host:user for another " +
        "user than root); or set connection.privateKey or connection.password; or run an ssh-agent holding the key",
    });
  }
  return methods;
}

/** Parsed up front so a bad key or passphrase is reported as such (ssh2 would silently skip the method). */
function parsePrivateKey(ep: ResolvedEndpoint, key: string, passphrase: string | undefined) {
  const parsed = utils.parseKey(key, passphrase);
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (first instanceof Error || !first) {
    const why = first instanceof Error ? messageOf(first) : "no key found";
    throw new RemoteError({
      kind: "auth",
      host: ep.label,
      summary: `connection.privateKey could not be used: ${why}`,
      hint: "pass the key's contents (not its path) in OpenSSH or PEM format; if it is encrypted, set connection.privateKeyPassword to its passphrase",
    });
  }
  return first;
}

// ---------------------------------------------------------------------------------------------------------------
// Sockets

/**
 * A connected TCP socket with Nagle off: ssh2 leaves it on, which costs a delayed ACK (~40 ms) on every command.
 * Handed over only once connected, so no early socket error can fire before ssh2 listens for it.
 */
function directSocket(ep: ResolvedEndpoint, signal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: ep.host, port: ep.port });
    sock.setNoDelay(true);
    const onAbort = () => {
      sock.destroy();
      reject(new Error("dial attempt abandoned"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    sock.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    sock.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      resolve(sock);
    });
  });
}

interface Watched {
  gone: boolean;
}

function watch(client: Client): Watched {
  const state: Watched = { gone: false };
  client.on("error", () => undefined);
  client.on("close", () => (state.gone = true));
  client.on("end", () => (state.gone = true));
  return state;
}

/** A `direct-tcpip` channel from the jump host to the target (the jump host needs `AllowTcpForwarding`). */
function forwardedSocket(
  proxy: Client,
  state: Watched,
  proxyEp: ResolvedEndpoint,
  target: ResolvedEndpoint,
  signal: AbortSignal,
): Promise<Duplex> {
  if (state.gone) {
    // ssh2 would wait forever for a reply on a closed connection.
    const err = new Error(`lost the connection to the jump host ${proxyEp.label}`);
    return Promise.reject(Object.assign(err, { fatal: true, via: proxyEp.label }));
  }
  return new Promise((resolve, reject) => {
    proxy.forwardOut("127.0.0.1", 0, target.host, target.port, (err, stream) => {
      if (err) return reject(Object.assign(err, { via: proxyEp.label }));
      // A channel that opens after its attempt was abandoned is closed at once.
      if (signal.aborted) return void stream.destroy();
      resolve(stream);
    });
  });
}

/** How long the jump host connection outlives a target that does not close when asked. */
const PROXY_CLOSE_GRACE_MS = 2000;

function wrap(
  client: Client,
  proxy: Client | undefined,
  proxyState: Watched | undefined,
  letGo: (proxy: Client) => void,
): DialedConnection {
  const listeners: Array<(reason: string) => void> = [];
  let goneReason: string | undefined;
  let lastError: string | undefined;
  let proxyLetGo = false;
  const releaseProxy = () => {
    if (!proxy || proxyLetGo) return;
    proxyLetGo = true;
    letGo(proxy);
  };
  const markGone = (reason: string) => {
    if (goneReason !== undefined) return;
    goneReason = lastError ? `${reason}: ${lastError}` : reason;
    releaseProxy();
    for (const fn of listeners.splice(0)) fn(goneReason);
  };
  client.on("error", (err: Error) => (lastError = messageOf(err)));
  client.on("end", () => markGone("the server ended the connection"));
  client.on("close", () => markGone("the connection closed"));
  proxy?.on("close", () => client.end());
  if (proxyState?.gone) client.end();
  return {
    client,
    get gone() {
      return goneReason !== undefined;
    },
    close() {
      // The target first: its disconnect travels through the jump host, which is ended once the target has
      // closed (markGone), or after a grace period if it never does.
      client.end();
      if (proxy) setTimeout(releaseProxy, PROXY_CLOSE_GRACE_MS).unref();
    },
    onGone(fn) {
      if (goneReason !== undefined) fn(goneReason);
      else listeners.push(fn);
    },
  };
}
