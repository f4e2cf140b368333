import { expect } from "chai";
import * as fs from "fs";
import { SimCluster } from "../../../sim";
import {
  closeAll,
  exec,
  planHostTimeout,
  withHostLock,
  type Connection,
  type RemoteError,
} from "../../../provider/ssh";
import { runStep } from "../../../provider/impl/common";
import { removeDir, skipUnlessSimAvailable, tempDir } from "../sim/support";
import { remoteRejection } from "../../helpers/rejection";
import { until } from "../../helpers/simFixture";

// Nothing keeps running on a host after the package gave up on it. A command run with `hostTimeout` runs under
// coreutils `timeout` on the host, whose bound ends before the client's timeout; root sessions get no channel
// signals from OpenSSH, so this is what actually stops them. When the connection is lost mid-command, the host's
// lock is held until the command's host-side bound has passed, so the next holder never overlaps it.

/** A sleep duration no other test uses, so the /proc scan below finds only this test's processes. */
function uniqueSeconds(base: number): string {
  return `${base}.${process.pid % 1000}${Math.floor(Math.random() * 1000)}`;
}

/** Pids of live (not zombie) processes whose argv contains `sleep SECONDS`. */
function sleeping(seconds: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${d}/status`, "utf8"))?.[1];
      if (state !== "Z" && argv.some((a, i) => a === "sleep" && argv[i + 1] === seconds))
        pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * `sleep SECONDS` under the host's lock and a host-side bound of `timeoutMs`: resolves with the error it ended with
 * (undefined if none), so a test can cut its connection meanwhile.
 */
function sleepUnderLock(
  conn: Connection,
  seconds: string,
  timeoutMs: number,
): Promise<RemoteError | undefined> {
  return withHostLock(conn, () =>
    exec(conn, ["sh", "-c", `sleep ${seconds}; true`], { timeoutMs, hostTimeout: true }),
  ).then(
    () => undefined,
    (e: unknown) => e as RemoteError,
  );
}

describe("ssh: host-side bounds against a simulated host", function () {
  this.timeout(120_000);
  let dir: string;
  let sim: SimCluster;
  let conn: Connection;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("bound");
    sim = await SimCluster.start({ dir, hosts: 1, release: 26, etcdHosts: 0 });
    const h = sim.host("host1");
    conn = {
      host: h.host,
      port: h.port,
      privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
      hostKey: h.hostKey,
    };
  });
  after(async () => {
    await closeAll();
    await sim?.stop();
    if (dir) removeDir(dir);
  });

  it("reports a command slowed past its timeout only once the host has stopped it: it is gone from the host", async () => {
    const seconds = uniqueSeconds(41);
    const timeoutMs = 4000;
    const plan = planHostTimeout(timeoutMs);
    const t0 = Date.now();
    const err = await remoteRejection(
      exec(conn, ["sh", "-c", `sleep ${seconds}; true`], { timeoutMs, hostTimeout: true }),
    );
    const ms = Date.now() - t0;
    // Looked at the very moment the error arrives: no waiting, no grace.
    expect(sleeping(seconds), "the command's processes when the error was reported").to.deep.equal([]);
    expect(err.kind).to.equal("timeout");
    expect(err.message).to.contain("the host stopped it").and.contain("it is no longer running");
    expect(err.exitCode).to.equal(124);
    expect(ms).to.be.at.least(plan.termMs);
    const entry = sim.readCommandsLog("host1").find((e) => e.command.includes(`sleep ${seconds}`))!;
    expect(entry.sent).to.match(/^timeout --kill-after 0\.5s 3s sh -c /);
    expect(entry.hostBound).to.deep.equal({ termSeconds: 3, killAfterSeconds: 0.5 });
    expect(entry.exitCode).to.equal(124);
  });

  it("runs every planned step (runStep: installs, updates, starts, rebases, copies) under the host's bound", async () => {
    const seconds = uniqueSeconds(43);
    const err = await remoteRejection(
      runStep(conn, { argv: ["sh", "-c", `sleep ${seconds}; true`], why: "test" }, 4000),
    );
    expect(sleeping(seconds), "the step's processes when the error was reported").to.deep.equal([]);
    expect(err.kind).to.equal("timeout");
    expect(err.exitCode).to.equal(124);
    const entry = sim.readCommandsLog("host1").find((e) => e.command.includes(`sleep ${seconds}`))!;
    expect(entry.hostBound).to.deep.equal({ termSeconds: 3, killAfterSeconds: 0.5 });
  });

  it("without hostTimeout, the same command outlives the error (what the bound is for)", async () => {
    const seconds = uniqueSeconds(42);
    const err = await remoteRejection(
      exec(conn, ["sh", "-c", `sleep ${seconds}; true`], { timeoutMs: 1000 }),
    );
    expect(err.kind).to.equal("timeout");
    await until("the orphaned sleep to show", () => sleeping(seconds).length > 0, 5000, 50);
    expect(sleeping(seconds)).to.have.length.greaterThan(0);
    for (const pid of sleeping(seconds)) process.kill(pid, "SIGKILL");
  });

  it("holds the host's lock until a command cut off by a lost connection has ended: the next holder never overlaps it", async () => {
    sim.clearCommandsLog("host1");
    const seconds = uniqueSeconds(43);
    const timeoutMs = 6000;
    const first = sleepUnderLock(conn, seconds, timeoutMs);
    await until("the first command to run", () => sleeping(seconds).length > 0, 30_000, 50);
    await sim.killSshd("host1", { restartAfterMs: 200 });
    const err = await first;
    expect(err?.kind).to.equal("connection");
    // The command outlived its session; the lock is free again, but the host is not.
    expect(sleeping(seconds)).to.have.length.greaterThan(0);
    const second = await withHostLock(conn, () => exec(conn, ["echo", "second"], { timeoutMs: 30_000 }));
    expect(second.stdout).to.equal("second\n");

    await until(
      "the first command's log line",
      () => sim.readCommandsLog("host1").some((e) => e.command.includes(`sleep ${seconds}`)),
      30_000,
      50,
    );
    const log = sim.readCommandsLog("host1");
    const a = log.find((e) => e.command.includes(`sleep ${seconds}`))!;
    const b = log.find((e) => e.command === "echo second")!;
    const aEnd = Date.parse(a.time) + a.durationMs;
    expect(a.exitCode, "stopped by the host's timeout").to.equal(124);
    expect(
      Date.parse(b.time),
      `first ended ${a.time} + ${a.durationMs} ms; second started ${b.time}`,
    ).to.be.at.least(aEnd);
  });

  it("fails the next holder at once when the host cannot be reached, instead of waiting out the lost command's bound", async () => {
    sim.clearCommandsLog("host1");
    const seconds = uniqueSeconds(44);
    // A bound of almost two minutes, so failing before it passed cannot be the wait having ended.
    const timeoutMs = 120_000;
    const quick: Connection = { ...conn, dialErrorLimit: 2, perDialTimeout: 5 };
    const first = sleepUnderLock(quick, seconds, timeoutMs);
    await until("the first command to run", () => sleeping(seconds).length > 0, 30_000, 50);
    const boundEnds = Date.now() + planHostTimeout(timeoutMs).boundMs;
    await sim.killSshd("host1", { restartAfterMs: -1 });
    try {
      expect((await first)?.kind).to.equal("connection");
      const err = await remoteRejection(
        withHostLock(quick, () => exec(quick, ["echo", "second"], { timeoutMs: 30_000 })),
      );
      expect(err.kind).to.equal("connect");
      expect(Date.now(), "failed before the lost command's bound passed").to.be.below(boundEnds);
      // The orphan still runs (the host's bound will stop it); the second command never reached the host.
      expect(sleeping(seconds)).to.have.length.greaterThan(0);
      expect(sim.readCommandsLog("host1").some((e) => e.command.includes("echo second"))).to.equal(false);
    } finally {
      for (const pid of sleeping(seconds)) process.kill(pid, "SIGKILL");
      await sim.startHost("host1");
    }
  });
});
