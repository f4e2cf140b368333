/**
 * How to reach a host: the connection shape (field for field that of `@pulumi/command`'s `remote.Connection`, so
 * a user can pass the same object to both), the provider-wide default credentials, and their resolution into
 * the plain settings the dialer uses.
 */
import { createHash, randomBytes } from "crypto";
import { registerIdentifier, registerSecret } from "./errors";

/**
 * Settings for one SSH hop. Field names, meanings and defaults are those of `@pulumi/command`
 * `remote.ProxyConnection`, plus {@link knownHosts} and {@link insecureIgnoreHostKey}.
 */
export interface ProxyConnection {
  /** Host name or IP address to connect to. Required. */
  host: string;
  /** TCP port of sshd. Default: `22`. */
  port?: number;
  /** User to log in as. Default: the `user` set by {@link setDefaultCredentials}, else `"root"`. */
  user?: string;
  /** Password for password and keyboard-interactive authentication. Secret. Default: none. */
  password?: string;
  /**
   * Contents (not path) of a private key in OpenSSH or PEM format. Tried before the password. Secret.
   * Default: none.
   */
  privateKey?: string;
  /** Passphrase of an encrypted {@link privateKey}. Secret. Default: none. */
  privateKeyPassword?: string;
  /** Path of the ssh-agent socket, tried after the key and password. Default: `$SSH_AUTH_SOCK`. */
  agentSocketPath?: string;
  /**
   * How many failed dial attempts (refused, unreachable, DNS, handshake timeout) are allowed before giving
   * up; `-1` means no limit. Authentication and host-key failures are never retried. Default: `10`.
   */
  dialErrorLimit?: number;
  /**
   * Seconds each dial attempt (TCP connect, handshake and authentication) may take; `0` means no limit.
   * Default: `15`.
   */
  perDialTimeout?: number;
  /**
   * The host key the server must present, as an OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`, the
   * content of `/etc/ssh/ssh_host_ed25519_key.pub`, or an `authorized_keys`/`ssh-keyscan` line), or as an
   * OpenSSH SHA-256 fingerprint (`SHA256:…`, as `ssh-keygen -lf` prints). Default: none; then
   * {@link knownHosts} is used, and if neither is set the connection is refused unless
   * {@link insecureIgnoreHostKey} is true.
   */
  hostKey?: string;
  /**
   * Where {@link hostKey} was configured, e.g. `my-cluster:cluster.hosts[0].hostKey` (AtomicCluster sets it from
   * the stack configuration): host-key errors name that path instead of `connection.hostKey`, so the person
   * fixing it knows which line to edit. Not a credential. Default: none.
   */
  hostKeySource?: string;
  /**
   * Contents of a `known_hosts` file used to verify the host key when {@link hostKey} is not set. Plain
   * (`host`, `[host]:port`, wildcards, negation) and hashed (`|1|…`) entries and `@revoked` markers are
   * understood. For the proxy hop, the target's value is used when the proxy sets none. Default: the
   * `knownHosts` set by {@link setDefaultCredentials}, else none.
   */
  knownHosts?: string;
  /**
   * Accept any host key, as `@pulumi/command` does when `hostKey` is unset. This lets a man in the middle read
   * every command and credential; use only for throwaway hosts. Has no effect when {@link hostKey} or
   * {@link knownHosts} is set (those are always verified). Never inherited by the proxy hop. Default: `false`.
   */
  insecureIgnoreHostKey?: boolean;
}

/**
 * How to reach a host over SSH: the `@pulumi/command` `remote.Connection` shape (a value of that type is
 * assignable to this one), with at most one {@link proxy} (jump host) in front of it.
 */
export interface Connection extends ProxyConnection {
  /** A jump host through which the target is reached (one hop, as in `@pulumi/command`). Default: none. */
  proxy?: ProxyConnection;
}

/** Credentials and defaults the provider registers once, from its `configure` (stack config). */
export interface DefaultCredentials {
  /** User for connections that set none. Default: `"root"`. */
  user?: string;
  /** Private key contents used when a connection sets neither `privateKey` nor `password`. Secret. */
  privateKey?: string;
  /** Passphrase of {@link privateKey}. Secret. */
  privateKeyPassword?: string;
  /** Password used when a connection sets neither `privateKey` nor `password`. Secret. */
  password?: string;
  /** `known_hosts` contents used when a connection sets neither `hostKey` nor `knownHosts`. */
  knownHosts?: string;
  /** ssh-agent socket used when a connection sets none. Default: `$SSH_AUTH_SOCK`. */
  agentSocketPath?: string;
}

