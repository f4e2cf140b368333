/**
 * The stand-in tools' entry points on a host's PATH (`DIR/<host>/bin/atomic`, ...): the C client of
 * sim/tools/client.c, compiled once per machine with the machine's `cc` and copied under each tool's name. It talks
 * to the host's tool server (toolServer.ts) and, outside a host's namespace, runs the Node entry point. Also the
 * host's compiled exec wrapper (sim/tools/exec-wrapper.c).
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

const warned = new Set<string>();

/**
 * Compiles `source` (a C file of sim/tools/) once per machine, node and build into `compiledSimDir()/tools/NAME-KEY`
 * (`cc -O2`, static when the C library allows it: no dynamic loader at each run). Returns null, after one loud
 * warning per program and process, when there is no compiler or it fails; `fallback` says what is used instead.
 */
function compiledProgram(
  name: string,
  source: string,
  defines: Record<string, string>,
  fallback: string,
): string | null {
  const simDir = compiledSimDir();
  const text = fs.readFileSync(source, "utf8");
  const key = crypto
    .createHash("sha256")
    .update(`${text}\0${JSON.stringify(defines)}\0${simDir}`)
    .digest("hex")
    .slice(0, 16);
  const out = path.join(simDir, "tools", `${name}-${key}`);
  if (fs.existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const args = ["-O2", ...Object.entries(defines).map(([k, v]) => `-D${k}=${JSON.stringify(v)}`), "-o", tmp];
  let r = childProcess.spawnSync("cc", ["-static", ...args, source], { encoding: "utf8" });
  if (r.error || r.status !== 0) r = childProcess.spawnSync("cc", [...args, source], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    if (!warned.has(name)) {
      warned.add(name);
      process.stderr.write(
        `atomic-host-sim: WARNING: cannot compile ${path.basename(source)} (${
          r.error ? r.error.message : `cc exited ${r.status}: ${r.stderr.trim()}`
        }); ${fallback}. Install gcc to fix.\n`,
      );
    }
    return null;
  }
  fs.renameSync(tmp, out);
  return out;
}

/**
 * Path of the compiled tool client for this node and this build, compiling it when missing (a few hundred ms,
 * once), or null without a compiler.
 */
export function compiledToolClient(node: string = process.execPath): string | null {
  return compiledProgram(
    "client",
    clientSourcePath(),
    { ATS_NODE: node, ATS_SIM_DIR: compiledSimDir() },
    "hosts fall back to a Node process per command (tens of ms of CPU each)",
  );
}

/** Source of the compiled exec wrapper (sim/tools/exec-wrapper.c). */
export function execWrapperSourcePath(): string {
  return path.join(repoRoot(), "sim", "tools", "exec-wrapper.c");
}

/**
 * Installs the host's exec wrapper (sshd's ForceCommand, which logs every command to commands.log): the compiled
 * one (exec-wrapper.c) with its settings in `exec-wrapper.conf` beside it, or, without a C compiler, the Perl
 * script `renderPerl` writes (the same behaviour, at about 15 ms more CPU per command).
 */
export function writeExecWrapper(
  p: HostPaths,
  env: Record<string, string>,
  renderPerl: (p: HostPaths) => string,
): void {
  const compiled = compiledProgram(
    "exec-wrapper",
    execWrapperSourcePath(),
    {},
    "hosts fall back to the Perl exec wrapper (about 15 ms more CPU per command)",
  );
  fs.rmSync(p.execWrapper, { force: true });
  if (!compiled) {
    fs.writeFileSync(p.execWrapper, renderPerl(p), { mode: 0o755 });
    return;
  }
  const conf = [`log ${p.commandsLog}`, `faults ${p.faultsJson}`];
  for (const [k, v] of Object.entries(env)) {
    if (/[\n\0]/.test(k + v)) throw new Error(`exec-wrapper.conf: ${k} has a newline or NUL in its value`);
    conf.push(`env ${k}=${v}`);
  }
  fs.writeFileSync(`${p.execWrapper}.conf`, conf.join("\n") + "\n");
  fs.copyFileSync(compiled, p.execWrapper);
  fs.chmodSync(p.execWrapper, 0o755);
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
