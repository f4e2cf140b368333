import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { checked, connectionOf, inHost, until } from "../helpers/simFixture";
import { F27, TRANSACTION, WORKER, WORKER_REBASE, useWorkerRebaseHosts } from "../helpers/workerRebaseHosts";

// rpm-ostree is a daemon: a transaction keeps running after the client that asked for it is gone, and `status`
// shows it until it ends (rpm-ostree v2017.10 rpmostreed-transaction.c; the "daemon semantics"). These
// tests drop the provider's SSH connection for real (sshd killed, restarted a few seconds later) while its
// rebase transaction is held open on the host, and check that the provider converges without a second
// transaction, whether the transaction ended while the connection was down or is still running when it is back.
const provider = require("../../provider/handlers").handler("LayeredPackage");

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

describe("LayeredPackage when the connection drops during a transaction (rpm-ostree daemon)", function () {
  this.timeout(10 * 60_000);
  const clusters = useWorkerRebaseHosts();
  const { progress, host } = clusters;

  async function transactionRunning(sim: SimCluster, h: ClusterHostEntry): Promise<boolean> {
    const r = await inHost(sim, h, "rpm-ostree status --json");
    return r.exitCode === 0 && JSON.parse(r.stdout).transaction !== null;
  }

  /** Starts create with the transaction held, waits until it runs, then kills sshd (restarted after `downMs`). */
  async function createAndDrop(sim: SimCluster, h: ClusterHostEntry, downMs: number) {
    sim.holdTransaction(h, true);
    const inputs = await checked(provider, { connection: connectionOf(h), packages: WORKER, rebase: F27 });
    const created = provider.create(inputs) as Promise<{ id: string; outs: any }>;
    created.catch(() => undefined);
    await until("the provider's rebase transaction", () => transactionRunning(sim, h));
    await sim.killSshd(h, { restartAfterMs: downMs });
    // Wrapped: an async function returning a promise would wait for it.
    return { created };
  }

  it("converges without a second transaction when the transaction finished while the connection was down", async () => {
    const { sim, h } = await host("lp-drop-done");
    const bootBefore = sim.bootId(h);
    const { created } = await createAndDrop(sim, h, 4000);
    sim.holdTransaction(h, false); // it ends now, with nobody connected
    await until("the transaction to end on the host", async () => !(await transactionRunning(sim, h)));
    const r = await created;
    expect(r.outs.booted.origin).to.equal(F27);
    expect(r.outs.layeredPackages).to.deep.equal(["flannel", "kubernetes-node"]);
    expect(sim.bootId(h)).to.not.equal(bootBefore);
    const txns = sim.readCommandsLog(h).filter((e) => TRANSACTION.test(e.command));
    expect(txns.map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
    expect(progress.join("\n")).to.include("the connection dropped during the rpm-ostree transaction");
  });

  it("waits for a transaction still running when the connection is back, then converges", async () => {
    const { sim, h } = await host("lp-drop-running");
    progress.length = 0;
    const { created } = await createAndDrop(sim, h, 2000);
    // Keep it running well after sshd is back, so the provider finds it in `status` and has to wait.
    await until("the provider to find the transaction running", () =>
      progress.some((l) => l.includes("waiting for a running rpm-ostree transaction")),
    );
    await sleep(3000);
    sim.holdTransaction(h, false);
    const r = await created;
    expect(r.outs.booted.origin).to.equal(F27);
    expect(r.outs.pendingReboot).to.equal(false);
    const txns = sim.readCommandsLog(h).filter((e) => TRANSACTION.test(e.command));
    expect(txns.map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
  });
});
