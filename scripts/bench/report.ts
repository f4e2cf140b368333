/**
 * The benchmark's results as data and as text: the result types, the goal figures (each with the previous run's
 * beside it), the per-resource figures and the markdown report. Pure: no I/O.
 */
import type { MicroFigures } from "./standinCpu";

export type Mode = "on" | "off";
export type Operation = "up" | "up-noop" | "preview-refresh" | "refresh";

/** The CLI invocation behind each measured operation, as a user would type it. */
export const OPERATIONS: { op: Operation; label: string; args: string[] }[] = [
  { op: "up", label: "pulumi up (from scratch)", args: ["up", "--yes"] },
  { op: "up-noop", label: "pulumi up (no changes)", args: ["up", "--yes"] },
  { op: "preview-refresh", label: "pulumi preview --refresh", args: ["preview", "--refresh"] },
  { op: "refresh", label: "pulumi refresh", args: ["refresh", "--yes"] },
];

// ================================================================================================================
// Pure: results and the markdown report

export interface RunResult {
  hosts: number;
  /** One-way delay on the SSH path, ms (absent in results written before the WAN scenario: the settings'). */
  latencyMs?: number;
  mode: Mode;
  op: Operation;
  command: string;
  ok: boolean;
  exitCode: number | null;
  wallSeconds: number;
  /** Sum over hosts of new "Accepted publickey|password" lines in sshd's log. */
  sshConnections: number;
  /** The same, per host (host1 first). */
  sshConnectionsPerHost: number[];
  /** New commands.log entries, summed over hosts. */
  remoteCommands: number;
  /** Bytes of the stack's JSON in the file backend after the run. */
  stateBytes: number;
  /** Highest VmHWM of any dynamic-provider process during the run, bytes (null: none was seen). */
  providerPeakBytes: number | null;
  /** Dynamic-provider processes seen during the run (the CLI starts one per engine pass). */
  providerProcesses: number;
  /** The 1-minute load average when the run started (others sharing the machine skew the times). */
  loadAverage: number;
  /** Tail of the CLI's output when it failed. */
  errorTail?: string;
  /**
   * CPU seconds of the CLI (engine, language host, program), the dynamic providers and the simulated hosts; and,
   * of the hosts' part, what the remote commands' own processes used (commands.log `cpuMs`: the shell, its
   * utilities, etcdctl, the stand-ins' thin clients), which a user's hosts would spend too. The rest of the hosts'
   * part is the simulator's: sshd, the tool server running the stand-ins, the latency relay, etcd. Absent in older
   * results.
   */
  cpu?: {
    cliSeconds: number;
    providerSeconds: number;
    simulatorSeconds: number;
    hostCommandsSeconds?: number;
  };
  /** Commands on the longest chain of commands each starting after the previous ended (metrics.ts). */
  criticalPathCommands?: number;
  /** The wall time that chain cannot go below: two round trips per command at the run's latency, s. */
  floorSeconds?: number;
  /** Dynamic resources in the stack (SystemContainer, EtcdDataMigration, ...), for per-resource figures. */
  resources?: number;
  /** The most hosts running a remote command at the same moment (metrics.ts `peakBusyHosts`). Absent in older results. */
  peakBusyHosts?: number;
}

export interface ClusterResult {
  hosts: number;
  latencyMs?: number;
  mode: Mode;
  /** Seconds `SimCluster.start` took (not part of any figure). */
  bootSeconds: number;
  resources?: number;
  /** Why earlier boot attempts failed, when the cluster booted on a retry. */
  bootErrors?: string[];
  error?: string;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryTotalMB: number;
  kernel: string;
  node: string;
  pulumiCli: string;
  pulumiSdk: string;
  sshd: string;
  date: string;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: {
    hosts: number[];
    modes: Mode[];
    latencyMsEachWay: number;
    maxUnavailable: string;
    /** The WAN scenario: `hosts` hosts at `latencyMs` each way (absent: not run). */
    wan?: { hosts: number; latencyMs: number };
    method: "systemContainers";
    etcdHosts: number;
    reuseSwitch: string;
  };
  clusters: ClusterResult[];
  runs: RunResult[];
  /** Stand-in CPU and pooled exec, on one host at zero added latency (absent in older results). */
  micro?: MicroFigures;
  totalSeconds: number;
}

const fmt = (n: number, digits: number) => n.toFixed(digits);

/** `off / on` as "2.35×", or "–" when it means nothing (either side failed, or on is zero). */
export function ratio(on: number | null | undefined, off: number | null | undefined): string {
  if (on === null || on === undefined || off === null || off === undefined) return "–";
  if (on === 0) return off === 0 ? "–" : "∞";
  return `${(off / on).toFixed(2)}×`;
}

