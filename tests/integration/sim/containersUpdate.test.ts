/**
 * `atomic containers update` whose restart fails, as atomic 1.20.1 handles it (projectatomic/atomic V1.12.1
 * Atomic/syscontainers.py lines 947-969 and `_checkout` 536-556; v1.19.1, Fedora 26's, has the same block at
 * lines 860-882): the NAME symlink and the installed files go, the
 * new checkout and /etc/systemd/system/NAME.service stay, and a later `atomic install --system` stops at the unit
 * file. Driven by a real cause: flanneld cannot start while etcd lacks flannel's network config.
 */
import { expect } from "chai";
import { CONTRIB_NETWORK_CONFIG, type SimCluster } from "../../../sim";
import { useSimCluster } from "../../helpers/simFixture";
import { sshRunner } from "./support";

const INSTALL =
  "atomic install --system --system-package=no --name flanneld registry.fedoraproject.org/f27/flannel";

describe("atomic-host-sim: a containers update whose restart fails (atomic 1.20.1)", function () {
  this.timeout(180_000);
  const fixture = useSimCluster(
    "ctr-update",
    {
      hosts: ["etcd1", "node1"],
      etcdHosts: ["etcd1"],
      release: 26,
      layout: "contrib",
      flannelStartTimeoutMs: 1500,
    },
    { beforeStop: (sim) => sim.setFlannelNetworkConfig(CONTRIB_NETWORK_CONFIG).catch(() => undefined) },
  );
  let cluster: SimCluster;
  let run: ReturnType<typeof sshRunner>;

  before(() => {
    cluster = fixture.sim;
    run = sshRunner(cluster, "node1");
  });

  it("installs and starts the flannel system container while etcd has the network config", async () => {
    const install = await run(INSTALL);
    expect(install.code, install.stderr).to.equal(0);
    const start = await run("systemctl start flanneld && systemctl is-active flanneld");
    expect([start.code, start.stdout]).to.deep.equal([0, "active\n"]);
    // The container's /run/flannel is the host's /run/flanneld (config.json binds ${RUN_DIRECTORY}/${NAME}).
    expect((await run("grep -c FLANNEL_SUBNET /run/flanneld/subnet.env")).stdout).to.equal("1\n");
  });

  it("deletes the symlink but keeps the new checkout and the unit file when the restart fails", async () => {
    await cluster.setFlannelNetworkConfig(null);
    const r = await run("atomic containers update --set=FLANNEL_TEST=1 flanneld");
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal("\n");
    expect(r.stdout).to.equal(
      [
        "Extracting to /var/lib/containers/atomic/flanneld.1",
        "systemctl stop flanneld",
        "systemd-tmpfiles --remove /etc/tmpfiles.d/flanneld.conf",
        "File /etc/sysconfig/flanneld already exists.",
        "systemctl daemon-reload",
        "systemd-tmpfiles --create /etc/tmpfiles.d/flanneld.conf",
        "systemctl start flanneld",
        "",
      ].join("\n"),
    );
    const after = await run(
      [
        "test -L /var/lib/containers/atomic/flanneld; echo symlink=$?",
        "test -d /var/lib/containers/atomic/flanneld.1; echo checkout1=$?",
        "test -d /var/lib/containers/atomic/flanneld.0; echo checkout0=$?",
        "test -f /etc/systemd/system/flanneld.service; echo unit=$?",
        "systemctl is-active flanneld",
      ].join("; "),
    );
    expect(after.stdout).to.equal("symlink=1\ncheckout1=0\ncheckout0=0\nunit=0\nfailed\n");
    const list = await run("atomic containers list --no-trunc -a -q");
    expect(list.stdout).to.not.include("flanneld");
  });

  it("then stops a new install at the unit file that was left behind", async () => {
    await cluster.setFlannelNetworkConfig(CONTRIB_NETWORK_CONFIG);
    const r = await run(INSTALL);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal("The file /etc/systemd/system/flanneld.service already exists.\n");
  });
});
