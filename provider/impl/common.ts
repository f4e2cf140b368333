/**
 * What every resource's provider shares: configure (stack-level credentials), the resource id, partial-failure
 * errors, progress logging, and running a planned command with a clear error when it fails.
 */
import type { DiffTable, ParseResult, PlannedCommand } from "../atomic";
import { CONNECTION_DEFAULTS, diffProperties, formatCommandForDisplay, stableJson } from "../atomic";
import type { ConfigureRequestLike } from "../types";
import { logStatus } from "./statusLog";
import {
  RefusalError,
  RemoteError,
  configurePool,
  connectionLabel,
  getDefaultCredentials,
  exec,
  quoteCommand,
  redact,
  registerSecret,
  requireSuccess,
  setDefaultCredentials,
  setSshProgress,
  type Connection,
  type ExecOptions,
  type ExecResult,
} from "../ssh";

/** The stack configuration namespace read by `configure`: `pulumi config set --secret atomic-host:privateKey`. */
export const CONFIG_NAMESPACE = "atomic-host";

/**
 * Reads provider-wide credentials from the stack's configuration, once per provider process: a private key
 * (set as a secret), its passphrase, a password, the default user, known_hosts content and the agent socket.
 * They are never captured into state: only this process holds them, and they are registered for redaction.
 */
export async function configureFromStack(req: ConfigureRequestLike): Promise<void> {
  stackConfigured = true;
  const get = (k: string) => {
    const v = req.config.get(`${CONFIG_NAMESPACE}:${k}`);
    return v === undefined || v === "" ? undefined : v;
  };
  // In the provider process the engine decides when to stop (it kills the plugin when the update ends), so a
  // connection may stay open across the gaps between a host's resources: one connection per host per `up`.
  // (Outside a provider process, e.g. a script calling the handlers, the pool's short default applies.)
  // A host that could not be reached fails its other resources at once for a minute instead of each one
  // spending the whole dial budget (10 attempts of 15 s by default) in turn.
  configurePool({
    idleMs: Number(process.env.PULUMI_ATOMIC_HOST_SSH_IDLE_MS ?? 60_000),
    unreachableMemoMs: 60_000,
  });
  setDefaultCredentials({
    privateKey: get("privateKey"),
    privateKeyPassword: get("privateKeyPassword"),
    password: get("password"),
    user: get("user"),
    knownHosts: get("knownHosts"),
    agentSocketPath: get("agentSocketPath"),
  });
  // Each failed dial attempt, live: without it an unreachable host is 27 silent seconds (10 attempts).
  setSshProgress((line) => {
    if (process.env.PULUMI_ATOMIC_HOST_QUIET !== "true") console.log(`[atomic-host] ${line}`);
  });
}

/** Whether `configure` read the stack's configuration: only then does the provider know every credential source. */
let stackConfigured = false;

/**
 * What to do when nothing to log in with is configured: the stack secret first, since that is where most
 * stacks keep the key.
 */
export const NO_CREDENTIALS_ADVICE =
  `set the stack secret ${CONFIG_NAMESPACE}:privateKey ("pulumi config set --secret ${CONFIG_NAMESPACE}:privateKey < ~/.ssh/KEY"), ` +
  `or ${CONFIG_NAMESPACE}:password; ${CONFIG_NAMESPACE}:privateKeyPassword unlocks an encrypted key, ` +
  `${CONFIG_NAMESPACE}:user logs in as another user than root; or give connection.privateKey or connection.password, ` +
  "or run an ssh-agent holding the key (SSH_AUTH_SOCK) before pulumi";

/**
 * `check`'s failure when no credential source is configured at all: no key or password in the connection (or its
 * jump host), none in the stack's configuration, no agent socket. `up` could only fail to log in, so preview
 * says so. Only in a provider process whose `configure` ran (a script calling the handlers has no stack).
 */
export function credentialFailures(connection: unknown): { property: string; reason: string }[] {
  if (!stackConfigured || connection === null || typeof connection !== "object") return [];
  const c = connection as Record<string, unknown>;
  const given = (hop: Record<string, unknown> | undefined) =>
    hop !== undefined &&
    ["privateKey", "password", "agentSocketPath"].some((k) => hop[k] !== undefined && hop[k] !== "");
  const defaults = getDefaultCredentials();
  if (given(c)) return [];
  if (defaults.privateKey || defaults.password || defaults.agentSocketPath || process.env.SSH_AUTH_SOCK)
    return [];
  return [
    {
      property: "connection.privateKey",
      reason: `no credentials to log in to ${String(c.host)} with: ${NO_CREDENTIALS_ADVICE}`,
    },
  ];
}