/**
 * The table of every run: one row per hosts × operation × mode (on above off), with off/on ratios on the `off`
 * row.
 */
export function markdownTable(runs: RunResult[]): string {
  const head =
    "| hosts | ms each way | operation | reuse | time (s) | SSH conns | commands | state KB | provider peak MB " +
    "| CPU s: CLI / provider / sim (commands) | critical path (cmds) | floor (s) | wall/floor " +
    "| time off/on | conns off/on | peak off/on | load |\n" +
    "|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
  const label = (op: Operation) => OPERATIONS.find((o) => o.op === op)!.label;
  const order = (r: RunResult) =>
    (r.latencyMs ?? 0) * 1e6 +
    r.hosts * 1000 +
    OPERATIONS.findIndex((o) => o.op === r.op) * 10 +
    (r.mode === "on" ? 0 : 1);
  const rows = [...runs]
    .sort((a, b) => order(a) - order(b))
    .map((r) => {
      const on = runs.find(
        (x) => x.hosts === r.hosts && x.latencyMs === r.latencyMs && x.op === r.op && x.mode === "on",
      );
      const both = r.mode === "off" && on && on.ok && r.ok;
      const mb = (b: number | null) => (b === null ? "–" : fmt(b / 1048576, 1));
      const cells = [
        String(r.hosts),
        r.latencyMs === undefined ? "" : String(r.latencyMs),
        label(r.op),
        r.mode,
        r.ok ? fmt(r.wallSeconds, 2) : `FAILED (exit ${r.exitCode}) after ${fmt(r.wallSeconds, 1)}`,
        String(r.sshConnections),
        String(r.remoteCommands),
        fmt(r.stateBytes / 1024, 1),
        mb(r.providerPeakBytes),
        r.cpu
          ? `${fmt(r.cpu.cliSeconds, 1)} / ${fmt(r.cpu.providerSeconds, 1)} / ${fmt(r.cpu.simulatorSeconds, 1)}` +
            (r.cpu.hostCommandsSeconds === undefined ? "" : ` (${fmt(r.cpu.hostCommandsSeconds, 1)})`)
          : "–",
        r.criticalPathCommands === undefined ? "–" : String(r.criticalPathCommands),
        r.floorSeconds === undefined ? "–" : fmt(r.floorSeconds, 2),
        r.floorSeconds ? `${fmt(r.wallSeconds / r.floorSeconds, 1)}×` : "–",
        both ? ratio(on.wallSeconds, r.wallSeconds) : "",
        both ? ratio(on.sshConnections, r.sshConnections) : "",
        both ? ratio(on.providerPeakBytes, r.providerPeakBytes) : "",
        fmt(r.loadAverage, 1),
      ];
      return `| ${cells.join(" | ")} |`;
    });
  return head + rows.join("\n") + "\n";
}

/** Whether a `pulumi up` from scratch with reuse on opened exactly one SSH connection per host. */
export function acceptanceLines(runs: RunResult[]): string[] {
  return runs
    .filter((r) => r.op === "up" && r.mode === "on")
    .sort((a, b) => (a.latencyMs ?? 0) - (b.latencyMs ?? 0) || a.hosts - b.hosts)
    .map((r) => {
      const holds = r.ok && r.sshConnections === r.hosts;
      const extra = r.sshConnectionsPerHost
        .map((n, i) => (n !== 1 ? `host${i + 1}: ${n}` : ""))
        .filter(Boolean)
        .join(", ");
      const at = r.latencyMs === undefined ? "" : ` at ${r.latencyMs} ms`;
      return `- ${r.hosts} host(s)${at}: ${r.sshConnections} connection(s) → ${holds ? "holds" : "does NOT hold"}${
        extra ? ` (${extra})` : ""
      }${r.ok ? "" : " (the run failed)"}`;
    });
}

/**
 * For each `pulumi up` from scratch with reuse on: the most hosts that ran a command at the same moment, against
 * the hosts there were (the engine works on hosts side by side; a package that serialised them would show 1).
 */
export function concurrencyLines(runs: RunResult[]): string[] {
  return runs
    .filter((r) => r.op === "up" && r.mode === "on" && r.peakBusyHosts !== undefined && r.remoteCommands > 0)
    .sort((a, b) => (a.latencyMs ?? 0) - (b.latencyMs ?? 0) || a.hosts - b.hosts)
    .map((r) => {
      const at = r.latencyMs === undefined ? "" : ` at ${r.latencyMs} ms`;
      return `- ${r.hosts} host(s)${at}: at most ${r.peakBusyHosts} of ${r.hosts} ran a command at the same moment`;
    });
}

