/**
 * The stand-in tools' entry points on a host's PATH (`DIR/<host>/bin/atomic`, ...): the C client of
 * sim/tools/client.c, compiled once per machine with the machine's `cc` and copied under each tool's name. It talks
 * to the host's tool server (toolServer.ts) and, outside a host's namespace, runs the Node entry point.
 *
 * Without a C compiler the hosts get the shell wrappers that start Node for every command, and the simulator says
 * so on stderr: everything works, but each command costs a Node start-up (tens of ms of CPU), which a benchmark
 * would count.
 */
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { HostPaths } from "./host";
import { compiledSimDir, renderToolStub, repoRoot } from "./host";

/** Source of the client (shipped with the package: `files` lists sim/tools/). */
export function clientSourcePath(): string {
  return path.join(repoRoot(), "sim", "tools", "client.c");
}

let warned = false;

/**
 * Path of the compiled client for this node and this build, compiling it when missing (`cc -O2`; a few hundred
 * ms, once). Returns null, after one loud warning per process, when there is no compiler or it fails.
 */
export function compiledToolClient(node: string = process.execPath): string | null {
  const simDir = compiledSimDir();
  const source = fs.readFileSync(clientSourcePath(), "utf8");
  const key = crypto.createHash("sha256").update(`${source}\0${node}\0${simDir}`).digest("hex").slice(0, 16);
  const out = path.join(simDir, "tools", `client-${key}`);
  if (fs.existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const cDefine = (s: string) => JSON.stringify(s);
  const args = ["-O2", `-DATS_NODE=${cDefine(node)}`, `-DATS_SIM_DIR=${cDefine(simDir)}`, "-o", tmp];
  // Static when the C library allows it: no dynamic loader at each command (a few hundred µs of CPU).
  let r = childProcess.spawnSync("cc", ["-static", ...args, clientSourcePath()], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    r = childProcess.spawnSync("cc", [...args, clientSourcePath()], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    if (!warned) {
      warned = true;
      process.stderr.write(
        `atomic-host-sim: WARNING: cannot compile the stand-in tools' client (${
          r.error ? r.error.message : `cc exited ${r.status}: ${r.stderr.trim()}`
        }); hosts fall back to a Node process per command (tens of ms of CPU each). Install gcc to fix.\n`,
      );
    }
    return null;
  }
  fs.renameSync(tmp, out);
  return out;
}

/**
 * Writes the entry point of each of `tools` into the host's bin/: one copy of the client (`.tool-client`) and a
 * hard link to it per tool (the client reads its name and host from /proc/self/exe, which is the linked path).
 */
export function writeToolEntryPoints(p: HostPaths, tools: readonly string[], node: string): void {
  const client = compiledToolClient(node);
  const copy = path.join(p.bin, ".tool-client");
  if (client) {
    fs.rmSync(copy, { force: true });
    fs.copyFileSync(client, copy);
    fs.chmodSync(copy, 0o755);
  }
  for (const tool of tools) {
    const file = path.join(p.bin, tool);
    fs.rmSync(file, { force: true });
    if (client) fs.linkSync(copy, file);
    else
      fs.writeFileSync(
        file,
        renderToolStub(p, tool, node, path.join(compiledSimDir(), "tools", `${tool}.js`)),
      );
    fs.chmodSync(file, 0o755);
  }
}