let defaults: DefaultCredentials = {};

/**
 * Registers provider-wide default credentials, replacing earlier ones. Their secrets are registered for
 * redaction. Call it from the provider's `configure`; connections' explicit fields still win.
 */
export function setDefaultCredentials(creds: DefaultCredentials): void {
  registerSecret(creds.privateKey);
  registerSecret(creds.privateKeyPassword);
  registerSecret(creds.password);
  defaults = { ...creds };
}

/** The default credentials currently registered (a copy). */
export function getDefaultCredentials(): DefaultCredentials {
  return { ...defaults };
}

// ---------------------------------------------------------------------------------------------------------------
// Resolution

/** Default SSH port. */
export const DEFAULT_PORT = 22;
/** Default login user, as in `@pulumi/command`. */
export const DEFAULT_USER = "root";
/** Default number of failed dial attempts allowed. */
export const DEFAULT_DIAL_ERROR_LIMIT = 10;
/** Default seconds per dial attempt. */
export const DEFAULT_PER_DIAL_TIMEOUT_S = 15;

/** The credentials one hop authenticates with, after defaults are applied. */
export interface ResolvedAuth {
  privateKey?: string;
  privateKeyPassword?: string;
  password?: string;
  agentSocketPath?: string;
}

/** How one hop verifies the server's host key. */
export interface HostKeyPolicy {
  hostKey?: string;
  /** Where `hostKey` was configured, for messages (see {@link ProxyConnection.hostKeySource}). */
  hostKeySource?: string;
  knownHosts?: string;
  insecureIgnoreHostKey: boolean;
}

/** One hop with every default applied. */
export interface ResolvedEndpoint {
  host: string;
  port: number;
  user: string;
  /** `user@host:port`, for messages. */
  label: string;
  auth: ResolvedAuth;
  hostKeyPolicy: HostKeyPolicy;
  /** Failed dial attempts allowed; `Infinity` for no limit. */
  dialErrorLimit: number;
  /** Milliseconds per dial attempt; `0` for no limit. */
  perDialTimeoutMs: number;
}

/** A connection with every default applied, ready to dial. */
export interface ResolvedConnection extends ResolvedEndpoint {
  proxy?: ResolvedEndpoint;
  /**
   * Identifies the pooled connection: `user@host:port#<hash>`, the hash covering user, credentials, host-key
   * policy and proxy (salted per process, so the secrets cannot be recovered from it). The pool replaces
   * `host:port` with the host's resolved identity, so two names of one host share a connection.
   */
  poolKey: string;
  /** The `#<hash>` part of {@link poolKey}. */
  credentialHash: string;
}

/**
 * Applies defaults to a connection: explicit fields first, then {@link setDefaultCredentials}, then the
 * ssh-agent at `$SSH_AUTH_SOCK`. Registers every secret it sees for redaction.
 *
 * @throws TypeError naming the field when `host`, `port`, `dialErrorLimit` or `perDialTimeout` is invalid.
 */
export function resolveConnection(conn: Connection): ResolvedConnection {
  const target = resolveEndpoint(conn, "connection", undefined);
  const proxy = conn.proxy ? resolveEndpoint(conn.proxy, "connection.proxy", conn.knownHosts) : undefined;
  const credentialHash = identityHash(target, proxy);
  return { ...target, proxy, poolKey: `${target.label}#${credentialHash}`, credentialHash };
}

/** `user@host:port` of a connection, without resolving credentials. */
export function connectionLabel(conn: Pick<Connection, "host" | "port" | "user">): string {
  const label = `${conn.user ?? defaults.user ?? DEFAULT_USER}@${conn.host}:${conn.port ?? DEFAULT_PORT}`;
  registerIdentifier(label);
  return label;
}

