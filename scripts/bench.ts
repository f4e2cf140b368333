/**
 * `npm run bench`: the cost of an AtomicCluster (system containers) through the real Pulumi CLI, against
 * simulated clusters of 1, 4, 12 and 24 hosts behind a relay that adds 25 ms each way on the SSH path, with SSH
 * connection reuse on and off, side by side.
 *
 * For each size and mode, on a freshly started cluster: `pulumi up` from scratch, a no-op `pulumi up`,
 * `pulumi preview --refresh` and `pulumi refresh`, each measured for wall time, SSH logins (sshd's "Accepted"
 * lines), remote commands (commands.log lines), the stack's state file size and the dynamic-provider process's
 * peak resident memory (VmHWM, sampled every 100 ms). Results go to bench/results/latest.{json,md,png}.
 *
 * ```
 * npm run bench                                  # 1, 4, 12, 24 hosts; reuse on and off
 * npm run bench -- --hosts 1,4 --modes on,off    # fewer sizes
 * npm run bench -- --latency-ms 0 --max-unavailable 1 --out /tmp/bench
 * ```
 *
 * Timing figures are reported, never asserted. Every cluster is stopped and every temporary folder removed, also
 * on Ctrl-C; the run ends by checking that no process it started is left.
 *
 * Before the clusters, on one host at zero added latency: what a stand-in command costs in CPU and what an exec on
 * a pooled connection takes (scripts/bench/standinCpu.ts). Per run, besides the figures above: CPU of the CLI, of
 * the dynamic provider and of the simulator (scripts/bench/probes.ts), and the critical path of remote commands
 * with the floor it implies (scripts/bench/metrics.ts). After the sizes, the WAN scenario (12 hosts at 50 ms each
 * way). This file only orchestrates: metrics in scripts/bench/metrics.ts, the report in report.ts, the charts
 * (Vega-Lite, rendered by resvg) in charts.ts.
 *
 * `--quick` (1 host, reuse on, no WAN, 20 stand-in calls; under a minute) is for development; the README's figures
 * come from the full run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SimCluster, type CommandLogEntry } from "../sim";
import { TIME_PARTS, renderSvg, svgToPng, timeBreakdownSpec, wallTimeSpec } from "./bench/charts";
import { TimedCommand, floorSeconds, longestCommandChain, peakBusyHosts } from "./bench/metrics";
import { RunSampler, childPids, descendants, readProc } from "./bench/probes";
import {
  BenchReport,
  ClusterResult,
  GoalFigures,
  MachineInfo,
  Mode,
  OPERATIONS,
  RunResult,
  acceptanceLines,
  goalFigures,
  goalTable,
  markdownReport,
  markdownTable,
  timeSlices,
  wallPoints,
  withReadmeGoals,
} from "./bench/report";
import { microFigures } from "./bench/standinCpu";
import {
  PulumiProject,
  REPO,
  installedPackageModules,
  pulumiBinDir,
  writeProgram,
} from "../tests/helpers/pulumi";

// ================================================================================================================
// Pure: options

export interface BenchOptions {
  /** Cluster sizes, in hosts. Default 1, 4, 12, 24. */
  hosts: number[];
  /** Connection reuse modes. Default on, off. */
  modes: Mode[];
  /** One-way delay the simulator's relay adds in front of each sshd, ms. Default 25. */
  latencyMs: number;
  /** Workers migrated at once; default (undefined): every worker at once. */
  maxUnavailable?: number;
  /** Output folder (relative paths are taken from the repository root, where npm runs scripts). Default bench/results. */
  out: string;
  /** Minutes one CLI run may take before it is killed. Default 30. */
  timeoutMinutes: number;
  /** The WAN scenario (run after the sizes, both modes); null: skipped. Default 12 hosts at 50 ms each way. */
  wan: { hosts: number; latencyMs: number } | null;
  /** Calls per stand-in CPU figure (and pooled execs). Default 200. */
  standinCalls: number;
  /** Rewrite the README's goal table (only a full run into bench/results does). */
  readme: boolean;
}

const USAGE = `usage: npm run bench -- [--hosts 1,4,12,24] [--modes on,off] [--latency-ms 25]
                        [--wan 12@50 | --wan none] [--standin-calls 200] [--quick]
                        [--max-unavailable N] [--out bench/results] [--timeout-minutes 30]`;

