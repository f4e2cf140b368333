/**
 * What one stand-in command (`atomic --version`, `systemctl is-active x`) costs in CPU on a running simulated
 * host, measured inside the host's namespace (nsenter, no SSH, so only the command is counted):
 *
 * - one bash runs the calls one after another; after each, its builtin `times` gives its children's cumulative
 *   user + system time (getrusage, µs, printed to the ms): the command's own processes (the C client; or, for the
 *   Node entry points, the shell wrapper and node);
 * - around each call the same bash reads, with builtins only, every thread's run time of the host's supervisor
 *   (`/proc/<pid>/task/<tid>/schedstat`, ns): the tool server's share.
 *
 * The "node" variant runs the pre-server entry point (the shell wrapper `exec node bin/sim/tools/<tool>.js`,
 * written next to the host's bin/ for the probe), for the before/after figure.
 *
 * ```
 * npx ts-node --transpile-only --project tests/tsconfig.json scripts/bench/standinCpu.ts [CALLS]
 * ```
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "ssh2";
import { SimCluster } from "../../sim";
import { compiledSimDir, hostPaths, renderToolStub } from "../../sim/host";
import { median, parseStandinProbe } from "./metrics";

export interface StandinCpuResult {
  /** The command line measured. */
  command: string;
  entryPoint: "client" | "node";
  calls: number;
  /** Median CPU per call (command's processes + tool server), ms. */
  medianMs: number | null;
  /** The two parts' medians, ms. */
  clientMedianMs: number | null;
  serverMedianMs: number | null;
}

/** The probe script: `calls` runs of `command`, each framed by the supervisor's run time and followed by `times`. */
export function probeScript(supervisorPid: number, command: string, calls: number): string {
  return [
    `sum() { s=0; for f in /proc/${supervisorPid}/task/*/schedstat; do read -r a b c < "$f" && s=$((s + a)); done; }`,
    `for ((i = 0; i < ${calls}; i++)); do`,
    "  sum; before=$s",
    `  ${command} >/dev/null 2>&1`,
    '  sum; echo "call $before $s"',
    "  times",
    "done",
    "",
  ].join("\n");
}

/** Measures `command` (a tool name and arguments) on `host` of a running cluster. */
export async function measureStandinCpu(
  cluster: SimCluster,
  host: string,
  command: string,
  calls: number,
  entryPoint: "client" | "node",
): Promise<StandinCpuResult> {
  const st = await cluster.hostStatus(host);
  let line = command;
  if (entryPoint === "node") {
    const p = hostPaths(cluster.dir, host);
    const [tool, ...args] = command.split(" ");
    const dir = path.join(p.dir, "node-entry-points");
    fs.mkdirSync(dir, { recursive: true });
    const stub = path.join(dir, tool);
    fs.writeFileSync(
      stub,
      renderToolStub(p, tool, process.execPath, path.join(compiledSimDir(), "tools", `${tool}.js`)),
      { mode: 0o755 },
    );
    line = [stub, ...args].join(" ");
  }
  const r = await cluster.exec(host, probeScript(st.supervisorPid, line, calls), { timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`stand-in probe failed (${r.exitCode}): ${r.stderr.slice(-500)}`);
  const { clientMs, serverMs, totalMs } = parseStandinProbe(r.stdout);
  return {
    command,
    entryPoint,
    calls: totalMs.length,
    medianMs: median(totalMs),
    clientMedianMs: median(clientMs),
    serverMedianMs: median(serverMs),
  };
}

/** The micro-benchmarks, on one host at zero added latency. */
export interface MicroFigures {
  /** `/bin/true` first (what any command costs here), then each stand-in through the client (and Node). */
  standin: StandinCpuResult[];
  /** Median wall time of `exec(conn, ["true"])` on the provider's pooled connection, sequential, ms. */
  execPooledMs: number | null;
  /**
   * The same on a bare ssh2 client's own connection to the same host (no pool, quoting, bounds or logging): the
   * floor the host and ssh2 set, so that pooled minus raw is what the package adds. Absent in older results.
   */
  execRawMs?: number | null;
  /**
   * The same bare ssh2 exec against a plain OpenSSH sshd on this machine, outside the simulator: no namespace, no
   * logging wrapper, root's own login shell with an empty home (no bashrc). What any sshd exec costs here; the
   * simulated host's figure less this is the simulator's share. Absent in older results, or null when that sshd
   * could not be started.
   */
  execPlainSshdMs?: number | null;
  execCalls: number;
}

/** Median wall time in ms of `calls` sequential runs of `run`, after one untimed run (warm connection). */
async function warmMedianMs(calls: number, run: () => Promise<unknown>): Promise<number | null> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

/** Median ms of `calls` sequential `true` commands on one pooled connection of the provider's SSH layer. */
export async function measurePooledExec(cluster: SimCluster, calls: number): Promise<number | null> {
  const ssh = await import("../../provider/ssh");
  const h = cluster.hosts[0]!;
  const conn = {
    host: h.host,
    port: h.port,
    privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
    hostKey: h.hostKey,
  };
  try {
    return await warmMedianMs(calls, () => ssh.exec(conn, ["true"]));
  } finally {
    await ssh.closeAll();
  }
}

/** Median ms of `calls` sequential `true` commands on a bare ssh2 connection (Nagle off, as the provider's). */
export async function measureRawExec(cluster: SimCluster, calls: number): Promise<number | null> {
  const h = cluster.hosts[0]!;
  return bareExecMedianMs(h.host, h.port, fs.readFileSync(h.privateKeyPath), calls);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * {@link bareExecMedianMs} against a plain OpenSSH sshd started for it: the machine's /usr/sbin/sshd with a fresh
 * host key, key login as root, `UsePAM no`, in a mount namespace of its own whose /root is an empty folder (so
 * root's bash reads no bashrc). Null when it cannot start (not root, no sshd).
 */
export async function measurePlainSshdExec(calls: number): Promise<number | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pah-bench-sshd-"));
  const home = path.join(dir, "home");
  fs.mkdirSync(home);
  for (const k of ["host_key", "client_key"]) {
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, k)]);
    if (r.status !== 0) return null;
  }
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const port = await freePort();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/host_key`,
    "PidFile none",
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    "StrictModes no",
    "PermitRootLogin yes",
    "UsePAM no",
    "PrintMotd no",
    "PrintLastLog no",
    "UseDNS no",
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "sshd_config"), config);
  const sshd = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount --bind ${home} /root && exec /usr/sbin/sshd -D -e -f ${dir}/sshd_config`,
    ],
    { stdio: "ignore" },
  );
  try {
    for (let i = 0; i < 50; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (up) break;
      if (sshd.exitCode !== null) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
    return await bareExecMedianMs("127.0.0.1", port, fs.readFileSync(path.join(dir, "client_key")), calls);
  } catch {
    return null;
  } finally {
    sshd.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Median ms of `calls` sequential `true` commands on a bare ssh2 client's own connection to `host:port`. */
async function bareExecMedianMs(
  host: string,
  port: number,
  privateKey: Buffer,
  calls: number,
): Promise<number | null> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once("ready", resolve).once("error", reject);
    client.connect({ host, port, username: "root", privateKey });
  });
  client.setNoDelay(true);
  const run = () =>
    new Promise<void>((resolve, reject) =>
      client.exec("true", (err, stream) => {
        if (err) return reject(err);
        stream.on("close", () => resolve()).resume();
        stream.stderr.resume();
      }),
    );
  try {
    return await warmMedianMs(calls, run);
  } finally {
    client.end();
  }
}

