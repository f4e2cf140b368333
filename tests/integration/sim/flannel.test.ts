/**
 * flanneld's readiness on simulated hosts, as the real units have it (sim/tools/flannel.ts): `systemctl start`
 * succeeds only once the etcd endpoint in /etc/sysconfig/flanneld serves `<prefix>/config`; only then do
 * subnet.env and the docker options exist. Otherwise the start times out with systemd's message and the unit is
 * `failed`. The contrib layout points every host at the cluster's etcd host and seeds the network config there.
 */
import { expect } from "chai";
import { CONTRIB_NETWORK_CONFIG, SimCluster } from "../../../sim";
import { etcdV2 } from "../../../sim/tools/flannel";
import { knownHostsFile, removeDir, skipUnlessSimAvailable, sshRun, tempDir } from "./support";

const TIMEOUT_MESSAGE =
  "Job for flanneld.service failed because a timeout was exceeded.\n" +
  'See "systemctl status flanneld.service" and "journalctl -xe" for details.\n';

describe("atomic-host-sim: flanneld is ready only with etcd's network config", function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: SimCluster;
  let run: (host: string, command: string) => ReturnType<typeof sshRun>;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("flannel");
    cluster = await SimCluster.start({
      dir,
      hosts: ["etcd1", "node1", "node2"],
      etcdHosts: ["etcd1"],
      release: 26,
      layout: "contrib",
      flannelStartTimeoutMs: 1500,
    });
    const knownHosts = knownHostsFile(dir, cluster.hosts);
    run = (host, command) => sshRun(cluster.host(host), command, { knownHosts });
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("points every host's flanneld at the cluster's etcd host and seeds the network config there", async () => {
    const port = cluster.host("etcd1").etcdClientPort;
    for (const h of ["etcd1", "node1", "node2"]) {
      const r = await run(h, "grep ^FLANNEL_ETCD /etc/sysconfig/flanneld");
      expect(r.stdout, h).to.equal(
        `FLANNEL_ETCD_ENDPOINTS="http://127.0.0.1:${port}"\nFLANNEL_ETCD_PREFIX="/atomic.io/network"\n`,
      );
    }
    const config = await etcdV2(port, "GET", "/atomic.io/network/config");
    expect(JSON.parse(config!.body).node.value).to.equal(CONTRIB_NETWORK_CONFIG);
  });

  it("fails the start after the start timeout while the config is missing: no subnet.env, unit failed", async () => {
    await cluster.setFlannelNetworkConfig(null);
    const t0 = Date.now();
    const r = await run("node1", "systemctl start flanneld");
    expect(Date.now() - t0).to.be.greaterThanOrEqual(1500);
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([1, "", TIMEOUT_MESSAGE]);
    const after = await run("node1", "systemctl is-active flanneld; ls /run/flannel/subnet.env");
    expect(after.stdout).to.equal("failed\n");
    expect(after.stderr).to.match(/No such file or directory/);
  });

  it("starts once the config is back: a lease in etcd, subnet.env and the docker options on the host", async () => {
    await cluster.setFlannelNetworkConfig(CONTRIB_NETWORK_CONFIG);
    const r = await run("node1", "systemctl start flanneld && systemctl is-active flanneld");
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, "active\n", ""]);
    const files = await run("node1", "cat /run/flannel/subnet.env /run/flannel/docker");
    const subnet = /^FLANNEL_SUBNET=(172\.\d+\.\d+)\.1\/24$/m.exec(files.stdout);
    expect(subnet, files.stdout).to.not.equal(null);
    expect(files.stdout).to.include(
      `DOCKER_NETWORK_OPTIONS=" --bip=${subnet![1]}.1/24 --ip-masq=true --mtu=1450"`,
    );
    const leases = await etcdV2(cluster.host("etcd1").etcdClientPort, "GET", "/atomic.io/network/subnets");
    const keys = JSON.parse(leases!.body).node.nodes.map((n: { key: string }) => n.key);
    expect(keys).to.include(`/atomic.io/network/subnets/${subnet![1]}.0-24`);
    // Another host gets another lease.
    expect((await run("node2", "systemctl start flanneld")).code).to.equal(0);
    const other = (await run("node2", "grep FLANNEL_SUBNET /run/flannel/subnet.env")).stdout;
    expect(other).to.not.include(`${subnet![1]}.1/24`);
  });
});