/** For tests: forget that `configure` ran. */
export function resetStackConfiguredForTesting(): void {
  stackConfigured = false;
}

/** The name progress lines give each connection's host (the resource's `hostName`), by connection object. */
const hostNames = new WeakMap<Connection, string>();

/** The connection a provider method uses: the stored one, secrets registered for redaction. */
export function connectionOf(inputs: { connection: Connection; hostName?: string }): Connection {
  const c = inputs.connection;
  if (typeof inputs.hostName === "string" && inputs.hostName !== "") hostNames.set(c, inputs.hostName);
  for (const hop of [c, c.proxy]) {
    if (!hop) continue;
    registerSecret(hop.password);
    registerSecret(hop.privateKey);
    registerSecret(hop.privateKeyPassword);
  }
  return c;
}

/** `host:port`, the part of a resource id that says which host it lives on. */
export function hostId(conn: Connection): string {
  return `${conn.host}:${conn.port ?? CONNECTION_DEFAULTS.port}`;
}

/**
 * An error from `create` or `update` after the host was changed: Pulumi's dynamic provider host turns an error
 * carrying `id` into `ErrorResourceInitFailed`, so the resource is saved with these outputs and the next `up`
 * runs `update`, which verifies and continues instead of starting over.
 */
export class PartialFailure extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Record<string, unknown>,
    readonly reasons: string[] = [message],
  ) {
    super(message);
    this.name = "PartialFailure";
  }
}

/**
 * The inputs with `host`, the non-secret `address:port` of the connection (which is secret as a whole), so a
 * reviewer sees where each command runs. Left out while the address is unknown (preview of a new host).
 */
export function withHostLabel<T extends { connection?: unknown; host?: string }>(inputs: T): T {
  const c = inputs.connection as { host?: unknown; port?: unknown } | undefined;
  const port = c?.port ?? CONNECTION_DEFAULTS.port;
  const known = typeof c?.host === "string" && c.host !== "" && typeof port === "number";
  return { ...inputs, host: known ? `${c!.host as string}:${port as number}` : undefined };
}

/** How progress lines name a host: its `hostName` label, else `address:port`. */
export function hostLabel(conn: Connection): string {
  return hostNames.get(conn) ?? hostId(conn);
}

/**
 * Progress lines, e.g. `[atomic-host] master1: atomic pull ...`. Never contains secrets.
 *
 * They go to the engine as ephemeral status messages when the engine can be reached (see `statusLog.ts`):
 * shown live, not repeated in the Diagnostics summary. Otherwise (a script calling the handlers) to stdout,
 * which the CLI would show as info diagnostics.
 */
export function progress(conn: Connection, message: string): void {
  if (process.env.PULUMI_ATOMIC_HOST_QUIET === "true") return;
  const line = redact(`[atomic-host] ${hostLabel(conn)}: ${message}`);
  if (!logStatus(line)) console.log(line);
}

/** Default time limits of remote commands. */
export const TIMEOUTS = {
  /** A read: cat, systemctl is-active, rpm-ostree status. */
  readMs: 120_000,
  /** An image pull or install, an rpm-ostree transaction: downloads. */
  longMs: 30 * 60_000,
  /** A systemctl start or stop. */
  serviceMs: 5 * 60_000,
  /**
   * What a step's bound grows by when the system-container read runs in the same command (before it, or after it
   * to verify it): the read takes well under a second, and a command whose connection is lost holds the host's lock
   * until its bound has passed, so the margin is small rather than a whole `readMs`.
   */
  withReadMs: 30_000,
} as const;

/**
 * Runs a planned (host-changing) command, logging it as it shows in `commands`. A non-zero exit is returned, not
 * thrown. It runs under the host's own bound (the SSH layer's `ExecOptions.hostTimeout`: coreutils `timeout` on
 * the host, ending before `timeoutMs`), so a command the provider gave up on is no longer running when the error
 * is reported, and the host's lock is free only once it has ended. Preview shows the command inside the bound.
 */
export async function runStep(
  conn: Connection,
  step: Pick<PlannedCommand, "argv" | "why">,
  timeoutMs: number,
  options: Pick<ExecOptions, "killAfterMs"> = {},
): Promise<ExecResult> {
  progress(conn, formatCommandForDisplay(step.argv, { quote: quoteCommand }));
  return exec(conn, step.argv, { timeoutMs, hostTimeout: true, ...options });
}

