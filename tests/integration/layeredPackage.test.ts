import { expect } from "chai";
import * as fs from "fs";
import { closeAll } from "../../provider/ssh";
import { SimCluster, type ClusterHostEntry, type CommandLogEntry } from "../../sim";
import { baseImage } from "../../sim/catalog";
import { beginExternalTransaction, endExternalTransaction } from "../../sim/tools/rpmostree/state";
import { skipUnlessSimAvailable, tempDir } from "./sim/support";

// LayeredPackage's provider called directly (check, then create/update/read/delete), as the dynamic provider host
// would, against simulated Fedora 26 Atomic hosts over real OpenSSH. The commands it runs are read back from each
// host's commands.log; the host's state from `rpm-ostree status --json` run inside the host (not logged).
const provider = require("../../provider/handlers").handler("LayeredPackage");

const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const F26_ORIGIN = "fedora-atomic:fedora/26/x86_64/atomic-host";
const MASTER = ["kubernetes-master", "flannel", "etcd"];
const WORKER = ["kubernetes-node", "flannel"];
const MASTER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-master --install=flannel --install=etcd`;
const WORKER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-node --install=flannel`;

/** Fedora's 26→27 upgrade guide, before the rebase. */
const ADD_F27_REMOTE =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";

/** A transaction: what changes the deployments (status, --version and boot-id reads are not). */
const TRANSACTION = /^rpm-ostree (install|uninstall|rebase|upgrade|deploy|rollback)\b/;

interface RawDeployment {
  checksum: string;
  origin: string;
  booted: boolean;
  packages: string[];
  "requested-packages": string[];
  "base-checksum"?: string;
  "base-version"?: string;
  version?: string;
}

function connection(h: ClusterHostEntry) {
  return {
    host: h.host,
    port: h.port,
    privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
    hostKey: h.hostKey,
  };
}

/** `check`, failing the test with its reasons when it rejects the inputs. */
async function checked(news: Record<string, unknown>, olds?: Record<string, unknown>) {
  const r = await provider.check(olds, news);
  expect(r.failures, JSON.stringify(r.failures)).to.deep.equal([]);
  return r.inputs;
}

async function rejection(p: Promise<unknown>): Promise<any> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) throw new Error("expected a rejection, but it resolved");
  return err;
}

/**
 * `sim.exec`, with the command first draining its stdin: `sim.exec` ends the child's stdin after spawning it, and a
 * command that exits before that write lands makes it fail with an unhandled EPIPE (seen about once a run).
 */
