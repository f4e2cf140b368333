import { expect } from "chai";
import * as fs from "fs";
import { SimCluster } from "../../sim";
import { PulumiProject, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// The guide's flanneld system container through the real Pulumi CLI, on a kubernetes/contrib host whose
// /etc/sysconfig/flanneld names the cluster's etcd. flanneld is ready only once it has a lease, which needs the
// network config in etcd (`/atomic.io/network/config`); without it `systemctl start` fails after the unit's start
// timeout. The error must name the unit and the journalctl to run; `up` converges once the config is there.
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const connection = { host: config.require("host"), port: config.requireNumber("port"), hostKey: config.require("hostKey") };
const flanneld = new SystemContainer("flanneld", {
  connection,
  name: "flanneld",
  image: "registry.fedoraproject.org/f27/flannel",
});
export const unitState = flanneld.unitState;
`;
const NETWORK = '{ "Network": "172.16.0.0/12", "SubnetLen": 24, "Backend": { "Type": "vxlan" } }';

describe("flanneld through the Pulumi CLI, before and after etcd holds the network config", function () {
  this.timeout(20 * 60_000);
  let sim: SimCluster;
  let project: PulumiProject;

  before(async () => {
    sim = await SimCluster.start({
      dir: tempDir("pah-e2e-flannel"),
      hosts: ["etcd1", "node1"],
      release: 26,
      layout: "contrib",
      etcdHosts: ["etcd1"],
      flannelStartTimeoutMs: 2000,
    });
    const h = sim.host("node1");
    project = new PulumiProject(writeProgram("flannel-e2e", PROGRAM));
    await project.init(
      "dev",
      { host: h.host, port: String(h.port), hostKey: h.hostKey },
      { "atomic-host:privateKey": fs.readFileSync(h.privateKeyPath, "utf8") },
    );
  });

  after(async () => {
    await sim?.stop();
    if (sim) fs.rmSync(sim.dir, { recursive: true, force: true });
    project?.cleanup();
  });

  it("fails up with an error naming flanneld.service and the journalctl to run", async () => {
    await sim.setFlannelNetworkConfig(null);
    const r = await project.run(["up", "--yes", "--skip-preview"]);
    expect(r.code, r.output).to.not.equal(0);
    expect(r.output).to.include("flanneld.service did not start");
    expect(r.output).to.include('Run "journalctl -u flanneld.service" on the host');
    expect(r.output).to.include("Job for flanneld.service failed because a timeout was exceeded.");
    expect((await sim.exec("node1", "cat >/dev/null; systemctl is-active flanneld")).stdout.trim()).to.equal(
      "failed",
    );
  });

  it("converges on the next up once etcd holds the config", async () => {
    await sim.setFlannelNetworkConfig(NETWORK);
    const r = await project.ok(["up", "--yes", "--skip-preview"]);
    expect(r.output).to.include("systemctl start flanneld.service");
    const outs = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
    expect(outs.unitState).to.equal("active");
    const again = await project.ok(["up", "--yes", "--skip-preview"]);
    expect(again.output).not.to.match(/\d+ (created|updated|deleted|replaced)/);
  });
});
