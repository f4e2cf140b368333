import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  closeAll,
  configurePool,
  exec,
  poolStats,
  resetPoolOptions,
  type Connection,
} from "../../../provider/ssh";
import { makeClientKey, startSshd, waitFor, useSshd } from "../../helpers/sshd";

/** File descriptors of this process's ESTABLISHED TCP sockets to 127.0.0.1:`port` (/proc/self/fd, /proc/net/tcp). */
function establishedSocketsTo(port: number): number[] {
  const byInode = new Map<string, number>();
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`));
      if (m) byInode.set(m[1]!, Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return fs
    .readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2] === remote && f[3] === "01" && byInode.has(f[9] ?? ""))
    .map((f) => byInode.get(f[9]!)!);
}

/** 20 operations one after another, then 20 at once. */
async function fortyOperations(conn: Connection): Promise<void> {
  for (let i = 0; i < 20; i++) expect((await exec(conn, ["echo", `seq-${i}`])).stdout).to.equal(`seq-${i}\n`);
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => exec(conn, ["echo", `par-${i}`])));
  parallel.forEach((r, i) => expect(r.stdout).to.equal(`par-${i}\n`));
}

describe("ssh transport against real sshd: connection pool", function () {
  const ssh = useSshd("pool");
  afterEach(async () => {
    await closeAll();
    resetPoolOptions();
    delete process.env.PULUMI_ATOMIC_HOST_SSH_REUSE;
  });

  it("opens exactly 1 connection for 40 sequential and parallel operations (counted from sshd's log)", async () => {
    const before = ssh.sshd.countLog(/Accepted publickey for root/);
    await fortyOperations(ssh.conn);
    await closeAll();
    expect(ssh.sshd.countLog(/Accepted publickey for root/) - before).to.equal(1);
  });

  it("opens 40 connections when PULUMI_ATOMIC_HOST_SSH_REUSE=false, closing each after use", async () => {
    process.env.PULUMI_ATOMIC_HOST_SSH_REUSE = "false";
    const before = ssh.sshd.countLog(/Accepted publickey for root/);
    await fortyOperations(ssh.conn);
    expect(ssh.sshd.countLog(/Accepted publickey for root/) - before).to.equal(40);
    expect(poolStats().open).to.equal(0);
    await waitFor("sshd to log 40 disconnects", () => ssh.sshd.countLog(/Disconnected from user root/) >= 40);
  });

  it("shares one connection between two names of one host (localhost and 127.0.0.1)", async () => {
    const before = ssh.sshd.acceptedLogins();
    await Promise.all([
      exec({ ...ssh.conn, host: "localhost" }, ["true"]),
      exec(ssh.conn, ["true"]),
      exec({ ...ssh.conn, host: "LOCALHOST" }, ["true"]),
    ]);
    expect(ssh.sshd.acceptedLogins() - before).to.equal(1);
  });

  it("turns Nagle off on the pooled connection's socket (TCP_NODELAY, read back with getsockopt)", async () => {
    // The latency guard: with Nagle on, each command waits for a delayed ACK (~40 ms). Checked on the socket
    // itself, not by timing: a python helper duplicates this process's socket with pidfd_getfd(2) and asks the
    // kernel for the option.
    await exec(ssh.conn, ["true"]);
    const fds = establishedSocketsTo(ssh.sshd.port);
    expect(fds, "this process's connection to sshd").to.have.length(1);
    const script = [
      "import ctypes, os, socket, sys",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "fd = libc.syscall(438, os.pidfd_open(int(sys.argv[1])), int(sys.argv[2]), 0)", // pidfd_getfd
      "if fd < 0: sys.exit('pidfd_getfd: ' + os.strerror(ctypes.get_errno()))",
      "s = socket.socket(fileno=fd)",
      "print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))",
    ].join("\n");
    const r = spawnSync("python3", ["-c", script, String(process.pid), String(fds[0])], { encoding: "utf8" });
    expect(r.stderr).to.equal("");
    expect(r.stdout.trim()).to.equal("1");
  });

  it("turns reuse off with configurePool({ reuse: false }) too", async () => {
    configurePool({ reuse: false });
    const before = ssh.sshd.acceptedLogins();
    await exec(ssh.conn, ["true"]);
    await exec(ssh.conn, ["true"]);
    expect(ssh.sshd.acceptedLogins() - before).to.equal(2);
  });

  it("closes a connection left idle for idleMs, and dials again when needed", async () => {
    configurePool({ idleMs: 100 });
    const before = ssh.sshd.acceptedLogins();
    const disconnects = ssh.sshd.countLog(/Disconnected from user root/);
    await exec(ssh.conn, ["true"]);
    expect(poolStats().open).to.equal(1);
    await waitFor("the idle connection to close", () => poolStats().open === 0);
    await waitFor(
      "sshd to log the disconnect",
      () => ssh.sshd.countLog(/Disconnected from user root/) > disconnects,
    );
    await exec(ssh.conn, ["true"]);
    expect(ssh.sshd.acceptedLogins() - before).to.equal(2);
  });

  it("keeps one connection per credential set: another key to the same host gets its own", async () => {
    const second = makeClientKey(ssh.dir, "second");
    const sshd2 = await startSshd({ authorizedKeys: [ssh.key.publicKey, second.publicKey] });
    try {
      const a = {
        host: "127.0.0.1",
        port: sshd2.port,
        privateKey: ssh.key.privateKey,
        hostKey: sshd2.hostKey,
      };
      const b = { ...a, privateKey: second.privateKey };
      await Promise.all([exec(a, ["true"]), exec(b, ["true"]), exec(a, ["true"]), exec(b, ["true"])]);
      expect(sshd2.acceptedLogins()).to.equal(2);
    } finally {
      await closeAll();
      await sshd2.dispose();
    }
  });

  it("lets a process exit on its own once its pooled connection is idle (no closeAll)", function () {
    const script = [
      `const { exec } = require(${JSON.stringify(path.resolve(__dirname, "../../../provider/ssh"))});`,
      `exec(${JSON.stringify(ssh.conn)}, ["echo", "child"]).then((r) => process.stdout.write(r.stdout));`,
    ].join("\n");
    const child = spawnSync(process.execPath, ["-r", "ts-node/register", "-e", script], {
      env: {
        ...process.env,
        TS_NODE_TRANSPILE_ONLY: "true",
        TS_NODE_PROJECT: path.resolve(__dirname, "../../tsconfig.json"),
      },
      encoding: "utf8",
      timeout: 45_000,
    });
    expect(child.error).to.equal(undefined);
    expect(child.status).to.equal(0);
    expect(child.stdout).to.equal("child\n");
  });

  it("measures exec latency on a pooled connection (reported, not asserted)", async () => {
    await exec(ssh.conn, ["true"]);
    const n = 200;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await exec(ssh.conn, ["true"]);
    const sequentialMs = Number(process.hrtime.bigint() - t0) / 1e6 / n;
    const t1 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: n }, () => exec(ssh.conn, ["true"])));
    const parallelMs = Number(process.hrtime.bigint() - t1) / 1e6 / n;
    console.log(
      `      exec true on a pooled connection: ${sequentialMs.toFixed(2)} ms sequential, ${parallelMs.toFixed(2)} ms each with 8 in flight`,
    );
  });
});
