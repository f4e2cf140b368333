import { expect } from "chai";
import * as fs from "fs";
import { SimCluster } from "../../sim";
import { PulumiProject, downloadAttempts, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// The migration guide's package-layering commands through the real Pulumi CLI, against two simulated Fedora 26
// hosts (a master and a worker), from an installed copy of this package (npm pack), with the SSH key as a stack
// secret.
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { LayeredPackage, OstreeRemote } from "pulumi-atomic-host";

const config = new pulumi.Config();
const host = config.require("host");
const rebase = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
// withRemote: declare the remote the rebase pulls from, as Fedora's upgrade guide adds it first.
const remoteFor = (name: string, connection: any) =>
  config.getBoolean("withRemote")
    ? [
        new OstreeRemote(name + "-remote", {
          connection,
          name: "fedora-atomic-27",
          url: "https://kojipkgs.fedoraproject.org/atomic/27",
          gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
        }),
      ]
    : [];
const masterConnection = { host, port: config.requireNumber("masterPort"), hostKey: config.require("masterHostKey") };
const workerConnection = { host, port: config.requireNumber("workerPort"), hostKey: config.require("workerHostKey") };
const master = new LayeredPackage(
  "master",
  { connection: masterConnection, packages: ["kubernetes-master", "flannel", "etcd"], rebase },
  { dependsOn: remoteFor("master", masterConnection) },
);
const worker = new LayeredPackage(
  "worker",
  { connection: workerConnection, packages: ["kubernetes-node", "flannel"], rebase },
  { dependsOn: remoteFor("worker", workerConnection) },
);
export const masterBooted = master.booted;
export const masterLayered = master.layeredPackages;
export const masterPending = master.pendingReboot;
export const workerBooted = worker.booted;
export const workerLayered = worker.layeredPackages;
export const workerPending = worker.pendingReboot;
`;

const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const MASTER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-master --install=flannel --install=etcd`;
const WORKER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-node --install=flannel`;
const TRANSACTION = /^rpm-ostree (install|uninstall|rebase|upgrade|deploy|rollback)\b/;
const ADD_REMOTE =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";
const HOSTS = ["master", "worker"] as const;

describe("LayeredPackage through the Pulumi CLI", function () {
  this.timeout(10 * 60_000);
  let sim: SimCluster;
  let project: PulumiProject;
  const commands = (h: string) => sim.readCommandsLog(h).map((e) => e.command);
  const transactions = (h: string) => commands(h).filter((c) => TRANSACTION.test(c));
  const reboots = (h: string) => commands(h).filter((c) => c === "systemctl reboot").length;
  const logins = () => HOSTS.map((h) => sim.countAcceptedLogins(h));
  // `cat` drains stdin first: sim.exec ends the child's stdin after spawning it, and a command that exits before
  // that write lands makes it fail with an unhandled EPIPE.
  const booted = async (h: string) =>
    (
      JSON.parse((await sim.exec(h, "cat >/dev/null; rpm-ostree status --json")).stdout).deployments as any[]
    ).find((d) => d.booted);
  /** The provider's "back after N s" progress lines, for the figures. */
  const rebootWaits = (output: string) => [
    ...new Set(output.match(/\S+: back after \d+ s with a new boot id/g) ?? []),
  ];

  before(async () => {
    sim = await SimCluster.start({
      dir: tempDir("pah-e2e-lp"),
      hosts: [...HOSTS],
      release: 26,
      rebootDownMs: 1500,
    });
    const [m, w] = HOSTS.map((h) => sim.host(h));
    project = new PulumiProject(writeProgram("lp-e2e", PROGRAM));
    await project.init(
      "dev",
      {
        host: m!.host,
        masterPort: String(m!.port),
        masterHostKey: m!.hostKey,
        workerPort: String(w!.port),
        workerHostKey: w!.hostKey,
      },
      // One key for the cluster: the stack secret the provider reads in `configure`.
      { "atomic-host:privateKey": fs.readFileSync(m!.privateKeyPath, "utf8") },
    );
  });

  after(async () => {
    await sim?.stop();
    if (sim) fs.rmSync(sim.dir, { recursive: true, force: true });
    project?.cleanup();
  });

  it("previews the rpm-ostree lines without touching either host", async () => {
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const before = logins();
    const r = await project.ok(["preview", "--diff"]);
    expect(r.output).to.include(MASTER_REBASE);
    expect(r.output).to.include(WORKER_REBASE);
    expect(r.output).to.include("+ 3 to create");
    for (const h of HOSTS) expect(commands(h), h).to.deep.equal([]);
    expect(logins()).to.deep.equal(before);
    expect(downloadAttempts(r.output)).to.deep.equal([]);
  });

  it("refuses the rebase on hosts without the fedora-atomic-27 remote, naming it; the hosts see reads only", async () => {
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const before = await Promise.all(HOSTS.map(booted));
    const r = await project.run(["up", "--yes", "--skip-preview"]);
    expect(r.code, r.output).to.not.equal(0);
    expect(r.output).to.include(
      'pulls from the ostree remote "fedora-atomic-27", which this host does not have (it has: fedora-atomic)',
    );
    expect(r.output).to.include(ADD_REMOTE);
    for (const h of HOSTS) {
      expect(commands(h), h).to.deep.equal([
        "rpm-ostree --version",
        "rpm-ostree status --json",
        "ostree remote list",
      ]);
      expect(reboots(h), h).to.equal(0);
    }
    expect(await Promise.all(HOSTS.map(booted))).to.deep.equal(before);
  });

  it("previews the guide's `ostree remote add` before the rebase once the remote is declared", async () => {
    await project.ok(["config", "set", "withRemote", "true"]);
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const before = logins();
    const r = await project.ok(["preview", "--diff"]);
    expect(r.output).to.include(ADD_REMOTE);
    // The stack itself exists since the refused up: two remotes and two LayeredPackages remain to create.
    expect(r.output).to.include("+ 4 to create");
    for (const h of HOSTS) expect(commands(h), h).to.deep.equal([]);
    expect(logins()).to.deep.equal(before);
  });

  it("migrates each host with one transaction and one reboot on up", async () => {
    const bootIds = HOSTS.map((h) => sim.bootId(h));
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const r = await project.ok(["up", "--yes"]);
    for (const h of HOSTS)
      expect(
        commands(h).filter((c) => c.startsWith("ostree remote add")),
        h,
      ).to.deep.equal([ADD_REMOTE]);
    console.log(`      reboot waits reported: ${rebootWaits(r.output).join("; ")}`);
    expect(downloadAttempts(r.output)).to.deep.equal([]);
    expect(transactions("master")).to.deep.equal([MASTER_REBASE]);
    expect(transactions("worker")).to.deep.equal([WORKER_REBASE]);
    for (const [i, h] of HOSTS.entries()) {
      expect(reboots(h), h).to.equal(1);
      expect(sim.bootId(h), h).not.to.equal(bootIds[i]);
      expect((await booted(h)).origin, h).to.equal(F27);
    }
    expect((await booted("master")).packages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
    expect((await booted("worker")).packages).to.deep.equal(["flannel", "kubernetes-node"]);

    const outs = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
    expect(outs.masterLayered).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
    expect(outs.workerLayered).to.deep.equal(["flannel", "kubernetes-node"]);
    expect(outs.masterBooted).to.include({ version: "27.1", origin: F27 });
    expect(outs.workerBooted).to.include({ version: "27.1", origin: F27 });
    expect([outs.masterPending, outs.workerPending]).to.deep.equal([false, false]);
  });

  it("reports no changes and opens no SSH connection on a second up", async () => {
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const before = logins();
    const r = await project.ok(["up", "--yes"]);
    expect(r.output).to.match(/5 unchanged/);
    for (const h of HOSTS) expect(commands(h), h).to.deep.equal([]);
    expect(logins()).to.deep.equal(before);
  });

  it("uninstalls the packages on destroy, leaving the hosts on Fedora 27 and the remote they follow", async () => {
    for (const h of HOSTS) sim.clearCommandsLog(h);
    const r = await project.ok(["destroy", "--yes"]);
    // The rebase is not undone, so the remote it pulls from stays (the stack added it; the log says why it stays).
    expect(r.output).to.include(
      "ostree remote fedora-atomic-27 is kept: a deployment's origin pulls from it",
    );
    for (const h of HOSTS) {
      expect(
        commands(h).filter((c) => c.startsWith("ostree remote")),
        h,
      ).to.deep.equal([]);
      expect((await sim.exec(h, "cat >/dev/null; ostree remote list")).stdout, h).to.include(
        "fedora-atomic-27",
      );
    }
    console.log(`      reboot waits reported: ${rebootWaits(r.output).join("; ")}`);
    expect(transactions("master")).to.deep.equal(["rpm-ostree uninstall kubernetes-master flannel etcd"]);
    expect(transactions("worker")).to.deep.equal(["rpm-ostree uninstall kubernetes-node flannel"]);
    for (const h of HOSTS) {
      expect(reboots(h), h).to.equal(1);
      const b = await booted(h);
      expect(b.origin, h).to.equal(F27);
      expect(b.packages, h).to.deep.equal([]);
    }
  });
});