/**
 * Runs a read and parses its output: the one way a provider reads the host. A non-zero exit is a RemoteError of
 * kind "command" carrying `hint`; output the parser refuses, one of kind "parse".
 */
export async function execAndParse<T>(
  conn: Connection,
  argv: readonly string[],
  parse: (stdout: string) => ParseResult<T>,
  options: { timeoutMs: number; hint: string },
): Promise<T> {
  return requireParsed(
    conn,
    argv,
    await exec(conn, argv, { timeoutMs: options.timeoutMs }),
    parse,
    options.hint,
  );
}

/**
 * What `argv` printed, parsed; a non-zero exit throws with `hint` ({@link requireSuccess}), output that does not
 * parse throws a parse failure naming the command.
 */
export function requireParsed<T>(
  conn: Connection,
  argv: readonly string[],
  out: ExecResult,
  parse: (stdout: string) => ParseResult<T>,
  hint: string,
): T {
  const parsed = parse(requireSuccess(out, hint).stdout);
  if (!parsed.ok) throw parseFailure(conn, argv, parsed.error);
  return parsed.value;
}

/** A failure of the tool's own making (exit 0 but not what was declared), as a RemoteError of kind "command". */
export function toolFailure(
  conn: Connection,
  argv: readonly string[],
  summary: string,
  hint: string,
): RemoteError {
  return new RemoteError({
    kind: "command",
    host: errorHost(conn),
    summary,
    command: quoteCommand(argv),
    hint,
  });
}

/**
 * The error for a change the host's state forbids (see {@link RefusalError}): read-only work ran, nothing else.
 * `summary` says what is refused and why; `hint`, what to do about it.
 */
export function refusal(conn: Connection, summary: string, hint?: string): RefusalError {
  return new RefusalError({ host: errorHost(conn), summary, hint });
}

/** The host as errors name it: `master1 (root@10.0.0.5:22)` when the resource has a `hostName`. */
function errorHost(conn: Connection): string {
  const name = hostNames.get(conn);
  return name ? `${name} (${connectionLabel(conn)})` : connectionLabel(conn);
}

/** A parse failure of a tool's output. */
export function parseFailure(conn: Connection, argv: readonly string[], error: string): RemoteError {
  return new RemoteError({
    kind: "parse",
    host: errorHost(conn),
    summary: `could not read the output of the command: ${error}`,
    command: quoteCommand(argv),
    hint: "Check that the host is a Fedora Atomic host with the expected tools; run the command by hand to see its output.",
  });
}

/**
 * `diff` for every resource: the resource's declarative table, plus an update when check planned commands, plus an
 * in-place update when only the connection's
 * credentials or host-key settings changed. Such an update runs nothing on the host beyond a read, but it must
 * happen: `delete` and `refresh` use the connection stored in state, so a rotated key or a re-pinned host key would
 * otherwise stay stale there (and an old password would stay in the encrypted state).
 */
export function declarativeDiff(
  table: DiffTable,
  olds: { connection?: unknown },
  news: { connection?: unknown; commands?: unknown },
  opts: {
    /**
     * Whether `commands` is a plan of what the update runs (default). A resource whose `commands` only describes
     * what it will do whenever it runs (HealthGate's checks) sets false: its non-empty description is no change.
     */
    commandsArePlan?: boolean;
  } = {},
) {
  const d = diffProperties(table, olds, news);
  const strip = (c: unknown) => {
    if (c === null || typeof c !== "object") return c;
    // hostKeySource only names, in messages, where the host key was configured: no reason to update.
    const { host: _h, port: _p, hostKeySource: _s, ...rest } = c as Record<string, unknown>;
    return rest;
  };
  const credentials = stableJson(strip(olds.connection)) !== stableJson(strip(news.connection));
  // check planned commands from the state as recorded (after a refresh: as found), so a repair of drift no
  // table row sees (a unit disabled by hand) is still an update, and runs what the preview showed.
  const planned = (opts.commandsArePlan ?? true) && Array.isArray(news.commands) && news.commands.length > 0;
  return {
    changes: d.changes || credentials || planned,
    replaces: d.replaces,
    deleteBeforeReplace: d.deleteBeforeReplace,
  };
}

/**
 * Copies `o` without the keys whose value is undefined, at every depth (protobuf Struct cannot carry undefined:
 * the SDK fails with "Unexpected struct type." on one inside a nested object such as `__recorded`).
 */
export function defined<T extends object>(o: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, strip(x)]),
    );
  };
  return strip(o) as T;
}
