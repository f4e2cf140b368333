import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { checked, commandsOf, connectionOf, inHost, toolsOf, useSimCluster } from "../helpers/simFixture";

// A SystemContainer create in three SSH commands on a host that has nothing of it: the read with the pull, the
// install, the start with the read that verifies it. The pull rides with the read only where the plan starts with
// it; every step is still judged on its own status and words.
const provider = require("../../provider/handlers").handler("SystemContainer");

const IMAGE = "registry.fedoraproject.org/f27/kubernetes-proxy";
const NAME = "kube-proxy";
const PULL = `atomic pull --storage=ostree ${IMAGE}`;
const INSTALL = `atomic install --system --system-package=no --storage=ostree --name=${NAME} ${IMAGE}`;

describe("SystemContainer: round trips of an apply", function () {
  this.timeout(5 * 60_000);
  const fixture = useSimCluster(
    "sc-round-trips",
    { hosts: ["node1"], release: 27, etcdHosts: [] },
    { captureProgress: "SYSTEM_CONTAINER_TEST_VERBOSE" },
  );
  let sim: SimCluster;
  let node: ClusterHostEntry;
  let created: { id: string; outs: any };
  before(() => {
    sim = fixture.sim;
    node = sim.host("node1");
  });
  const kinds = () =>
    commandsOf(sim, node).map((c) => /^sh -c '# atomic-host:([a-z-]+) v1/.exec(c)?.[1] ?? c.split(" ")[0]);

  it("creates on a bare host in three commands: read + pull, install, start + read", async () => {
    sim.clearCommandsLog(node);
    created = await provider.create(
      await checked(provider, { connection: connectionOf(node), name: NAME, image: IMAGE }),
    );
    expect(created.outs.unitState).to.equal("active");
    expect(kinds()).to.deep.equal(["system-container-read-then-pull", "atomic", "step-then-read"]);
    expect(commandsOf(sim, node)[1]).to.equal(INSTALL);
    // Each runs under the host's own bound, the pull's and the start's with it (coreutils timeout on the host).
    expect(sim.readCommandsLog(node).map((e) => e.hostBound !== undefined)).to.deep.equal([true, true, true]);
    // Inside those commands, the tools the plan names ran in its order, each once.
    expect(toolsOf(sim, node).filter((c) => !/^systemctl is-(active|enabled) /.test(c))).to.deep.equal([
      PULL,
      INSTALL,
      `systemctl start ${NAME}.service`,
    ]);
    // The outputs come from the read that ran with the start.
    expect(created.outs.imageId).to.match(/^[0-9a-f]{64}$/);
    expect(fixture.progress.join("\n")).to.include(PULL);
  });

  it("does not pull with the read when the container is there already (the create adopts it, pulling nothing)", async () => {
    sim.clearCommandsLog(node);
    const again = await provider.create(
      await checked(provider, { connection: connectionOf(node), name: NAME, image: IMAGE }),
    );
    expect(again.outs.unitState).to.equal("active");
    expect(kinds()).to.deep.equal(["system-container-read-then-pull"]);
    expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([]);
  });

  it("does not pull with the read when only the unit of the same name runs (the plan stops it first)", async () => {
    await provider.delete(created.id, created.outs);
    // An RPM unit of the same name, active: the create must stop it before it pulls and installs.
    await inHost(
      sim,
      node,
      `printf '[Service]\\nExecStart=/usr/bin/kube-proxy\\n' > /usr/lib/systemd/system/${NAME}.service`,
    );
    await inHost(sim, node, `systemctl daemon-reload; systemctl start ${NAME}.service`);
    sim.clearCommandsLog(node);
    const r = await provider.create(
      await checked(provider, { connection: connectionOf(node), name: NAME, image: IMAGE }),
    );
    expect(r.outs.unitState).to.equal("active");
    const tools = toolsOf(sim, node).filter((c) => !/^systemctl is-(active|enabled) /.test(c));
    expect(tools).to.deep.equal([
      `systemctl stop ${NAME}.service`,
      PULL,
      INSTALL,
      `systemctl start ${NAME}.service`,
    ]);
    expect(kinds()).to.deep.equal([
      "system-container-read-then-pull",
      "systemctl",
      "atomic",
      "atomic",
      "step-then-read",
    ]);
  });

  it("judges a pull that failed inside the read as the pull: nothing installed, the tool's words in the error", async () => {
    sim.clearCommandsLog(node);
    const typo = `${IMAGE}-typo`;
    const err = await provider
      .create(await checked(provider, { connection: connectionOf(node), name: "typo", image: typo }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err, "the create must fail").to.be.instanceOf(Error);
    expect(err!.message).to.include(`command: atomic pull --storage=ostree ${typo}\n`);
    expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([
      `atomic pull --storage=ostree ${typo}`,
    ]);
    expect(kinds()).to.deep.equal(["system-container-read-then-pull"]);
    expect((await inHost(sim, node, "ls -A /var/lib/containers/atomic")).stdout).not.to.include("typo");
  });
});
