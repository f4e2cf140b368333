/**
 * Helpers shared by the simulator's integration tests: temp folders, the system `ssh` client with strict host-key
 * checking against cluster.json, ssh2 connections, and a /proc scan for leftovers.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "ssh2";
import type { ClusterHostEntry, SimCluster } from "../../../sim";
import { tempDir as runTempDir } from "../../helpers/tempDirs";

/** Why the simulator cannot run here, or null when it can. */
export function simUnavailableReason(): string | null {
  if (!fs.existsSync("/usr/sbin/sshd")) return "OpenSSH sshd (/usr/sbin/sshd) is not installed";
  if (!fs.existsSync("/usr/bin/ssh")) return "the OpenSSH client (/usr/bin/ssh) is not installed";
  if (!fs.existsSync("/usr/bin/etcd")) return "etcd (/usr/bin/etcd) is not installed";
  if (process.getuid?.() !== 0) return "the simulator needs root (mount namespaces)";
  return null;
}

/**
 * Skips the suite, saying why, when the simulator cannot run on this machine (not root, or sshd, etcd or unshare
 * missing). scripts/setup installs them and CI runs as root, so CI never skips (with CI set it fails instead).
 * Use in `before`.
 */
export function skipUnlessSimAvailable(ctx: Mocha.Context): void {
  const reason = simUnavailableReason();
  if (reason) {
    // In CI a skip would hide a missing install step (scripts/setup installs all of this): fail instead.
    if (process.env.CI) throw new Error(`the simulator cannot run: ${reason}`);
    console.log(`    skipped: ${reason}`);
    ctx.skip();
  }
}

/**
 * A fresh folder `ahs-<tag>-XXXXXX` under the OS temp dir (short, so control-socket paths stay under 108 bytes),
 * removed at the end of the test run if the suite's `after` did not (tests/helpers/tempDirs.ts).
 */
export function tempDir(tag: string): string {
  return runTempDir(`ahs-${tag}`);
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes a known_hosts file for the given hosts (what a careful client would have pinned). */
export function knownHostsFile(dir: string, hosts: ClusterHostEntry[], name = "known_hosts"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, hosts.map((h) => `[${h.host}]:${h.port} ${h.hostKey}\n`).join(""));
  return file;
}

/**
 * A command runner for the host `name` of `cluster`: {@link sshRun} (60 s bound) against a known_hosts file, written
 * in the cluster's folder, that pins every host's key.
 */
export function sshRunner(cluster: SimCluster, name: string): (command: string) => Promise<RunResult> {
  const knownHosts = knownHostsFile(cluster.dir, cluster.hosts);
  return (command) => sshRun(cluster.host(name), command, { knownHosts, timeoutMs: 60_000 });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `command` on a host with the system ssh client (key auth, strict host-key checking). */
export function sshRun(
  h: ClusterHostEntry,
  command: string,
  opts: { knownHosts: string; input?: string | Buffer; timeoutMs?: number },
): Promise<RunResult> {
  const args = [
    "-i",
    h.privateKeyPath,
    "-p",
    String(h.port),
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${opts.knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
    `${h.user}@${h.host}`,
    command,
  ];
  return runProcess("ssh", args, { input: opts.input, timeoutMs: opts.timeoutMs });
}

/** Spawns a process and collects its output. */
export function runProcess(
  file: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(file, args, {
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 60_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms: Date.now() - started,
      }),
    );
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** An ssh2 connection to a host, verifying its key against cluster.json. */
export function ssh2Connect(
  h: ClusterHostEntry,
  opts: { password?: string; sock?: NodeJS.ReadableStream; useKey?: boolean } = {},
): Promise<Client> {
  const conn = new Client();
  return new Promise((resolve, reject) => {
    conn.once("ready", () => resolve(conn));
    conn.once("error", reject);
    conn.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      privateKey: opts.useKey === false ? undefined : fs.readFileSync(h.privateKeyPath),
      password: opts.password,
      sock: opts.sock as never,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => key.equals(Buffer.from(h.hostKey.split(" ")[1], "base64")),
    });
  });
}

/** One exec on an ssh2 connection. */
export function ssh2Exec(conn: Client, command: string, input?: string): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | null = null;
      let signal: NodeJS.Signals | null = null;
      stream.on("data", (d: Buffer) => out.push(d));
      stream.stderr.on("data", (d: Buffer) => errOut.push(d));
      stream.on("exit", (c: number | null, s?: string) => {
        code = c;
        signal = s ? (`SIG${s}` as NodeJS.Signals) : null;
      });
      stream.on("close", () =>
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(errOut).toString("utf8"),
          ms: Date.now() - started,
        }),
      );
      stream.end(input ?? "");
    });
  });
}

/** Resolves when the connection closes (e.g. the host reboots under it). */
export function closed(conn: Client): Promise<void> {
  return new Promise((resolve) => conn.once("close", () => resolve()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Live (non-zombie) processes whose command line or mount table mentions `needle` (a cluster or host folder: the
 * hosts' bind mounts show it in /proc/PID/mountinfo, so etcd and unit processes match too).
 */
export function processesOf(needle: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      const mounts = fs.readFileSync(`/proc/${entry}/mountinfo`, "utf8");
      if (cmdline.includes(needle) || mounts.includes(needle)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Resident and proportional memory of a process, kB (from /proc/PID/smaps_rollup). */
export function memoryKb(pid: number): { rss: number; pss: number } {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { rss: field("Rss"), pss: field("Pss") };
}

/** The repository's compiled CLI. */
export const CLI = path.resolve(__dirname, "../../../bin/sim/cli.js");
