import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AtomicCluster } from "../../../provider/components/atomicCluster";
import type { ClusterSpec } from "../../../provider/components/clusterSpec";

interface Registered {
  type: string;
  name: string;
  props: Record<string, any>;
  dependsOn: string[];
}

/** Builds a cluster under Pulumi's mocks and records every child with the names of what it depends on. */
async function register(spec: ClusterSpec): Promise<Map<string, Registered>> {
  const seen = new Map<string, Registered>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
      call: (args) => args.inputs,
    },
    "proj",
    "stack",
    true,
  );
  const record: pulumi.ResourceTransformation = (args) => {
    const deps = args.opts.dependsOn;
    const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
    seen.set(args.name, {
      type: args.type,
      name: args.name,
      props: args.props,
      dependsOn: (list as any[]).map((d) => (d as any).__name as string).sort(),
    });
    return undefined;
  };
  new AtomicCluster(
    "c",
    { ...spec, connection: { insecureIgnoreHostKey: true } },
    { transformations: [record] },
  );
  await new Promise((r) => setTimeout(r, 50));
  return seen;
}

const fourHosts: ClusterSpec["hosts"] = [
  { name: "etcd1", host: "10.0.0.1", roles: ["etcd"] },
  { name: "master1", host: "10.0.0.2", roles: ["master"] },
  { name: "worker1", host: "10.0.0.3", roles: ["worker"] },
  { name: "worker2", host: "10.0.0.4", roles: ["worker"] },
];

