import { expect } from "chai";
import { SimCluster } from "../../sim";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { PulumiProject } from "../helpers/pulumi";
import {
  F27,
  WORKER_REBASE,
  TRANSACTION,
  IMAGES,
  CONTAINERS_PROGRAM,
  ADD_F27_REMOTE,
  LAYERING_CHAIN_PROGRAM,
  ETCD_MIGRATION_PROGRAM,
  tmp,
  until,
  show,
  hostConfig,
  containerSpecs,
  stackFor,
  upInterrupted,
  expectNoChanges,
  containersInState,
  isActive,
  installedContainers,
  stopCluster,
} from "./faultsSupport";
import { holdLease, leaseBroken, releaseLease } from "../helpers/copyPin";

// An `up` interrupted with SIGINT through the real Pulumi CLI against simulated Fedora 26 Atomic hosts: once (the
// CLI cancels: the operation in flight finishes, no other starts) and twice (the provider dies mid-operation), with
// system containers, with an rpm-ostree transaction in flight, and with etcd's data migration half-way through its copy. Every case waits on what the hosts did (their
// commands.log, rpm-ostree status), never on a guess of how long the CLI takes. FAULTS_TEST_VERBOSE=1 prints each
// CLI run's output. Shared helpers: faultsSupport.ts.

