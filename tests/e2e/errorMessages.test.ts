import { expect } from "chai";
import * as fs from "fs";
import { SimCluster } from "../../sim";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { PulumiProject, writeProgram } from "../helpers/pulumi";
import { toolsOf } from "../helpers/simFixture";
import { tempDir } from "../helpers/tempDirs";

// The errors a person meets on a first stack, through the real CLI against simulated hosts, each saying what to
// do: a misspelt role and a quoted port (at preview), no credentials at all (at preview, naming the atomic-host:*
// keys), a host key pinned in the cluster configuration that is not the host's (naming its configuration path),
// an image the registry does not have (advice, not the tool's words again), and a host that refuses connections
// (a progress line per dial attempt). The configuration errors must reach no host: no login, no command.

/** The walkthrough's program. */
const CLUSTER_PROGRAM = `
import { AtomicCluster, readClusterConfig } from "pulumi-atomic-host";
const cluster = new AtomicCluster("cluster", readClusterConfig());
export const hosts = cluster.hosts;
`;

/** One system container from stack configuration: host, port, hostKey, image, dialErrorLimit. */
const CONTAINER_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";
const config = new pulumi.Config();
const c = new SystemContainer("flanneld", {
  connection: {
    host: config.require("host"),
    port: config.requireNumber("port"),
    hostKey: config.require("hostKey"),
    dialErrorLimit: config.getNumber("dialErrorLimit"),
  },
  name: "flanneld",
  image: config.require("image"),
});
export const state = c.unitState;
`;

describe("error messages through the Pulumi CLI", function () {
  this.timeout(20 * 60_000);
  let sim: SimCluster;
  let key: string;
  const projects: PulumiProject[] = [];
  const logins = () => sim.hosts.reduce((n, h) => n + sim.countAcceptedLogins(h.name), 0);
  const hostCommands = () => sim.hosts.flatMap((h) => sim.readCommandsLog(h.name).map((e) => e.command));

  before(async function () {
    skipUnlessSimAvailable(this);
    sim = await SimCluster.start({
      dir: tempDir("pah-e2e-errors"),
      hosts: ["etcd1", "master1"],
      etcdHosts: ["etcd1"],
    });
    key = fs.readFileSync(sim.hosts[0]!.privateKeyPath, "utf8");
  });

  after(async () => {
    await sim?.stop();
    for (const p of projects) p.cleanup();
  });

  /** A stack of the cluster program named `project`, its cluster configuration `cluster`. */
  async function clusterStack(
    project: string,
    cluster: unknown,
    secrets: Record<string, string>,
    env: NodeJS.ProcessEnv = {},
  ): Promise<PulumiProject> {
    const p = new PulumiProject(writeProgram(project, CLUSTER_PROGRAM), env);
    projects.push(p);
    await p.init("dev", {}, secrets);
    await p.setObject(`${project}:cluster`, cluster);
    return p;
  }

  const hostsOf = (over: Record<string, unknown>[] = []) =>
    sim.hosts.map((h, i) => ({
      name: h.name,
      host: h.host,
      port: h.port,
      hostKey: h.hostKey,
      roles: [i === 0 ? "etcd" : "master"],
      ...over[i],
    }));

  it("names a misspelt role and a quoted port at preview, reaching no host", async () => {
    const before = logins();
    const p = await clusterStack(
      "first-errors-config",
      {
        method: "systemContainers",
        hosts: hostsOf([{}, { roles: ["master", "etdc"], port: String(sim.hosts[1]!.port) }]),
      },
      { "atomic-host:privateKey": key },
    );
    const r = await p.run(["preview"]);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.contain(
      `first-errors-config:cluster.hosts[1].roles[1]: "etdc" is not one of etcd, master, worker`,
    );
    expect(r.output).to.contain(
      `first-errors-config:cluster.hosts[1].port: "${sim.hosts[1]!.port}" is a string; write the number without quotes`,
    );
    expect(hostCommands()).to.deep.equal([]);
    expect(logins()).to.equal(before);
  });

  it("fails preview when no credential source is configured at all, naming the atomic-host:* keys", async () => {
    const before = logins();
    const p = await clusterStack(
      "first-errors-nokey",
      { method: "systemContainers", hosts: hostsOf() },
      {},
      { SSH_AUTH_SOCK: "" },
    );
    const r = await p.run(["preview"]);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.contain(`no credentials to log in to ${sim.hosts[0]!.host} with`);
    expect(r.output).to.contain("set the stack secret atomic-host:privateKey");
    expect(r.output).to.contain("atomic-host:password");
    expect(hostCommands()).to.deep.equal([]);
    expect(logins()).to.equal(before);
  });

  it("names the cluster configuration path of a host key that is not the host's", async () => {
    const before = sim.countAcceptedLogins("etcd1");
    // etcd1 pinned to master1's key: what a reinstalled host (or a man in the middle) looks like.
    const p = await clusterStack(
      "first-errors-hostkey",
      { method: "systemContainers", hosts: hostsOf([{ hostKey: sim.hosts[1]!.hostKey }]) },
      { "atomic-host:privateKey": key },
    );
    const r = await p.run(["up", "--yes", "--skip-preview"]);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(
      /host key mismatch: the server presented ssh-ed25519 key SHA256:\S+ but first-errors-hostkey:cluster\.hosts\[0\]\.hostKey pins SHA256:/,
    );
    expect(r.output).to.contain("update first-errors-hostkey:cluster.hosts[0].hostKey for");
    expect(sim.readCommandsLog("etcd1")).to.deep.equal([]);
    expect(sim.countAcceptedLogins("etcd1"), "refused before logging in").to.equal(before);
  });

  describe("a single container", () => {
    let p: PulumiProject;
    before(async () => {
      const h = sim.host("master1");
      p = new PulumiProject(writeProgram("first-errors-container", CONTAINER_PROGRAM));
      projects.push(p);
      await p.init(
        "dev",
        {
          host: h.host,
          port: String(h.port),
          hostKey: h.hostKey,
          image: "registry.fedoraproject.org/f27/flannel-typo",
        },
        { "atomic-host:privateKey": key },
      );
    });

    it("advises on an image the registry does not have, instead of repeating its stderr", async () => {
      sim.clearCommandsLog("master1");
      const r = await p.run(["up", "--yes", "--skip-preview"]);
      expect(r.code).to.not.equal(0);
      const next = r.output.split("\n").find((l) => l.includes("next:")) ?? "";
      expect(next).to.contain(
        'next: the registry has no image "registry.fedoraproject.org/f27/flannel-typo": check the image name and tag, and the registry (registry.fedoraproject.org;',
      );
      // The tool's words are in the stderr lines, not again in the advice.
      expect(r.output).to.match(/manifest unknown/);
      expect(next).not.to.match(/manifest unknown/);
      // The pull failed (it ran with the read before it, in one command), and nothing was installed after it.
      expect(toolsOf(sim, "master1").filter((c) => c.startsWith("atomic "))).to.deep.equal([
        "atomic pull --storage=ostree registry.fedoraproject.org/f27/flannel-typo",
      ]);
    });

    it("prints a line per failed dial attempt while the host refuses connections", async () => {
      await p.ok(["config", "set", "dialErrorLimit", "3"]);
      await sim.kill("master1");
      try {
        const r = await p.run(["up", "--yes", "--skip-preview"]);
        expect(r.code).to.not.equal(0);
        const h = sim.host("master1");
        const label = `root@${h.host}:${h.port}`;
        expect(r.output).to.contain(
          `${label}: dial attempt 1/3 failed: connection refused; retrying in 250 ms`,
        );
        expect(r.output).to.contain(
          `${label}: dial attempt 2/3 failed: connection refused; retrying in 500 ms`,
        );
        expect(r.output).to.contain(`${label}: dial attempt 3/3 failed: connection refused; giving up`);
      } finally {
        await sim.startHost("master1");
      }
    });
  });
});
