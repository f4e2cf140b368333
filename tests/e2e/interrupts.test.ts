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

// An `up` interrupted with SIGINT through the real Pulumi CLI against simulated Fedora 26 Atomic hosts: once (the
// CLI cancels: the operation in flight finishes, no other starts) and twice (the provider dies mid-operation), with
// system containers and with an rpm-ostree transaction in flight. Every case waits on what the hosts did (their
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
});