/** The micro-benchmarks: stand-in CPU (through the client and, when `compare`, through Node), pooled exec. */
export async function microFigures(calls: number, compare: boolean): Promise<MicroFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pah-bench-standin-"));
  let cluster: SimCluster | undefined;
  try {
    cluster = await SimCluster.start({ dir: path.join(dir, "sim"), hosts: 1, latencyMs: 0, etcdHosts: 0 });
    const host = cluster.hosts[0]!.name;
    // What any command costs here (bash's fork and exec of a program that does nothing), for scale.
    const out: StandinCpuResult[] = [await measureStandinCpu(cluster, host, "/bin/true", calls, "client")];
    for (const command of ["atomic --version", "systemctl is-active x"]) {
      // A few calls first, so both variants meet warm caches (and the server its idle thread).
      await measureStandinCpu(cluster, host, command, 5, "client");
      out.push(await measureStandinCpu(cluster, host, command, calls, "client"));
      if (compare) out.push(await measureStandinCpu(cluster, host, command, calls, "node"));
    }
    const execPooledMs = await measurePooledExec(cluster, calls);
    return {
      standin: out,
      execPooledMs,
      execRawMs: await measureRawExec(cluster, calls),
      execPlainSshdMs: await measurePlainSshdExec(calls),
      execCalls: calls,
    };
  } finally {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const calls = Number(process.argv[2] ?? 200);
  microFigures(calls, true).then(
    (m) => {
      console.log(
        `exec true on a pooled connection, 0 ms added latency: median ${m.execPooledMs?.toFixed(2)} ms ` +
          `(bare ssh2 on the same host: ${m.execRawMs?.toFixed(2)} ms; on a plain sshd outside the simulator: ` +
          `${m.execPlainSshdMs?.toFixed(2)} ms)`,
      );
      for (const r of m.standin)
        console.log(
          `${r.entryPoint.padEnd(6)} ${r.command.padEnd(24)} ${r.calls} calls: median ${r.medianMs?.toFixed(2)} ms ` +
            `CPU (command's processes ${r.clientMedianMs?.toFixed(2)} ms + tool server ${r.serverMedianMs?.toFixed(2)} ms)`,
        );
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
