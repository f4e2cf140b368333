import { expect } from "chai";
import * as net from "net";
import { SimCluster } from "../../sim";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { PulumiProject } from "../helpers/pulumi";
import {
  F27,
  WORKER_REBASE,
  TRANSACTION,
  CONTAINERS_PROGRAM,
  ADD_F27_REMOTE,
  WORKER_LAYERING_PROGRAM,
  sleep,
  tmp,
  until,
  show,
  hostConfig,
  containerSpecs,
  stackFor,
  diagnostics,
  expectNoChanges,
  containersInState,
  isActive,
  installedContainers,
  stopCluster,
} from "./faultsSupport";

// Faults through the real Pulumi CLI against simulated Fedora 26 Atomic hosts: sshd killed in the middle of an
// `up`, a host that cannot be reached, a slow reboot, and an rpm-ostree transaction held by another client (an `up`
// interrupted with SIGINT: interrupts.test.ts). Every case waits on what the hosts did (their commands.log), never
// on a guess of how long the CLI takes, so it holds on a loaded machine; the only time bounds are generous ceilings.
// FAULTS_TEST_VERBOSE=1 prints each CLI run's output. Shared helpers: faultsSupport.ts.

describe("faults through the Pulumi CLI against simulated hosts", function () {
  this.timeout(20 * 60_000);

  before(function () {
    skipUnlessSimAvailable(this);
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a host's sshd killed during up", () => {
    const HOSTS = ["host1", "host2", "victim"];
    const CONTAINERS = ["flanneld", "kubelet", "kube-proxy"];
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      // host1 runs the cluster's etcd, which holds flannel's network config: every flanneld needs it for its lease.
      sim = await SimCluster.start({ dir: tmp("sshd"), hosts: HOSTS, etcdHosts: ["host1"] });
      p = await stackFor("faults-sshd", CONTAINERS_PROGRAM, sim, {
        hosts: sim.hosts.map(hostConfig),
        containers: containerSpecs(CONTAINERS),
        // Three quick dial attempts: a dead sshd is reported in seconds, not after the default ten.
        connection: { dialErrorLimit: 3, perDialTimeout: 5 },
      });
    });

    after(async () => {
      await stopCluster(sim);
      p?.cleanup();
    });

    it("fails the victim's resources with errors naming the host, and converges the other hosts", async () => {
      const victim = sim.host("victim");
      // Every command on the victim starts 2.5 s late: the kill lands while the create that installed first is
      // still running (its start and read-back), with seconds to spare on a loaded machine.
      sim.slow("victim", 2500);
      const installs = () =>
        sim.readCommandsLog("victim").filter((e) => e.command.startsWith("atomic install")).length;
      const killed = until("the victim's first atomic install", () => installs() >= 1).then(() =>
        sim.killSshd("victim", { restartAfterMs: -1 }),
      );
      const r = await p.run(["up", "--yes"]);
      await killed;
      show("up with sshd killed", r);
      expect(r.code, r.output).to.not.equal(0);
      // Each of the victim's resources failed with an error naming it (user@host:port), saying what happened
      // and what to do next; the other hosts' resources have no diagnostics and their units run.
      const diags = diagnostics(r.output);
      const label = `root@127.0.0.1:${victim.port}`;
      for (const unit of CONTAINERS) {
        const d = diags.get(`victim-${unit}`) ?? "";
        expect(d, `victim-${unit}`).to.match(/error: .*\[(connection|connect)\] root@127\.0\.0\.1:\d+: /s);
        expect(d, `victim-${unit}`).to.include(label);
        expect(d, `victim-${unit}`).to.include("next: ");
      }
      for (const h of ["host1", "host2"]) {
        for (const unit of CONTAINERS) {
          expect(diags.has(`${h}-${unit}`), `${h}-${unit} has diagnostics`).to.equal(false);
          expect(await isActive(sim, h, unit), `${h} ${unit}`).to.equal("active");
        }
      }
      // The create that had installed its container is recorded with its error (a partial state the next up
      // repairs); the others had changed nothing and are not recorded.
      const state = await p.exportState();
      const recorded = (state.deployment.resources as any[]).filter((x) => /::victim-/.test(x.urn));
      expect(recorded, JSON.stringify(recorded.map((x) => x.urn))).to.have.length(1);
      expect((recorded[0].initErrors ?? []).join("\n")).to.match(
        /\[(connection|connect)\] root@127\.0\.0\.1:/,
      );
      expect(containersInState(state).filter((n) => !n.startsWith("victim-"))).to.have.length(6);
    });

    it("completes on the next up once sshd is back, and a further up reports no changes", async () => {
      sim.slow("victim", 0);
      await sim.startHost("victim");
      const r = await p.run(["up", "--yes"]);
      show("up after sshd restart", r);
      expect(r.code, r.output).to.equal(0);
      for (const h of HOSTS) {
        for (const unit of CONTAINERS)
          expect(await isActive(sim, h, unit), `${h} ${unit}`).to.equal("active");
        expect(await installedContainers(sim, h), h).to.deep.equal([...CONTAINERS].sort());
      }
      // The container installed before the kill was taken up where it stopped, not installed a second time.
      const installed = sim
        .readCommandsLog("victim")
        .filter((e) => e.command.startsWith("atomic install") && e.exitCode === 0)
        .map((e) => /--name=(\S+)/.exec(e.command)![1]);
      expect(installed.sort()).to.deep.equal([...CONTAINERS].sort());
      const again = await p.run(["up", "--yes"]);
      show("up once more", again);
      expect(again.code, again.output).to.equal(0);
      expectNoChanges(again, HOSTS.length * CONTAINERS.length);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a host that cannot be reached", () => {
    let sim: SimCluster;
    let p: PulumiProject;
    let silent: net.Server;
    let silentPort: number;
    const held: net.Socket[] = [];

    before(async () => {
      sim = await SimCluster.start({ dir: tmp("unreach"), hosts: ["down"], etcdHosts: [] });
      // A port that accepts TCP connections but never says a word (no SSH banner): only the per-dial timeout
      // ends each attempt, as with a host behind a firewall that drops packets.
      silent = net.createServer((s) => held.push(s.on("error", () => undefined)));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      silentPort = (silent.address() as net.AddressInfo).port;
      const down = hostConfig(sim.host("down"));
      p = await stackFor("faults-unreach", CONTAINERS_PROGRAM, sim, {
        hosts: [down, { ...down, name: "silent", port: silentPort }],
        containers: containerSpecs(["flanneld"]),
        connection: { dialErrorLimit: 2, perDialTimeout: 2 },
      });
    });

    after(async () => {
      for (const s of held) s.destroy();
      silent?.close();
      await stopCluster(sim);
      p?.cleanup();
    });

    it("fails within the dial deadline with a connect error naming host:port", async () => {
      await sim.kill("down");
      const port = sim.host("down").port;
      const started = Date.now();
      const r = await p.run(["up", "--yes"]);
      const seconds = (Date.now() - started) / 1000;
      show("up with unreachable hosts", r);
      expect(r.code, r.output).to.not.equal(0);
      // 2 attempts of at most 2 s each, plus the CLI's own start-up: far below this ceiling on any machine.
      expect(seconds, "seconds until pulumi up failed").to.be.below(120);
      const diags = diagnostics(r.output);
      const refused = diags.get("down-flanneld") ?? "";
      expect(refused).to.include(`[connect] root@127.0.0.1:${port}: could not open an SSH connection`);
      expect(refused).to.include(`ECONNREFUSED 127.0.0.1:${port}`);
      expect(refused).to.include("next: check that the host is up");
      const mute = diags.get("silent-flanneld") ?? "";
      expect(mute).to.include(`[connect] root@127.0.0.1:${silentPort}: no SSH session within 2 s`);
      expect(mute).to.include("next: check that the host is up");
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a slow reboot", () => {
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      // The host stays down 15 s after `systemctl reboot`, as a real machine's firmware and boot would.
      sim = await SimCluster.start({
        dir: tmp("reboot"),
        hosts: ["worker"],
        etcdHosts: [],
        rebootDownMs: 15_000,
      });
      expect((await sim.exec("worker", ADD_F27_REMOTE)).exitCode).to.equal(0);
      p = await stackFor("faults-reboot", WORKER_LAYERING_PROGRAM, sim, {
        host: hostConfig(sim.host("worker")),
        rebootTimeoutSeconds: 120,
      });
    });

    after(async () => {
      await stopCluster(sim);
      p?.cleanup();
    });

    it("waits for the host to come back and succeeds, reporting its progress", async () => {
      const bootId = sim.bootId("worker");
      const r = await p.run(["up", "--yes"]);
      show("up with a slow reboot", r);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.match(/rebooting \(.+\); waiting up to 120 s for it to come back/);
      const back = /back after (\d+) s with a new boot id/.exec(r.output);
      expect(back, r.output).to.not.equal(null);
      // The simulator keeps the host down 15 s: the provider cannot have seen it back much sooner.
      expect(Number(back![1])).to.be.at.least(10);
      const log = sim.readCommandsLog("worker").map((e) => e.command);
      expect(log.filter((c) => TRANSACTION.test(c))).to.deep.equal([WORKER_REBASE]);
      expect(log.filter((c) => c === "systemctl reboot")).to.have.length(1);
      expect(sim.bootId("worker")).to.not.equal(bootId);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      expect(outs.layered).to.deep.equal(["flannel", "kubernetes-node"]);
      expect(outs.pendingReboot).to.equal(false);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("an rpm-ostree transaction held by another client", () => {
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      sim = await SimCluster.start({ dir: tmp("txn"), hosts: ["worker"], etcdHosts: [], rebootDownMs: 1500 });
      expect((await sim.exec("worker", ADD_F27_REMOTE)).exitCode).to.equal(0);
      p = await stackFor("faults-txn", WORKER_LAYERING_PROGRAM, sim, {
        host: hostConfig(sim.host("worker")),
        rebootTimeoutSeconds: 120,
      });
    });

    after(async () => {
      sim?.holdTransaction("worker", false);
      await stopCluster(sim);
      p?.cleanup();
    });

    it("waits for it, and converges once it is released", async () => {
      sim.holdTransaction("worker", true);
      // A client started on the host itself (not over SSH) takes the transaction and holds it. The trailing
      // sleep keeps bash alive until sim.exec has closed its stdin.
      await sim.exec("worker", "setsid rpm-ostree install htop >/dev/null 2>&1 </dev/null & sleep 1");
      await until("the other client's transaction", async () => {
        const st = JSON.parse((await sim.exec("worker", "rpm-ostree status --json")).stdout);
        return st.transaction !== null && st.transaction !== undefined;
      });
      const statusReads = () =>
        sim.readCommandsLog("worker").filter((e) => e.command === "rpm-ostree status --json").length;
      let releasedAt = 0;
      const release = until("the provider reading the status", () => statusReads() >= 1).then(async () => {
        await sleep(10_000);
        releasedAt = Date.now();
        sim.holdTransaction("worker", false);
      });
      const r = await p.run(["up", "--yes"]);
      await release;
      show("up with a held transaction", r);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.include("waiting for a running rpm-ostree transaction (");
      const txns = sim.readCommandsLog("worker").filter((e) => TRANSACTION.test(e.command));
      // One transaction of ours, run after the other client's ended: it never collided with it.
      expect(txns.map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
      expect(txns[0]!.exitCode).to.equal(0);
      expect(Date.parse(txns[0]!.time)).to.be.at.least(releasedAt - 1000);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      // htop, staged by the other client, stays layered: the rebase built on its deployment.
      expect(outs.layered).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
      expect(outs.pendingReboot).to.equal(false);
    });
  });
});