/** bench/results/latest.md. */
export function markdownReport(report: BenchReport, previous?: GoalFigures): string {
  const m = report.machine;
  const s = report.settings;
  const boots = report.clusters
    .map((c) => {
      const retried = c.bootErrors
        ? ` after ${c.bootErrors.length} failed attempt(s): ${c.bootErrors.join("; ")}`
        : "";
      return `${c.hosts}/${c.mode}: ${fmt(c.bootSeconds, 1)} s${retried}${c.error ? ` (FAILED: ${c.error})` : ""}`;
    })
    .join(", ");
  return [
    "# Benchmark: AtomicCluster (system containers) through the Pulumi CLI",
    "",
    `${m.date} · ${m.nproc} CPU(s) (${m.cpuModel}) · ${m.memoryTotalMB} MB RAM · Linux ${m.kernel} · ` +
      `Node ${m.node} · Pulumi CLI ${m.pulumiCli} · @pulumi/pulumi ${m.pulumiSdk} · ${m.sshd}`,
    "",
    `Simulated Fedora 26 hosts (layout contrib, etcd running on host1 only) behind a relay adding ` +
      `${s.latencyMsEachWay} ms each way on the SSH path` +
      (s.wan ? ` (WAN scenario: ${s.wan.hosts} hosts at ${s.wan.latencyMs} ms each way)` : "") +
      `. Roles: host1 etcd, host2 master (one host: both), the ` +
      `rest workers; maxUnavailable ${s.maxUnavailable}. Reuse off = \`${s.reuseSwitch}\` in the CLI's ` +
      `environment. Each size and mode runs on its own freshly started cluster and stack.`,
    "",
    "SSH conns = logins sshd accepted (summed over hosts); commands = commands.log entries; state = the stack's " +
      "JSON in the file backend after the run; provider peak = highest VmHWM of the dynamic-provider node process " +
      "(sampled every 100 ms). `pulumi up --yes` and `pulumi refresh --yes` run a preview pass first, in its own " +
      "provider process. Times are wall-clock, measured once, on a machine that may be shared: read them as " +
      "indications, not guarantees. `load` is the machine's 1-minute load average when the run started (with " +
      `${m.nproc} CPUs, anything above ${m.nproc} means the run competed for them).`,
    "",
    markdownTable(report.runs),
    "**SSH connections for a `pulumi up` with reuse on, against the number of hosts:**",
    "",
    ...acceptanceLines(report.runs),
    "",
    "**Hosts running a command at the same moment, in a `pulumi up` from scratch with reuse on** (from the hosts' " +
      "commands.log):",
    "",
    ...concurrencyLines(report.runs),
    "",
    "## Goals",
    "",
    goalTable(goalFigures(report), previous),
    "",
    "## Per resource",
    "",
    perResourceTable(report.runs),
    "",
    ...microLines(report.micro),
    "",
    "## Charts",
    "",
    "![pulumi up time against hosts](latest.png)",
    "",
    "`pulumi up` from scratch, wall time against hosts, reuse on and off (and the WAN scenario's points).",
    "",
    "![where the time goes](latest-breakdown.png)",
    "",
    "Where the time of each `pulumi up` from scratch (reuse on) goes: the network floor (critical-path commands × " +
      "2 RTT), CPU-seconds of the CLI, the dynamic provider and the simulator (on a shared 2-CPU machine these " +
      "overlap each other and the wait), and the rest of the wall time.",
    "",
    `Cluster boot times (not in any figure): ${boots}.`,
    "",
    `Total benchmark run time: ${fmt(report.totalSeconds / 60, 1)} min (${fmt(report.totalSeconds, 0)} s).`,
    "",
  ].join("\n");
}

// ================================================================================================================
// Goal figures

/** The issue's goals, as measured (null: not measured in that run). */
export interface GoalFigures {
  /** `pulumi up` from scratch, reuse on, at the main latency: wall time at the most hosts / at 1 host. */
  upRatio: number | null;
  upRatioHosts: number | null;
  /** Critical-path commands per dynamic resource created, `up` from scratch on one host, reuse on. */
  roundTripsPerResource: number | null;
  /** Median exec on a pooled connection at zero added latency, ms. */
  execPooledMs: number | null;
  /** State bytes per dynamic resource after `up`, most hosts, reuse on. */
  stateBytesPerResource: number | null;
  /** Median CPU of one stand-in command (`atomic --version`), ms. */
  standinCpuMs: number | null;
}

