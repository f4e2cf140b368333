import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { SimCluster } from "../../../sim";
import {
  closed,
  knownHostsFile,
  removeDir,
  skipUnlessSimAvailable,
  sleep,
  ssh2Connect,
  ssh2Exec,
  sshRun,
  tempDir,
} from "./support";

describe("atomic-host-sim: faults", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: SimCluster;
  let knownHosts: string;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("faults");
    cluster = await SimCluster.start({ dir, hosts: 2, release: 27, etcdHosts: 0 });
    knownHosts = knownHostsFile(dir, cluster.hosts);
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("killSshd drops a connection mid-command; new connections work right after", async function () {
    const h = cluster.host("host1");
    const conn = await ssh2Connect(h);
    const dropped = closed(conn);
    const running = ssh2Exec(conn, "echo started; sleep 20; echo finished");
    await sleep(300);
    const t0 = Date.now();
    await cluster.killSshd(h);
    await dropped;
    const r = await running;
    expect(Date.now() - t0).to.be.lessThan(5000);
    expect(r.code).to.equal(null); // no exit status ever came
    expect(r.stdout).to.equal("started\n");
    const again = await sshRun(h, "echo ok", { knownHosts });
    expect(again.stdout).to.equal("ok\n");
  });

  it("unreachable refuses connections for the given time, keeps open sessions, then accepts again", async function () {
    const h = cluster.host("host2");
    const conn = await ssh2Connect(h);
    try {
      await cluster.unreachable(h, 2);
      expect((await cluster.hostStatus(h)).state).to.equal("unreachable");
      const refused = await sshRun(h, "true", { knownHosts });
      expect(refused.code).to.equal(255);
      expect(refused.stderr).to.match(/Connection refused/);
      const open = await ssh2Exec(conn, "echo still-here");
      expect(open.stdout).to.equal("still-here\n");
      await sleep(2300);
      const back = await sshRun(h, "echo back", { knownHosts });
      expect(back.stdout, back.stderr).to.equal("back\n");
      expect((await cluster.hostStatus(h)).state).to.equal("up");
    } finally {
      conn.end();
    }
  });

  it("slow delays every command by the given time, and can be turned off", async function () {
    const h = cluster.host("host1");
    const conn = await ssh2Connect(h);
    try {
      const fast = await ssh2Exec(conn, "true");
      cluster.slow(h, 400);
      const slow = await ssh2Exec(conn, "true");
      cluster.slow(h, 0);
      const fastAgain = await ssh2Exec(conn, "true");
      expect(slow.ms).to.be.greaterThanOrEqual(400);
      expect(fast.ms).to.be.lessThan(400);
      expect(fastAgain.ms).to.be.lessThan(400);
    } finally {
      conn.end();
    }
    const last = cluster
      .readCommandsLog(h)
      .slice(-3)
      .map((e) => e.durationMs);
    expect(last[1]).to.be.greaterThanOrEqual(400);
  });

  it("holdTransaction is written to faults.json for rpm-ostree, which then reports a transaction in progress", async function () {
    const h = cluster.host("host1");
    cluster.holdTransaction(h, true);
    const faults = JSON.parse(fs.readFileSync(path.join(cluster.paths(h).state, "faults.json"), "utf8"));
    expect(faults.holdTransaction).to.equal(true);
    if (fs.existsSync(path.resolve(__dirname, "../../../bin/sim/tools/rpm-ostree.js"))) {
      // The first install holds its transaction open; a second client meets it.
      const first = sshRun(h, "rpm-ostree install htop", { knownHosts, timeoutMs: 30_000 });
      await sleep(1500);
      const second = await sshRun(h, "rpm-ostree install etcd", { knownHosts });
      expect(second.code).to.not.equal(0);
      expect(second.stderr).to.match(/transaction in progress/i);
      cluster.holdTransaction(h, false);
      const done = await first;
      expect(done.code, done.stderr).to.equal(0);
    } else {
      cluster.holdTransaction(h, false);
    }
    expect(
      JSON.parse(fs.readFileSync(path.join(cluster.paths(h).state, "faults.json"), "utf8")),
    ).to.not.have.property("holdTransaction");
  });

  it("fillDisk makes writes under a path fail with ENOSPC while keeping what was there", async function () {
    const h = cluster.host("host2");
    await cluster.exec(h, "mkdir -p /var/lib/filltest && echo kept > /var/lib/filltest/old");
    await cluster.fillDisk(h, "/var/lib/filltest", 256 * 1024);
    const r = await sshRun(
      h,
      "cat /var/lib/filltest/old; head -c 1000000 /dev/zero > /var/lib/filltest/big",
      { knownHosts },
    );
    expect(r.stdout).to.equal("kept\n");
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/No space left on device/);
    const elsewhere = await sshRun(h, "head -c 1000000 /dev/zero > /var/lib/not-full && echo ok", {
      knownHosts,
    });
    expect(elsewhere.stdout).to.equal("ok\n");
    await cluster.clearDisk(h, "/var/lib/filltest");
  });

  it("pauseAtomicInstall holds atomic install at a point; a client killed there stops it for good, one not killed goes on", async function () {
    const h = cluster.host("host1");
    const image = "registry.fedoraproject.org/f27/etcd";
    const install = `atomic install --system --system-package=no --storage=ostree --name=etcd ${image}`;
    expect((await cluster.exec(h, `atomic pull --storage=ostree ${image} >/dev/null`)).exitCode).to.equal(0);
    try {
      cluster.pauseAtomicInstall(h, "install:after-checkout", 1000);
      const killed = cluster.exec(h, install);
      const paused = await cluster.waitForAtomicPause(h);
      expect(paused.point).to.equal("install:after-checkout");
      expect(fs.readFileSync(`/proc/${paused.pid}/comm`, "utf8")).to.equal("atomic\n");
      process.kill(paused.pid, "SIGKILL");
      const r = await killed;
      expect(r.stdout).to.equal("Extracting to /var/lib/containers/atomic/etcd.0\n");
      // Past the pause's end: the killed command's thread was ended, so nothing after the checkout was written.
      await sleep(1500);
      expect(
        (await cluster.exec(h, "ls -A /var/lib/containers/atomic /var/lib/containers/atomic/etcd.0")).stdout,
      ).to.equal("/var/lib/containers/atomic:\netcd.0\n\n/var/lib/containers/atomic/etcd.0:\nrootfs\n");
      // Not killed, the install waits out the pause and completes with atomic's usual output.
      expect((await cluster.exec(h, "rm -rf /var/lib/containers/atomic/etcd.0")).exitCode).to.equal(0);
      const t0 = Date.now();
      const whole = await cluster.exec(h, install);
      expect(Date.now() - t0).to.be.at.least(1000);
      expect(whole.exitCode, whole.stderr).to.equal(0);
      expect(whole.stdout).to.equal(
        [
          "Extracting to /var/lib/containers/atomic/etcd.0",
          "Created file /etc/etcd/etcd.conf",
          "Created file /usr/local/bin/etcdctl",
          "systemctl daemon-reload",
          "systemd-tmpfiles --create /etc/tmpfiles.d/etcd.conf",
          "systemctl enable etcd",
          "",
        ].join("\n"),
      );
    } finally {
      cluster.pauseAtomicInstall(h, null);
    }
  });

  it("changeHostKey makes a pinned client refuse the host, and updates cluster.json", async function () {
    const h = cluster.host("host1");
    const oldFingerprint = h.hostKeyFingerprint;
    const entry = await cluster.changeHostKey(h);
    expect(entry.hostKeyFingerprint).to.not.equal(oldFingerprint);
    const pinned = await sshRun(entry, "true", { knownHosts });
    expect(pinned.code).to.equal(255);
    expect(pinned.stderr).to.match(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    const fresh = knownHostsFile(dir, cluster.hosts, "known_hosts.new");
    expect((await sshRun(entry, "echo ok", { knownHosts: fresh })).stdout).to.equal("ok\n");
    const file = JSON.parse(fs.readFileSync(path.join(dir, "cluster.json"), "utf8"));
    expect(file.hosts[0].hostKeyFingerprint).to.equal(entry.hostKeyFingerprint);
    knownHosts = fresh;
  });
});

