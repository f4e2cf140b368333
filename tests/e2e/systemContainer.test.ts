import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SimCluster } from "../../sim";
import { publishImage } from "../../sim/catalog";
import { PulumiProject, downloadAttempts, pulumiBinDir, writeProgram } from "../helpers/pulumi";
import { toolsOf } from "../helpers/simFixture";
import { tempDir } from "../helpers/tempDirs";

// The migration guide's master sequence and etcd (with --storage=ostree) through the real Pulumi CLI, against a
// simulated Fedora 26 host, from an installed copy of this package (npm pack), with the SSH key as a stack secret.
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const connection = { host: config.require("host"), port: config.requireNumber("port"), hostKey: config.require("hostKey") };
const registry = "registry.fedoraproject.org/f27";
const apiserver = new SystemContainer("kube-apiserver", { connection, name: "kube-apiserver", image: registry + "/kubernetes-apiserver" });
const others = ["kube-controller-manager", "kube-scheduler"].map(
  (n) => new SystemContainer(n, { connection, name: n, image: registry + "/kubernetes-" + n.replace("kube-", "") }, { dependsOn: [apiserver] }),
);
const etcd = new SystemContainer("etcd", {
  connection,
  name: "etcd",
  image: config.get("etcdImage") ?? registry + "/etcd",
  storage: "ostree",
});
export const etcdImageId = etcd.imageId;
export const etcdDeployment = etcd.deployment;
export const etcdPrevious = etcd.previousImage;
export const units = pulumi.all([apiserver.unitState, ...others.map((o) => o.unitState), etcd.unitState]);
`;

describe("SystemContainer through the Pulumi CLI", function () {
  this.timeout(20 * 60_000);
  let sim: SimCluster;
  let project: PulumiProject;
  let key: string;
  const logins = () => sim.countAcceptedLogins("host1");
  const commands = () => sim.readCommandsLog("host1").map((e) => e.command);
  /** The tools that ran, also inside a command that ran a step with the read after it. */
  const tools = () => toolsOf(sim, "host1");

  before(async () => {
    sim = await SimCluster.start({ dir: tempDir("pah-e2e-sc"), hosts: 1 });
    const h = sim.hosts[0]!;
    key = fs.readFileSync(h.privateKeyPath, "utf8");
    project = new PulumiProject(writeProgram("sc-e2e", PROGRAM));
    await project.init(
      "dev",
      { host: h.host, port: String(h.port), hostKey: h.hostKey },
      { "atomic-host:privateKey": key },
    );
  });

  after(async () => {
    await sim?.stop();
    project?.cleanup();
  });

  it("prints the real CLI version", () => {
    const v = execFileSync(path.join(pulumiBinDir(), "pulumi"), ["version"], { encoding: "utf8" }).trim();
    expect(v).to.match(/^v3\.\d+\.\d+$/);
  });

  it("previews the exact commands without touching the host", async () => {
    sim.clearCommandsLog("host1");
    const before = logins();
    const r = await project.ok(["preview", "--diff"]);
    expect(r.output).to.include(
      "atomic install --system --system-package=no --storage=ostree --name=kube-apiserver",
    );
    expect(r.output).to.include("+ 5 to create");
    expect(commands()).to.deep.equal([]);
    expect(logins()).to.equal(before);
    expect(downloadAttempts(r.output)).to.deep.equal([]);
  });

  it("installs and starts every container on up, over one SSH connection", async () => {
    const before = logins();
    const r = await project.ok(["up", "--yes"]);
    expect(downloadAttempts(r.output)).to.deep.equal([]);
    const ran = commands();
    expect(ran.filter((c) => c.startsWith("atomic install"))).to.have.length(4);
    expect(ran).to.include(
      "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd",
    );
    for (const unit of ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]) {
      expect((await sim.exec("host1", `systemctl is-active ${unit}`)).stdout.trim()).to.equal("active");
    }
    expect(logins() - before).to.equal(1);
  });

  it("reports no changes and opens no SSH connection on a second up", async () => {
    sim.clearCommandsLog("host1");
    const before = logins();
    const r = await project.ok(["up", "--yes"]);
    expect(r.output).to.match(/5 unchanged/);
    expect(commands()).to.deep.equal([]);
    expect(logins()).to.equal(before);
  });

  it("keeps the private key out of the state in plaintext", async () => {
    const state = JSON.stringify(await project.exportState());
    const body = key.split("\n")[1]!;
    expect(state).not.to.include(body);
    expect(state).to.include("ciphertext");
  });

  it("stores each resource's provider as a require of the installed package, not as its code", async () => {
    const resources: any[] = (await project.exportState()).deployment.resources;
    const dynamic = resources.filter((r) => r.type.endsWith("atomic-host:SystemContainer"));
    expect(dynamic).to.have.length.greaterThan(0);
    for (const r of dynamic) {
      for (const text of [r.inputs.__provider, r.outputs.__provider] as string[]) {
        expect(text).to.include('require("pulumi-atomic-host/provider/serialized/systemContainer")');
        // The whole provider object's code was 2.1 KB, stored twice in each resource.
        expect(text.length).to.be.lessThan(400);
      }
    }
  });

  it("updates to a new image, then rolls back to the previous one without pulling", async () => {
    publishImage(sim.dir, "registry.fedoraproject.org/f27/etcd:v3.2.11");
    await project.ok(["config", "set", "etcdImage", "registry.fedoraproject.org/f27/etcd:v3.2.11"]);
    sim.clearCommandsLog("host1");
    await project.ok(["up", "--yes"]);
    let ran = tools();
    expect(ran).to.include("atomic pull --storage=ostree registry.fedoraproject.org/f27/etcd:v3.2.11");
    expect(
      ran.some((c) =>
        c.startsWith("atomic containers update --rebase=registry.fedoraproject.org/f27/etcd:v3.2.11"),
      ),
    ).to.equal(true);
    const outs1 = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
    expect(outs1.etcdDeployment).to.equal(1);
    expect(outs1.etcdPrevious).to.equal("registry.fedoraproject.org/f27/etcd");

    await project.ok(["config", "set", "etcdImage", "registry.fedoraproject.org/f27/etcd"]);
    sim.clearCommandsLog("host1");
    const preview = await project.ok(["preview", "--diff"]);
    expect(preview.output).to.include("atomic containers rollback etcd");
    await project.ok(["up", "--yes"]);
    ran = tools();
    expect(ran).to.include("atomic containers rollback etcd");
    expect(ran.filter((c) => c.startsWith("atomic pull"))).to.deep.equal([]);
    const outs2 = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
    expect(outs2.etcdDeployment).to.equal(0);
    expect((await sim.exec("host1", "systemctl is-active etcd")).stdout.trim()).to.equal("active");
  });

  it("finds a container removed by hand on refresh, and up restores it", async () => {
    await sim.exec("host1", "atomic uninstall kube-scheduler");
    const refresh = await project.ok(["refresh", "--yes"]);
    expect(refresh.output).to.match(/kube-scheduler.*deleted|- 1 deleted|1 deleted/s);
    sim.clearCommandsLog("host1");
    await project.ok(["up", "--yes"]);
    expect(commands()).to.include(
      "atomic install --system --system-package=no --storage=ostree --name=kube-scheduler registry.fedoraproject.org/f27/kubernetes-scheduler",
    );
    expect((await sim.exec("host1", "systemctl is-active kube-scheduler")).stdout.trim()).to.equal("active");
  });

  it("removes every container on destroy", async () => {
    sim.clearCommandsLog("host1");
    await project.ok(["destroy", "--yes"]);
    expect(commands().filter((c) => c.startsWith("atomic uninstall"))).to.have.length(4);
    const list = (await sim.exec("host1", "atomic containers list -a --json")).stdout.trim();
    expect(list === "" ? [] : JSON.parse(list)).to.deep.equal([]);
  });
});
