import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { ClusterFile, HostStatus } from "../../../sim";
import {
  CLI,
  knownHostsFile,
  memoryKb,
  processesOf,
  removeDir,
  runProcess,
  skipUnlessSimAvailable,
  sshRun,
  tempDir,
} from "./support";

describe("atomic-host-sim up/down: twelve hosts", function () {
  this.timeout(90_000);
  let dir: string;
  let clusterUp = false;

  before(function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("scale");
  });

  after(async function () {
    if (!dir) return;
    if (fs.existsSync(path.join(dir, "sim.json")))
      await runProcess(process.execPath, [CLI, "down", "--dir", dir]);
    removeDir(dir);
  });

  it("starts 12 hosts (etcd on each) in under 30 s, all reachable, at a measured memory cost per idle host", async function () {
    const started = Date.now();
    const up = await runProcess(process.execPath, [CLI, "up", "--dir", dir, "--hosts", "12"], {
      timeoutMs: 60_000,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(up.code, up.stderr).to.equal(0);
    expect(seconds).to.be.lessThan(30);

    const file = JSON.parse(fs.readFileSync(path.join(dir, "cluster.json"), "utf8")) as ClusterFile;
    expect(file.hosts).to.have.length(12);
    const knownHosts = knownHostsFile(dir, file.hosts);
    const ids = await Promise.all(
      file.hosts.map((h) =>
        sshRun(h, "cat /proc/sys/kernel/random/boot_id", { knownHosts }).then((r) => r.stdout.trim()),
      ),
    );
    expect(new Set(ids).size).to.equal(12);

    clusterUp = true;
    // Idle memory: the supervisor (node) and the listening sshd of each host; etcd is reported apart.
    const per = file.hosts.map((h) => {
      const st = JSON.parse(
        fs.readFileSync(path.join(dir, h.name, "state", "supervisor-status.json"), "utf8"),
      ) as HostStatus;
      const sup = memoryKb(st.supervisorPid);
      const sshd = memoryKb(st.sshdPid!);
      return { rss: sup.rss + sshd.rss, pss: sup.pss + sshd.pss };
    });
    const etcds = processesOf(`${dir}/`).filter((p) => p.cmdline === "/usr/bin/etcd");
    const etcdRss = etcds.map((p) => memoryKb(p.pid).rss);
    const avg = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length / 1024);
    console.log(
      `      12 hosts up in ${seconds.toFixed(1)} s; per idle host (supervisor + sshd): ` +
        `RSS ${avg(per.map((p) => p.rss))} MiB, PSS ${avg(per.map((p) => p.pss))} MiB; ` +
        `etcd RSS ${avg(etcdRss)} MiB each (${etcds.length} running)`,
    );
    expect(etcds).to.have.length(12);
  });

  it("`down` stops every host and leaves no process behind", async function () {
    expect(clusterUp, "the previous test must have started the cluster").to.equal(true);
    const before = processesOf(`${dir}/`);
    expect(before.length).to.be.greaterThan(24); // supervisors, sshds, etcds at least
    const down = await runProcess(process.execPath, [CLI, "down", "--dir", dir]);
    expect(down.code, down.stderr).to.equal(0);
    // Anything naming the folder (sshd -f DIR/..., the supervisors) or mounting it (etcd, units, sessions).
    const left = processesOf(`${dir}/`);
    expect(left, JSON.stringify(left)).to.deep.equal([]);
    const status = await runProcess(process.execPath, [CLI, "status", "--dir", dir, "--json"]);
    expect(JSON.parse(status.stdout).map((r: { state: string }) => r.state)).to.deep.equal(
      Array(12).fill("stopped"),
    );
  });
});
