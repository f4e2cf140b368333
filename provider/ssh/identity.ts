/**
 * Which machine a connection reaches, whatever it is called: `localhost`, `127.0.0.1` and a DNS name of the same
 * address are one host. The per-host lock and the connection pool key on it, so one host reached under two names
 * never runs two transactions at once, nor holds two pooled connections.
 */
import { lookup } from "dns/promises";
import { isIP } from "net";
import { DEFAULT_PORT, type Connection } from "./connection";

/** Resolutions already made in this process (a run's hosts do not move mid-run). */
const resolved = new Map<string, Promise<string>>();

/**
 * `ADDRESS:PORT` of the host: the name resolved (IPv4 first, as `ssh` tries it, else whatever the resolver gives),
 * IPv6 in brackets. A name that does not resolve keys by itself, lowercased (the dial will fail and say why).
 */
export async function hostIdentity(conn: Pick<Connection, "host" | "port">): Promise<string> {
  const port = conn.port ?? DEFAULT_PORT;
  return `${await addressOf(conn.host)}:${port}`;
}

/** The identity of `conn` if it was resolved before in this process, else `undefined`. Synchronous. */
export function knownHostIdentity(conn: Pick<Connection, "host" | "port">): string | undefined {
  const name = conn.host.trim().toLowerCase();
  return cachedAddress.get(name) !== undefined
    ? `${cachedAddress.get(name)}:${conn.port ?? DEFAULT_PORT}`
    : undefined;
}

const cachedAddress = new Map<string, string>();

function addressOf(host: string): Promise<string> {
  const name = host.trim().toLowerCase();
  let p = resolved.get(name);
  if (!p) {
    p = resolve(name).then((a) => {
      cachedAddress.set(name, a);
      return a;
    });
    resolved.set(name, p);
  }
  return p;
}

async function resolve(name: string): Promise<string> {
  const literal = name.replace(/^\[(.*)\]$/, "$1");
  if (isIP(literal) !== 0) return bracket(literal);
  try {
    return bracket((await lookup(literal, { family: 4 })).address);
  } catch {
    try {
      return bracket((await lookup(literal)).address);
    } catch {
      return name;
    }
  }
}

function bracket(address: string): string {
  return isIP(address) === 6 ? `[${address.toLowerCase()}]` : address;
}
