import { expect } from "chai";
import {
  TimedCommand,
  floorSeconds,
  longestCommandChain,
  median,
  parseProcStat,
  parseStandinProbe,
  peakBusyHosts,
  treeTicks,
} from "../../../scripts/bench/metrics";
import { TIME_PARTS } from "../../../scripts/bench/charts";
import {
  concurrencyLines,
  microLines,
  timeSlices,
  type BenchReport,
  type RunResult,
} from "../../../scripts/bench/report";

/** A command on `host` from `start` to `end` ms (a synthetic commands.log line). */
const cmd = (host: string, command: string, start: number, end: number): TimedCommand => ({
  host,
  command,
  startMs: start,
  durationMs: end - start,
});

describe("bench metrics: /proc/<pid>/stat", () => {
  // A real line's shape (proc(5)); the command name holds a space and parentheses.
  const line =
    "4242 (node (worker) x) S 4100 4242 4100 0 -1 4194560 5000 300 0 0 " +
    "731 129 44 17 20 0 11 0 900000 1100000000 30000 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0";

  it("reads pid, ppid, utime, stime, cutime and cstime counting from the last parenthesis", () => {
    expect(parseProcStat(line)).to.deep.equal({
      pid: 4242,
      ppid: 4100,
      utime: 731,
      stime: 129,
      cutime: 44,
      cstime: 17,
    });
  });

  it("refuses a line that is not a stat line", () => {
    expect(parseProcStat("")).to.have.property("error");
    expect(parseProcStat("12 (x) S 1 2")).to.deep.equal({ error: "only 5 fields" });
  });

  it("adds own and reaped-children time of every member of a tree", () => {
    expect(
      treeTicks([
        { pid: 1, ppid: 0, utime: 10, stime: 5, cutime: 100, cstime: 50 },
        { pid: 2, ppid: 1, utime: 1, stime: 2, cutime: 0, cstime: 0 },
      ]),
    ).to.equal(168);
  });
});

describe("bench metrics: the critical path of remote commands", () => {
  it("follows one host's sequential commands, whatever their order in the log", () => {
    const p = longestCommandChain([
      cmd("h1", "c", 300, 400),
      cmd("h1", "a", 0, 100),
      cmd("h1", "b", 150, 250),
    ]);
    expect(p.length).to.equal(3);
    expect(p.chain.map((c) => c.command)).to.deep.equal(["a", "b", "c"]);
  });

  it("counts commands that overlap in time once: parallel hosts do not lengthen the path", () => {
    // Two hosts each run read, write, verify at the same time; host2's write waits for host1's verify.
    const p = longestCommandChain([
      cmd("h1", "read", 0, 100),
      cmd("h2", "read", 10, 110),
      cmd("h1", "write", 120, 200),
      cmd("h2", "write", 400, 500),
      cmd("h1", "verify", 210, 300),
      cmd("h2", "verify", 520, 600),
    ]);
    expect(p.length).to.equal(5);
    expect(p.chain.map((c) => `${c.host}:${c.command}`)).to.deep.equal([
      "h1:read",
      "h1:write",
      "h1:verify",
      "h2:write",
      "h2:verify",
    ]);
  });

  it("takes a command that starts in the millisecond the previous one ended as after it", () => {
    expect(longestCommandChain([cmd("h", "a", 0, 100), cmd("h", "b", 100, 150)]).length).to.equal(2);
    expect(longestCommandChain([cmd("h", "a", 0, 100), cmd("h", "b", 99, 150)]).length).to.equal(1);
  });

  it("is empty for a run without remote commands (a no-op up)", () => {
    expect(longestCommandChain([])).to.deep.equal({ length: 0, chain: [] });
  });

  it("puts the floor at two round trips per command (channel open, exec): 10 commands at 50 ms each way, 2 s", () => {
    expect(floorSeconds(10, 50)).to.equal(2);
    expect(floorSeconds(3, 0)).to.equal(0);
  });
});

