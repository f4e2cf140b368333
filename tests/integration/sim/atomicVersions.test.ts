/**
 * atomic 1.19.1 on Fedora 26 and 1.20.1 on Fedora 27, switched by the booted deployment (sim/tools/atomic/version.ts):
 * a host rebased to 27 runs 1.20.1 after its reboot, and 1.20.1's first `containers update` redeploys and restarts
 * a container whose image did not change, because 1.19.1 recorded the config digest as `revision` and 1.20.1
 * compares the manifest digest (projectatomic/atomic v1.19.1 syscontainers.py 507-519, V1.12.1 564-579 and
 * 1085-1102). Both write the checkout under /ostree/deploy/fedora-atomic/var (`_canonicalize_location`).
 */
import { expect } from "chai";
import type { SimCluster } from "../../../sim";
import { useSimCluster } from "../../helpers/simFixture";
import { sshRunner } from "./support";

const DEPLOY_VAR = "/ostree/deploy/fedora-atomic/var/lib/containers/atomic";

describe("atomic-host-sim: atomic 1.19.1 on Fedora 26, 1.20.1 after the rebase to 27", function () {
  this.timeout(240_000);
  const fixture = useSimCluster("atomic-versions", {
    hosts: ["etcd1", "node1"],
    etcdHosts: ["etcd1"],
    release: 26,
    layout: "contrib",
    rebootDownMs: 500,
  });
  let cluster: SimCluster;
  let run: ReturnType<typeof sshRunner>;
  let configDigest: string;

  before(() => {
    cluster = fixture.sim;
    run = sshRunner(cluster, "node1");
  });

  it("runs atomic 1.19.1 on Fedora 26: checkout under the deployment's var, config digest as revision", async () => {
    expect((await run("atomic --version")).stdout).to.equal("1.19.1\n");
    const install = await run(
      "atomic install --system --system-package=no --name flanneld registry.fedoraproject.org/f27/flannel",
    );
    expect(install.code, install.stderr).to.equal(0);
    configDigest = /^Copying config sha256:([0-9a-f]{64})$/m.exec(install.stdout)![1];
    expect((await run("systemctl start flanneld")).code).to.equal(0);
    const r = await run(
      "readlink /var/lib/containers/atomic/flanneld; grep WorkingDirectory /etc/systemd/system/flanneld.service; " +
        'grep -o \'"revision": "[0-9a-f]*"\' /var/lib/containers/atomic/flanneld/info',
    );
    expect(r.stdout).to.equal(
      `${DEPLOY_VAR}/flanneld.0\nWorkingDirectory=${DEPLOY_VAR}/flanneld.0\n"revision": "${configDigest}"\n`,
    );
  });

  it("runs atomic 1.20.1 once the host booted Fedora 27", async () => {
    const add = await run(
      "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
        "https://kojipkgs.fedoraproject.org/atomic/27 && " +
        "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host >/dev/null",
    );
    expect(add.code, add.stderr).to.equal(0);
    expect((await run("atomic --version")).stdout).to.equal("1.19.1\n"); // not booted yet
    await cluster.reboot("node1");
    expect((await run("atomic --version")).stdout).to.equal("1.20.1\n");
    // flanneld is enabled, so it started at boot (etcd1 holds the network config).
    expect((await run("systemctl is-active flanneld")).stdout).to.equal("active\n");
  });

  it("redeploys and restarts on the first containers update although the image did not change", async () => {
    const r = await run("atomic containers update flanneld");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("Extracting to /var/lib/containers/atomic/flanneld.1\n");
    expect(r.stdout).to.include("systemctl stop flanneld\n");
    expect(r.stdout).to.match(/systemctl start flanneld\n$/);
    const info = await run(
      "readlink /var/lib/containers/atomic/flanneld; " +
        'grep -o \'"revision": "[0-9a-f]*"\' /var/lib/containers/atomic/flanneld/info',
    );
    const [link, revision] = info.stdout.trim().split("\n");
    expect(link).to.equal(`${DEPLOY_VAR}/flanneld.1`);
    expect(revision).to.match(/^"revision": "[0-9a-f]{64}"$/);
    expect(revision).to.not.include(configDigest);
    const again = await run("atomic containers update flanneld");
    expect([again.code, again.stdout]).to.deep.equal([0, "Latest version already installed.\n"]);
  });
});
