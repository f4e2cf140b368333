/**
 * A host's tool server: runs the stand-in commands (`atomic`, `rpm-ostree`, `systemctl`, `reboot`,
 * `systemd-tmpfiles`) inside the host's supervisor, so a command costs a tiny C client (sim/tools/client.c) and a
 * message, not a fresh Node process (tens of ms of CPU each, which the benchmark would count against the package).
 *
 * - It listens on `/run/atomic-host-sim/tools.sock` of the host (the supervisor is in the host's mount namespace;
 *   /run is the host's own and is emptied at every boot, so the supervisor listens again after each).
 * - Each command runs on a worker thread (toolWorker.ts) with the command's environment, argv, cwd and pid; idle
 *   threads are kept for the next command.
 * - A client that dies before its command ends (killed by `timeout`, or by a reboot) aborts the command: its thread
 *   is terminated, and the clients of the commands it started are killed and their work aborted in turn, as a
 *   signal to the process group of the old Node process would have ended it and its children.
 * - A thread with a detached child still running (rpm-ostree's daemon side) is never ended (only its event loop
 *   reaps that child) and takes no new command until the child has exited: a command on it could not be aborted.
 *
 * The environment a command gets is the client's with what the shell wrappers set (the host's PATH,
 * ATOMIC_SIM_HOST_DIR, ATOMIC_SIM_CLUSTER_DIR).
 *
 * Each command a shell started (not one a tool ran itself, as `atomic install` runs `systemctl`) is logged to the
 * host's tools.log when it ends: one JSON line, {@link ToolLogEntry}. commands.log has what sshd ran; this has
 * which tools that ran, and how each ended, also inside a script.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Worker } from "worker_threads";
import type { HostPaths } from "./host";
import { hostPathEnv } from "./host";
import { parseJsonLines } from "./tools/exec-wrapper";
import type { ToolJob, ToolWorkerMessage } from "./toolWorker";
import { PARENT_ENV } from "./toolWorker";

/** Where the clients connect, inside the host's namespace (client.c's SOCKET_PATH). */
export const TOOL_SOCKET_DIR = "atomic-host-sim";
export const TOOL_SOCKET_NAME = "tools.sock";

/** Idle worker threads kept per host: a few commands at once is the common case (≤ 8 SSH channels). */
const IDLE_WORKERS = 2;

/** A line of tools.log. */
export interface ToolLogEntry {
  /** When the command arrived (ISO 8601, UTC, ms). */
  time: string;
  /** The tool and its arguments, e.g. ["systemctl", "start", "etcd.service"]. */
  argv: string[];
  /** Exit status; null when the client went away before the command ended (killed, or its host rebooted). */
  exitCode: number | null;
}

/** Parses tools.log text; a torn last line is ignored. */
export function parseToolsLog(text: string): ToolLogEntry[] {
  return parseJsonLines<ToolLogEntry>(text);
}

/** A request as the client sent it (see client.c's wire format). */
export interface ToolRequest {
  pid: number;
  tool: string;
  cwd: string;
  argv: string[];
  env: Record<string, string>;
}

/** Decodes a request body (after the length prefix); returns an error text for anything malformed. */
export function decodeToolRequest(body: Buffer): ToolRequest | { error: string } {
  const parts = body.toString("utf8").split("\0");
  // The body ends with a NUL, so the last part is empty.
  if (parts.pop() !== "") return { error: "request does not end with NUL" };
  const [magic, pid, tool, cwd, argc, ...rest] = parts;
  if (magic !== "ATS1") return { error: `bad magic ${JSON.stringify(magic)}` };
  const n = Number(argc);
  if (!Number.isInteger(n) || n < 0 || n > rest.length) return { error: `bad argc ${argc}` };
  const env: Record<string, string> = {};
  for (const kv of rest.slice(n)) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { pid: Number(pid), tool, cwd, argv: rest.slice(0, n), env };
}

/** One response frame: type (1 stdout, 2 stderr, 3 exit), u32 LE length, data. */
export function encodeFrame(type: 1 | 2 | 3, data: string | Buffer): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

interface Running {
  id: number;
  pid: number;
  parent: number | undefined;
  worker: Worker;
  conn: net.Socket;
  done: boolean;
  /** The client is gone but the thread must run on (it started a detached child); output is dropped. */
  abandoned: boolean;
  /** Writes the command's tools.log line (once). */
  logEnd?: (exitCode: number | null) => void;
}

export class ToolServer {
  private server: net.Server | null = null;
  private idle: Worker[] = [];
  /**
   * Threads with detached children still running, and how many: only their event loop reaps them, so they are
   * never ended, and they take no new command meanwhile (a command there could not be aborted by a kill).
   */
  private readonly keepers = new Map<Worker, number>();
  /** Keeper threads with no command, waiting for their detached children to exit. */
  private readonly lingering = new Set<Worker>();
  private running = new Map<number, Running>();
  private nextId = 1;

  constructor(
    private readonly paths: HostPaths,
    private readonly log: (message: string) => void,
  ) {}

  /** Socket path as the supervisor sees it (the host's run dir is mounted at /run). */
  get socketPath(): string {
    return path.join(this.paths.run, TOOL_SOCKET_DIR, TOOL_SOCKET_NAME);
  }