describe("bench metrics: hosts running a command at the same moment", () => {
  it("counts hosts, not commands: two commands at once on one host are one busy host", () => {
    expect(
      peakBusyHosts([
        cmd("h1", "a", 0, 100),
        cmd("h1", "b", 10, 90),
        cmd("h2", "c", 50, 60),
        cmd("h3", "d", 55, 200),
      ]),
    ).to.equal(3);
  });

  it("is 1 for hosts served one after another, including back to back in the same millisecond", () => {
    expect(
      peakBusyHosts([cmd("h1", "a", 0, 100), cmd("h2", "b", 100, 200), cmd("h3", "c", 250, 300)]),
    ).to.equal(1);
  });

  it("is 0 without remote commands", () => {
    expect(peakBusyHosts([])).to.equal(0);
  });

  it("reports it for each up from scratch with reuse on that ran commands", () => {
    const run = (hosts: number, op: RunResult["op"], mode: RunResult["mode"], peak: number, commands = 10) =>
      ({ hosts, op, mode, latencyMs: 25, peakBusyHosts: peak, remoteCommands: commands }) as RunResult;
    expect(
      concurrencyLines([
        run(4, "up", "on", 4),
        run(1, "up", "on", 1),
        run(4, "up", "off", 3),
        run(4, "refresh", "on", 4),
      ]),
    ).to.deep.equal([
      "- 1 host(s) at 25 ms: at most 1 of 1 ran a command at the same moment",
      "- 4 host(s) at 25 ms: at most 4 of 4 ran a command at the same moment",
    ]);
  });
});

describe("bench metrics: the stand-in probe", () => {
  it("splits each call's CPU into its processes' (bash times, cumulative) and the tool server's (ns)", () => {
    const out = [
      "call 1000000 3000000",
      "0m0.010s 0m0.020s",
      "0m0.001s 0m0.002s",
      "call 5000000 6500000",
      "0m0.011s 0m0.020s",
      "0m0.002s 0m0.004s",
      "",
    ].join("\n");
    const r = parseStandinProbe(out);
    expect(r.clientMs.map((v) => Math.round(v * 1000) / 1000)).to.deep.equal([3, 3]);
    expect(r.serverMs).to.deep.equal([2, 1.5]);
    expect(r.totalMs.map((v) => Math.round(v * 1000) / 1000)).to.deep.equal([5, 4.5]);
  });

  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([])).to.equal(null);
  });
});

describe("bench report: the pooled exec line", () => {
  const standin = [
    {
      command: "/bin/true",
      entryPoint: "client" as const,
      calls: 3,
      medianMs: 4,
      clientMedianMs: 4,
      serverMedianMs: 0,
    },
  ];
  it("sets the bare ssh2 floor beside the pooled exec, and their difference", () => {
    const text = microLines({ standin, execPooledMs: 19.12, execRawMs: 19.28, execCalls: 200 }).join("\n");
    expect(text).to.contain("median 19.12 ms over 200 sequential calls.");
    expect(text).to.contain("19.28 ms; pooled minus bare, the package's own share: -0.16 ms.");
  });
  it("adds the plain sshd's figure when it was measured", () => {
    const text = microLines({
      standin,
      execPooledMs: 19.12,
      execRawMs: 19.28,
      execPlainSshdMs: 12.63,
      execCalls: 200,
    }).join("\n");
    expect(text).to.contain(
      "outside the simulator (no namespace, no logging wrapper, root's bash with an empty home): 12.63 ms",
    );
  });
  it("leaves the floor out for results measured before it was", () => {
    const text = microLines({ standin, execPooledMs: 20.52, execCalls: 200 }).join("\n");
    expect(text).to.contain("median 20.52 ms over 200 sequential calls.");
    expect(text).not.to.contain("bare ssh2");
    expect(text).not.to.contain("plain OpenSSH");
  });
});

describe("bench report: where the time of an up goes", () => {
  const run = (cpu: RunResult["cpu"]): RunResult =>
    ({
      hosts: 4,
      mode: "on",
      op: "up",
      ok: true,
      wallSeconds: 30,
      floorSeconds: 5,
      latencyMs: 25,
      cpu,
    }) as RunResult;
  const report = (r: RunResult) =>
    ({ runs: [r], settings: { latencyMsEachWay: 25 } }) as unknown as BenchReport;
  const parts = (r: RunResult) =>
    Object.fromEntries(timeSlices(report(r), TIME_PARTS).map((s) => [s.part, s.seconds]));

  it("splits the hosts' CPU into the commands' own processes and the simulator around them", () => {
    const p = parts(run({ cliSeconds: 8, providerSeconds: 3, simulatorSeconds: 10, hostCommandsSeconds: 4 }));
    expect(p[TIME_PARTS[3]!]).to.equal(4);
    expect(p[TIME_PARTS[4]!]).to.equal(6);
    // 30 s of wall time less the floor (5) and every CPU figure (8 + 3 + 10).
    expect(p[TIME_PARTS[5]!]).to.equal(4);
  });

  it("puts all of the hosts' CPU on the simulator for results that did not record the commands'", () => {
    const p = parts(run({ cliSeconds: 8, providerSeconds: 3, simulatorSeconds: 10 }));
    expect(p[TIME_PARTS[3]!]).to.equal(0);
    expect(p[TIME_PARTS[4]!]).to.equal(10);
  });
});
