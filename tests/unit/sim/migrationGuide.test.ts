/**
 * The Fedora 27 migration guide (shared/seed/fedora-27-atomic-migration.txt) run end to end through the stand-in
 * tools in a temp root: system containers for a master and etcd, a container update after a new digest is
 * published and its rollback; and the package-layering path (rebase --install, reboot, errors, concurrency).
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { publishImage, readRegistry, withdrawImage } from "../../../sim/catalog";
import { bootPendingDeployment, initRpmOstree, loadState } from "../../../sim/tools/rpmostree/state";
import { Sandbox, guideRemoteAdd, makeSandbox, seedFedoraOstree } from "./toolHarness";

const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";

function ok(r: { status: number; stdout: string; stderr: string }) {
  expect(r.status, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).to.equal(0);
  return r;
}

describe("the F27 migration guide through the stand-in tools", function () {
  this.timeout(120_000);

  describe("system containers", () => {
    let sb: Sandbox;
    before(() => (sb = makeSandbox()));

    it("installs the master containers, enabled but not started", () => {
      for (const [name, image] of [
        ["kube-apiserver", "kubernetes-apiserver"],
        ["kube-controller-manager", "kubernetes-controller-manager"],
        ["kube-scheduler", "kubernetes-scheduler"],
      ]) {
        const r = ok(
          sb.run("atomic", [
            "install",
            "--system",
            "--system-package=no",
            "--name",
            name,
            `registry.fedoraproject.org/f27/${image}`,
          ]),
        );
        expect(r.stdout).to.contain(`Extracting to /var/lib/containers/atomic/${name}.0`);
        expect(r.stdout).to.contain(`systemctl enable ${name}`);
        expect(fs.existsSync(sb.hostPath(`/etc/systemd/system/${name}.service`))).to.equal(true);
      }
      expect(sb.calls().filter((c) => c.startsWith("systemctl start"))).to.deep.equal([]);
      // "the kube-apiserver system container provides the kubectl client"
      expect(fs.existsSync(sb.hostPath("/usr/local/bin/kubectl"))).to.equal(true);
    });

    it("installs etcd with --storage=ostree; data goes to /var/lib/etcd/etcd.etcd", () => {
      ok(
        sb.run("atomic", [
          "install",
          "--system",
          "--system-package=no",
          "--storage=ostree",
          "--name",
          "etcd",
          "registry.fedoraproject.org/f27/etcd",
        ]),
      );
      const tmpfiles = fs.readFileSync(sb.hostPath("/etc/tmpfiles.d/etcd.conf"), "utf8");
      expect(tmpfiles).to.contain("d    /var/lib/etcd/etcd.etcd   0700 0 0 - -");
      const config = JSON.parse(
        fs.readFileSync(sb.hostPath("/var/lib/containers/atomic/etcd/config.json"), "utf8"),
      );
      expect(config.process.args).to.deep.equal(["/usr/bin/etcd-env.sh", "/usr/bin/etcd"]);
      const dataMount = config.mounts.find((m: { destination: string }) => m.destination === "/var/lib/etcd");
      expect(dataMount.source).to.equal("/var/lib/etcd/etcd.etcd");
      expect(config.process.env).to.include("ETCD_INITIAL_CLUSTER_STATE=new");
    });

    it("ignores options after the image: argparse REMAINDER swallows them", () => {
      const r = ok(
        sb.run("atomic", [
          "install",
          "--system",
          "registry.fedoraproject.org/f27/flannel",
          "--name",
          "flanneld",
        ]),
      );
      expect(r.stdout).to.contain("Extracting to /var/lib/containers/atomic/flannel.0");
      ok(sb.run("atomic", ["uninstall", "flannel"]));
    });

    it("updates etcd after a new digest is published and pulled, then rolls back", () => {
      sb.setUnitState("etcd", "active");
      const before = JSON.parse(
        fs.readFileSync(sb.hostPath("/var/lib/containers/atomic/etcd/info"), "utf8"),
      ).revision;
      const digest = publishImage(sb.clusterDir, "registry.fedoraproject.org/f27/etcd");
      expect(digest.replace("sha256:", "")).to.not.equal(before);
      // The guide's plain `atomic pull` goes to docker storage (no atomic.type label on etcd): nothing to update.
      ok(sb.run("atomic", ["pull", "registry.fedoraproject.org/f27/etcd"]));
      expect(ok(sb.run("atomic", ["containers", "update", "etcd"])).stdout).to.equal(
        "Latest version already installed.\n",
      );
      ok(sb.run("atomic", ["pull", "--storage=ostree", "registry.fedoraproject.org/f27/etcd"]));
      sb.clearCalls();
      const up = ok(sb.run("atomic", ["containers", "update", "etcd"]));
      expect(up.stdout.split("\n")[0]).to.equal("Extracting to /var/lib/containers/atomic/etcd.1");
      const info = JSON.parse(fs.readFileSync(sb.hostPath("/var/lib/containers/atomic/etcd/info"), "utf8"));
      expect(info.revision).to.equal(digest.replace("sha256:", ""));
      expect(sb.calls()).to.include.members(["systemctl stop etcd", "systemctl start etcd"]);

      const rb = ok(sb.run("atomic", ["containers", "rollback", "etcd"]));
      expect(rb.stdout).to.contain(
        "Rolling back container etcd to the checkout at /var/lib/containers/atomic/etcd.0",
      );
      const back = JSON.parse(fs.readFileSync(sb.hostPath("/var/lib/containers/atomic/etcd/info"), "utf8"));
      expect(back.revision).to.equal(before);
    });

    it("does not restart a container that was not running", () => {
      sb.setUnitState("kube-scheduler", "inactive");
      publishImage(sb.clusterDir, "registry.fedoraproject.org/f27/kubernetes-scheduler");
      ok(
        sb.run("atomic", [
          "pull",
          "--storage",
          "ostree",
          "registry.fedoraproject.org/f27/kubernetes-scheduler",
        ]),
      );
      sb.clearCalls();
      const r = ok(sb.run("atomic", ["containers", "update", "kube-scheduler"]));
      expect(r.stdout).to.not.contain("systemctl stop").and.not.contain("systemctl start");
    });

    it("fails to pull a withdrawn tag, like skopeo against a registry without it", () => {
      withdrawImage(sb.clusterDir, "registry.fedoraproject.org/f27/kubernetes-proxy");
      expect(
        readRegistry(sb.clusterDir).images["registry.fedoraproject.org/f27/kubernetes-proxy:latest"],
      ).to.equal(undefined);
      const r = sb.run("atomic", [
        "install",
        "--system",
        "--name",
        "kube-proxy",
        "registry.fedoraproject.org/f27/kubernetes-proxy",
      ]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.contain("manifest unknown");
    });
  });

  describe("package layering", () => {
    let sb: Sandbox;
    before(() => {
      sb = makeSandbox();
      initRpmOstree(sb.hostDir, { release: 26, rpmOstreeVersion: "2017.10" });
      seedFedoraOstree(sb, 26);
    });

    it("refuses the rebase while the host lacks the guide's fedora-atomic-27 remote, leaving it unchanged", () => {
      const before = fs.readFileSync(path.join(sb.hostDir, "state/rpm-ostree.json"), "utf8");
      const r = sb.run("rpm-ostree", [
        "rebase",
        "fedora-atomic-27:fedora/27/x86_64/atomic-host",
        "--install",
        "kubernetes-master",
      ]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal('error: Remote "fedora-atomic-27" not found\n');
      const after = JSON.parse(fs.readFileSync(path.join(sb.hostDir, "state/rpm-ostree.json"), "utf8"));
      expect(after.deployments).to.deep.equal(JSON.parse(before).deployments);
      expect(after.transaction).to.equal(null);
      guideRemoteAdd(sb);
    });

    it("starts with the F26 base units (kubernetes, flannel, etcd baked in)", () => {
      const units = fs.readdirSync(path.join(sb.hostDir, "usr-lib-systemd")).sort();
      expect(units).to.include.members([
        "etcd.service",
        "flanneld.service",
        "kube-apiserver.service",
        "kubelet.service",
      ]);
    });

    it("rebases with --install to a pending deployment, then boots it with the packages layered", () => {
      ok(
        sb.run("rpm-ostree", [
          "rebase",
          F27,
          "--install",
          "kubernetes-master",
          "--install",
          "flannel",
          "--install",
          "etcd",
        ]),
      );
      let state = loadState(sb.hostDir);
      expect(state.deployments.map((d) => d.booted)).to.deep.equal([false, true]);
      expect(state.deployments[0].origin).to.equal(F27);
      expect(state.deployments[0].packages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
      // Nothing visible until reboot: the F26 units are still the host's.
      expect(fs.readFileSync(path.join(sb.hostDir, "usr-lib-systemd/etcd.service"), "utf8")).to.contain(
        "/usr/bin/etcd",
      );

      const { booted } = bootPendingDeployment(sb.hostDir);
      state = loadState(sb.hostDir);
      expect(booted).to.equal(state.deployments[0].checksum);
      expect(state.deployments.map((d) => d.booted)).to.deep.equal([true, false]);
      const units = fs.readdirSync(path.join(sb.hostDir, "usr-lib-systemd")).sort();
      expect(units).to.deep.equal([
        "docker.service", "etcd.service", "flanneld.service", "kube-apiserver.service",
        "kube-controller-manager.service", "kube-scheduler.service",
      ]); // prettier-ignore
      const status = JSON.parse(ok(sb.run("rpm-ostree", ["status", "--json"])).stdout);
      expect(status.deployments[0].booted).to.equal(true);
      expect(status.deployments[0]["base-checksum"]).to.equal(
        "d428d3ad8ecf44e53d138042bad56a10308883a0c5d64b9c51eff27fdc9da82c",
      );
      expect(status.deployments[0].packages).to.deep.equal(["etcd", "flannel", "kubernetes-master"]);
    });

    it("refuses to request an already requested package (non-idempotent install, rpm-ostree #1467)", () => {
      const r = sb.run("rpm-ostree", ["install", "etcd"]);
      expect(r.status).to.equal(1);
      expect(r.stderr).to.equal("error: Package/capability 'etcd' is already requested\n");
    });

    it("is cumulative: a second change builds on the pending deployment and drops the old pending one", () => {
      ok(sb.run("rpm-ostree", ["install", "htop"]));
      ok(sb.run("rpm-ostree", ["uninstall", "flannel"]));
      const state = loadState(sb.hostDir);
      expect(state.deployments).to.have.length(2);
      expect(state.deployments[0].requestedPackages).to.deep.equal(["etcd", "htop", "kubernetes-master"]);
      expect(state.deployments[1].booted).to.equal(true);
    });

    it("refuses a second transaction while one holds the lock (faults.json holdTransaction)", async () => {
      const faults = path.join(sb.hostDir, "state/faults.json");
      fs.writeFileSync(faults, JSON.stringify({ holdTransaction: true }));
      const first = sb.start("rpm-ostree", ["uninstall", "htop"]);
      const deadline = Date.now() + 10_000;
      while (!loadState(sb.hostDir).transaction && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const json = JSON.parse(ok(sb.run("rpm-ostree", ["status", "--json"])).stdout);
      expect(json.transaction[0]).to.equal("PkgChange");
      expect(json.transaction[2]).to.equal("/org/projectatomic/rpmostree1/fedora_atomic");
      const second = sb.run("rpm-ostree", ["install", "tmux"]);
      expect(second.status).to.equal(1);
      expect(second.stderr).to.equal("error: System transaction in progress\n");
      fs.writeFileSync(faults, JSON.stringify({ holdTransaction: false }));
      const r = await first;
      expect(r.status, r.stderr).to.equal(0);
      expect(loadState(sb.hostDir).transaction).to.equal(null);
    });
  });
});
