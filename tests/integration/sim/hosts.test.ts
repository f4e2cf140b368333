import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { Client } from "ssh2";
import { SimCluster } from "../../../sim";
import {
  CLI,
  knownHostsFile,
  removeDir,
  runProcess,
  skipUnlessSimAvailable,
  ssh2Connect,
  ssh2Exec,
  sshRun,
  tempDir,
} from "./support";

describe("atomic-host-sim: hosts over real sshd", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: SimCluster;
  let knownHosts: string;
  const password = "s3cret-Atomic";

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("hosts");
    cluster = await SimCluster.start({
      dir,
      hosts: 2,
      release: 26,
      layout: "contrib",
      etcdHosts: 1,
      password,
    });
    knownHosts = knownHostsFile(dir, cluster.hosts);
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("writes cluster.json with one entry per host, host keys and fingerprints included", function () {
    const file = JSON.parse(fs.readFileSync(path.join(dir, "cluster.json"), "utf8"));
    expect(file.hosts.map((h: { name: string }) => h.name)).to.deep.equal(["host1", "host2"]);
    for (const h of file.hosts) {
      expect(h).to.include({ host: "127.0.0.1", user: "root", privateKeyPath: path.join(dir, "id_ed25519") });
      expect(h.hostKey).to.match(/^ssh-ed25519 AAAA\S+$/);
      expect(h.hostKeyFingerprint).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(h.etcdClientPort).to.be.a("number");
    }
  });

  it("answers ssh with strict host-key checking, and each host has its own boot id", async function () {
    const ids = [];
    for (const h of cluster.hosts) {
      const r = await sshRun(h, "cat /proc/sys/kernel/random/boot_id", { knownHosts });
      expect(r.code, r.stderr).to.equal(0);
      ids.push(r.stdout.trim());
      expect(r.stdout.trim()).to.equal(cluster.bootId(h));
    }
    expect(ids[0]).to.match(/^[0-9a-f-]{36}$/);
    expect(ids[0]).to.not.equal(ids[1]);
  });

  it("looks like an Atomic host from inside: hostname, /run/ostree-booted, a quiet root shell, its own /etc", async function () {
    const h = cluster.host("host2");
    const r = await sshRun(
      h,
      "hostname; test -e /run/ostree-booted && echo booted; echo $PATH; touch /etc/only-on-host2",
      {
        knownHosts,
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal("");
    const [name, booted, pathEnv] = r.stdout.trim().split("\n");
    expect(name).to.equal("host2");
    expect(booted).to.equal("booted");
    expect(pathEnv.split(":")[0]).to.equal(path.join(dir, "host2", "bin"));
    expect(fs.existsSync("/etc/only-on-host2")).to.equal(false);
    const other = await sshRun(cluster.host("host1"), "test -e /etc/only-on-host2; echo $?", { knownHosts });
    expect(other.stdout.trim()).to.equal("1");
  });

  it("logs one JSON line per command with its exit code or signal, and sshd logs each accepted login", async function () {
    const h = cluster.host("host1");
    cluster.clearCommandsLog(h);
    const loginsBefore = cluster.countAcceptedLogins(h, "publickey");
    await sshRun(h, "true", { knownHosts });
    await sshRun(h, "echo 'quoted \"x\"'; exit 3", { knownHosts });
    const killed = await sshRun(h, "kill -TERM $$", { knownHosts });
    expect(killed.code).to.equal(255); // ssh's code when the remote command dies of a signal
    const log = cluster.readCommandsLog(h);
    expect(log.map((e) => [e.command, e.exitCode, e.signal])).to.deep.equal([
      ["true", 0, undefined],
      ["echo 'quoted \"x\"'; exit 3", 3, undefined],
      ["kill -TERM $$", null, "TERM"],
    ]);
    expect(Date.parse(log[0].time)).to.be.closeTo(Date.now(), 60_000);
    expect(cluster.countAcceptedLogins(h, "publickey")).to.equal(loginsBefore + 3);
    expect(fs.readFileSync(cluster.paths(h).sshdLog, "utf8")).to.match(
      /Accepted publickey for root from 127\.0\.0\.1/,
    );
  });

  it("logs the CPU time of each command's own processes (the shell and what it waited for), not its wall time", async function () {
    const h = cluster.host("host1");
    cluster.clearCommandsLog(h);
    // A busy loop in a child shell (CPU), then a sleep (wall time, next to no CPU).
    await sshRun(h, "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'", { knownHosts });
    await sshRun(h, "sleep 0.5", { knownHosts });
    const [busy, idle] = cluster.readCommandsLog(h);
    expect(busy.cpuMs, "the busy loop's CPU").to.be.a("number").and.greaterThan(50);
    expect(busy.cpuMs!, "CPU cannot exceed the wall time of a single-threaded loop by much").to.be.at.most(
      busy.durationMs * 1.1 + 10,
    );
    expect(idle.durationMs).to.be.at.least(500);
    expect(idle.cpuMs, "a sleep's CPU").to.be.a("number").and.lessThan(50);
  });

  it("passes stdin through and returns large outputs whole", async function () {
    const h = cluster.host("host1");
    const input = "x".repeat(100_000) + "\n";
    const echoed = await sshRun(h, "wc -c", { knownHosts, input });
    expect(echoed.stdout.trim()).to.equal(String(input.length));
    const big = await sshRun(h, "head -c 3000000 /dev/zero | tr '\\0' 'a'", { knownHosts });
    expect(big.stdout.length).to.equal(3_000_000);
  });

  it("keeps every line whole when many commands run at once on one connection", async function () {
    const h = cluster.host("host2");
    cluster.clearCommandsLog(h);
    const conn = await ssh2Connect(h);
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => ssh2Exec(conn, `echo run-${i}; exit ${i}`)),
      );
      expect(results.map((r) => r.code)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      conn.end();
    }
    const log = cluster.readCommandsLog(h);
    expect(log).to.have.length(8);
    expect(log.map((e) => e.exitCode).sort()).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("accepts root's password when one is set", async function () {
    const h = cluster.host("host1");
    const conn = await ssh2Connect(h, { password, useKey: false });
    try {
      const r = await ssh2Exec(conn, "id -un");
      expect(r.stdout.trim()).to.equal("root");
    } finally {
      conn.end();
    }
    expect(cluster.countAcceptedLogins(h, "password")).to.be.greaterThan(0);
    let wrong: Error | undefined;
    await ssh2Connect(h, { password: "wrong", useKey: false }).then(
      (c: Client) => c.end(),
      (e: Error) => (wrong = e),
    );
    expect(wrong?.message).to.match(/authentication/i);
  });

  it("forwards TCP, so one host can be the jump host to another", async function () {
    const jump = await ssh2Connect(cluster.host("host1"));
    try {
      const target = cluster.host("host2");
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
        jump.forwardOut("127.0.0.1", 0, target.host, target.port, (err, s) =>
          err ? reject(err) : resolve(s),
        ),
      );
      const inner = await ssh2Connect(target, { sock: stream });
      const r = await ssh2Exec(inner, "hostname");
      inner.end();
      expect(r.stdout.trim()).to.equal("host2");
    } finally {
      jump.end();
    }
  });

  it("runs test set-up inside a host without SSH and without logging it", async function () {
    const h = cluster.host("host1");
    cluster.clearCommandsLog(h);
    const r = await cluster.exec(h, "hostname; cat /etc/etcd/etcd.conf | grep ^ETCD_DATA_DIR");
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.equal("host1\nETCD_DATA_DIR=/var/lib/etcd\n");
    expect(cluster.readCommandsLog(h)).to.deep.equal([]);
  });

  it("reports every host up through `atomic-host-sim status`", async function () {
    const r = await runProcess(process.execPath, [CLI, "status", "--dir", dir, "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const reports = JSON.parse(r.stdout);
    expect(reports.map((x: { name: string; state: string }) => [x.name, x.state])).to.deep.equal([
      ["host1", "up"],
      ["host2", "up"],
    ]);
    expect(reports[0].bootId).to.equal(cluster.bootId("host1"));
    expect(reports[0].supervisorPid).to.be.greaterThan(0);
    const text = await runProcess(process.execPath, [CLI, "status", "--dir", dir]);
    expect(text.stdout.split("\n")[0]).to.match(
      /^NAME\s+STATE\s+PORT\s+BOOT ID\s+SUPERVISOR PID\s+SSHD PID$/,
    );
  });
});