/** Parses `argv` (after the script name); returns the options or the problems found, each naming the flag. */
export function parseBenchArgs(argv: string[]): { options?: BenchOptions; errors: string[] } {
  const errors: string[] = [];
  const o: BenchOptions = {
    hosts: [1, 4, 12, 24],
    modes: ["on", "off"],
    latencyMs: 25,
    out: path.join(REPO, "bench", "results"),
    timeoutMinutes: 30,
    wan: { hosts: 12, latencyMs: 50 },
    standinCalls: 200,
    readme: true,
  };
  const wholes = (flag: string, v: string, min: number, max: number): number[] => {
    const list = v.split(",").map((s) => Number(s.trim()));
    if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= min && n <= max)) {
      errors.push(`${flag}: expected whole numbers from ${min} to ${max}, comma-separated (got "${v}")`);
      return [];
    }
    return list;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (flag === "--help" || flag === "-h") {
      errors.push(USAGE);
      continue;
    }
    if (flag === "--quick") {
      // The smallest run that exercises every figure: for development, never for the README.
      Object.assign(o, { hosts: [1], modes: ["on"], wan: null, standinCalls: 20, readme: false });
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      errors.push(`${flag}: needs a value`);
      continue;
    }
    switch (flag) {
      case "--hosts":
        o.hosts = [...new Set(wholes(flag, value, 1, 200))].sort((a, b) => a - b);
        break;
      case "--modes": {
        const modes = value.split(",").map((s) => s.trim());
        if (!modes.every((m) => m === "on" || m === "off"))
          errors.push(`--modes: expected on, off or on,off`);
        else o.modes = [...new Set(modes as Mode[])];
        break;
      }
      case "--latency-ms":
        o.latencyMs = wholes(flag, value, 0, 5000)[0] ?? o.latencyMs;
        break;
      case "--max-unavailable":
        o.maxUnavailable = wholes(flag, value, 1, 1000)[0];
        break;
      case "--out":
        o.out = path.resolve(value);
        o.readme = false;
        break;
      case "--wan": {
        const m = /^(\d+)@(\d+)$/.exec(value);
        if (value === "none") o.wan = null;
        else if (m && Number(m[1]) >= 1 && Number(m[1]) <= 200 && Number(m[2]) <= 5000)
          o.wan = { hosts: Number(m[1]), latencyMs: Number(m[2]) };
        else errors.push(`--wan: expected HOSTS@MS (e.g. 12@50) or none (got "${value}")`);
        break;
      }
      case "--standin-calls":
        o.standinCalls = wholes(flag, value, 1, 100000)[0] ?? o.standinCalls;
        break;
      case "--timeout-minutes":
        o.timeoutMinutes = wholes(flag, value, 1, 1440)[0] ?? o.timeoutMinutes;
        break;
      default:
        errors.push(`${flag}: unknown option\n${USAGE}`);
    }
  }
  return errors.length ? { errors } : { options: o, errors };
}

/** The roles the benchmark gives host `i` of `n`: etcd, then master (both on a single host), then workers. */
export function benchRoles(i: number, n: number): ("etcd" | "master" | "worker")[] {
  if (n === 1) return ["etcd", "master"];
  return i === 0 ? ["etcd"] : i === 1 ? ["master"] : ["worker"];
}

// ================================================================================================================
// Runner: one cluster, one mode

const PROGRAM = `
import { AtomicCluster, readClusterConfig } from "pulumi-atomic-host";

// The cluster from the stack's configuration (bench:cluster); the SSH key comes from atomic-host:privateKey.
const cluster = new AtomicCluster("bench", readClusterConfig());
export const nodes = cluster.etcdNodes.length + cluster.masters.length + cluster.workers.length;
`;

/** Set on SIGINT or SIGTERM: no further CLI run starts. */
let interrupted = false;

/** Everything the runner created, so that any exit path can take it down. */
const cleanups = new Map<string, () => Promise<void> | void>();
/** Every temporary folder the runner made, checked at the end. */
const createdPaths: string[] = [];

/** Clean-ups running now, so that an exit can wait for those another path started. */
const inFlight = new Set<Promise<void>>();

