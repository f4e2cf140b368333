import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { SimCluster } from "../../../sim";
import {
  closed,
  knownHostsFile,
  processesOf,
  removeDir,
  skipUnlessSimAvailable,
  sleep,
  ssh2Connect,
  ssh2Exec,
  sshRun,
  tempDir,
} from "./support";

const REBOOT_DOWN_MS = 1500;

describe("atomic-host-sim: reboots and power loss", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: SimCluster;
  let knownHosts: string;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("reboot");
    // Fedora 27 has no etcd in its base image: layering it shows whether the reboot booted the pending deployment.
    cluster = await SimCluster.start({
      dir,
      hosts: 2,
      release: 27,
      etcdHosts: 0,
      rebootDownMs: REBOOT_DOWN_MS,
    });
    knownHosts = knownHostsFile(dir, cluster.hosts);
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("`systemctl reboot` drops every connection, keeps the host down, and boots the pending deployment", async function () {
    const h = cluster.host("host1");
    const rpmOstree = fs.existsSync(path.resolve(__dirname, "../../../bin/sim/tools/rpm-ostree.js"));
    if (rpmOstree) {
      const install = await sshRun(h, "rpm-ostree install etcd", { knownHosts });
      expect(install.code, install.stdout + install.stderr).to.equal(0);
    }
    const unitBefore = await sshRun(h, "test -e /usr/lib/systemd/system/etcd.service; echo $?", {
      knownHosts,
    });
    expect(unitBefore.stdout.trim()).to.equal("1"); // layered packages show only after a reboot
    // A unit file the boot must put back: proof that bootPendingDeployment re-materialised the booted tree.
    fs.rmSync(path.join(cluster.paths(h).usrLibSystemd, "docker.service"));

    const bootBefore = cluster.bootId(h);
    cluster.clearCommandsLog(h);
    const conn = await ssh2Connect(h);
    const other = await ssh2Connect(h);
    const dropped = closed(conn);
    const inFlight = ssh2Exec(other, "sleep 30; echo finished");
    await sleep(200);
    const t0 = Date.now();
    const reboot = await ssh2Exec(conn, "systemctl reboot");
    expect(reboot.code).to.equal(0);
    await dropped;
    const stuck = await inFlight;
    expect(stuck.code).to.equal(null); // no exit status: the session died with the host
    expect(stuck.stdout).to.equal("");
    other.end();

    const refused = await sshRun(h, "true", { knownHosts });
    expect(refused.code).to.equal(255);
    expect(refused.stderr).to.match(/Connection refused|closed|reset/);

    let back: Awaited<ReturnType<typeof sshRun>> | undefined;
    while (Date.now() - t0 < 30_000) {
      back = await sshRun(h, "cat /proc/sys/kernel/random/boot_id", { knownHosts });
      if (back.code === 0) break;
      await sleep(100);
    }
    const downMs = Date.now() - t0;
    expect(back?.code, back?.stderr).to.equal(0);
    expect(downMs).to.be.greaterThanOrEqual(REBOOT_DOWN_MS);
    expect(back!.stdout.trim()).to.not.equal(bootBefore);
    expect(back!.stdout.trim()).to.equal(cluster.bootId(h));

    expect(fs.existsSync(path.join(cluster.paths(h).usrLibSystemd, "docker.service"))).to.equal(true);
    if (rpmOstree) {
      const after = await sshRun(
        h,
        "test -e /usr/lib/systemd/system/etcd.service && rpm-ostree status --json",
        {
          knownHosts,
        },
      );
      expect(after.code, after.stderr).to.equal(0);
      const booted = JSON.parse(after.stdout).deployments.find((d: { booted: boolean }) => d.booted);
      expect(booted["requested-packages"]).to.include("etcd");
    }
    // The shutdown TERMs every session, as systemd does: the wrapper records how the command ended.
    const log = cluster.readCommandsLog(h).map((e) => [e.command, e.exitCode, e.signal]);
    expect(log).to.deep.include(["systemctl reboot", 0, undefined]);
    expect(log).to.deep.include(["sleep 30; echo finished", null, "TERM"]);
  });

  it("reboot() from the library resolves once the host is back, with a new boot id", async function () {
    const h = cluster.host("host2");
    const before = cluster.bootId(h);
    const st = await cluster.reboot(h);
    expect(st.state).to.equal("up");
    expect(st.bootId).to.not.equal(before);
    const r = await sshRun(h, "cat /proc/sys/kernel/random/boot_id", { knownHosts });
    expect(r.stdout.trim()).to.equal(st.bootId);
  });

  it("kill() is a power loss: nothing of the host runs until startHost()", async function () {
    const h = cluster.host("host2");
    const st = await cluster.hostStatus(h);
    await cluster.kill(h);
    expect((await cluster.hostStatus(h)).state).to.equal("down");
    const left = processesOf(`${cluster.paths(h).dir}/`).filter((p) => p.pid !== st.supervisorPid);
    expect(left).to.deep.equal([]);
    const refused = await sshRun(h, "true", { knownHosts });
    expect(refused.code).to.equal(255);
    await sleep(500);
    expect((await sshRun(h, "true", { knownHosts })).code).to.equal(255); // it does not come back on its own
    const started = await cluster.startHost(h);
    expect(started.state).to.equal("up");
    expect(started.bootId).to.not.equal(st.bootId);
    expect((await sshRun(h, "true", { knownHosts })).code).to.equal(0);
  });
});
