/**
 * Pure figures of the benchmark: CPU accounting from /proc text, the critical path of a run's remote commands and
 * the floor it implies, small statistics, the stand-in probe's output. No I/O here: scripts/bench/probes.ts reads
 * the files.
 */

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting

/** CPU fields of `/proc/<pid>/stat`, in clock ticks (`getconf CLK_TCK`, 100 on Linux). */
export interface ProcCpu {
  pid: number;
  ppid: number;
  /** Own user and system time. */
  utime: number;
  stime: number;
  /** User and system time of the children it has waited for. */
  cutime: number;
  cstime: number;
}

/**
 * Parses `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may hold spaces and parentheses
 * itself, so the fields are counted from the last `)` (proc(5): ppid is field 4, utime 14 ... cstime 17).
 */
export function parseProcStat(text: string): ProcCpu | { error: string } {
  const close = text.lastIndexOf(")");
  const pid = Number(text.slice(0, text.indexOf(" ")));
  if (close < 0 || !Number.isInteger(pid) || pid <= 0) return { error: "not a /proc/<pid>/stat line" };
  // After ")": field 3 (state) is index 0.
  const f = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  if (f.length < 15) return { error: `only ${f.length + 2} fields` };
  const n = (field: number) => Number(f[field - 3]);
  const cpu = { pid, ppid: n(4), utime: n(14), stime: n(15), cutime: n(16), cstime: n(17) };
  if (Object.values(cpu).some((v) => !Number.isFinite(v))) return { error: "a CPU field is not a number" };
  return cpu;
}

/**
 * CPU of a process tree so far, ticks: each live member's own time plus what it has reaped. A member that exits
 * and is reaped moves from "live" into its parent's cutime/cstime, so a difference of two readings counts it once.
 */
export function treeTicks(members: readonly ProcCpu[]): number {
  return members.reduce((s, p) => s + p.utime + p.stime + p.cutime + p.cstime, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// The critical path of remote commands

/** A remote command as commands.log records it: when it arrived and how long it ran. */
export interface TimedCommand {
  host: string;
  command: string;
  /** Arrival, ms since the epoch. */
  startMs: number;
  durationMs: number;
}

/** The longest chain of a run's commands. */
export interface CriticalPath {
  /** Commands on the longest chain (each starts after the one before it ended). */
  length: number;
  /** The chain, first to last. */
  chain: TimedCommand[];
}

/**
 * The longest chain of commands each of which started after the previous one ended, across all hosts. Commands
 * that overlap in time cannot be waiting for one another, so every chain of dependent commands (a resource's
 * read, its mutation, its verification; a resource after the one it depends on) is such a chain: the length is
 * an upper bound on the run's dependent round trips, and equals it when the engine starts each command as soon as
 * what it waits for is done (it does: the engine parallelises across hosts). A command arriving in the same
 * millisecond another ended counts as after it.
 */
export function longestCommandChain(commands: readonly TimedCommand[]): CriticalPath {
  const byEnd = [...commands].sort((a, b) => a.startMs + a.durationMs - (b.startMs + b.durationMs));
  const ends = byEnd.map((c) => c.startMs + c.durationMs);
  // best[i]: the longest chain ending with byEnd[i]; prev[i]: the command before it on that chain;
  // lead[i]: the index, among byEnd[0..i], of the end of the longest chain.
  const best: number[] = [];
  const prev: number[] = [];
  const lead: number[] = [];
  for (let i = 0; i < byEnd.length; i++) {
    // The last command (by end) that ended no later than this one started.
    let lo = 0;
    let hi = i - 1;
    let j = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid] <= byEnd[i].startMs) {
        j = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const before = j >= 0 ? lead[j] : -1;
    best[i] = before >= 0 ? best[before] + 1 : 1;
    prev[i] = before;
    lead[i] = i > 0 && best[lead[i - 1]] >= best[i] ? lead[i - 1] : i;
  }
  if (byEnd.length === 0) return { length: 0, chain: [] };
  const chain: TimedCommand[] = [];
  for (let k = lead[byEnd.length - 1]; k >= 0; k = prev[k]) chain.unshift(byEnd[k]);
  return { length: chain.length, chain };
}

/**
 * The most hosts that were running a remote command at the same moment: whether the run kept the hosts busy side by
 * side or took them one after another (a package that serialised hosts would show 1). A command that ended in the
 * same millisecond another started does not overlap it.
 */
export function peakBusyHosts(commands: readonly TimedCommand[]): number {
  // Ends sort before starts at the same instant, so back-to-back commands never count as overlapping.
  const events = commands
    .flatMap((c) => [
      { at: c.startMs, host: c.host, delta: 1 },
      { at: c.startMs + c.durationMs, host: c.host, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  const running = new Map<string, number>();
  let peak = 0;
  for (const e of events) {
    const n = (running.get(e.host) ?? 0) + e.delta;
    if (n > 0) running.set(e.host, n);
    else running.delete(e.host);
    peak = Math.max(peak, running.size);
  }
  return peak;
}

/**
 * SSH round trips one remote command costs on an open connection: the channel open and the exec request each wait
 * for the server's answer (RFC 4254 §5.1, §6.5); the output and exit status then come back with the second.
 */
export const SSH_ROUND_TRIPS_PER_EXEC = 2;

/**
 * The wall time a chain of `commands` dependent remote commands cannot go below at `latencyMsEachWay` on pooled
 * connections: {@link SSH_ROUND_TRIPS_PER_EXEC} round trips each, whatever runs around them.
 */
export function floorSeconds(commands: number, latencyMsEachWay: number): number {
  return (commands * SSH_ROUND_TRIPS_PER_EXEC * 2 * latencyMsEachWay) / 1000;
}

// ---------------------------------------------------------------------------------------------------------------
// Small statistics

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// The stand-in probe

/**
 * Per-call CPU from the stand-in probe's output (standinCpu.ts). For each call, a line `call <server ns before>
 * <server ns after>`, then bash's `times`: two lines, the shell's own user and system time, then its children's,
 * cumulative, as `0m0.012s 0m0.004s`. Returns each call's CPU in ms: the children's growth (the command's own
 * processes) and the tool server's (its threads' run time from schedstat).
 */
export function parseStandinProbe(text: string): {
  clientMs: number[];
  serverMs: number[];
  totalMs: number[];
} {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const seconds = (t: string | undefined) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t ?? "");
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  const clientMs: number[] = [];
  const serverMs: number[] = [];
  let lastChildren = 0;
  for (let i = 0; i + 2 < lines.length; i++) {
    const call = /^call (\d+) (\d+)$/.exec(lines[i]);
    if (!call) continue;
    const [u, s] = lines[i + 2].trim().split(/\s+/);
    const children = seconds(u) + seconds(s);
    if (!Number.isFinite(children)) continue;
    clientMs.push((children - lastChildren) * 1000);
    lastChildren = children;
    serverMs.push((Number(call[2]) - Number(call[1])) / 1e6);
    i += 2;
  }
  return { clientMs, serverMs, totalMs: clientMs.map((c, k) => c + serverMs[k]) };
}