function inHost(sim: SimCluster, h: ClusterHostEntry, command: string) {
  return sim.exec(h, `cat >/dev/null; ${command}`);
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

describe("LayeredPackage provider against simulated Fedora Atomic hosts", function () {
  this.timeout(5 * 60_000);
  const clusters: SimCluster[] = [];
  /** Reboot waits the provider reported ("back after N s"), for the report. */
  const figures: string[] = [];
  let logSpy: typeof console.log;

  /**
   * Simulated Fedora 26 hosts. Like real ones they ship only the `fedora-atomic` remote; unless `withRemote` is
   * false, each gets the guide's `ostree remote add` first, as OstreeRemote (or the nodes) would do.
   */
  async function startCluster(
    tag: string,
    opts: Partial<Parameters<typeof SimCluster.start>[0]>,
    withRemote = true,
  ) {
    const sim = await SimCluster.start({ dir: tempDir(tag), hosts: 1, release: 26, ...opts });
    clusters.push(sim);
    if (withRemote) {
      for (const host of sim.hosts) {
        const r = await inHost(sim, host, ADD_F27_REMOTE);
        expect(r.exitCode, r.stderr).to.equal(0);
      }
    }
    return sim;
  }

  before(function () {
    skipUnlessSimAvailable(this);
    logSpy = console.log;
    console.log = (...args: unknown[]) => {
      const line = args.map(String).join(" ");
      if (/back after|rebooting|waiting for a running/.test(line)) figures.push(line);
      if (process.env.LAYERED_PACKAGE_TEST_VERBOSE) logSpy(...args);
    };
  });

  after(async () => {
    if (logSpy) console.log = logSpy;
    if (figures.length > 0) console.log(`      provider progress:\n        ${figures.join("\n        ")}`);
    await closeAll();
    for (const sim of clusters) {
      await sim.stop();
      fs.rmSync(sim.dir, { recursive: true, force: true });
    }
  });

  function helpers(sim: SimCluster) {
    return {
      commands: (h: ClusterHostEntry) => sim.readCommandsLog(h).map((e) => e.command),
      transactions: (h: ClusterHostEntry) =>
        sim.readCommandsLog(h).filter((e) => TRANSACTION.test(e.command)),
      reboots: (h: ClusterHostEntry) =>
        sim.readCommandsLog(h).filter((e) => e.command === "systemctl reboot").length,
      deployments: async (h: ClusterHostEntry): Promise<RawDeployment[]> => {
        const r = await inHost(sim, h, "rpm-ostree status --json");
        expect(r.exitCode, r.stderr).to.equal(0);
        return JSON.parse(r.stdout).deployments;
      },
      booted: async (h: ClusterHostEntry): Promise<RawDeployment> => {
        const r = await inHost(sim, h, "rpm-ostree status --json");
        return (JSON.parse(r.stdout).deployments as RawDeployment[]).find((d) => d.booted)!;
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  describe("the migration guide's commands on rpm-ostree 2017.10", () => {
    let sim: SimCluster;
    let master: ClusterHostEntry;
    let worker: ClusterHostEntry;
    let shared: ClusterHostEntry;
    let h: ReturnType<typeof helpers>;
    let masterId: string;
    let masterOuts: any;
    let workerId: string;
    let workerOuts: any;

    before(async () => {
      sim = await startCluster("lp-guide", { hosts: ["master", "worker", "shared"], rebootDownMs: 1500 });
      [master, worker, shared] = ["master", "worker", "shared"].map((n) => sim.host(n));
      h = helpers(sim);
    });

    it("starts from Fedora 26, whose base carries kubernetes, flannel and etcd with nothing layered", async () => {
      const [booted] = await h.deployments(master);
      expect(booted!.origin).to.equal(F26_ORIGIN);
      expect(booted!.packages).to.deep.equal([]);
      const base26 = baseImage(26).packages.map((p) => p.name);
      const base27 = baseImage(27).packages.map((p) => p.name);
      for (const p of ["kubernetes-master", "kubernetes-node", "flannel", "etcd"]) {
        expect(base26, `F26 base has ${p}`).to.include(p);
        expect(base27, `F27 base lacks ${p}`).not.to.include(p);
      }
    });

    it("migrates a master with ONE rebase transaction that layers its packages, and ONE reboot", async () => {
      sim.clearCommandsLog(master);
      const bootBefore = sim.bootId(master);
      const inputs = await checked({ connection: connection(master), packages: MASTER, rebase: F27 });
      expect(inputs.commands).to.deep.equal([MASTER_REBASE, "systemctl reboot"]);

      const r = await provider.create(inputs);
      masterId = r.id;
      masterOuts = r.outs;

      expect(h.transactions(master).map((e) => e.command)).to.deep.equal([MASTER_REBASE]);
      expect(h.transactions(master)[0]!.exitCode).to.equal(0);
      expect(h.commands(master).join("\n")).not.to.include("--idempotent");
      expect(h.reboots(master)).to.equal(1);
      expect(sim.bootId(master)).not.to.equal(bootBefore);

      const [booted, rollback] = await h.deployments(master);
      expect(booted!.booted).to.equal(true);
      expect(booted!.origin).to.equal(F27);
      expect(booted!["base-checksum"]).to.equal(baseImage(27).checksum);
      expect(booted!.packages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      expect(booted!["requested-packages"]).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      // The 26 tree stays as the rollback deployment, with kubernetes in its base and nothing layered.
      expect(rollback!.origin).to.equal(F26_ORIGIN);
      expect(rollback!.packages).to.deep.equal([]);
      // Layered back on 27: the RPM's units are in the booted tree again.
      const units = await inHost(sim, master, "ls /usr/lib/systemd/system");
      expect(units.stdout.split("\n")).to.include.members([
        "kube-apiserver.service",
        "kube-scheduler.service",
        "flanneld.service",
        "etcd.service",
      ]);

      expect(masterId).to.equal(`${master.host}:${master.port}/rpm-ostree/etcd,flannel,kubernetes-master`);
      expect(masterOuts.booted).to.deep.equal({ checksum: booted!.checksum, version: "27.1", origin: F27 });
      expect(masterOuts.layeredPackages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      expect(masterOuts.requestedPackages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      expect(masterOuts.packages).to.deep.equal(MASTER);
      expect(masterOuts.rebase).to.equal(F27);
      expect(masterOuts.pendingReboot).to.equal(false);
      expect(masterOuts.bootId).to.equal(sim.bootId(master));
    });

    it("migrates a worker with the guide's worker command, the same way", async () => {
      sim.clearCommandsLog(worker);
      const bootBefore = sim.bootId(worker);
      const inputs = await checked({ connection: connection(worker), packages: WORKER, rebase: F27 });
      const r = await provider.create(inputs);
      workerId = r.id;
      workerOuts = r.outs;

      expect(h.transactions(worker).map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
      expect(h.reboots(worker)).to.equal(1);
      expect(sim.bootId(worker)).not.to.equal(bootBefore);
      const booted = await h.booted(worker);
      expect(booted.origin).to.equal(F27);
      expect(booted.packages).to.deep.equal(["flannel", "kubernetes-node"]);
      const units = (await inHost(sim, worker, "ls /usr/lib/systemd/system")).stdout.split("\n");
      expect(units).to.include.members(["kubelet.service", "kube-proxy.service", "flanneld.service"]);
      expect(units).not.to.include("kube-apiserver.service");
      expect(workerOuts.layeredPackages).to.deep.equal(["flannel", "kubernetes-node"]);
      expect(workerOuts.booted.origin).to.equal(F27);
      expect(workerOuts.pendingReboot).to.equal(false);
    });

    it("adds a package later with one `rpm-ostree install` and one reboot", async () => {
      sim.clearCommandsLog(master);
      const olds = { connection: connection(master), packages: MASTER, rebase: F27 };
      const news = await checked({ ...olds, packages: [...MASTER, "htop"] }, olds);
      expect(news.commands[0]).to.equal("rpm-ostree install htop");
      const r = await provider.update(masterId, masterOuts, news);
      masterOuts = r.outs;
      expect(h.transactions(master).map((e) => e.command)).to.deep.equal(["rpm-ostree install htop"]);
      expect(h.reboots(master)).to.equal(1);
      expect(masterOuts.layeredPackages).to.deep.equal(["etcd", "flannel", "htop", "kubernetes-master"]);
      expect(masterOuts.pendingReboot).to.equal(false);
      expect((await h.booted(master)).packages).to.include("htop");
    });

    it("removes one with one `rpm-ostree uninstall` and one reboot", async () => {
      sim.clearCommandsLog(master);
      const olds = { connection: connection(master), packages: [...MASTER, "htop"], rebase: F27 };
      const news = await checked({ ...olds, packages: MASTER }, olds);
      expect(news.commands[0]).to.equal("rpm-ostree uninstall htop");
      const r = await provider.update(masterId, masterOuts, news);
      masterOuts = r.outs;
      expect(h.transactions(master).map((e) => e.command)).to.deep.equal(["rpm-ostree uninstall htop"]);
      expect(h.reboots(master)).to.equal(1);
      expect(masterOuts.layeredPackages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      expect((await h.booted(master)).packages).not.to.include("htop");
    });

    it("does nothing (no transaction, no reboot) when every package is already requested", async () => {
      // Someone layered htop by hand and rebooted; declaring it now finds it there.
      expect((await inHost(sim, master, "rpm-ostree install htop")).exitCode).to.equal(0);
      await sim.reboot(master);
      sim.clearCommandsLog(master);
      const bootBefore = sim.bootId(master);
      const olds = { connection: connection(master), packages: MASTER, rebase: F27 };
      const news = await checked({ ...olds, packages: [...MASTER, "htop"] }, olds);
      const r = await provider.update(masterId, masterOuts, news);
      masterOuts = r.outs;
      // And the same declaration again.
      const again = await provider.update(masterId, masterOuts, news);
      expect(h.transactions(master)).to.deep.equal([]);
      expect(h.reboots(master)).to.equal(0);
      expect(sim.bootId(master)).to.equal(bootBefore);
      expect(again.outs.packages).to.deep.equal([...MASTER, "htop"]);
      expect(again.outs.pendingReboot).to.equal(false);
    });

    it("reads a package removed by hand as drift: it is missing from `packages`", async () => {
      expect((await inHost(sim, worker, "rpm-ostree uninstall flannel")).exitCode).to.equal(0);
      await sim.reboot(worker);
      sim.clearCommandsLog(worker);
      const r = await provider.read(workerId, workerOuts);
      expect(r.id).to.equal(workerId);
      expect(r.props.packages).to.deep.equal(["kubernetes-node"]);
      expect(r.props.layeredPackages).to.deep.equal(["kubernetes-node"]);
      expect(r.props.requestedPackages).to.deep.equal(["kubernetes-node"]);
      expect(r.props.pendingReboot).to.equal(false);
      expect(r.props.bootId).to.equal(sim.bootId(worker));
      expect(h.transactions(worker)).to.deep.equal([]);
      workerOuts = r.props;
    });

    it("reads a change staged by hand but not booted as `pendingReboot: true`", async () => {
      expect((await inHost(sim, worker, "rpm-ostree install htop")).exitCode).to.equal(0);
      const r = await provider.read(workerId, workerOuts);
      expect(r.props.pendingReboot).to.equal(true);
      expect(r.props.requestedPackages).to.deep.equal(["htop", "kubernetes-node"]);
      expect(r.props.layeredPackages).to.deep.equal(["kubernetes-node"]);
      expect(h.transactions(worker)).to.deep.equal([]);
      workerOuts = r.props;
    });

    it("repairs the drift on the next apply: one transaction on top of the staged change, one reboot", async () => {
      sim.clearCommandsLog(worker);
      const inputs = await checked({ connection: connection(worker), packages: WORKER, rebase: F27 });
      const r = await provider.update(workerId, workerOuts, inputs);
      expect(h.transactions(worker).map((e) => e.command)).to.deep.equal(["rpm-ostree install flannel"]);
      expect(h.reboots(worker)).to.equal(1);
      expect(r.outs.packages).to.deep.equal(WORKER);
      expect(r.outs.layeredPackages).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
      expect(r.outs.pendingReboot).to.equal(false);
      workerOuts = r.outs;
    });

    it("deletes by uninstalling its packages in one transaction and rebooting, without undoing the rebase", async () => {
      // htop was layered by hand before the resource declared it (above): adopted, so delete leaves it.
      expect(masterOuts.adoptedPackages).to.deep.equal(["htop"]);
      expect(masterOuts.addedPackages).to.deep.equal(MASTER);
      sim.clearCommandsLog(master);
      const bootBefore = sim.bootId(master);
      await provider.delete(masterId, masterOuts);
      expect(h.transactions(master).map((e) => e.command)).to.deep.equal([
        "rpm-ostree uninstall kubernetes-master flannel etcd",
      ]);
      expect(h.reboots(master)).to.equal(1);
      expect(sim.bootId(master)).not.to.equal(bootBefore);
      const booted = await h.booted(master);
      expect(booted.origin).to.equal(F27);
      expect(booted["requested-packages"]).to.deep.equal(["htop"]);
      expect(booted.packages).to.deep.equal(["htop"]);
    });

    it("leaves packages someone else layered when deleting (only its own are uninstalled)", async () => {
      sim.clearCommandsLog(worker);
      await provider.delete(workerId, workerOuts);
      expect(h.transactions(worker).map((e) => e.command)).to.deep.equal([
        "rpm-ostree uninstall kubernetes-node flannel",
      ]);
      expect(h.reboots(worker)).to.equal(1);
      const booted = await h.booted(worker);
      expect(booted.origin).to.equal(F27);
      expect(booted.packages).to.deep.equal(["htop"]);
    });

    it("waits for a transaction another tool runs, then converges", async () => {
      sim.clearCommandsLog(shared);
      const hostDir = sim.paths(shared).dir;
      beginExternalTransaction(hostDir, { method: "Upgrade", title: "upgrade (rpm-ostreed-automatic)" });
      let releasedAt = 0;
      const release = sleep(5000).then(() => {
        releasedAt = Date.now();
        endExternalTransaction(hostDir);
      });
      const inputs = await checked({ connection: connection(shared), packages: ["htop"] });
      const [r] = await Promise.all([provider.create(inputs), release]);
      const txns = h.transactions(shared);
      expect(txns.map((e) => e.command)).to.deep.equal(["rpm-ostree install htop"]);
      expect(txns[0]!.exitCode).to.equal(0);
      expect(Date.parse(txns[0]!.time)).to.be.at.least(releasedAt - 50);
      // It polled the status while it waited.
      expect(h.commands(shared).filter((c) => c === "rpm-ostree status --json").length).to.be.at.least(2);
      expect(r.outs.layeredPackages).to.deep.equal(["htop"]);
      expect(r.outs.pendingReboot).to.equal(false);
      expect(
        figures.some((l) => l.includes("waiting for a running rpm-ostree transaction (Upgrade)")),
      ).to.equal(true);
      await provider.delete(r.id, r.outs);
    });

    it("waits for a held transaction of an `rpm-ostree` client, and builds on what it staged", async () => {
      sim.clearCommandsLog(shared);
      sim.holdTransaction(shared, true);
      // A client started inside the host (not over SSH, so not in commands.log) takes the transaction and holds it.
      await inHost(sim, shared, "setsid rpm-ostree install htop >/dev/null 2>&1 </dev/null &");
      for (let i = 0; i < 100; i++) {
        const st = JSON.parse((await inHost(sim, shared, "rpm-ostree status --json")).stdout);
        if (st.transaction) break;
        await sleep(100);
      }
      const release = sleep(4000).then(() => sim.holdTransaction(shared, false));
      const inputs = await checked({ connection: connection(shared), packages: ["kubernetes-node"] });
      const [r] = await Promise.all([provider.create(inputs), release]);
      const txns = h.transactions(shared);
      expect(txns.map((e) => e.command)).to.deep.equal(["rpm-ostree install kubernetes-node"]);
      expect(txns[0]!.exitCode).to.equal(0);
      expect(h.reboots(shared)).to.equal(1);
      // This host is still on Fedora 26, whose base provides kubernetes-node: the request is inactive (2017.10
      // accepts that), and htop, staged by the other client, is layered as well.
      expect(r.outs.requestedPackages).to.deep.equal(["htop", "kubernetes-node"]);
      expect(r.outs.layeredPackages).to.deep.equal(["htop"]);
      expect(r.outs.pendingReboot).to.equal(false);
      await provider.delete(r.id, r.outs);
    });

    it("serialises two LayeredPackage resources on one host created at once: both converge, one transaction at a time", async () => {
      sim.clearCommandsLog(shared);
      const a = await checked({
        connection: connection(shared),
        packages: ["kubernetes-master", "etcd"],
        rebase: F27,
      });
      const b = await checked({ connection: connection(shared), packages: ["flannel"] });
      const [ra, rb] = await Promise.all([provider.create(a), provider.create(b)]);
      const txns = h.transactions(shared);
      expect(txns).to.have.length(2);
      for (const t of txns) expect(t.exitCode, t.command).to.equal(0);
      const spans = txns
        .map((t) => [Date.parse(t.time), Date.parse(t.time) + t.durationMs] as const)
        .sort((x, y) => x[0] - y[0]);
      expect(spans[1]![0], "the second transaction starts after the first ended").to.be.at.least(
        spans[0]![1],
      );
      expect(h.reboots(shared)).to.equal(2);
      expect(ra.outs.pendingReboot).to.equal(false);
      expect(rb.outs.pendingReboot).to.equal(false);
      const booted = await h.booted(shared);
      expect(booted.origin).to.equal(F27);
      expect(booted["requested-packages"]).to.include.members(["kubernetes-master", "etcd", "flannel"]);
      expect(booted.packages).to.include.members(["kubernetes-master", "etcd", "flannel"]);
      const entries: CommandLogEntry[] = sim.readCommandsLog(shared);
      expect(entries.map((e) => `${e.command} ${e.exitCode}`).join("\n")).not.to.match(
        /transaction in progress/i,
      );
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a package already requested before the resource declared it", () => {
    it("is adopted, not owned: outputs say which is which, and delete uninstalls only what the resource layered", async () => {
      const sim = await startCluster("lp-adopt", { hosts: ["adopt"], rebootDownMs: 1000 });
      const host = sim.host("adopt");
      const h = helpers(sim);
      // Someone layered htop by hand before the stack took the host over.
      const byHand = await inHost(sim, host, "rpm-ostree install htop");
      expect(byHand.exitCode, byHand.stderr).to.equal(0);
      const inputs = await checked({ connection: connection(host), packages: ["htop", "etcd"], rebase: F27 });
      const { id, outs } = await provider.create(inputs);
      expect(outs.adoptedPackages).to.deep.equal(["htop"]);
      expect(outs.addedPackages).to.deep.equal(["etcd"]);
      expect(outs.requestedPackages).to.include.members(["htop", "etcd"]);

      sim.clearCommandsLog(host);
      await provider.delete(id, outs);
      expect(h.transactions(host).map((e) => e.command)).to.deep.equal(["rpm-ostree uninstall etcd"]);
      const booted = await h.booted(host);
      expect(booted["requested-packages"]).to.deep.equal(["htop"]);
      expect(booted.origin).to.equal(F27);
    });
  });

  describe("on rpm-ostree 2018.7", () => {
    let sim: SimCluster;
    let host: ClusterHostEntry;
    let h: ReturnType<typeof helpers>;

    before(async () => {
      sim = await startCluster("lp-2018", { rpmOstreeVersion: "2018.7", rebootDownMs: 1500 });
      host = sim.hosts[0]!;
      h = helpers(sim);
    });

    it("migrates with the guide's command, then layers with `install --idempotent`", async () => {
      const inputs = await checked({ connection: connection(host), packages: MASTER, rebase: F27 });
      const r = await provider.create(inputs);
      expect(h.transactions(host).map((e) => e.command)).to.deep.equal([MASTER_REBASE]);
      expect(h.reboots(host)).to.equal(1);
      expect(r.outs.layeredPackages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      expect(r.outs.booted.origin).to.equal(F27);

      sim.clearCommandsLog(host);
      const news = await checked({ ...inputs, packages: [...MASTER, "htop"] }, inputs);
      const u = await provider.update(r.id, r.outs, news);
      const txns = h.transactions(host).map((e) => e.command);
      expect(txns).to.have.length(1);
      expect(txns[0]).to.match(/^rpm-ostree install /);
      expect(txns[0]!.split(" ")).to.include("--idempotent");
      expect(txns[0]!.split(" ").slice(-1)).to.deep.equal(["htop"]);
      expect(h.reboots(host)).to.equal(1);
      expect(u.outs.layeredPackages).to.deep.equal(["etcd", "flannel", "htop", "kubernetes-master"]);

      sim.clearCommandsLog(host);
      await provider.delete(r.id, u.outs);
      expect(h.transactions(host).map((e) => e.command)).to.deep.equal([
        "rpm-ostree uninstall --idempotent kubernetes-master flannel etcd htop",
      ]);
      expect(h.reboots(host)).to.equal(1);
      expect((await h.booted(host)).origin).to.equal(F27);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a host that does not come back in time", () => {
    const DOWN_MS = 20_000;
    let sim: SimCluster;
    let host: ClusterHostEntry;
    let h: ReturnType<typeof helpers>;

    before(async () => {
      sim = await startCluster("lp-slow", { rebootDownMs: DOWN_MS });
      host = sim.hosts[0]!;
      h = helpers(sim);
    });

    it("fails create at the deadline with the id and a partial state; update then finishes without a second transaction", async () => {
      const inputs = await checked({
        connection: connection(host),
        packages: WORKER,
        rebase: F27,
        rebootTimeoutSeconds: 5,
      });
      const started = Date.now();
      const err = await rejection(provider.create(inputs));
      const failedAfter = Date.now() - started;
      figures.push(`create failed after ${(failedAfter / 1000).toFixed(1)} s (rebootTimeoutSeconds 5)`);
      expect(err.name).to.equal("PartialFailure");
      expect(err.id).to.equal(`${host.host}:${host.port}/rpm-ostree/flannel,kubernetes-node`);
      expect(err.message).to.include("did not come back with a new boot id within 5 s");
      expect(err.message).to.include('"pulumi up" verifies it');
      expect(err.reasons).to.deep.equal([err.message]);
      expect(err.properties.packages).to.deep.equal(WORKER);
      expect(err.properties.rebase).to.equal(F27);
      expect(err.properties.pendingReboot).to.equal(true);
      expect(err.properties.booted.origin).to.equal(F26_ORIGIN);
      expect(err.properties.connection.host).to.equal(host.host);
      expect(h.transactions(host).map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
      expect(h.reboots(host)).to.equal(1);

      // `start` is queued behind the reboot in the host's supervisor: it returns once the host is back.
      await sim.startHost(host);
      sim.clearCommandsLog(host);
      const bootId = sim.bootId(host);
      const r = await provider.update(err.id, err.properties, inputs);
      expect(h.transactions(host)).to.deep.equal([]);
      expect(h.reboots(host)).to.equal(0);
      expect(sim.bootId(host)).to.equal(bootId);
      expect(r.outs.booted.origin).to.equal(F27);
      expect(r.outs.layeredPackages).to.deep.equal(["flannel", "kubernetes-node"]);
      expect(r.outs.pendingReboot).to.equal(false);
      expect(r.outs.bootId).to.equal(bootId);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a Fedora 26 host without the fedora-atomic-27 remote (as shipped)", () => {
    let sim: SimCluster;
    let host: ClusterHostEntry;
    let h: ReturnType<typeof helpers>;

    before(async () => {
      sim = await startCluster("lp-noremote", { rebootDownMs: 1500 }, false);
      host = sim.hosts[0]!;
      h = helpers(sim);
    });

    it("refuses the guide's rebase before any transaction, naming the remote and the fix; the host is untouched", async () => {
      const before = await h.deployments(host);
      sim.clearCommandsLog(host);
      const inputs = await checked({ connection: connection(host), packages: MASTER, rebase: F27 });
      const err = await rejection(provider.create(inputs));
      expect(err.message).to.include(
        'the rebase to fedora-atomic-27:fedora/27/x86_64/atomic-host pulls from the ostree remote "fedora-atomic-27", which this host does not have (it has: fedora-atomic)',
      );
      expect(err.message).to.include('Declare an OstreeRemote named "fedora-atomic-27"');
      expect(err.message).to.include(ADD_F27_REMOTE);
      // Reads only: the rpm-ostree version and status, then the remote list. No transaction, no reboot.
      expect(h.commands(host)).to.deep.equal([
        "rpm-ostree --version",
        "rpm-ostree status --json",
        "ostree remote list",
      ]);
      expect(await h.deployments(host)).to.deep.equal(before);
    });

    it("goes ahead once the remote is there", async () => {
      const r = await inHost(sim, host, ADD_F27_REMOTE);
      expect(r.exitCode, r.stderr).to.equal(0);
      sim.clearCommandsLog(host);
      const inputs = await checked({ connection: connection(host), packages: WORKER, rebase: F27 });
      const out = await provider.create(inputs);
      expect(out.outs.booted.origin).to.equal(F27);
      expect(h.transactions(host).map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
    });
  });

  describe("check", () => {
    let sim: SimCluster;
    let host: ClusterHostEntry;

    before(async () => {
      sim = await startCluster("lp-check", {});
      host = sim.hosts[0]!;
    });

    const RPM_NAME =
      'must be an RPM package name (letters, digits and . _ + -, starting with a letter or digit), e.g. "etcd"';
    const REFSPEC =
      'rebase must be an OSTree refspec "remote:ref" or "ref", e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host" ' +
      '(letters, digits and _ . - ; "/" between ref components; no "..")';
    const rows: Array<[string, Record<string, unknown>, string, string]> = [
      [
        "a `;` in a package name",
        { packages: ["etcd; reboot"] },
        "packages[0]",
        `packages[0] ${RPM_NAME}; got "etcd; reboot"`,
      ],
      [
        "a `$()` in a package name",
        { packages: ["$(reboot)"] },
        "packages[0]",
        `packages[0] ${RPM_NAME}; got "$(reboot)"`,
      ],
      [
        "a leading `-` (an option)",
        { packages: ["--reboot"] },
        "packages[0]",
        `packages[0] ${RPM_NAME}; got "--reboot"`,
      ],
      [
        "a space in a package name",
        { packages: ["kubernetes master"] },
        "packages[0]",
        `packages[0] ${RPM_NAME}; got "kubernetes master"`,
      ],
      [
        "an empty list",
        { packages: [] },
        "packages",
        "packages must list at least one RPM package name: to remove every package this resource layered, delete the resource",
      ],
      [
        "a duplicate",
        { packages: ["etcd", "flannel", "etcd"] },
        "packages[2]",
        'packages lists "etcd" more than once (packages[0] and packages[2])',
      ],
      [
        "a refspec with a space",
        { rebase: "fedora-atomic-27:fedora/27 x86_64" },
        "rebase",
        `${REFSPEC}; got "fedora-atomic-27:fedora/27 x86_64"`,
      ],
      [
        "a refspec with `..`",
        { rebase: "fedora-atomic-27:../../etc" },
        "rebase",
        `${REFSPEC}; got "fedora-atomic-27:../../etc"`,
      ],
      ["a refspec with `;`", { rebase: "f27;reboot" }, "rebase", `${REFSPEC}; got "f27;reboot"`],
      [
        "an unknown reboot policy",
        { reboot: "sometimes" },
        "reboot",
        'reboot must be one of "ifNeeded", "always", "never"; got "sometimes"',
      ],
      [
        "a zero timeout",
        { rebootTimeoutSeconds: 0 },
        "rebootTimeoutSeconds",
        "rebootTimeoutSeconds must be a whole number of seconds from 1 to 86400 (24 hours); got 0",
      ],
    ];
    for (const [what, change, property, reason] of rows) {
      it(`rejects ${what} in ${property}, touching no host`, async () => {
        sim.clearCommandsLog(host);
        const logins = sim.countAcceptedLogins(host);
        const r = await provider.check(undefined, {
          connection: connection(host),
          packages: MASTER,
          rebase: F27,
          ...change,
        });
        expect(r.failures).to.deep.equal([{ property, reason }]);
        expect(sim.readCommandsLog(host)).to.deep.equal([]);
        expect(sim.countAcceptedLogins(host)).to.equal(logins);
      });
    }
  });
});