// A full disk under atomic's checkout, on each release: where the checkout goes and what atomic leaves differ.
describe("atomic-host-sim: atomic install on a full disk, 1.19.1 and 1.20.1", function () {
  this.timeout(120_000);
  const image = "registry.fedoraproject.org/f27/etcd";
  const install = `atomic install --system --system-package=no --storage=ostree --name=etcd ${image}`;
  const clusters: Record<string, SimCluster> = {};

  before(async function () {
    skipUnlessSimAvailable(this);
    const [f26, f27] = await Promise.all(
      ([26, 27] as const).map((release) =>
        SimCluster.start({ dir: tempDir(`full${release}`), hosts: [`f${release}`], release, etcdHosts: 0 }),
      ),
    );
    Object.assign(clusters, { f26, f27 });
  });

  after(async function () {
    for (const c of Object.values(clusters)) {
      await c.stop();
      removeDir(c.dir);
    }
  });

  /** Fills a tmpfs over `target` to the last byte, runs the install, and lists what is left under `target`. */
  async function installOnFullDisk(host: "f26" | "f27", target: string) {
    const cluster = clusters[host]!;
    expect((await cluster.exec(host, `atomic pull --storage=ostree ${image} >/dev/null`)).exitCode).to.equal(
      0,
    );
    await cluster.fillDisk(host, target, 64 * 1024);
    await cluster.exec(host, `dd if=/dev/zero of=${target}/.filler bs=4096 2>/dev/null; exit 0`);
    const r = await cluster.exec(host, install);
    const left = await cluster.exec(
      host,
      `cd ${target} && find . | sort; ls /etc/systemd/system/etcd.service 2>&1`,
    );
    await cluster.clearDisk(host, target);
    return { r, left: left.stdout };
  }

  it("1.20.1 checks out on the full filesystem, fails with libostree's error and removes the partial checkout", async () => {
    const { r, left } = await installOnFullDisk("f27", "/var/lib/containers/atomic");
    expect({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
      code: 1,
      stdout: "Extracting to /var/lib/containers/atomic/etcd.0\n",
      stderr: "g-io-error-quark: regfile copy: No space left on device (12)\n",
    });
    expect(left).to.equal(
      ".\n./.filler\nls: cannot access '/etc/systemd/system/etcd.service': No such file or directory\n",
    );
  });

  it("1.19.1 checks out under /ostree/deploy, and leaves its partial checkout (it does not catch GLib.Error)", async () => {
    // 1.19.1 always writes the checkout under the deployment's var (`_canonicalize_location`): fill that folder.
    const { r, left } = await installOnFullDisk(
      "f26",
      "/ostree/deploy/fedora-atomic/var/lib/containers/atomic",
    );
    expect({ code: r.exitCode, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
      code: 1,
      stdout: "Extracting to /var/lib/containers/atomic/etcd.0\n",
      stderr: "g-io-error-quark: regfile copy: No space left on device (12)\n",
    });
    expect(left).to.match(/^\.\n\.\/\.filler\n\.\/etcd\.0\n\.\/etcd\.0\/rootfs\n/);
    expect(left).to.include("ls: cannot access '/etc/systemd/system/etcd.service'");
  });
});
