/**
 * What the benchmark reads from /proc during a run: the dynamic-provider processes' peak memory and CPU, the
 * CLI's CPU (everything the benchmark reaps during the run: the `pulumi` process and all it started), and the
 * simulator's CPU (each host's supervisor and every process under it: sshd, sessions, stand-ins, etcd).
 */
import * as fs from "fs";
import { ProcCpu, parseProcStat, treeTicks } from "./metrics";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on). */
export const CLK_TCK = 100;

export function readProc(pid: number | "self", file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** Direct children of `pid`, from the kernel's per-thread `children` lists (no scan of all of /proc). */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) =>
    (readProc(pid, `task/${tid}/children`) ?? "")
      .split(" ")
      .filter((x) => x.trim() !== "")
      .map(Number),
  );
}

/** Live descendants of `root` (not `root` itself). */
export function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = childPids(root);
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...childPids(pid));
  }
  return out;
}

function cpuOf(pid: number | "self"): ProcCpu | undefined {
  const text = readProc(pid, "stat");
  if (text === undefined) return undefined;
  const cpu = parseProcStat(text);
  return "error" in cpu ? undefined : cpu;
}

/** CPU so far of `roots` and their live descendants, ticks. */
export function treesTicks(roots: readonly number[]): number {
  const members = roots
    .flatMap((r) => [r, ...descendants(r)])
    .map((pid) => cpuOf(pid))
    .filter((c): c is ProcCpu => c !== undefined);
  return treeTicks(members);
}

/** What one run cost, by whom. */
export interface RunCost {
  /** Highest VmHWM of a dynamic-provider process, bytes (null: none seen). */
  providerPeakBytes: number | null;
  providerProcesses: number;
  /** CPU seconds of the dynamic-provider processes. */
  providerCpuSeconds: number;
  /** CPU seconds of the CLI and everything it started but the providers (engine, language host, program). */
  cliCpuSeconds: number;
  /** CPU seconds of the simulated hosts (supervisors and everything under them). */
  simulatorCpuSeconds: number;
}

/**
 * Samples, every `intervalMs`, the dynamic-provider processes under the CLI this process started (VmHWM and CPU,
 * the last sample of each being within ~`intervalMs` of its exit), and reads the CLI's and the simulator's CPU
 * at the start and the end. The CLI's CPU is this process's reaped-children time: the CLI is the only child it
 * waits for during a run.
 */
export class RunSampler {
  private readonly peaks = new Map<number, number>();
  private readonly providerTicks = new Map<number, number>();
  private readonly providers = new Set<number>();
  private timer?: NodeJS.Timeout;
  private reapedBefore = 0;
  private simulatorBefore = 0;

  constructor(private readonly supervisorPids: readonly number[]) {}

  start(intervalMs = 100): void {
    const self = cpuOf("self");
    this.reapedBefore = self ? self.cutime + self.cstime : 0;
    this.simulatorBefore = treesTicks(this.supervisorPids);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): RunCost {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const self = cpuOf("self");
    const reaped = (self ? self.cutime + self.cstime : 0) - this.reapedBefore;
    const provider = [...this.providerTicks.values()].reduce((a, b) => a + b, 0);
    const peaks = [...this.peaks.values()];
    return {
      providerPeakBytes: peaks.length ? Math.max(...peaks) : null,
      providerProcesses: peaks.length,
      providerCpuSeconds: provider / CLK_TCK,
      cliCpuSeconds: Math.max(0, reaped - provider) / CLK_TCK,
      simulatorCpuSeconds: (treesTicks(this.supervisorPids) - this.simulatorBefore) / CLK_TCK,
    };
  }

  private sample(): void {
    // Only under the CLI this process started: the simulated hosts are children too, with many short processes.
    const clis = childPids(process.pid).filter((pid) => readProc(pid, "comm")?.trim() === "pulumi");
    for (const pid of clis.flatMap((cli) => descendants(cli))) {
      // Only a positive answer is kept: between fork and exec a child still shows its parent's command line.
      if (!this.providers.has(pid)) {
        // The plugin script first runs `node -e "require.resolve('.../dynamic-provider')"`: not the provider.
        const argv = (readProc(pid, "cmdline") ?? "").split("\0");
        if (!/dynamic-provider(\/index\.js)?$/.test(argv[1] ?? "")) continue;
        this.providers.add(pid);
      }
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readProc(pid, "status") ?? "");
      if (m) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, Number(m[1]) * 1024));
      const cpu = cpuOf(pid);
      if (cpu) this.providerTicks.set(pid, treeTicks([cpu]));
    }
  }
}