describe("an up interrupted with SIGINT through the Pulumi CLI", function () {
  this.timeout(20 * 60_000);

  before(function () {
    skipUnlessSimAvailable(this);
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("up interrupted with SIGINT", () => {
    const CONTAINERS = Object.keys(IMAGES);
    let sim: SimCluster;
    const installs = (host: string) =>
      sim.readCommandsLog(host).filter((e) => e.command.startsWith("atomic install") && e.exitCode === 0);
    const installedNames = (host: string) => installs(host).map((e) => /--name=(\S+)/.exec(e.command)![1]);
    const projects: PulumiProject[] = [];

    async function project(name: string, host: string): Promise<PulumiProject> {
      const p = await stackFor(name, CONTAINERS_PROGRAM, sim, {
        hosts: [hostConfig(sim.host(host))],
        containers: containerSpecs(CONTAINERS),
        // One after another, so that when the signal comes some are done, one is in flight, others not begun.
        chain: true,
      });
      projects.push(p);
      return p;
    }

    async function expectConverged(host: string): Promise<void> {
      for (const unit of CONTAINERS) expect(await isActive(sim, host, unit), unit).to.equal("active");
      expect(await installedContainers(sim, host)).to.deep.equal([...CONTAINERS].sort());
    }

    before(async () => {
      // graceful runs the cluster's etcd, which holds flannel's network config: both flanneld need it for a lease.
      sim = await SimCluster.start({
        dir: tmp("sigint"),
        hosts: ["graceful", "terminated"],
        etcdHosts: ["graceful"],
      });
    });

    after(async () => {
      await stopCluster(sim);
      for (const p of projects) p.cleanup();
    });

    describe("once (cancel)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-sigint", "graceful");
      });

      it("finishes the operation in flight, starts no other, and leaves no pending operation", async () => {
        sim.slow("graceful", 1000);
        // The signal comes while the first container's create is still running (its start and read-back).
        const r = await upInterrupted(p, () => installs("graceful").length >= 1);
        show("up interrupted", r);
        sim.slow("graceful", 0);
        expect(r.signalled).to.equal(1);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; cancelling");
        expect(r.output).to.include("error: update canceled");
        const state = await p.exportState();
        expect(state.deployment.pending_operations ?? []).to.deep.equal([]);
        expect(containersInState(state)).to.deep.equal(["graceful-flanneld"]);
        expect(installedNames("graceful")).to.deep.equal(["flanneld"]);
      });

      it("completes on the next up, a further up reports no changes, and installs nothing twice", async () => {
        const r = await p.run(["up", "--yes"]);
        show("up after SIGINT", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged("graceful");
        expect(installedNames("graceful").sort()).to.deep.equal([...CONTAINERS].sort());
        expectNoChanges(await p.run(["up", "--yes"]), CONTAINERS.length);
      });
    });

    describe("twice (terminate)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-sigterm", "terminated");
      });

      it("leaves the create in flight pending", async () => {
        sim.slow("terminated", 1000);
        const r = await upInterrupted(p, () => installs("terminated").length >= 1, { twice: true });
        show("up terminated", r);
        sim.slow("terminated", 0);
        expect(r.signalled).to.equal(2);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; terminating");
        const pending = (await p.exportState()).deployment.pending_operations ?? [];
        expect(pending.map((o: any) => [o.type, o.resource.urn.split("::").pop()])).to.deep.equal([
          ["creating", "terminated-flanneld"],
        ]);
      });

      it("recovers with refresh --clear-pending-creates, then up, installing nothing twice", async () => {
        // What the CLI's warning points to ("repair your stack using `pulumi refresh`"); without a terminal the
        // pending create is only cleared when asked for explicitly (a plain `refresh --yes` leaves it).
        const refresh = await p.run(["refresh", "--clear-pending-creates", "--yes"]);
        show("refresh --clear-pending-creates", refresh);
        expect(refresh.code, refresh.output).to.equal(0);
        expect((await p.exportState()).deployment.pending_operations ?? []).to.deep.equal([]);
        const r = await p.run(["up", "--yes"]);
        show("up after refresh", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged("terminated");
        // flanneld, installed before the CLI was killed, was adopted by the new create, not installed again.
        expect(installedNames("terminated").sort()).to.deep.equal([...CONTAINERS].sort());
        expectNoChanges(await p.run(["up", "--yes"]), CONTAINERS.length);
      });
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("LayeredPackage: up interrupted with SIGINT during the rpm-ostree transaction", () => {
    let sim: SimCluster;
    const projects: PulumiProject[] = [];
    const rebases = (host: string) => sim.readCommandsLog(host).filter((e) => e.command === WORKER_REBASE);
    const transactions = (host: string) =>
      sim.readCommandsLog(host).filter((e) => TRANSACTION.test(e.command));

    async function status(host: string): Promise<{ transaction: unknown; deployments: any[] }> {
      return JSON.parse((await sim.exec(host, "cat >/dev/null; rpm-ostree status --json")).stdout);
    }

    async function project(name: string, host: string): Promise<PulumiProject> {
      const p = await stackFor(name, LAYERING_CHAIN_PROGRAM, sim, { host: hostConfig(sim.host(host)) });
      projects.push(p);
      return p;
    }

    /** Both resources' packages are layered in the booted Fedora 27 deployment, nothing pending. */
    async function expectConverged(p: PulumiProject, host: string): Promise<void> {
      const booted = (await status(host)).deployments.find((d) => d.booted);
      expect(booted.origin).to.equal(F27);
      expect([...booted.packages].sort()).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      expect(outs.layered).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
    }

    before(async () => {
      sim = await SimCluster.start({
        dir: tmp("lp-sigint"),
        hosts: ["graceful", "terminated"],
        etcdHosts: [],
        rebootDownMs: 1500,
      });
      for (const h of ["graceful", "terminated"])
        expect((await sim.exec(h, ADD_F27_REMOTE)).exitCode).to.equal(0);
    });

    after(async () => {
      for (const h of ["graceful", "terminated"]) sim?.holdTransaction(h, false);
      await stopCluster(sim);
      for (const p of projects) p.cleanup();
    });

    describe("once (cancel)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-lp-sigint", "graceful");
      });

      it("finishes the transaction in flight and its reboot, starts no other resource, and leaves no pending operation", async () => {
        // Held, the rebase transaction is running on the host when the signal comes; it is released once the CLI
        // has said it is cancelling, and the create in flight then finishes.
        sim.holdTransaction("graceful", true);
        const r = await upInterrupted(p, async () => (await status("graceful")).transaction !== null, {
          afterSignal: async (output) => {
            await until("the CLI to acknowledge the signal", () => output().includes("received; cancelling"));
            sim.holdTransaction("graceful", false);
          },
        });
        show("up interrupted during the transaction", r);
        expect(r.signalled).to.equal(1);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("error: update canceled");
        const state = await p.exportState();
        expect(state.deployment.pending_operations ?? []).to.deep.equal([]);
        const recorded = (state.deployment.resources as any[])
          .filter((x) => x.type === "pulumi-nodejs:dynamic/atomic-host:LayeredPackage")
          .map((x) => x.urn.split("::").pop());
        expect(recorded).to.deep.equal(["worker-packages"]);
        // The rebase ran once, succeeded, and the host rebooted into it; htop's transaction never started.
        expect(transactions("graceful").map((e) => [e.command, e.exitCode])).to.deep.equal([
          [WORKER_REBASE, 0],
        ]);
        const booted = (await status("graceful")).deployments.find((d) => d.booted);
        expect(booted.origin).to.equal(F27);
      });

      it("completes on the next up with htop's transaction alone, and a further up reports no changes", async () => {
        const r = await p.run(["up", "--yes"]);
        show("up after SIGINT", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged(p, "graceful");
        expect(rebases("graceful")).to.have.length(1);
        expect(transactions("graceful").map((e) => e.command)).to.deep.equal([
          WORKER_REBASE,
          "rpm-ostree install htop",
        ]);
        expectNoChanges(await p.run(["up", "--yes"]), 2);
      });
    });

    describe("twice (terminate)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-lp-sigterm", "terminated");
      });

      it("leaves the create in flight pending; rpm-ostreed finishes the transaction on its own", async () => {
        sim.holdTransaction("terminated", true);
        const r = await upInterrupted(p, async () => (await status("terminated")).transaction !== null, {
          twice: true,
        });
        show("up terminated during the transaction", r);
        expect(r.signalled).to.equal(2);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; terminating");
        const pending = (await p.exportState()).deployment.pending_operations ?? [];
        expect(pending.map((o: any) => [o.type, o.resource.urn.split("::").pop()])).to.deep.equal([
          ["creating", "worker-packages"],
        ]);
        // The provider is gone; the daemon still holds the transaction, and finishes it once released: the change
        // is staged, not booted (the reboot was the provider's next step).
        expect((await status("terminated")).transaction).to.not.equal(null);
        sim.holdTransaction("terminated", false);
        await until(
          "the transaction to end on the host",
          async () => (await status("terminated")).transaction === null,
        );
        const [pendingDeployment, booted] = (await status("terminated")).deployments;
        expect(pendingDeployment.origin).to.equal(F27);
        expect(pendingDeployment.booted).to.equal(false);
        expect(booted.booted).to.equal(true);
        // Its client, left following it on the host, ends with it and is logged then.
        await until("the terminated client's commands.log line", () => rebases("terminated").length === 1);
      });

      it("recovers with refresh --clear-pending-creates, then up, without a second transaction for the staged change", async () => {
        const refresh = await p.run(["refresh", "--clear-pending-creates", "--yes"]);
        show("refresh --clear-pending-creates", refresh);
        expect(refresh.code, refresh.output).to.equal(0);
        expect((await p.exportState()).deployment.pending_operations ?? []).to.deep.equal([]);
        const r = await p.run(["up", "--yes"]);
        show("up after refresh", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged(p, "terminated");
        // The staged rebase was booted as it was: the only rebase is the one the terminated up started.
        expect(rebases("terminated")).to.have.length(1);
        expect(transactions("terminated").map((e) => e.command)).to.deep.equal([
          WORKER_REBASE,
          "rpm-ostree install htop",
        ]);
        expectNoChanges(await p.run(["up", "--yes"]), 2);
      });
    });
  });
  // -------------------------------------------------------------------------------------------------------------
  describe("EtcdDataMigration: up interrupted with SIGINT during the copy", () => {
    const SRC = "/var/lib/etcd/member";
    const DEST = "/var/lib/etcd/etcd.etcd";
    // cp is pinned on this file of the source's wal/ (etcd ignores names that are not segments) until the test
    // releases it (tests/helpers/copyPin.ts), so the signal lands while etcd is stopped and the copy half done.
    const PIN = `${SRC}/wal/pin.lease`;
    const KEYS = 500;
    let sim: SimCluster;
    const projects: PulumiProject[] = [];
    const seeded = new Map<string, Map<string, string>>();
    const migrations = (host: string) =>
      sim.readCommandsLog(host).filter((e) => e.command.includes("# atomic-host:etcd-migrate v1"));
    const atomicInstalls = (host: string) =>
      sim.readCommandsLog(host).filter((e) => e.command.startsWith("atomic install"));

    /** Inside the host, without SSH (stdin read first: see copyPin.ts). */
    async function sh(host: string, command: string): Promise<string> {
      const r = await sim.exec(host, `cat >/dev/null; ${command}`);
      expect(r.exitCode, `${command}\n${r.stderr}`).to.equal(0);
      return r.stdout;
    }
    /** DEST's entries: member/ once migrated, .member.tmp-* while a copy is under way. */
    const inDest = async (host: string) => (await sh(host, `ls -A ${DEST}`)).split("\n").filter((l) => l);
    /** What the migration script recorded on the host (/run/atomic-host-etcd-migrate-ID), one line per run. */
    const outcomes = async (host: string) =>
      (await sh(host, "cat /run/atomic-host-etcd-migrate-* 2>/dev/null; true")).split("\n").filter((l) => l);
    /** Every file below DIR with its sha256, sorted by path. */
    const fileSums = (host: string, dir: string) =>
      sh(host, `cd ${dir} && find . -type f -print0 | sort -z | xargs -0 sha256sum`);

    /** etcd stopped by the script, the copy begun and held before the pinned file: the signal lands mid-copy. */
    async function expectPinnedMidCopy(host: string): Promise<void> {
      expect(await isActive(sim, host, "etcd")).to.equal("inactive");
      const temps = (await inDest(host)).filter((n) => n.startsWith(".member.tmp-"));
      expect(temps, "one copy under way").to.have.length(1);
      const copied = await sh(host, `ls -A ${DEST}/${temps[0]}/wal`);
      expect(copied.split("\n"), "cp has not copied the pinned file").to.not.include("pin.lease");
    }

    async function expectServesSeededKeys(host: string): Promise<void> {
      const keys = await sim.etcdGetAll(host);
      for (const [k, v] of seeded.get(host)!) if (keys.get(k) !== v) expect(keys.get(k), k).to.equal(v);
    }

    async function project(name: string, host: string): Promise<PulumiProject> {
      const p = await stackFor(name, ETCD_MIGRATION_PROGRAM, sim, { host: hostConfig(sim.host(host)) });
      projects.push(p);
      return p;
    }

    before(async () => {
      // Each host runs a one-member etcd of its own from the RPM (kubernetes/contrib's layout on Fedora 26).
      sim = await SimCluster.start({
        dir: tmp("etcd-sigint"),
        hosts: ["graceful", "terminated"],
        release: 26,
        layout: "contrib",
        etcdHosts: "all",
      });
      for (const h of ["graceful", "terminated"]) {
        seeded.set(h, await sim.seedEtcd(h, KEYS));
        await sh(h, `head -c 65536 /dev/urandom > ${PIN}`);
        expect(await isActive(sim, h, "etcd")).to.equal("active");
      }
    });

    after(async () => {
      for (const h of ["graceful", "terminated"]) await releaseLease(sim, h).catch(() => undefined);
      await stopCluster(sim);
      for (const p of projects) p.cleanup();
    });

    describe("once (cancel)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-etcd-sigint", "graceful");
      });

      it("finishes the migration in flight, leaves etcd stopped on a verified copy, starts no container, and leaves no pending operation", async () => {
        await holdLease(sim, "graceful", PIN);
        const r = await upInterrupted(p, () => leaseBroken(sim, "graceful"), {
          afterSignal: async (output) => {
            await until("the CLI to acknowledge the signal", () => output().includes("received; cancelling"));
            await expectPinnedMidCopy("graceful");
            await releaseLease(sim, "graceful");
          },
        });
        show("up interrupted during the copy", r);
        expect(r.signalled).to.equal(1);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("error: update canceled");
        const state = await p.exportState();
        expect(state.deployment.pending_operations ?? []).to.deep.equal([]);
        const recorded = (state.deployment.resources as any[])
          .filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/atomic-host:"))
          .map((x) => [x.type.split(":").pop(), x.urn.split("::").pop()]);
        expect(recorded).to.deep.equal([["EtcdDataMigration", "etcd-data"]]);
        // The script ran once and completed: DEST/member is the verified copy, renamed into place, and etcd stays
        // stopped as a successful migration leaves it (the container, next, starts etcd on the copy).
        expect(migrations("graceful").map((e) => e.exitCode)).to.deep.equal([0]);
        expect(await outcomes("graceful")).to.deep.equal([`done ${DEST}/member`]);
        expect(await inDest("graceful")).to.deep.equal(["member"]);
        expect(await fileSums("graceful", `${DEST}/member`)).to.equal(await fileSums("graceful", SRC));
        expect(await isActive(sim, "graceful", "etcd")).to.equal("inactive");
        // The etcd container, which waits for the migration, never started: no atomic command reached the host.
        // (tools.log: also an atomic run inside a script, as the pull that rides with the create's read.)
        expect(sim.readToolsLog("graceful").filter((e) => e.argv[0] === "atomic")).to.deep.equal([]);
        expect(await installedContainers(sim, "graceful")).to.deep.equal([]);
      });

      it("installs the etcd container on the next up, serving every seeded key without a second copy; a further up reports no changes", async () => {
        const r = await p.run(["up", "--yes"]);
        show("up after SIGINT", r);
        expect(r.code, r.output).to.equal(0);
        expect(await installedContainers(sim, "graceful")).to.deep.equal(["etcd"]);
        expect(atomicInstalls("graceful").map((e) => e.exitCode)).to.deep.equal([0]);
        expect(await isActive(sim, "graceful", "etcd")).to.equal("active");
        await expectServesSeededKeys("graceful");
        expect(migrations("graceful")).to.have.length(1);
        expectNoChanges(await p.run(["up", "--yes"]), 2);
        expect(migrations("graceful")).to.have.length(1);
        expect(atomicInstalls("graceful")).to.have.length(1);
      });
    });

    describe("twice (terminate)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-etcd-sigterm", "terminated");
      });

      it("leaves the create pending; the script, its client gone, rolls back and etcd serves every key from the source", async () => {
        await holdLease(sim, "terminated", PIN);
        const r = await upInterrupted(p, () => leaseBroken(sim, "terminated"), { twice: true });
        show("up terminated during the copy", r);
        expect(r.signalled).to.equal(2);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; terminating");
        // The CLI is gone, and the provider with it; the script is still held mid-copy with etcd stopped. Once cp
        // goes on, its next progress line finds no reader (the SSH session closed with the provider's connection).
        await expectPinnedMidCopy("terminated");
        await releaseLease(sim, "terminated");
        await until(
          "the migration script to record its outcome",
          async () => (await outcomes("terminated")).length > 0,
        );
        expect(await outcomes("terminated")).to.deep.equal(["failed verify client-gone restarted"]);
        expect(await isActive(sim, "terminated", "etcd")).to.equal("active");
        await expectServesSeededKeys("terminated");
        expect(await inDest("terminated"), "no member/, no temporary copy").to.deep.equal([]);
        expect(atomicInstalls("terminated")).to.deep.equal([]);
        const pending = (await p.exportState()).deployment.pending_operations ?? [];
        expect(pending.map((o: any) => [o.type, o.resource.urn.split("::").pop()])).to.deep.equal([
          ["creating", "etcd-data"],
        ]);
      });

      it("recovers with refresh --clear-pending-creates, then up, which migrates and installs the etcd container", async () => {
        const refresh = await p.run(["refresh", "--clear-pending-creates", "--yes"]);
        show("refresh --clear-pending-creates", refresh);
        expect(refresh.code, refresh.output).to.equal(0);
        expect((await p.exportState()).deployment.pending_operations ?? []).to.deep.equal([]);
        const r = await p.run(["up", "--yes"]);
        show("up after refresh", r);
        expect(r.code, r.output).to.equal(0);
        // The copy is redone from the untouched source and completes; the container starts on it.
        expect(await outcomes("terminated")).to.have.members([
          "failed verify client-gone restarted",
          `done ${DEST}/member`,
        ]);
        expect(await inDest("terminated")).to.deep.equal(["member"]);
        expect(await installedContainers(sim, "terminated")).to.deep.equal(["etcd"]);
        expect(atomicInstalls("terminated").map((e) => e.exitCode)).to.deep.equal([0]);
        expect(await isActive(sim, "terminated", "etcd")).to.equal("active");
        await expectServesSeededKeys("terminated");
        expectNoChanges(await p.run(["up", "--yes"]), 2);
        expect(migrations("terminated")).to.have.length(2);
      });
    });
  });
});
