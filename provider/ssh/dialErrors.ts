/**
 * How a dial attempt failed, as a {@link RemoteError} of kind `hostkey`, `auth` or `connect`, and whether
 * retrying it is safe (see `dial.ts`).
 */
import type { Client } from "ssh2";
import type { ResolvedEndpoint } from "./connection";
import { RemoteError, messageOf } from "./errors";
import type { HostKeyVerdict } from "./hostKey";

/** One dial attempt: the client, or the error and whether another attempt may succeed. */
export type Attempt = { ok: true; client: Client } | { ok: false; error: RemoteError; retriable: boolean };

const RETRIABLE_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SSH_OPEN_ADMINISTRATIVELY_PROHIBITED (RFC 4254 5.1): what OpenSSH answers when forwarding is disabled. */
const OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

const CONNECT_HINT =
  "check that the host is up and that sshd listens on that address and port (firewall, security group); " +
  "dialing is retried up to connection.dialErrorLimit times, each attempt limited by connection.perDialTimeout";

export function classifyDialError(
  err: Error & { level?: string; code?: string },
  ep: ResolvedEndpoint,
  verdict: HostKeyVerdict | undefined,
  notes: string[],
): Attempt {
  if (verdict && !verdict.ok) {
    return fail(
      new RemoteError({ kind: "hostkey", host: ep.label, summary: verdict.summary, hint: verdict.hint }),
      false,
    );
  }
  if (err.level === "client-authentication") return fail(authError(ep, notes), false);
  const retriable =
    (err.level === "client-socket" && RETRIABLE_SOCKET_CODES.has(err.code ?? "")) ||
    err.level === "client-dns" ||
    err.level === "client-timeout" ||
    (err.level === "protocol" && /before handshake/i.test(err.message));
  const summary = `could not open an SSH connection: ${messageOf(err)}`;
  return fail(new RemoteError({ kind: "connect", host: ep.label, summary, hint: CONNECT_HINT }), retriable);
}

export function classifySocketFailure(err: unknown, ep: ResolvedEndpoint): Attempt {
  const e = err as Error & { code?: string; fatal?: boolean; reason?: number; via?: string };
  const msg = messageOf(err);
  if (e.via === undefined && e.fatal === undefined) {
    // The direct TCP connection failed (refused, unreachable, DNS).
    const summary = `could not open an SSH connection: ${msg}`;
    const retriable = RETRIABLE_SOCKET_CODES.has(e.code ?? "");
    return fail(new RemoteError({ kind: "connect", host: ep.label, summary, hint: CONNECT_HINT }), retriable);
  }
  const jump = e.via ? `the jump host ${e.via}` : "the jump host";
  if (e.reason === OPEN_ADMINISTRATIVELY_PROHIBITED) {
    const summary = `${jump} refused to forward to ${ep.host}:${ep.port} (${msg})`;
    const hint =
      "the jump host's sshd must allow TCP forwarding to the target (AllowTcpForwarding yes, PermitOpen)";
    return fail(new RemoteError({ kind: "connect", host: ep.label, summary, hint }), false);
  }
  // CONNECT_FAILED (the target refused or is unreachable from the jump host) and RESOURCE_SHORTAGE pass.
  const summary = `could not reach the host through ${jump}: ${msg}`;
  return fail(
    new RemoteError({ kind: "connect", host: ep.label, summary, hint: CONNECT_HINT }),
    e.fatal !== true,
  );
}

function authError(ep: ResolvedEndpoint, notes: string[]): RemoteError {
  const tried = [
    ep.auth.privateKey !== undefined ? "private key" : undefined,
    ep.auth.password !== undefined ? "password" : undefined,
    ep.auth.agentSocketPath ? `ssh-agent at ${ep.auth.agentSocketPath}` : undefined,
  ].filter((x): x is string => x !== undefined);
  const extra = notes.length > 0 ? ` (${notes.join("; ")})` : "";
  return new RemoteError({
    kind: "auth",
    host: ep.label,
    summary: `authentication as ${ep.user} failed: the server refused every credential offered (${tried.join(", ")})${extra}`,
    hint:
      `check connection.user and the credentials: the public key must be in ~${ep.user}/.ssh/authorized_keys on the host, ` +
      "and password logins need PasswordAuthentication yes in sshd_config; authentication failures are never retried",
  });
}

export function lostBeforeReady(ep: ResolvedEndpoint, notes: string[]): Attempt {
  const extra = notes.length > 0 ? ` (${notes.join("; ")})` : "";
  const summary = `the connection closed before the SSH session was established${extra}`;
  return fail(new RemoteError({ kind: "connect", host: ep.label, summary, hint: CONNECT_HINT }), true);
}

export function dialTimeout(ep: ResolvedEndpoint): Attempt {
  const seconds = ep.perDialTimeoutMs / 1000;
  const summary = `no SSH session within ${seconds} s (TCP connect, handshake and authentication)`;
  return fail(new RemoteError({ kind: "connect", host: ep.label, summary, hint: CONNECT_HINT }), true);
}

export function fail(error: RemoteError, retriable: boolean): Attempt {
  return { ok: false, error, retriable };
}

/** Socket error codes in words, as `ssh` prints them. */
const SOCKET_CODE_WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ECONNABORTED: "connection aborted",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
  EHOSTDOWN: "host is down",
  ETIMEDOUT: "connection timed out",
  EPIPE: "broken pipe",
  ENOTFOUND: "host name not found (DNS)",
  EAI_AGAIN: "host name lookup failed for now (DNS)",
};

/**
 * The reason a dial attempt failed, in a few words (`connection refused`), from its error message: the socket
 * error code in words when there is one, else the message's first line without the host prefix.
 */
export function dialFailureReason(message: string): string {
  const code = /\b(E[A-Z_]{3,})\b/.exec(message)?.[1];
  if (code && SOCKET_CODE_WORDS[code]) return SOCKET_CODE_WORDS[code];
  const first = message.split("\n")[0];
  return first.replace(/^\[\w+\] \S+: /, "").replace(/^could not open an SSH connection: /, "");
}