export const GOALS: { key: keyof GoalFigures; label: string; goal: string; unit: (v: number) => string }[] = [
  { key: "upRatio", label: "`up` from scratch: wall time N hosts / 1 host", goal: "≤ 1.5", unit: (v) => `${v.toFixed(2)}×` },
  { key: "roundTripsPerResource", label: "round trips on the critical path per resource created (1 host)", goal: "≤ 3", unit: (v) => v.toFixed(1) },
  { key: "execPooledMs", label: "exec on a pooled connection, 0 ms added latency", goal: "≤ 3 ms", unit: (v) => `${v.toFixed(2)} ms` },
  { key: "stateBytesPerResource", label: "state per resource", goal: "≤ 8 KB", unit: (v) => `${(v / 1024).toFixed(1)} KB` },
  { key: "standinCpuMs", label: "stand-in command CPU (median, `atomic --version`)", goal: "≤ 5 ms", unit: (v) => `${v.toFixed(1)} ms` },
]; // prettier-ignore

/**
 * Critical-path commands per resource, where that is a measurement: on one host. There every resource's commands
 * run one after the other (the provider holds the host's lock for each), so the critical path is the chain through
 * all of them. On several hosts the longest chain crosses hosts (etcd's, then a master's, then a worker batch's)
 * and also strings together commands that merely did not overlap on a busy machine, so dividing it by a resource
 * count would be a guess (an earlier report divided it by resources per host and printed 48 for 24 hosts).
 */
function criticalPerResource(r: RunResult): number | null {
  if (r.hosts !== 1 || !r.resources || r.criticalPathCommands === undefined) return null;
  return r.criticalPathCommands / r.resources;
}

/** The goal figures of a report (older reports, without the newer fields, give what they can). */
export function goalFigures(report: BenchReport): GoalFigures {
  const main = report.settings.latencyMsEachWay;
  const ups = report.runs.filter(
    (r) => r.op === "up" && r.mode === "on" && r.ok && (r.latencyMs ?? main) === main,
  );
  const one = ups.find((r) => r.hosts === 1);
  const most = [...ups].sort((a, b) => b.hosts - a.hosts)[0];
  const standin = report.micro?.standin.find(
    (s) => s.command === "atomic --version" && s.entryPoint === "client",
  );
  return {
    upRatio: one && most && most.hosts > 1 ? most.wallSeconds / one.wallSeconds : null,
    upRatioHosts: most && most.hosts > 1 ? most.hosts : null,
    roundTripsPerResource: one ? criticalPerResource(one) : null,
    execPooledMs: report.micro?.execPooledMs ?? null,
    stateBytesPerResource: most?.resources ? most.stateBytes / most.resources : null,
    standinCpuMs: standin?.medianMs ?? null,
  };
}

/** The README's and latest.md's goal table: each figure with the previous run's beside it. */
export function goalTable(now: GoalFigures, previous?: GoalFigures): string {
  const cell = (g: (typeof GOALS)[number], f?: GoalFigures) => {
    const v = f?.[g.key];
    return v === null || v === undefined ? "not measured" : g.unit(v);
  };
  const rows = GOALS.map((g) => {
    const label =
      g.key === "upRatio" && now.upRatioHosts
        ? g.label.replace("N hosts", `${now.upRatioHosts} hosts`)
        : g.label;
    return `| ${label} | ${g.goal} | ${cell(g, now)} | ${cell(g, previous)} |`;
  });
  return ["| figure | goal | this run | previous run |", "|---|---|---:|---:|", ...rows].join("\n");
}

