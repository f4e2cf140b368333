import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import {
  closeAll,
  configurePool,
  exec,
  resetPoolOptions,
  setSshLogger,
  type Connection,
} from "../../../provider/ssh";
import { startSshd, waitFor, useSshd } from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

/**
 * A TCP port on 127.0.0.1 that never answers a SYN: a python listener with a backlog of 0 that never accepts, its
 * accept queue filled by its own connections.
 */
async function blackHole(): Promise<{ port: number; dispose: () => void }> {
  const script = [
    "import socket, sys, time",
    "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(0)",
    "fill = []",
    "for _ in range(3):",
    "    c = socket.socket(); c.setblocking(False)",
    "    try: c.connect(l.getsockname())",
    "    except BlockingIOError: pass",
    "    fill.append(c)",
    "time.sleep(0.5)",
    "print(l.getsockname()[1], flush=True)",
    "sys.stdin.read()",
  ].join("\n");
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once("error", reject);
  });
  return { port, dispose: () => child.kill() };
}

/**
 * This process's sockets in SYN_SENT to `port` on 127.0.0.1, from /proc/net/tcp matched against the socket inodes
 * of /proc/self/fd: what a connect that was never aborted leaves behind.
 */
function synSentTo(port: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return fs
    .readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[2] === `0100007F:${hexPort}` && inodes.has(f[9]!))
    .map((f) => `${f[1]} -> ${f[2]} state ${f[3]}`);
}

describe("ssh transport against real sshd: dialing and retries", function () {
  const ssh = useSshd("dial", { password: "right-password" });
  let lines: string[];
  beforeEach(() => {
    lines = [];
    setSshLogger((l) => lines.push(l));
    configurePool({ dialBackoffMs: () => 50 });
  });
  afterEach(async () => {
    await closeAll();
    resetPoolOptions();
    setSshLogger(undefined);
  });

  const conn = (extra: Partial<Connection> = {}): Connection => ({
    host: "127.0.0.1",
    port: ssh.sshd.port,
    privateKey: ssh.key.privateKey,
    hostKey: ssh.sshd.hostKey,
    ...extra,
  });

  it("retries a refused connection up to dialErrorLimit attempts, then fails with kind connect", async () => {
    const stopped = await startSshd({ authorizedKeys: [ssh.key.publicKey] });
    await stopped.stop(); // a port where nothing listens
    try {
      const err = await remoteRejection(
        exec(conn({ port: stopped.port, hostKey: stopped.hostKey, dialErrorLimit: 3 }), ["true"]),
      );
      expect(err.kind).to.equal("connect");
      expect(err.message).to.contain("ECONNREFUSED").and.contain(`root@127.0.0.1:${stopped.port}`);
      // A progress line per attempt (the provider prints them live), the reason in words.
      const label = `root@127.0.0.1:${stopped.port}`;
      expect(lines.filter((l) => l.includes(": dial attempt "))).to.deep.equal([
        `${label}: dial attempt 1/3 failed: connection refused; retrying in 50 ms`,
        `${label}: dial attempt 2/3 failed: connection refused; retrying in 50 ms`,
        `${label}: dial attempt 3/3 failed: connection refused; giving up`,
      ]);
    } finally {
      await stopped.dispose();
    }
  });

  it("connects once sshd starts listening while it retries", async () => {
    const late = await startSshd({ authorizedKeys: [ssh.key.publicKey] });
    await late.stop();
    try {
      const running = exec(conn({ port: late.port, hostKey: late.hostKey, dialErrorLimit: 100 }), [
        "echo",
        "up",
      ]);
      await waitFor("a refused dial to be retried", () =>
        lines.some((l) => l.includes(": dial attempt 1/100 failed")),
      );
      await late.start();
      expect((await running).stdout).to.equal("up\n");
      expect(lines.some((l) => l.includes(": dial attempt 1/100 failed: connection refused"))).to.equal(true);
    } finally {
      await closeAll();
      await late.dispose();
    }
  });

  it("gives each attempt perDialTimeout seconds against a server that never speaks", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await remoteRejection(exec(conn({ port, perDialTimeout: 1, dialErrorLimit: 2 }), ["true"]));
      expect(err.kind).to.equal("connect");
      expect(err.message).to.contain("no SSH session within 1 s");
      expect(accepted.length).to.equal(2);
    } finally {
      accepted.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it("aborts each timed-out TCP connect to a black-holed port: ~dialErrorLimit x perDialTimeout, no socket left", async () => {
    // A listener whose accept queue is full and that never accepts: Linux drops further SYNs
    // (tcp_conn_request: sk_acceptq_is_full), so a connect there waits for a SYN-ACK that never comes.
    const hole = await blackHole();
    try {
      const before = synSentTo(hole.port);
      expect(before, "no earlier connect to the black hole").to.deep.equal([]);
      const t0 = Date.now();
      const err = await remoteRejection(
        exec(conn({ port: hole.port, perDialTimeout: 1, dialErrorLimit: 3 }), ["true"]),
      );
      const ms = Date.now() - t0;
      expect(err.kind).to.equal("connect");
      expect(err.message).to.contain("no SSH session within 1 s");
      // 3 attempts of 1 s and two 50 ms backoffs; a loaded machine adds a little.
      expect(ms).to.be.within(3000, 5000);
      expect(
        synSentTo(hole.port),
        "sockets of this process still connecting to the black hole",
      ).to.deep.equal([]);
    } finally {
      hole.dispose();
    }
  });

  it("never retries an authentication failure", async () => {
    const before = ssh.sshd.connectionsSeen();
    const err = await remoteRejection(
      exec(conn({ privateKey: undefined, password: "wrong-password", dialErrorLimit: 10 }), ["true"]),
    );
    expect(err.kind).to.equal("auth");
    expect(ssh.sshd.connectionsSeen() - before).to.equal(1);
    expect(lines.filter((l) => l.includes(": dial attempt "))).to.deep.equal([]);
    expect(lines.join("\n")).not.to.contain("wrong-password");
  });

  it("never retries a host key failure", async () => {
    const before = ssh.sshd.connectionsSeen();
    const err = await remoteRejection(
      exec(conn({ hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", dialErrorLimit: 10 }), [
        "true",
      ]),
    );
    expect(err.kind).to.equal("hostkey");
    expect(ssh.sshd.connectionsSeen() - before).to.equal(1);
  });

  it("shares one dial between concurrent first commands to a host", async () => {
    const before = ssh.sshd.acceptedLogins();
    await Promise.all(Array.from({ length: 12 }, () => exec(conn(), ["true"])));
    expect(ssh.sshd.acceptedLogins() - before).to.equal(1);
  });
});
