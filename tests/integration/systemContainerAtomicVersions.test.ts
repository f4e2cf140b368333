import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { checked, connectionOf, inHost, toolsOf, useSimCluster } from "../helpers/simFixture";

// A system container installed by atomic 1.19.1 on Fedora 26 (its info `revision` is the image's CONFIG digest),
// then the host rebased to Fedora 27, whose atomic 1.20.1 compares the MANIFEST digest in `containers update`
// (syscontainers.py `update_container`; `_get_image_id` prefers the `docker.digest` commit metadata). A trigger
// bump pulls the same image again: the provider must see that the image's ostree commit did not move and not run
// `containers update`, which would redeploy and restart the unit although nothing changed.
const provider = require("../../provider/handlers").handler("SystemContainer");

const IMAGE = "registry.fedoraproject.org/f27/kubernetes-proxy";
const ADD_F27_REMOTE =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";

describe("SystemContainer across the Fedora 26 → 27 rebase (atomic 1.19.1 → 1.20.1)", function () {
  this.timeout(10 * 60_000);
  const fixture = useSimCluster(
    "sc-versions",
    { hosts: ["node1"], release: 26, etcdHosts: [] },
    { captureProgress: "SYSTEM_CONTAINER_TEST_VERBOSE" },
  );
  const { progress } = fixture;
  let sim: SimCluster;
  let node: ClusterHostEntry;
  before(() => {
    sim = fixture.sim;
    node = sim.host("node1");
  });

  it("does not restart the unit on a trigger bump after the rebase when the image did not move", async () => {
    const created = await provider.create(
      await checked(provider, {
        connection: connectionOf(node),
        name: "kube-proxy",
        image: IMAGE,
        triggers: [1],
      }),
    );
    expect(created.outs.unitState).to.equal("active");
    expect((await inHost(sim, node, "atomic --version")).stdout.trim()).to.equal("1.19.1");

    // The guide's rebase to 27, by hand, and the reboot into it.
    for (const c of [ADD_F27_REMOTE, "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host"]) {
      const r = await inHost(sim, node, c);
      expect(r.exitCode, r.stderr).to.equal(0);
    }
    await sim.reboot(node, { wait: true });
    expect((await inHost(sim, node, "atomic --version")).stdout.trim()).to.equal("1.20.1");
    const pidBefore = (await inHost(sim, node, "systemctl show -p MainPID kube-proxy")).stdout.trim();
    expect(pidBefore).to.match(/^MainPID=[1-9]/);

    sim.clearCommandsLog(node);
    const news = await checked(
      provider,
      { connection: connectionOf(node), name: "kube-proxy", image: IMAGE, triggers: [2] },
      created.outs,
    );
    const r = await provider.update(created.id, created.outs, news);
    const ran = toolsOf(sim, node);
    expect(ran).to.include(`atomic pull --storage=ostree ${IMAGE}`);
    expect(ran.filter((c) => c.startsWith("atomic containers update"))).to.deep.equal([]);
    expect(progress.join("\n")).to.include("did not move");
    expect(r.outs.unitState).to.equal("active");
    expect((await inHost(sim, node, "systemctl show -p MainPID kube-proxy")).stdout.trim()).to.equal(
      pidBefore,
    );

    // What the provider avoided: atomic 1.20.1 itself redeploys the unchanged image (the digest kinds differ).
    const byHand = await inHost(sim, node, "atomic containers update kube-proxy");
    expect(byHand.stdout).to.not.include("Latest version already installed.");
  });
});
