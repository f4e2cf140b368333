/**
 * One thread of a host's tool server (toolServer.ts): runs stand-in commands one at a time, each with the
 * process-wide state a tool reads set to that command's: `process.env`, `process.argv`, `process.cwd()`, and
 * `process.pid`, which is the pid of the command's client process (the `atomic` or `rpm-ostree` a user sees in
 * `ps`), so lock files and rpm-ostree's transaction record name a process that dies with the command, as the
 * tool's own process did.
 *
 * The tools are synchronous CLIs (they block in `Atomics.wait` and `spawnSync`), which is why each command gets a
 * thread of its own: a command that waits blocks only its thread. Output goes to the server as messages, in order;
 * a child a tool runs (`atomic` running `systemctl`) is the host's client entry point again, started with
 * `spawnSync`, so it is served by another thread and the server knows it belongs to this command.
 */
import * as childProcess from "child_process";
import { spawnSync } from "child_process";
import * as path from "path";
import { parentPort } from "worker_threads";
import type { ToolIo } from "./tools/atomic/toolIo";

/** What the server asks a worker to run. */
export interface ToolJob {
  /** Request id, for a child's `ATOMIC_SIM_TOOL_PARENT`. */
  id: number;
  tool: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** The client process's pid. */
  pid: number;
}

/**
 * What a worker sends back: output chunks, then the exit status; and `detached` when the command started a process
 * meant to outlive it (rpm-ostree's daemon-side transaction): only this thread's event loop can reap that child,
 * so the server must not end the thread until `detachedExit` says it has exited.
 */
export type ToolWorkerMessage =
  | { kind: "out"; fd: 1 | 2; data: string }
  | { kind: "exit"; code: number }
  | { kind: "detached"; pid: number }
  | { kind: "detachedExit"; pid: number };

/** Environment variable a tool's child inherits: the request it belongs to. */
export const PARENT_ENV = "ATOMIC_SIM_TOOL_PARENT";

const port = parentPort;

function send(msg: ToolWorkerMessage): void {
  port?.postMessage(msg);
}

function out(fd: 1 | 2, data: string): void {
  if (data !== "") send({ kind: "out", fd, data });
}

/** `processToolIo` (tools/atomic/toolIo.ts) with the command's streams in place of fds 1 and 2. */
function jobIo(job: ToolJob): ToolIo {
  return {
    out: (text) => out(1, `${text}\n`),
    outRaw: (text) => out(1, text),
    errRaw: (text) => out(2, text),
    run: (argv, { capture }) => {
      const r = spawnSync(argv[0], argv.slice(1), {
        env: { ...job.env, [PARENT_ENV]: String(job.id) },
        cwd: job.cwd,
        stdio: ["ignore", "pipe", capture ? "ignore" : "pipe"],
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      if (r.error) return { status: 127, stdout: "" };
      const stdout = typeof r.stdout === "string" ? r.stdout : "";
      if (!capture) {
        out(1, stdout);
        out(2, typeof r.stderr === "string" ? r.stderr : "");
      }
      return { status: r.status ?? 128 + 9, stdout: capture ? stdout : "" };
    },
  };
}

/** Each tool's Node entry point, as a function of the job (modules are loaded once per thread). */
async function runTool(job: ToolJob): Promise<number> {
  const io = jobIo(job);
  switch (job.tool) {
    case "atomic":
      return (require("./tools/atomic/main") as typeof import("./tools/atomic/main")).main(
        job.argv,
        process.env,
        io,
      );
    case "rpm-ostree":
      return (require("./tools/rpmostree/main") as typeof import("./tools/rpmostree/main")).main(
        job.argv,
        process.env,
        io,
      );
    case "systemctl": {
      const m = require("./tools/systemctl") as typeof import("./tools/systemctl");
      const r = await m.runSystemctlCommand(job.argv);
      out(1, r.stdout);
      out(2, r.stderr);
      return r.exitCode;
    }
    case "reboot": {
      const m = require("./tools/reboot") as typeof import("./tools/reboot");
      const r = await m.runRebootCommand(job.argv);
      out(1, r.stdout);
      out(2, r.stderr);
      return r.exitCode;
    }
    case "systemd-tmpfiles": {
      const m = require("./tools/systemd-tmpfiles") as typeof import("./tools/systemd-tmpfiles");
      const r = m.runTmpfilesCommand(job.argv, process.env.ATOMIC_SIM_ROOT ?? "");
      out(2, r.stderr);
      return r.exitCode;
    }
    default:
      out(2, `${job.tool}: not a stand-in tool of atomic-host-sim\n`);
      return 127;
  }
}

/** Makes the process-wide state a tool reads that of `job`. */
function enter(job: ToolJob): void {
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, job.env);
  // The Node entry point's path: rpm-ostree starts its daemon side as `node process.argv[1]`.
  process.argv = [process.execPath, path.join(__dirname, "tools", `${job.tool}.js`), ...job.argv];
  process.cwd = () => job.cwd;
  Object.defineProperty(process, "pid", { value: job.pid, configurable: true, writable: true });
}

/** Loads every tool's modules, so the first command of each tool does not pay for it. */
function preload(): void {
  require("./tools/atomic/main");
  require("./tools/rpmostree/main");
  require("./tools/systemctl");
  require("./tools/reboot");
  require("./tools/systemd-tmpfiles");
}

/** Reports every detached child a tool spawns (see `ToolWorkerMessage`). */
function watchDetachedSpawns(): void {
  const spawn = childProcess.spawn;
  const patched = function (this: unknown, ...args: unknown[]) {
    const child = (spawn as (...a: unknown[]) => childProcess.ChildProcess).apply(this, args);
    const opts = args.find((a) => typeof a === "object" && a !== null && !Array.isArray(a)) as
      childProcess.SpawnOptions | undefined;
    if (opts?.detached && child.pid !== undefined) {
      const pid = child.pid;
      send({ kind: "detached", pid });
      child.once("exit", () => send({ kind: "detachedExit", pid }));
    }
    return child;
  };
  // The module object itself (what `import { spawn }` reads at each call), not an import-star copy of it.
  const module: { spawn: unknown } = require("child_process");
  module.spawn = patched;
}

if (port) {
  watchDetachedSpawns();
  preload();
  port.on("message", (job: ToolJob) => {
    enter(job);
    runTool(job).then(
      (code) => send({ kind: "exit", code }),
      (err: Error) => {
        // What node prints for an uncaught exception, and its status.
        out(2, `${err.stack ?? String(err)}\n`);
        send({ kind: "exit", code: 1 });
      },
    );
  });
}