describe("AtomicCluster", () => {
  describe("with system containers", () => {
    let r: Map<string, Registered>;
    before(async () => {
      r = await register({ method: "systemContainers", hosts: fourHosts });
    });

    it("migrates etcd's data before installing the etcd container with ostree storage", () => {
      const migration = r.get("c-etcd1-etcd-etcd-data")!;
      expect(migration.type).to.equal("pulumi-nodejs:dynamic/atomic-host:EtcdDataMigration");
      const etcd = r.get("c-etcd1-etcd-etcd")!;
      expect(etcd.type).to.equal("pulumi-nodejs:dynamic/atomic-host:SystemContainer");
      expect(etcd.props.image).to.equal("registry.fedoraproject.org/f27/etcd");
      expect(etcd.props.storage).to.equal("ostree");
      expect(etcd.props.systemPackage).to.equal("no");
      expect(etcd.dependsOn).to.deep.equal(["c-etcd1-etcd-etcd-data"]);
    });

    it("installs the master's containers after etcd, and the controllers after kube-apiserver", () => {
      expect(r.get("c-master1-master-flanneld")!.dependsOn).to.deep.equal(["c-etcd1-etcd-etcd"]);
      expect(r.get("c-master1-master-kube-apiserver")!.dependsOn).to.deep.equal(["c-etcd1-etcd-etcd"]);
      expect(r.get("c-master1-master-kube-apiserver")!.props.image).to.equal(
        "registry.fedoraproject.org/f27/kubernetes-apiserver",
      );
      for (const n of ["kube-controller-manager", "kube-scheduler"]) {
        expect(r.get(`c-master1-master-${n}`)!.dependsOn).to.deep.equal(["c-master1-master-kube-apiserver"]);
      }
    });

    it("installs kubelet and kube-proxy on workers, one worker at a time by default", () => {
      expect(r.get("c-worker1-worker-flanneld")!.dependsOn).to.deep.equal([
        "c-master1-master-flanneld",
        "c-master1-master-kube-controller-manager",
        "c-master1-master-kube-scheduler",
      ]);
      expect(r.get("c-worker1-worker-kubelet")!.dependsOn).to.deep.equal(["c-worker1-worker-flanneld"]);
      expect(r.get("c-worker1-worker-kube-proxy")!.props.image).to.equal(
        "registry.fedoraproject.org/f27/kubernetes-proxy",
      );
      expect(r.get("c-worker2-worker-flanneld")!.dependsOn).to.deep.equal([
        "c-worker1-worker-kube-proxy",
        "c-worker1-worker-kubelet",
      ]);
    });

    it("creates no layered packages and no ostree remote", () => {
      expect([...r.values()].filter((x) => x.type.endsWith(":LayeredPackage"))).to.have.length(0);
      expect([...r.values()].filter((x) => x.type.endsWith(":OstreeRemote"))).to.have.length(0);
    });
  });

  describe("with package layering", () => {
    let r: Map<string, Registered>;
    before(async () => {
      r = await register({
        method: "packageLayering",
        hosts: [
          { name: "m1", host: "10.0.0.2", roles: ["master", "etcd"] },
          ...fourHosts.slice(2),
          { name: "worker3", host: "10.0.0.5", roles: ["worker"] },
        ],
        maxUnavailable: 2,
      });
    });

    it("layers the guide's master-and-etcd packages in one rebase on a colocated master", () => {
      const m = r.get("c-m1-master-packages")!;
      expect(m.type).to.equal("pulumi-nodejs:dynamic/atomic-host:LayeredPackage");
      expect(m.props.packages).to.deep.equal(["kubernetes-master", "flannel", "etcd"]);
      expect(m.props.rebase).to.equal("fedora-atomic-27:fedora/27/x86_64/atomic-host");
      expect(r.has("c-m1-etcd-packages")).to.equal(false);
    });

    it("layers kubernetes-node and flannel on workers, at most maxUnavailable rebooting at once", () => {
      expect(r.get("c-worker1-worker-packages")!.props.packages).to.deep.equal([
        "kubernetes-node",
        "flannel",
      ]);
      expect(r.get("c-worker1-worker-packages")!.dependsOn).to.deep.equal([
        "c-m1-master-packages",
        "c-worker1-worker-remote",
      ]);
      expect(r.get("c-worker2-worker-packages")!.dependsOn).to.deep.equal([
        "c-m1-master-packages",
        "c-worker2-worker-remote",
      ]);
      expect(r.get("c-worker3-worker-packages")!.dependsOn).to.deep.equal([
        "c-worker1-worker-packages",
        "c-worker2-worker-packages",
        "c-worker3-worker-remote",
      ]);
    });

    it("declares the Fedora 27 remote as the upgrade guide adds it, before each host's rebase", () => {
      for (const n of ["m1-master", "worker1-worker", "worker2-worker", "worker3-worker"]) {
        const remote = r.get(`c-${n}-remote`)!;
        expect(remote.type).to.equal("pulumi-nodejs:dynamic/atomic-host:OstreeRemote");
        expect(remote.props).to.deep.include({
          name: "fedora-atomic-27",
          url: "https://kojipkgs.fedoraproject.org/atomic/27",
          gpgVerify: true,
          gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
        });
        expect(r.get(`c-${n}-packages`)!.dependsOn).to.include(`c-${n}-remote`);
      }
      // The remote waits for what the host's packages wait for, so a host is not touched before its turn.
      expect(r.get("c-worker3-worker-remote")!.dependsOn).to.deep.equal([
        "c-worker1-worker-packages",
        "c-worker2-worker-packages",
      ]);
    });

    it("takes the remote's URL and key path from the stack's ostreeRemote", async () => {
      const o = await register({
        method: "packageLayering",
        hosts: fourHosts,
        ostreeRemote: {
          url: "https://mirror.example.com/atomic/27",
          gpgKeyPath: "/etc/pki/rpm-gpg/mirror-key",
        },
      });
      expect(o.get("c-etcd1-etcd-remote")!.props).to.deep.include({
        name: "fedora-atomic-27",
        url: "https://mirror.example.com/atomic/27",
        gpgKeyPath: "/etc/pki/rpm-gpg/mirror-key",
      });
    });

    it("declares no remote for a rebase without a remote, or to another remote with no URL given", async () => {
      const bare = await register({
        method: "packageLayering",
        hosts: fourHosts,
        rebase: "fedora/27/x86_64/atomic-host",
      });
      expect([...bare.values()].filter((x) => x.type.endsWith(":OstreeRemote"))).to.deep.equal([]);
      const other = await register({
        method: "packageLayering",
        hosts: fourHosts,
        rebase: "mine:fedora/27/x86_64/atomic-host",
      });
      expect([...other.values()].filter((x) => x.type.endsWith(":OstreeRemote"))).to.deep.equal([]);
    });

    it("installs no system container and migrates no etcd data", () => {
      const types = [...r.values()].map((x) => x.type);
      expect(
        types.filter((t) => t.endsWith(":SystemContainer") || t.endsWith(":EtcdDataMigration")),
      ).to.deep.equal([]);
    });
  });
});
