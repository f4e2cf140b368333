import { expect } from "chai";
import * as fs from "fs";
import { buildRemoteTimeoutArgv, closeAll, exec, execOk, setSshLogger } from "../../../provider/ssh";
import { TEST_USER, startSshd, waitFor, useSshd } from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

/** A sleep duration no other test run uses, so finding and killing its processes touches only ours. */
function uniqueSeconds(whole: number): string {
  return `${whole}.${String(process.pid).padStart(7, "0")}${Math.floor(Math.random() * 1000)}`;
}

/** Pids of local processes whose argv is exactly `argv` (sshd runs on this machine). */
function processesRunning(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") === want;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("ssh transport against real sshd: exec", function () {
  const ssh = useSshd("exec", { unprivilegedUser: true });
  afterEach(() => closeAll());

  it("returns exit code, stdout and stderr separately and does not throw on a non-zero exit", async () => {
    const r = await exec(ssh.conn, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).to.include({
      exitCode: 3,
      signal: null,
      stdout: "out\n",
      stderr: "err\n",
      host: `root@127.0.0.1:${ssh.sshd.port}`,
    });
    expect(r.command).to.equal("sh -c 'echo out; echo err >&2; exit 3'");
    expect(r.durationMs).to.be.a("number").and.at.least(0);
  });

  it("throws kind command from execOk with the exit code, host and stderr tail", async () => {
    const err = await remoteRejection(
      execOk(ssh.conn, ["sh", "-c", "echo 'error: Packages not found: etcd' >&2; exit 4"]),
    );
    expect(err).to.include({ kind: "command", exitCode: 4, stderrTail: "error: Packages not found: etcd" });
    expect(err.message).to.contain(`root@127.0.0.1:${ssh.sshd.port}: the command exited with code 4`);
  });

  it("closes stdin at once when none is given, so commands reading it do not hang", async () => {
    const r = await exec(ssh.conn, ["cat"], { timeoutMs: 20_000 });
    expect(r).to.include({ exitCode: 0, stdout: "" });
  });

  it("reports a command killed by a signal", async () => {
    const r = await exec(ssh.conn, ["sh", "-c", "kill -TERM $$"]);
    expect(r).to.include({ exitCode: null, signal: "SIGTERM" });
  });

  it("drains 10 MB of stdout and 3 MB of stderr written at the same time", async () => {
    const script =
      "head -c 3000000 /dev/zero | tr '\\0' e >&2 & head -c 10485760 /dev/zero | tr '\\0' o; wait";
    const r = await exec(ssh.conn, ["sh", "-c", script], { timeoutMs: 50_000 });
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.length).to.equal(10_485_760);
    expect(r.stderr.length).to.equal(3_000_000);
    expect(r.stdout).to.match(/^o+$/);
    expect(r.stdoutTruncated).to.equal(false);
  });

  it("keeps only the tail of output beyond maxOutputBytes, still reading it to the end", async () => {
    const r = await exec(ssh.conn, ["seq", "1", "100000"], { maxOutputBytes: 1000 });
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.length).to.equal(1000);
    expect(r.stdout.endsWith("99999\n100000\n")).to.equal(true);
    expect(r.stdoutTruncated).to.equal(true);
  });

  it("fails a command that runs past its timeout with kind timeout, saying it may still run, and stays usable", async () => {
    const marker = ["sleep", uniqueSeconds(31)];
    const err = await remoteRejection(exec(ssh.conn, marker, { timeoutMs: 500 }));
    expect(err.kind).to.equal("timeout");
    expect(err.message).to.contain("did not finish within 500 ms").and.contain(`command: sleep ${marker[1]}`);
    expect(err.message).to.contain("may still be running");
    expect((await exec(ssh.conn, ["echo", "still usable"])).stdout).to.equal("still usable\n");
    // sshd refuses channel signals for root sessions, so root's sleep is still there: clean it up.
    await waitFor("the sleep to be found", () => processesRunning(marker).length > 0);
    for (const pid of processesRunning(marker)) process.kill(pid, "SIGKILL");
  });

  it("signals a timed-out command's process group where sshd allows it (an unprivileged login)", async () => {
    const marker = ["sleep", uniqueSeconds(32)];
    const err = await remoteRejection(
      exec({ ...ssh.conn, user: TEST_USER }, ["sh", "-c", `sleep ${marker[1]}; true`], { timeoutMs: 500 }),
    );
    expect(err.kind).to.equal("timeout");
    expect(err.host).to.equal(`${TEST_USER}@127.0.0.1:${ssh.sshd.port}`);
    await waitFor("the signalled sleep to die", () => processesRunning(marker).length === 0);
  });

  it("lets the host enforce a limit with buildRemoteTimeoutArgv, which also works for root", async () => {
    const marker = ["sleep", uniqueSeconds(33)];
    const r = await exec(ssh.conn, buildRemoteTimeoutArgv(0.3, ["sh", "-c", `sleep ${marker[1]}; true`], 1));
    expect(r.exitCode).to.equal(124);
    await waitFor("the sleep to be stopped by timeout(1)", () => processesRunning(marker).length === 0);
  });

  it("reports a connection dropped mid-command as kind connection, then reconnects", async () => {
    const logins = ssh.sshd.acceptedLogins();
    const ran = ssh.sshd.commands().length;
    const marker = ["sleep", uniqueSeconds(30)];
    const running = exec(ssh.conn, marker);
    await waitFor(
      "the command to start",
      () => ssh.sshd.commands().length > ran && processesRunning(marker).length > 0,
    );
    expect(ssh.sshd.killSessions()).to.be.greaterThan(0);
    const err = await remoteRejection(running);
    expect(err.kind).to.equal("connection");
    expect(err.message)
      .to.contain("connection to the host was lost while the command was running")
      .and.contain("may or may not have completed");
    expect(err.command).to.equal(marker.join(" "));
    expect((await exec(ssh.conn, ["echo", "back"])).stdout).to.equal("back\n");
    expect(ssh.sshd.acceptedLogins() - logins).to.equal(2);
  });

  it("sends a command on a fresh connection when the pooled one was lost before it was sent: it runs once, no error", async () => {
    // sshd's sessions killed while the pooled connection is idle, then a command at once, before or after the client
    // has seen the close: either way nothing was sent on the lost connection, so it must run once on a new one.
    for (let round = 0; round < 5; round++) {
      expect((await exec(ssh.conn, ["echo", "warm"])).stdout).to.equal("warm\n");
      const logins = ssh.sshd.acceptedLogins();
      expect(ssh.sshd.killSessions()).to.be.greaterThan(0);
      const word = `fresh-${round}-${process.pid}`;
      const r = await exec(ssh.conn, ["echo", word]);
      expect(r.stdout).to.equal(`${word}\n`);
      expect(ssh.sshd.commands().filter((c) => c === `echo ${word}`)).to.have.length(1);
      expect(ssh.sshd.acceptedLogins() - logins).to.equal(1);
    }
  });

  it("runs 50 concurrent commands on one host, all succeeding over one connection", async () => {
    const logins = ssh.sshd.acceptedLogins();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        exec(ssh.conn, ["sh", "-c", 'sleep 0.05; echo "$1"', "sh", String(i)]),
      ),
    );
    results.forEach((r, i) => expect(r).to.include({ exitCode: 0, stdout: `${i}\n` }));
    expect(ssh.sshd.acceptedLogins() - logins).to.equal(1);
  });

  it("retries channel opens the server refuses (MaxSessions 3, below the pool's 8 channels)", async () => {
    const narrow = await startSshd({ authorizedKeys: [ssh.key.publicKey], maxSessions: 3 });
    const lines: string[] = [];
    setSshLogger((l) => lines.push(l));
    try {
      const c = { ...ssh.conn, port: narrow.port, hostKey: narrow.hostKey };
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => exec(c, ["echo", String(i)])));
      results.forEach((r, i) => expect(r.stdout).to.equal(`${i}\n`));
      expect(narrow.acceptedLogins()).to.equal(1);
      expect(lines.filter((l) => l.startsWith("channel open on")).length).to.be.greaterThan(0);
    } finally {
      setSshLogger(undefined);
      await closeAll();
      await narrow.dispose();
    }
  });

  it("starts no command after its caller was told it timed out: channel-open retries stop at the deadline", async () => {
    // MaxSessions 1 and one long command holding it: every channel open for a second command is refused.
    const narrow = await startSshd({ authorizedKeys: [ssh.key.publicKey], maxSessions: 1 });
    const lines: string[] = [];
    setSshLogger((l) => lines.push(l));
    try {
      const c = { ...ssh.conn, port: narrow.port, hostKey: narrow.hostKey };
      const holder = exec(c, ["sleep", "1.5"]);
      await waitFor("the first command to hold the session", () => narrow.commands().length > 0);
      const err = await remoteRejection(exec(c, ["echo", "late"], { timeoutMs: 300 }));
      expect(err.kind).to.be.oneOf(["timeout", "connection"]);
      expect(lines.some((l) => l.startsWith("channel open on"))).to.equal(true);
      const refusedAtError = lines.filter((l) => l.startsWith("channel open on")).length;
      await holder; // the session is free again: a retry still going would now get through
      // A retry loop still running would get through within its next backoff (under 1.3 s): give it that long.
      await new Promise((r) => setTimeout(r, 1500));
      expect(narrow.commands().filter((x) => x.includes("echo late"))).to.deep.equal([]);
      expect(lines.filter((l) => l.startsWith("channel open on")).length).to.equal(refusedAtError);
    } finally {
      setSshLogger(undefined);
      await closeAll();
      await narrow.dispose();
    }
  });

  it("rejects an argument with NUL before sending anything", async () => {
    const ran = ssh.sshd.commands().length;
    const logins = ssh.sshd.acceptedLogins();
    let caught: unknown;
    await exec(ssh.conn, ["echo", "a\0b"]).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(TypeError);
    expect((caught as Error).message).to.match(/argument 1 of the command contains a NUL byte/);
    expect(ssh.sshd.commands().length).to.equal(ran);
    expect(ssh.sshd.acceptedLogins()).to.equal(logins);
  });
});