/** Runs, newest first, the clean-ups whose name starts with `prefix` (all of them by default). */
async function cleanupAll(prefix = ""): Promise<void> {
  for (const [what, fn] of [...cleanups.entries()].reverse()) {
    // Taken out before it runs, so that a signal handler's clean-up and the main path's never both run it.
    if (!what.startsWith(prefix) || !cleanups.delete(what)) continue;
    const running = (async () => fn())().catch((err: unknown) => {
      console.error(`bench: cleanup of ${what} failed: ${(err as Error).message}`);
    });
    inFlight.add(running);
    await running;
    inFlight.delete(running);
  }
  if (prefix === "") await Promise.all([...inFlight]);
}

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function stackFileBytes(backend: string, stack: string): number {
  const root = path.join(backend, ".pulumi", "stacks");
  const walk = (dir: string): number => {
    if (!fs.existsSync(dir)) return 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        const n = walk(p);
        if (n) return n;
      } else if (e.name === `${stack}.json` || e.name === `${stack}.json.gz`) return fs.statSync(p).size;
    }
    return 0;
  };
  return walk(root);
}

function clusterTag(n: number, mode: Mode, latencyMs: number): string {
  return `${n}-host${n === 1 ? "" : "s"}/${latencyMs}ms/reuse-${mode}`;
}