/** Commands and critical-path round trips per resource, for create, no-op and refresh (reuse on). */
export function perResourceTable(runs: readonly RunResult[]): string {
  const rows = runs
    .filter((r) => r.mode === "on" && r.ok && r.resources)
    .sort((a, b) => (a.latencyMs ?? 0) - (b.latencyMs ?? 0) || a.hosts - b.hosts)
    .map((r) => {
      const critical = criticalPerResource(r);
      const label = OPERATIONS.find((o) => o.op === r.op)!.label;
      return (
        `| ${r.hosts} | ${r.latencyMs ?? ""} | ${label} | ${r.resources} | ${(r.remoteCommands / r.resources!).toFixed(2)} | ` +
        `${critical === null ? "–" : critical.toFixed(2)} |`
      );
    });
  return [
    "Reuse on. Resources = the stack's dynamic resources; critical-path round trips per resource = critical-path " +
      "commands ÷ resources, on one host only (there the chain runs through every resource; on several hosts it " +
      "crosses hosts, and no per-resource figure is derived from it).",
    "",
    "| hosts | ms each way | operation | resources | commands / resource | critical-path round trips / resource |",
    "|---:|---:|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

/** The stand-in and pooled-exec lines of latest.md. */
export function microLines(micro?: MicroFigures): string[] {
  if (!micro) return [];
  const rows = micro.standin.map(
    (s) =>
      `| \`${s.command}\` | ${s.entryPoint === "client" ? (s.command === "/bin/true" ? "(any program)" : "C client + tool server") : "Node per command (before)"} | ` +
      `${s.calls} | ${s.medianMs?.toFixed(2) ?? "–"} | ${s.clientMedianMs?.toFixed(2) ?? "–"} | ${s.serverMedianMs?.toFixed(2) ?? "–"} |`,
  );
  return [
    "## Stand-in commands and the pooled connection",
    "",
    "CPU per command, measured inside a 1-host cluster's namespace (no SSH): one bash runs the calls one after " +
      "another; its `times` gives its children's CPU (the command's processes, including bash's fork), and the " +
      "supervisor's threads' schedstat run time gives the tool server's. `/bin/true` is what any command costs here.",
    "",
    "| command | entry point | calls | median CPU ms | command's processes ms | tool server ms |",
    "|---|---|---:|---:|---:|---:|",
    ...rows,
    "",
    `Exec of \`true\` on the provider's pooled SSH connection, 0 ms added latency: median ` +
      `${micro.execPooledMs?.toFixed(2) ?? "–"} ms over ${micro.execCalls} sequential calls.` +
      (micro.execRawMs == null || micro.execPooledMs == null
        ? ""
        : ` The same on a bare ssh2 client's connection to the same host (the floor the host and ssh2 set): ` +
          `${micro.execRawMs.toFixed(2)} ms; pooled minus bare, the package's own share: ` +
          `${(micro.execPooledMs - micro.execRawMs).toFixed(2)} ms.`) +
      (micro.execPlainSshdMs == null
        ? ""
        : ` A bare ssh2 exec on a plain OpenSSH sshd outside the simulator (no namespace, no logging wrapper, ` +
          `root's bash with an empty home): ${micro.execPlainSshdMs.toFixed(2)} ms, what any sshd exec costs on ` +
          `this machine (sshd forks a session child and execs the login shell for each command).`),
  ];
}

// ================================================================================================================
// Chart data

/** Points of the wall-time chart: `up` from scratch against hosts, one series per mode and latency. */
export function wallPoints(report: BenchReport): { hosts: number; series: string; seconds: number }[] {
  return report.runs
    .filter((r) => r.op === "up" && r.ok)
    .map((r) => ({
      hosts: r.hosts,
      series: `reuse ${r.mode}, ${r.latencyMs ?? report.settings.latencyMsEachWay} ms each way`,
      seconds: r.wallSeconds,
    }));
}

/** Slices of the "where the time goes" bars: each `up` from scratch with reuse on. */
export function timeSlices(
  report: BenchReport,
  parts: readonly string[],
): { bar: string; order: number; part: string; seconds: number }[] {
  return report.runs
    .filter((r) => r.op === "up" && r.mode === "on" && r.ok && r.cpu && r.floorSeconds !== undefined)
    .flatMap((r) => {
      const latency = r.latencyMs ?? report.settings.latencyMsEachWay;
      const bar = `${r.hosts} host${r.hosts === 1 ? "" : "s"} @ ${latency} ms`;
      const order = latency * 1000 + r.hosts;
      const cpu = r.cpu!;
      const used = r.floorSeconds! + cpu.cliSeconds + cpu.providerSeconds + cpu.simulatorSeconds;
      // The hosts' CPU in two: the commands' own processes, and the simulator around them (older results: all
      // in the second).
      const commands = Math.min(cpu.hostCommandsSeconds ?? 0, cpu.simulatorSeconds);
      const values = [
        r.floorSeconds!,
        cpu.cliSeconds,
        cpu.providerSeconds,
        commands,
        cpu.simulatorSeconds - commands,
        Math.max(0, r.wallSeconds - used),
      ];
      return values.map((seconds, i) => ({ bar, order, part: parts[i], seconds }));
    });
}

// ================================================================================================================
// The README

export const README_GOALS_START = "<!-- bench:goals (written by npm run bench) -->";
export const README_GOALS_END = "<!-- /bench:goals -->";

/** `readme` with the text between the goal-table markers replaced by `table` (unchanged without markers). */
export function withReadmeGoals(readme: string, table: string): string {
  const a = readme.indexOf(README_GOALS_START);
  const b = readme.indexOf(README_GOALS_END);
  if (a < 0 || b < a) return readme;
  return `${readme.slice(0, a + README_GOALS_START.length)}\n${table}\n${readme.slice(b)}`;
}
