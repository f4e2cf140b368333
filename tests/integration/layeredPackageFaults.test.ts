import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { rejection } from "../helpers/rejection";
import { checked, connectionOf, inHost, until } from "../helpers/simFixture";
import { F27, TRANSACTION, WORKER, WORKER_REBASE, useWorkerRebaseHosts } from "../helpers/workerRebaseHosts";

// LayeredPackage's create under real faults on the host, the provider called directly as the dynamic provider host
// would: rpm-ostreed killed (SIGKILL) while it holds the provider's transaction, and /ostree/repo on a filesystem
// filled until the kernel answers ENOSPC. Each time the create fails naming the host and quoting rpm-ostree, the
// host keeps the deployments it had, and the next create runs the transaction once more and converges.
const provider = require("../../provider/handlers").handler("LayeredPackage");

describe("LayeredPackage under real faults on the host (rpm-ostreed killed, disk full)", function () {
  this.timeout(10 * 60_000);
  const clusters = useWorkerRebaseHosts();
  const { progress, host } = clusters;

  async function status(sim: SimCluster, h: ClusterHostEntry) {
    const r = await inHost(sim, h, "rpm-ostree status --json");
    expect(r.exitCode, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as {
      transaction: unknown;
      deployments: { checksum: string; origin: string; booted: boolean }[];
    };
  }

  async function workerInputs(h: ClusterHostEntry) {
    return checked(provider, { connection: connectionOf(h), packages: WORKER, rebase: F27 });
  }

  /** The transactions the host ran over SSH, with their exit status. */
  function transactions(sim: SimCluster, h: ClusterHostEntry): [string, number | null][] {
    return sim
      .readCommandsLog(h)
      .filter((e) => TRANSACTION.test(e.command))
      .map((e) => [e.command, e.exitCode]);
  }

  /** The next create converges: F27 booted with the worker's packages, after exactly one more transaction. */
  async function expectNextCreateConverges(sim: SimCluster, h: ClusterHostEntry, failed: number) {
    const before = sim.bootId(h);
    const r = await provider.create(await workerInputs(h));
    expect(r.outs.booted.origin).to.equal(F27);
    expect(r.outs.layeredPackages).to.deep.equal(["flannel", "kubernetes-node"]);
    expect(r.outs.pendingReboot).to.equal(false);
    expect(sim.bootId(h)).to.not.equal(before);
    expect(transactions(sim, h)).to.deep.equal([
      ...Array<[string, number]>(failed).fill([WORKER_REBASE, 1]),
      [WORKER_REBASE, 0],
    ]);
  }

  it("fails create naming the host when rpm-ostreed is killed mid-transaction, staging nothing; the next create runs it again and converges", async () => {
    const { sim, h } = await host("lp-kill-daemon");
    const deployments = (await status(sim, h)).deployments.map((d) => d.checksum);
    const bootId = sim.bootId(h);
    // Held, the daemon side waits before it changes anything: the kill lands there, whatever the machine's load.
    sim.holdTransaction(h, true);
    const created = provider.create(await workerInputs(h)) as Promise<unknown>;
    created.catch(() => undefined);
    await until(
      "the provider's transaction on the host",
      async () => (await status(sim, h)).transaction !== null,
    );
    expect(sim.killRpmOstreed(h), "the pid of the daemon running the transaction").to.be.a("number");
    sim.holdTransaction(h, false);
    const err = await rejection(created);
    expect(err.message).to.include(`[command] root@127.0.0.1:${h.port}: rpm-ostreed, the daemon running`);
    expect(err.message).to.include("the transaction deployed nothing");
    expect(err.message).to.match(new RegExp(`\n  command: timeout .* ${WORKER_REBASE}\n`));
    expect(err.message).to.include("error: Bus owner changed, aborting.");
    expect(err.message).to.include("journalctl -u rpm-ostreed");
    // Nothing staged, no reboot, and a fresh daemon with no transaction.
    const after = await status(sim, h);
    expect(after.transaction).to.equal(null);
    expect(after.deployments.map((d) => d.checksum)).to.deep.equal(deployments);
    expect(sim.bootId(h)).to.equal(bootId);
    expect(transactions(sim, h)).to.deep.equal([[WORKER_REBASE, 1]]);
    await expectNextCreateConverges(sim, h, 1);
  });

  it("converges without a second transaction when rpm-ostreed is killed after writing the deployment, in its cleanup", async () => {
    const { sim, h } = await host("lp-kill-daemon-cleanup");
    const bootId = sim.bootId(h);
    progress.length = 0;
    sim.holdTransactionCleanup(h, true);
    const created = provider.create(await workerInputs(h)) as Promise<{ outs: any }>;
    created.catch(() => undefined);
    await until("the new deployment written, the transaction still running", async () => {
      const st = await status(sim, h);
      return st.transaction !== null && st.deployments[0]!.origin === F27 && !st.deployments[0]!.booted;
    });
    expect(sim.killRpmOstreed(h), "the pid of the daemon running the transaction").to.be.a("number");
    sim.holdTransactionCleanup(h, false);
    const r = await created;
    expect(progress.join("\n")).to.include("rpm-ostreed went away after writing the deployment");
    expect(r.outs.booted.origin).to.equal(F27);
    expect(r.outs.layeredPackages).to.deep.equal(["flannel", "kubernetes-node"]);
    expect(sim.bootId(h)).to.not.equal(bootId);
    // The killed transaction (its client failed) is the only one: the deployment it wrote was booted as it was.
    expect(transactions(sim, h)).to.deep.equal([[WORKER_REBASE, 1]]);
  });

  it("fails create with libostree's free-space message naming the host when /ostree/repo's filesystem is full, staging nothing; after room is made the next create converges", async () => {
    const { sim, h } = await host("lp-disk-full");
    const deployments = (await status(sim, h)).deployments.map((d) => d.checksum);
    // A 1 MiB filesystem under the repo, then a file written until the kernel refuses: a real full disk.
    await sim.fillDisk(h, "/ostree/repo", 1024 * 1024);
    const fill = await inHost(sim, h, "dd if=/dev/zero of=/ostree/repo/tmp/filler bs=64k");
    expect(fill.exitCode).to.not.equal(0);
    expect(fill.stderr).to.include("No space left on device");
    const err = await rejection(provider.create(await workerInputs(h)));
    expect(err.message).to.include(
      `[command] root@127.0.0.1:${h.port}: the transaction failed: the filesystem that holds /ostree/repo is full`,
    );
    expect(err.message).to.match(
      /error: min-free-space-percent '3%' would be exceeded, \d+ (bytes?|\d*\.\d kB) available/,
    );
    expect(err.message).to.include("df -h /sysroot");
    if (process.env.LAYERED_PACKAGE_TEST_VERBOSE) clusters.print(err.message);
    const after = await status(sim, h);
    expect(after.transaction).to.equal(null);
    expect(after.deployments.map((d) => d.checksum)).to.deep.equal(deployments);
    expect(transactions(sim, h)).to.deep.equal([[WORKER_REBASE, 1]]);
    await sim.clearDisk(h, "/ostree/repo");
    await expectNextCreateConverges(sim, h, 1);
  });
});
