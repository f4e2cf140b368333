import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { rejection } from "../helpers/rejection";
import { checked, commandsOf, connectionOf, inHost, toolsOf, useSimCluster } from "../helpers/simFixture";

// SystemContainer's provider against a simulated kubernetes/contrib cluster (etcd1 holds flannel's network config
// at /atomic.io/network/config, as contrib's ansible writes it): flanneld as a system container, then
// - a start while etcd lacks the network config: flanneld never gets a lease, so the start fails after the unit's
//   start timeout; the error names the unit and the journalctl to run; the next apply converges once the config
//   is back;
// - a `containers update` whose restart fails: atomic deletes the symlink and the files it installed but keeps
//   the new checkout, the unit file and the tmpfiles conf (syscontainers.py, the `except` of `_do_checkout`,
//   V1.12.1 963-969, and v1.19.1 860-882); read reports it as half-removed, the next apply repairs it.
const provider = require("../../provider/handlers").handler("SystemContainer");

const IMAGE = "registry.fedoraproject.org/f27/flannel";
const NETWORK = '{ "Network": "172.16.0.0/12", "SubnetLen": 24, "Backend": { "Type": "vxlan" } }';

describe("SystemContainer flanneld: failed starts and the half-removed container", function () {
  this.timeout(10 * 60_000);
  const fixture = useSimCluster(
    "sc-flannel",
    {
      hosts: ["etcd1", "node1"],
      release: 26,
      layout: "contrib",
      etcdHosts: ["etcd1"],
      flannelStartTimeoutMs: 2000,
    },
    { captureProgress: "SYSTEM_CONTAINER_TEST_VERBOSE" },
  );
  const { progress } = fixture;
  let sim: SimCluster;
  let node: ClusterHostEntry;
  let id: string;
  let outs: any;
  before(() => {
    sim = fixture.sim;
    node = sim.host("node1");
  });

  it("installs and starts flanneld while etcd holds the network config", async () => {
    const r = await provider.create(
      await checked(provider, { connection: connectionOf(node), name: "flanneld", image: IMAGE }),
    );
    id = r.id;
    outs = r.outs;
    expect(outs.unitState).to.equal("active");
  });

  it("fails a start while etcd lacks the network config, naming the unit and the journalctl to run", async () => {
    await sim.setFlannelNetworkConfig(null);
    expect((await inHost(sim, node, "systemctl stop flanneld")).exitCode).to.equal(0);
    sim.clearCommandsLog(node);
    const news = await checked(
      provider,
      { connection: connectionOf(node), name: "flanneld", image: IMAGE },
      outs,
    );
    const err = await rejection(
      provider.update(id, { ...outs, running: false, unitState: "inactive" }, news),
    );
    expect(err.message).to.include("flanneld.service did not start");
    expect(err.message).to.include('Run "journalctl -u flanneld.service" on the host');
    expect(err.message).to.include("etcdctl get /atomic.io/network/config");
    expect(err.message, err.message).to.include(
      "Job for flanneld.service failed because a timeout was exceeded.",
    );
    expect(toolsOf(sim, node)).to.include("systemctl start flanneld.service");
    expect((await inHost(sim, node, "systemctl is-active flanneld")).stdout.trim()).to.equal("failed");
  });

  it("converges on the next apply once the config is there", async () => {
    await sim.setFlannelNetworkConfig(NETWORK);
    const news = await checked(
      provider,
      { connection: connectionOf(node), name: "flanneld", image: IMAGE },
      outs,
    );
    const r = await provider.update(id, { ...outs, running: false, unitState: "failed" }, news);
    expect(r.outs.unitState).to.equal("active");
    outs = r.outs;
  });

  it("names the unit when the restart inside `atomic containers update` fails, which half-removes the container", async () => {
    await sim.setFlannelNetworkConfig(null);
    sim.clearCommandsLog(node);
    const news = await checked(
      provider,
      { connection: connectionOf(node), name: "flanneld", image: IMAGE, values: { FLANNEL_TEST_MARK: "2" } },
      outs,
    );
    const err = await rejection(provider.update(id, outs, news));
    expect(err.message).to.include("flanneld.service did not start");
    expect(err.message).to.include("atomic containers update restarted it and the start failed");
    expect(err.message).to.include('journalctl -u flanneld.service"');
    expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([
      "atomic containers update --set=FLANNEL_TEST_MARK=2 flanneld",
    ]);
    // What atomic left: no symlink, a checkout, the unit file.
    const left = await inHost(
      sim,
      node,
      "ls -d /var/lib/containers/atomic/flanneld* /etc/systemd/system/flanneld.service 2>/dev/null; " +
        "test -L /var/lib/containers/atomic/flanneld && echo symlink",
    );
    expect(left.stdout).to.not.include("symlink");
    expect(left.stdout).to.include("/etc/systemd/system/flanneld.service");
    expect(left.stdout).to.match(/\/var\/lib\/containers\/atomic\/flanneld\.[01]/);
  });

  it("reads it as half-removed (not as absent): the resource stays, with unitState half-removed", async () => {
    progress.length = 0;
    const r = await provider.read(id, outs);
    expect(r.id).to.equal(id);
    expect(r.props.unitState).to.equal("half-removed");
    expect(r.props.running).to.equal(false);
    expect(progress.join("\n")).to.include("system container flanneld is half-removed");
    outs = r.props;
  });

  it("repairs it on the next apply: the leftovers removed as atomic uninstall would, installed and started again", async () => {
    await sim.setFlannelNetworkConfig(NETWORK);
    sim.clearCommandsLog(node);
    const news = await checked(
      provider,
      { connection: connectionOf(node), name: "flanneld", image: IMAGE, values: { FLANNEL_TEST_MARK: "2" } },
      outs,
    );
    const r = await provider.update(id, outs, news);
    expect(r.outs.unitState).to.equal("active");
    expect(r.outs.values).to.deep.equal({ FLANNEL_TEST_MARK: "2" });
    const ran = commandsOf(sim, node);
    const repair = ran.findIndex((c) => c.startsWith("sh -c '# atomic-host:container-repair v1"));
    expect(repair, ran.join("\n")).to.be.greaterThan(-1);
    // The tools that ran after the repair script (tools.log has them also where a step ran with a read).
    const after = Date.parse(sim.readCommandsLog(node)[repair]!.time);
    const tools = sim
      .readToolsLog(node)
      .filter((e) => Date.parse(e.time) >= after)
      .map((e) => e.argv.join(" "));
    expect(tools.filter((c) => /^(atomic|systemctl start)/.test(c))).to.deep.equal([
      `atomic pull --storage=ostree ${IMAGE}`,
      `atomic install --system --system-package=no --storage=ostree --set=FLANNEL_TEST_MARK=2 --name=flanneld ${IMAGE}`,
      "systemctl start flanneld.service",
    ]);
    expect(
      (await inHost(sim, node, "test -L /var/lib/containers/atomic/flanneld && echo whole")).stdout,
    ).to.include("whole");
  });
});