async function benchCluster(
  n: number,
  mode: Mode,
  opts: BenchOptions,
  latencyMs: number,
): Promise<{ cluster: ClusterResult; runs: RunResult[] }> {
  const tag = clusterTag(n, mode, latencyMs);
  const simDir = fs.mkdtempSync(path.join(os.tmpdir(), `pah-bench-sim-${n}-${mode}-`));
  createdPaths.push(simDir);
  cleanups.set(`${tag} cluster folder`, () => fs.rmSync(simDir, { recursive: true, force: true }));
  log(`${tag}: starting ${n} simulated host(s), ${latencyMs} ms each way`);
  const t0 = process.hrtime.bigint();
  let sim: SimCluster | undefined;
  const bootErrors: string[] = [];
  // The simulator picks its ports in a range that overlaps the kernel's ephemeral ports, so on a busy machine a
  // host can lose its port to some other connection between the probe and the bind (EADDRINUSE). Booting is not
  // measured, so a failed boot (which stops what it started) is simply tried again in a fresh folder.
  for (let attempt = 1; !sim && attempt <= 3; attempt++) {
    try {
      sim = await SimCluster.start({
        dir: path.join(simDir, `attempt${attempt}`),
        hosts: n,
        latencyMs,
        etcdHosts: 1,
      });
    } catch (err) {
      bootErrors.push((err as Error).message.split("\n")[0]!);
      log(`${tag}: cluster failed to boot (attempt ${attempt} of 3): ${bootErrors.at(-1)}`);
    }
  }
  if (!sim) {
    await cleanupAll(`${tag} `);
    return {
      cluster: { hosts: n, latencyMs, mode, bootSeconds: seconds(t0), error: bootErrors.join("; ") },
      runs: [],
    };
  }
  const cluster = sim;
  cleanups.set(`${tag} cluster`, async () => {
    await cluster.stop();
    const left = cluster.processes();
    if (left.length) console.error(`bench: ${tag}: cluster processes left after stop: ${left.join(" ")}`);
  });
  const bootSeconds = seconds(t0);
  const bootRetries = bootErrors.length ? { bootErrors } : {};
  log(`${tag}: cluster up in ${bootSeconds.toFixed(1)} s`);

  const programDir = writeProgram(`bench`, PROGRAM);
  createdPaths.push(programDir);
  cleanups.set(`${tag} program`, () => fs.rmSync(programDir, { recursive: true, force: true }));
  const project = new PulumiProject(programDir, {
    PULUMI_ATOMIC_HOST_SSH_REUSE: mode === "on" ? "true" : "false",
  });
  createdPaths.push(project.backend);
  cleanups.set(`${tag} state backend`, () => project.cleanup());
  const stack = `h${n}-${mode}`;
  const workers = Math.max(1, n - 2);
  await project.init(
    stack,
    {},
    { "atomic-host:privateKey": fs.readFileSync(cluster.hosts[0]!.privateKeyPath, "utf8") },
  );
  await project.setObject("bench:cluster", {
    method: "systemContainers",
    maxUnavailable: opts.maxUnavailable ?? workers,
    hosts: cluster.hosts.map((h, i) => ({
      name: h.name,
      host: h.host,
      port: h.port,
      hostKey: h.hostKey,
      roles: benchRoles(i, n),
    })),
  });

  const supervisorPids = await Promise.all(
    cluster.hosts.map(async (h) => (await cluster.hostStatus(h.name)).supervisorPid),
  );
  let resources: number | undefined;
  const runs: RunResult[] = [];
  for (const { op, args } of OPERATIONS) {
    if (interrupted) throw new Error("interrupted");
    const logins = () => cluster.hosts.map((h) => cluster.countAcceptedLogins(h.name));
    const commandLogs = () => cluster.hosts.map((h) => cluster.readCommandsLog(h.name));
    const loginsBefore = logins();
    const logsBefore = commandLogs();
    const loadAverage = os.loadavg()[0]!;
    const sampler = new RunSampler(supervisorPids);
    sampler.start(100);
    const start = process.hrtime.bigint();
    const r = await project.run(args, { timeoutMs: opts.timeoutMinutes * 60_000 });
    const wallSeconds = seconds(start);
    const cost = sampler.stop();
    const logsAfter = commandLogs().map((entries, i) => entries.slice(logsBefore[i]!.length));
    const newCommands: TimedCommand[] = logsAfter.flatMap((entries, i) =>
      entries.map((e) => ({
        host: cluster.hosts[i]!.name,
        command: e.command,
        startMs: Date.parse(e.time),
        durationMs: e.durationMs,
      })),
    );
    const critical = longestCommandChain(newCommands);
    if (op === "up") {
      try {
        resources = (await project.exportState()).deployment?.resources?.filter((x: { type?: string }) =>
          (x.type ?? "").startsWith("pulumi-nodejs:dynamic/"),
        ).length;
      } catch {
        // the per-resource figures are left out
      }
    }
    // sshd writes its "Accepted" line before the session starts, so the log is complete once the CLI is done.
    const perHost = logins().map((v, i) => v - loginsBefore[i]!);
    const result: RunResult = {
      hosts: n,
      mode,
      op,
      command: `pulumi ${args.join(" ")}`,
      ok: r.code === 0,
      exitCode: r.code,
      wallSeconds,
      sshConnections: perHost.reduce((a, b) => a + b, 0),
      sshConnectionsPerHost: perHost,
      remoteCommands: newCommands.length,
      stateBytes: stackFileBytes(project.backend, stack),
      providerPeakBytes: cost.providerPeakBytes,
      providerProcesses: cost.providerProcesses,
      loadAverage,
      latencyMs,
      cpu: {
        cliSeconds: cost.cliCpuSeconds,
        providerSeconds: cost.providerCpuSeconds,
        simulatorSeconds: cost.simulatorCpuSeconds,
        ...hostCommandsCpu(logsAfter.flat()),
      },
      criticalPathCommands: critical.length,
      floorSeconds: floorSeconds(critical.length, latencyMs),
      resources,
      peakBusyHosts: peakBusyHosts(newCommands),
    };
    if (!result.ok) result.errorTail = r.output.split("\n").slice(-40).join("\n");
    runs.push(result);
    log(
      `${tag}: ${result.command}: ${result.ok ? "ok" : `FAILED (exit ${r.code})`} ${wallSeconds.toFixed(2)} s, ` +
        `${result.sshConnections} SSH conns, ${result.remoteCommands} commands, ` +
        `${(result.stateBytes / 1024).toFixed(1)} KB state, provider peak ` +
        `${cost.providerPeakBytes === null ? "–" : (cost.providerPeakBytes / 1048576).toFixed(1) + " MB"} ` +
        `(${cost.providerProcesses} process(es)); CPU s CLI ${cost.cliCpuSeconds.toFixed(1)} provider ` +
        `${cost.providerCpuSeconds.toFixed(1)} sim ${cost.simulatorCpuSeconds.toFixed(1)}; critical path ` +
        `${critical.length} commands (floor ${result.floorSeconds!.toFixed(2)} s)`,
    );
    if (!result.ok) console.error(result.errorTail);
  }
  let allResources: number | undefined;
  try {
    allResources = (await project.exportState()).deployment?.resources?.length;
  } catch {
    // the figures stand without it
  }

  await cleanupAll(`${tag} `);
  return {
    cluster: { hosts: n, latencyMs, mode, bootSeconds, resources: allResources, ...bootRetries },
    runs,
  };
}