  /** (Re)listens on the host's /run, which boot has just emptied. */
  async listen(): Promise<void> {
    await this.closeListener();
    fs.mkdirSync(path.dirname(this.socketPath), { recursive: true });
    fs.rmSync(this.socketPath, { force: true });
    const server = net.createServer((conn) => this.accept(conn));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.socketPath, () => resolve());
    });
    if (this.idle.length === 0) this.idle.push(this.newWorker());
  }

  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((r) => server.close(() => r()));
  }

  /** Stops listening, aborts what runs and ends every thread. */
  async close(): Promise<void> {
    await this.closeListener();
    for (const r of [...this.running.values()]) this.abort(r);
    await Promise.all([...this.idle, ...this.lingering].map((w) => w.terminate()));
    this.idle = [];
    this.lingering.clear();
  }

  private newWorker(): Worker {
    const w = new Worker(path.join(__dirname, "toolWorker.js"));
    w.unref();
    // A thread that ends on its own (a tool calling process.exit) or fails is never reused.
    w.on("error", (err) => this.log(`tool thread failed: ${err.stack}`));
    w.on("message", (m: ToolWorkerMessage) => {
      if (m.kind === "detached") this.keepers.set(w, (this.keepers.get(w) ?? 0) + 1);
      else if (m.kind === "detachedExit") this.detachedExited(w);
    });
    return w;
  }

  /** A keeper's detached child exited: with none left, the thread is an ordinary one again. */
  private detachedExited(w: Worker): void {
    const left = (this.keepers.get(w) ?? 1) - 1;
    if (left > 0) {
      this.keepers.set(w, left);
      return;
    }
    this.keepers.delete(w);
    if (!this.lingering.delete(w)) return;
    if (this.idle.length < IDLE_WORKERS) this.idle.push(w);
    else void w.terminate();
  }

  private accept(conn: net.Socket): void {
    let buf = Buffer.alloc(0);
    conn.on("error", () => undefined);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const size = buf.readUInt32LE(0);
      if (buf.length < 4 + size) return;
      conn.off("data", onData);
      const req = decodeToolRequest(buf.subarray(4, 4 + size));
      if ("error" in req) {
        this.log(`tool request refused: ${req.error}`);
        conn.end(Buffer.concat([encodeFrame(2, `atomic-host-sim: ${req.error}\n`), encodeFrame(3, "255")]));
        return;
      }
      this.start(req, conn);
    };
    conn.on("data", onData);
  }

  private start(req: ToolRequest, conn: net.Socket): void {
    const id = this.nextId++;
    const parentText = req.env[PARENT_ENV];
    delete req.env[PARENT_ENV];
    const env = {
      ...req.env,
      ATOMIC_SIM_HOST_DIR: this.paths.dir,
      ATOMIC_SIM_CLUSTER_DIR: this.paths.clusterDir,
      PATH: hostPathEnv(this.paths),
    };
    const worker = this.idle.pop() ?? this.newWorker();
    const r: Running = {
      id,
      pid: req.pid,
      parent: parentText ? Number(parentText) : undefined,
      worker,
      conn,
      done: false,
      abandoned: false,
    };
    this.running.set(id, r);
    const arrived = new Date().toISOString();
    const logEnd = (exitCode: number | null) => {
      if (r.parent !== undefined) return;
      const line = JSON.stringify({
        time: arrived,
        argv: [req.tool, ...req.argv],
        exitCode,
      } satisfies ToolLogEntry);
      // One write on an O_APPEND descriptor: lines of concurrent commands never interleave.
      fs.appendFileSync(this.paths.toolsLog, `${line}\n`);
    };
    r.logEnd = logEnd;
    let exited = false;
    const finish = (code: number) => {
      if (r.done && !r.abandoned) return;
      if (!r.done) logEnd(code);
      r.done = true;
      this.running.delete(id);
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      if (!r.abandoned) conn.end(encodeFrame(3, String(code)));
      if (exited) return;
      if (this.keepers.has(worker)) this.lingering.add(worker);
      else if (this.idle.length < IDLE_WORKERS) this.idle.push(worker);
      else void worker.terminate();
    };
    const onMessage = (m: ToolWorkerMessage) => {
      if (m.kind === "out") {
        if (!r.abandoned) conn.write(encodeFrame(m.fd, m.data));
      } else if (m.kind === "exit") finish(m.code);
    };
    const onExit = (code: number) => {
      exited = true;
      finish(code);
    };
    worker.on("message", onMessage);
    worker.on("exit", onExit);
    conn.on("close", () => {
      if (!r.done) this.abort(r);
    });
    const job: ToolJob = { id, tool: req.tool, argv: req.argv, env, cwd: req.cwd, pid: req.pid };
    worker.postMessage(job);
  }

  /**
   * The client is gone: end the command's thread, and the commands it started (their clients too). A thread that
   * started a detached child (rpm-ostree's daemon side, which outlives its client by design) is left to finish its
   * command, its output dropped: ending it would leave that child unreaped.
   */
  private abort(r: Running): void {
    if (r.done) return;
    r.logEnd?.(null);
    r.done = true;
    if (this.keepers.has(r.worker)) r.abandoned = true;
    else {
      this.running.delete(r.id);
      void r.worker.terminate();
    }
    r.conn.destroy();
    for (const child of [...this.running.values()]) {
      if (child.parent !== r.id) continue;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      this.abort(child);
    }
  }
}
