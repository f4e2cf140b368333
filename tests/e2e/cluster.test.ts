import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { SimCluster } from "../../sim";
import { PulumiProject, REPO, downloadAttempts, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// The examples/ programs, run as users run them (installed package, stack configuration with the key as a
// secret), against a simulated 4-host Fedora 26 cluster: 1 etcd, 1 master, 2 workers.
const ROLES: Record<string, string[]> = {
  etcd1: ["etcd"],
  master1: ["master"],
  worker1: ["worker"],
  worker2: ["worker"],
};

async function clusterProject(
  example: string,
  method: string,
  sim: SimCluster,
  project: string,
): Promise<PulumiProject> {
  const source = fs.readFileSync(path.join(REPO, "examples", example, "index.ts"), "utf8");
  const p = new PulumiProject(writeProgram(project, source));
  const hosts = sim.hosts.map((h) => ({
    name: h.name,
    host: h.host,
    port: h.port,
    hostKey: h.hostKey,
    roles: ROLES[h.name],
  }));
  await p.init(
    "dev",
    {},
    { "atomic-host:privateKey": fs.readFileSync(sim.hosts[0]!.privateKeyPath, "utf8") },
  );
  await p.setObject(`${project}:cluster`, { method, hosts, rebootTimeoutSeconds: 120 });
  return p;
}

function totalLogins(sim: SimCluster): number {
  return sim.hosts.reduce((n, h) => n + sim.countAcceptedLogins(h.name), 0);
}

function allCommands(sim: SimCluster): string[] {
  return sim.hosts.flatMap((h) => sim.readCommandsLog(h.name).map((e) => `${h.name}: ${e.command}`));
}

function clearAll(sim: SimCluster): void {
  for (const h of sim.hosts) sim.clearCommandsLog(h.name);
}

for (const { method, example } of [
  { method: "systemContainers", example: "system-containers" },
  { method: "packageLayering", example: "package-layering" },
]) {
  describe(`a 4-host cluster migrated with ${method} through the Pulumi CLI`, function () {
    this.timeout(20 * 60_000);
    let sim: SimCluster;
    let p: PulumiProject;
    let seeded: Map<string, string>;

    before(async () => {
      sim = await SimCluster.start({
        dir: tempDir(`pah-e2e-${example}`),
        hosts: Object.keys(ROLES),
        release: 26,
        layout: "contrib",
        etcdHosts: ["etcd1"],
        // A running contrib cluster: the master's and workers' flanneld and kube units run from the F26 image.
        roles: { master1: "master", worker1: "node", worker2: "node" },
        rebootDownMs: 1500,
      });
      seeded = await sim.seedEtcd("etcd1", 500);
      p = await clusterProject(example, method, sim, `cluster-${example}`);
    });

    after(async () => {
      await sim?.stop();
      p?.cleanup();
    });

    it("previews without touching any host", async () => {
      clearAll(sim);
      const before = totalLogins(sim);
      const r = await p.ok(["preview", "--diff"]);
      expect(r.output).to.include(
        method === "systemContainers" ? "atomic install --system" : "rpm-ostree rebase",
      );
      if (method === "packageLayering") {
        // Fedora's upgrade guide adds the remote before the rebase; a Fedora 26 host ships only fedora-atomic.
        expect(r.output).to.include(
          "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
            "https://kojipkgs.fedoraproject.org/atomic/27",
        );
      }
      expect(allCommands(sim)).to.deep.equal([]);
      expect(totalLogins(sim)).to.equal(before);
      expect(downloadAttempts(r.output)).to.deep.equal([]);
    });

    it("converges on up", async () => {
      const r = await p.ok(["up", "--yes", "--skip-preview"]);
      expect(downloadAttempts(r.output)).to.deep.equal([]);
      if (method === "systemContainers") {
        for (const [host, units] of Object.entries({
          etcd1: ["etcd"],
          master1: ["flanneld", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
          worker1: ["flanneld", "kubelet", "kube-proxy"],
          worker2: ["flanneld", "kubelet", "kube-proxy"],
        })) {
          for (const u of units)
            expect((await sim.exec(host, `systemctl is-active ${u}`)).stdout.trim(), `${host} ${u}`).to.equal(
              "active",
            );
        }
        const after = await sim.etcdGetAll("etcd1");
        for (const [k, v] of seeded) expect(after.get(k), k).to.equal(v);
      } else {
        const expected: Record<string, string[]> = {
          etcd1: ["etcd"],
          master1: ["kubernetes-master", "flannel"],
          worker1: ["kubernetes-node", "flannel"],
          worker2: ["kubernetes-node", "flannel"],
        };
        for (const [host, pkgs] of Object.entries(expected)) {
          const status = JSON.parse((await sim.exec(host, "rpm-ostree status --json")).stdout);
          const booted = status.deployments.find((d: { booted: boolean }) => d.booted);
          expect(booted.origin, host).to.equal("fedora-atomic-27:fedora/27/x86_64/atomic-host");
          expect(booted.packages, host).to.include.members(pkgs);
          const transactions = sim
            .readCommandsLog(host)
            .filter((e) => e.command.startsWith("rpm-ostree rebase"));
          expect(transactions, host).to.have.length(1);
          const added = sim.readCommandsLog(host).filter((e) => e.command.startsWith("ostree remote add"));
          expect(added, host).to.have.length(1);
        }
        const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
        expect(outs.remotes).to.deep.equal(
          Object.keys(ROLES).map(() => "fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27 added"),
        );
      }
    });

    it("reports no changes and opens no SSH connection on a second up", async () => {
      clearAll(sim);
      const before = totalLogins(sim);
      const r = await p.ok(["up", "--yes", "--skip-preview"]);
      expect(r.output, r.output).not.to.match(/\d+ (created|updated|deleted|replaced)/);
      expect(allCommands(sim)).to.deep.equal([]);
      expect(totalLogins(sim)).to.equal(before);
    });

    it("shows a change made by hand on refresh", async () => {
      if (method === "systemContainers") await sim.exec("worker1", "systemctl stop kubelet");
      else await sim.exec("worker1", "rpm-ostree uninstall flannel");
      const r = await p.ok(["refresh", "--yes", "--diff"]);
      expect(r.output, r.output).to.match(/1 updated/);
      expect(r.output).to.match(
        method === "systemContainers"
          ? /unitState\s*:\s*"active" => "inactive"/
          : /pendingReboot\s*:\s*false => true/,
      );
      const up = await p.ok(["up", "--yes", "--skip-preview"]);
      // The repaired resource is updated; with package layering its new deployment re-runs the health gates of
      // the batch it is in (their triggers), and nothing else changes.
      const updated = [...up.output.matchAll(/~ {2}\S+:(\w+) (\S+) updated/g)].map((m) => `${m[1]} ${m[2]}`);
      const repaired =
        method === "systemContainers"
          ? "SystemContainer cluster-worker1-worker-kubelet"
          : "LayeredPackage cluster-worker1-worker-packages";
      expect(updated, up.output).to.include(repaired);
      expect(
        updated.filter((u) => u !== repaired && !u.startsWith("HealthGate ")),
        up.output,
      ).to.deep.equal([]);
    });

    it("destroys, leaving etcd's data in place", async () => {
      clearAll(sim);
      const destroyed = await p.ok(["destroy", "--yes", "--skip-preview"]);
      if (method === "packageLayering") {
        // The stack added the remotes, but the hosts stay rebased to fedora-atomic-27 (a rebase is never undone),
        // so each remote stays, and the output says why; nothing else ostree-related runs.
        const kept = new Set(destroyed.output.match(/\S+: ostree remote fedora-atomic-27 is kept/g) ?? []);
        expect(kept.size, destroyed.output).to.equal(4);
        expect(allCommands(sim).filter((c) => c.includes("ostree remote delete"))).to.deep.equal([]);
      }
      const check = await sim.exec(
        "etcd1",
        "ls -d /var/lib/etcd/member/wal; ls -d /var/lib/etcd/etcd.etcd/member/wal 2>/dev/null || true",
      );
      expect(check.stdout).to.include("/var/lib/etcd/member/wal");
      if (method === "systemContainers")
        expect(check.stdout).to.include("/var/lib/etcd/etcd.etcd/member/wal");
    });
  });
}