/** CPU seconds of the commands' own processes, summed from commands.log (`{}` when no entry records it). */
function hostCommandsCpu(entries: CommandLogEntry[]): { hostCommandsSeconds?: number } {
  const recorded = entries.filter((e) => e.cpuMs !== undefined);
  if (recorded.length === 0) return {};
  return { hostCommandsSeconds: recorded.reduce((a, e) => a + e.cpuMs!, 0) / 1000 };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** What `cmd` printed (stdout and stderr), or its error message. */
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.error ? r.error.message : `${r.stdout}${r.stderr}`.trim();
}

function machineInfo(): MachineInfo {
  const sdk = JSON.parse(
    fs.readFileSync(path.join(REPO, "node_modules/@pulumi/pulumi/package.json"), "utf8"),
  );
  return {
    nproc: Number(sh("nproc", [])),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryTotalMB: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    node: process.version,
    pulumiCli: sh(path.join(pulumiBinDir(), "pulumi"), ["version"]),
    pulumiSdk: sdk.version,
    // Older sshd has no -V; its usage message carries the version all the same.
    sshd: (/OpenSSH_[^\s,]+/.exec(sh("/usr/sbin/sshd", ["-V"])) ?? ["OpenSSH (version unknown)"])[0],
    date: new Date().toISOString(),
  };
}

/**
 * Waits for the `pulumi` processes this process started to stop, after interrupting them (SIGINT, as Ctrl-C
 * would) when `signalThem` (a Ctrl-C at the terminal has already reached them), then kills whatever of them and
 * their plugins is still there after 10 s.
 */
