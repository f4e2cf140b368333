/**
 * A delaying TCP relay, put in front of a host's sshd when the cluster is started with `latencyMs > 0`.
 *
 * The machine's kernel has no `netem` qdisc (ssh-and-pulumi-command.md §6), so latency comes from here: every
 * chunk read from one side is written to the other `latencyMs` later, in order, in both directions. A round trip
 * therefore costs 2 × latencyMs, like a link with that one-way delay. Bandwidth is not limited.
 */
import * as net from "net";

export interface RelayOptions {
  /** Address and port the relay listens on (what cluster.json publishes). */
  listenHost: string;
  listenPort: number;
  /** Where the relay connects for each client (the host's sshd). */
  targetHost: string;
  targetPort: number;
  /** One-way delay added to each direction, ms. */
  latencyMs: number;
}

export interface Relay {
  /** Stops listening and drops every relayed connection. */
  close(): Promise<void>;
  /** Drops every relayed connection but keeps listening. */
  dropConnections(): void;
  /** Number of relayed connections currently open. */
  connections(): number;
}

/** Copies `from` → `to`, each chunk delayed by `ms`; ends `to` after the last delayed chunk. */
function pipeDelayed(from: net.Socket, to: net.Socket, ms: number): void {
  from.on("data", (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, ms);
  });
  from.on("end", () => setTimeout(() => to.end(), ms));
}

/** Starts a relay; resolves once it listens. */
export function startRelay(opts: RelayOptions): Promise<Relay> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: opts.targetHost, port: opts.targetPort });
    upstream.setNoDelay(true);
    open.add(client);
    open.add(upstream);
    pipeDelayed(client, upstream, opts.latencyMs);
    pipeDelayed(upstream, client, opts.latencyMs);
    // An error on one side resets the other; an orderly close ends it (flushing what is still queued), each
    // after the same delay a real link would show.
    const link: [net.Socket, net.Socket][] = [
      [client, upstream],
      [upstream, client],
    ];
    for (const [s, other] of link) {
      s.on("error", () => setTimeout(() => other.destroy(), opts.latencyMs));
      s.on("close", () => {
        open.delete(s);
        setTimeout(() => other.end(), opts.latencyMs);
      });
    }
  });
  const dropConnections = () => {
    for (const s of open) s.destroy();
    open.clear();
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listenPort, opts.listenHost, () => {
      server.off("error", reject);
      resolve({
        close: () =>
          new Promise<void>((r) => {
            dropConnections();
            server.close(() => r());
          }),
        dropConnections,
        connections: () => open.size / 2,
      });
    });
  });
}