function resolveEndpoint(
  hop: ProxyConnection,
  field: string,
  inheritedKnownHosts: string | undefined,
): ResolvedEndpoint {
  validateEndpoint(hop, field);
  const port = hop.port ?? DEFAULT_PORT;
  const user = hop.user ?? defaults.user ?? DEFAULT_USER;
  registerIdentifier(`${user}@${hop.host}:${port}`);
  registerIdentifier(`${user}@${hop.host}`);
  return {
    host: hop.host,
    port,
    user,
    label: `${user}@${hop.host}:${port}`,
    auth: resolveAuth(hop),
    hostKeyPolicy: {
      hostKey: hop.hostKey,
      ...(hop.hostKey !== undefined && hop.hostKeySource !== undefined
        ? { hostKeySource: hop.hostKeySource }
        : {}),
      knownHosts: hop.knownHosts ?? inheritedKnownHosts ?? defaults.knownHosts,
      insecureIgnoreHostKey: hop.insecureIgnoreHostKey === true,
    },
    dialErrorLimit: dialLimit(hop.dialErrorLimit),
    perDialTimeoutMs: (hop.perDialTimeout ?? DEFAULT_PER_DIAL_TIMEOUT_S) * 1000,
  };
}

/**
 * Explicit credentials are used as a set: when a connection names a key or a password, the provider defaults'
 * key and password are not mixed in (they may belong to another account). The agent is always offered last.
 */
function resolveAuth(hop: ProxyConnection): ResolvedAuth {
  const explicit = hop.privateKey !== undefined || hop.password !== undefined;
  const auth: ResolvedAuth = explicit
    ? { privateKey: hop.privateKey, privateKeyPassword: hop.privateKeyPassword, password: hop.password }
    : {
        privateKey: defaults.privateKey,
        privateKeyPassword: defaults.privateKeyPassword,
        password: defaults.password,
      };
  auth.agentSocketPath =
    hop.agentSocketPath || defaults.agentSocketPath || process.env.SSH_AUTH_SOCK || undefined;
  registerSecret(auth.privateKey);
  registerSecret(auth.privateKeyPassword);
  registerSecret(auth.password);
  return auth;
}

function validateEndpoint(hop: ProxyConnection, field: string): void {
  if (typeof hop.host !== "string" || hop.host.trim() === "") {
    throw new TypeError(`${field}.host must be a non-empty host name or IP address`);
  }
  if (hop.port !== undefined && !(Number.isInteger(hop.port) && hop.port >= 1 && hop.port <= 65535)) {
    throw new TypeError(`${field}.port must be an integer from 1 to 65535 (got ${String(hop.port)})`);
  }
  if (
    hop.dialErrorLimit !== undefined &&
    !(Number.isInteger(hop.dialErrorLimit) && hop.dialErrorLimit >= -1)
  ) {
    throw new TypeError(`${field}.dialErrorLimit must be a whole number of attempts, or -1 for no limit`);
  }
  if (hop.perDialTimeout !== undefined && !(Number.isFinite(hop.perDialTimeout) && hop.perDialTimeout >= 0)) {
    throw new TypeError(`${field}.perDialTimeout must be a number of seconds >= 0 (0 means no limit)`);
  }
}

/** `-1` means unlimited; `0` is treated as one attempt (a dial is always tried once). */
function dialLimit(value: number | undefined): number {
  if (value === undefined) return DEFAULT_DIAL_ERROR_LIMIT;
  if (value === -1) return Infinity;
  return Math.max(1, value);
}

/** Per-process salt, so a pool key seen in a log cannot be used to test guesses of a password offline. */
const POOL_KEY_SALT = randomBytes(16);

/** The hash of one hop's user, credentials and host-key policy (the pool keys jump host connections by it). */
export function endpointHash(ep: ResolvedEndpoint): string {
  return identityHash(ep, undefined);
}

/** The target's name and port are left out: the pool pairs the hash with the host's resolved identity. */
function identityHash(target: ResolvedEndpoint, proxy: ResolvedEndpoint | undefined): string {
  const hop = (e: ResolvedEndpoint) => [e.user, e.auth, e.hostKeyPolicy];
  const proxyHop = (e: ResolvedEndpoint) => [e.host, e.port, ...hop(e)];
  return createHash("sha256")
    .update(POOL_KEY_SALT)
    .update(JSON.stringify([hop(target), proxy ? proxyHop(proxy) : null]))
    .digest("hex")
    .slice(0, 16);
}