async function stopCliChildren(signalThem: boolean): Promise<void> {
  const clis = childPids(process.pid).filter((pid) => readProc(pid, "comm")?.trim() === "pulumi");
  const tree = clis.flatMap((cli) => [cli, ...descendants(cli)]);
  if (signalThem) for (const pid of clis) process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 10_000 && tree.some((pid) => readProc(pid, "stat")); waited += 200) {
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const pid of tree) {
    try {
      if (readProc(pid, "stat")) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// ================================================================================================================
// Main

async function main(): Promise<number> {
  const { options: opts, errors } = parseBenchArgs(process.argv.slice(2));
  if (!opts) {
    console.error(errors.join("\n"));
    return errors.some((e) => e === USAGE) ? 0 : 2;
  }
  const started = process.hrtime.bigint();
  const machine = machineInfo();
  log(
    `${machine.nproc} CPU(s), ${machine.memoryTotalMB} MB, Node ${machine.node}, Pulumi ${machine.pulumiCli}`,
  );
  log(`sizes ${opts.hosts.join(", ")}; reuse ${opts.modes.join(", ")}; ${opts.latencyMs} ms each way`);
  if (opts.wan) log(`WAN scenario: ${opts.wan.hosts} hosts at ${opts.wan.latencyMs} ms each way`);

  // The previous run's goal figures, for the tables (read before this run overwrites them).
  let previous: GoalFigures | undefined;
  try {
    previous = goalFigures(JSON.parse(fs.readFileSync(path.join(opts.out, "latest.json"), "utf8")));
  } catch {
    // first run, or unreadable: the "previous" column says "not measured"
  }

  log(`stand-in CPU and pooled exec: 1 host, 0 ms, ${opts.standinCalls} calls each`);
  const micro = await microFigures(opts.standinCalls, true);
  for (const r of micro.standin)
    log(`  ${r.entryPoint} ${r.command}: median ${r.medianMs?.toFixed(2)} ms CPU`);
  log(
    `  exec on a pooled connection: median ${micro.execPooledMs?.toFixed(2)} ms ` +
      `(bare ssh2 on the same host: ${micro.execRawMs?.toFixed(2)} ms)`,
  );

  // One `npm pack` install of this package for every program, as the e2e tests do.
  const modules = installedPackageModules();
  createdPaths.push(path.dirname(modules));
  cleanups.set("installed package", () => fs.rmSync(path.dirname(modules), { recursive: true, force: true }));

  const clusters: ClusterResult[] = [];
  const runs: RunResult[] = [];
  const scenarios = [
    ...opts.hosts.map((n) => ({ n, latencyMs: opts.latencyMs })),
    ...(opts.wan ? [{ n: opts.wan.hosts, latencyMs: opts.wan.latencyMs }] : []),
  ];
  for (const { n, latencyMs } of scenarios) {
    for (const mode of opts.modes) {
      if (interrupted) break;
      try {
        const r = await benchCluster(n, mode, opts, latencyMs);
        clusters.push(r.cluster);
        runs.push(...r.runs);
      } catch (err) {
        // One broken size must not cost the others their figures.
        console.error(`bench: ${n} host(s), reuse ${mode}: ${(err as Error).stack ?? err}`);
        clusters.push({
          hosts: n,
          latencyMs,
          mode,
          bootSeconds: 0,
          error: (err as Error).message.split("\n")[0],
        });
        await cleanupAll(`${clusterTag(n, mode, latencyMs)} `);
      }
    }
  }
  await cleanupAll();
  if (interrupted) {
    console.error("bench: interrupted; the previous results (if any) are left as they were");
    return 130;
  }

  const report: BenchReport = {
    machine,
    settings: {
      hosts: opts.hosts,
      modes: opts.modes,
      latencyMsEachWay: opts.latencyMs,
      ...(opts.wan ? { wan: opts.wan } : {}),
      maxUnavailable: opts.maxUnavailable === undefined ? "all workers at once" : String(opts.maxUnavailable),
      method: "systemContainers",
      etcdHosts: 1,
      reuseSwitch: "PULUMI_ATOMIC_HOST_SSH_REUSE=false",
    },
    clusters,
    runs,
    micro,
    totalSeconds: seconds(started),
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const prettier = require("prettier");
  const json = await prettier.format(JSON.stringify(report), { parser: "json", printWidth: 110 });
  fs.writeFileSync(path.join(opts.out, "latest.json"), json);
  fs.writeFileSync(path.join(opts.out, "latest.md"), markdownReport(report, previous));
  const wallSvg = await renderSvg(
    wallTimeSpec("pulumi up from scratch: wall time against hosts", wallPoints(report)),
  );
  fs.writeFileSync(path.join(opts.out, "latest.png"), await svgToPng(wallSvg));
  const breakdownSvg = await renderSvg(
    timeBreakdownSpec("where the time of pulumi up goes (reuse on)", timeSlices(report, TIME_PARTS)),
  );
  fs.writeFileSync(path.join(opts.out, "latest-breakdown.png"), await svgToPng(breakdownSvg));
  console.log("\n" + markdownTable(runs));
  console.log(acceptanceLines(runs).join("\n"));
  console.log("\n" + goalTable(goalFigures(report), previous));
  if (opts.readme && runs.every((r) => r.ok)) {
    const readme = path.join(REPO, "README.md");
    fs.writeFileSync(
      readme,
      withReadmeGoals(fs.readFileSync(readme, "utf8"), goalTable(goalFigures(report), previous)),
    );
    log("updated the goal table in README.md");
  }
  log(
    `wrote ${path.relative(process.cwd(), opts.out) || opts.out}/latest.{json,md,png}, latest-breakdown.png`,
  );
  log(`total ${(report.totalSeconds / 60).toFixed(1)} min`);

  const leftovers = createdPaths.filter((p) => fs.existsSync(p));
  if (leftovers.length) console.error(`bench: temporary folders still there: ${leftovers.join(" ")}`);
  const left = descendants(process.pid).filter((pid) => readProc(pid, "cmdline") !== undefined);
  if (left.length) {
    console.error(`bench: processes still running under the benchmark: ${left.join(" ")}`);
    return 1;
  }
  if (leftovers.length) return 1;
  return runs.every((r) => r.ok) && clusters.every((c) => !c.error) ? 0 : 1;
}

if (require.main === module) {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\nbench: ${sig}: stopping the CLI and clusters, removing temporary folders`);
      interrupted = true;
      void stopCliChildren(sig === "SIGTERM")
        .then(() => cleanupAll())
        .then(() => process.exit(130));
    });
  }
  main().then(
    async (code) => {
      await cleanupAll();
      process.exit(code);
    },
    async (err) => {
      console.error(err);
      await cleanupAll();
      process.exit(1);
    },
  );
}
