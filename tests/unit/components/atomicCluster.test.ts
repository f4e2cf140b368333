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

    it("creates no layered packages", () => {
      expect([...r.values()].filter((x) => x.type.endsWith(":LayeredPackage"))).to.have.length(0);
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
      expect(r.get("c-worker1-worker-packages")!.dependsOn).to.deep.equal(["c-m1-master-packages"]);
      expect(r.get("c-worker2-worker-packages")!.dependsOn).to.deep.equal(["c-m1-master-packages"]);
      expect(r.get("c-worker3-worker-packages")!.dependsOn).to.deep.equal([
        "c-worker1-worker-packages",
        "c-worker2-worker-packages",
      ]);
    });

    it("installs no system container and migrates no etcd data", () => {
      const types = [...r.values()].map((x) => x.type);
      expect(
        types.filter((t) => t.endsWith(":SystemContainer") || t.endsWith(":EtcdDataMigration")),
      ).to.deep.equal([]);
    });
  });
});

/** What a host would report, per resource type, so the component's outputs can be checked end to end. */
function hostReport(type: string, inputs: Record<string, any>): Record<string, unknown> {
  if (type.endsWith(":SystemContainer"))
    return { ...inputs, imageId: `sha256:${inputs.name}`, unitState: "active", deployment: 0 };
  if (type.endsWith(":LayeredPackage"))
    return {
      ...inputs,
      layeredPackages: inputs.packages,
      requestedPackages: inputs.packages,
      booted: { checksum: "c0ffee", version: "27.1", origin: inputs.rebase },
      pendingReboot: false,
    };
  if (type.endsWith(":EtcdDataMigration"))
    return {
      ...inputs,
      source: "/var/lib/etcd/member",
      destination: "/var/lib/etcd/etcd.etcd",
      files: 7,
      bytes: 4096,
      manifestSha256: "ab".repeat(32),
      migratedAt: "2026-12-01T10:00:00.000Z",
    };
  return inputs;
}

async function clusterHosts(spec: ClusterSpec): Promise<Record<string, any>> {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: hostReport(args.type, args.inputs) }),
      call: (args) => args.inputs,
    },
    "proj",
    "stack",
    false,
  );
  const cluster = new AtomicCluster("c", { ...spec, connection: { insecureIgnoreHostKey: true } });
  return new Promise((resolve) => cluster.hosts.apply(resolve));
}

describe("AtomicCluster outputs", () => {
  it("reports per host its roles, units with image, digest and state, and the etcd migration", async () => {
    const hosts = await clusterHosts({
      method: "systemContainers",
      hosts: [
        { name: "etcd1", host: "10.0.0.1", roles: ["etcd"] },
        { name: "m1", host: "10.0.0.2", port: 2222, roles: ["master", "worker"] },
      ],
    });
    expect(Object.keys(hosts)).to.deep.equal(["etcd1", "m1"]);
    expect(hosts.etcd1).to.deep.equal({
      address: "10.0.0.1:22",
      roles: ["etcd"],
      units: {
        etcd: { image: "registry.fedoraproject.org/f27/etcd", imageId: "sha256:etcd", state: "active" },
      },
      etcdMigration: {
        source: "/var/lib/etcd/member",
        destination: "/var/lib/etcd/etcd.etcd",
        files: 7,
        bytes: 4096,
        manifestSha256: "ab".repeat(32),
        migratedAt: "2026-12-01T10:00:00.000Z",
      },
    });
    expect(hosts.m1.address).to.equal("10.0.0.2:2222");
    expect(hosts.m1.roles).to.deep.equal(["master", "worker"]);
    // A master that is also a worker: both components' units, flanneld once.
    expect(Object.keys(hosts.m1.units).sort()).to.deep.equal([
      "flanneld",
      "kube-apiserver",
      "kube-controller-manager",
      "kube-proxy",
      "kube-scheduler",
      "kubelet",
    ]);
    expect(hosts.m1.units.kubelet).to.deep.equal({
      image: "registry.fedoraproject.org/f27/kubernetes-kubelet",
      imageId: "sha256:kubelet",
      state: "active",
    });
  });

  it("reports layered packages and the booted version with package layering", async () => {
    const hosts = await clusterHosts({
      method: "packageLayering",
      hosts: [
        { name: "m1", host: "10.0.0.2", roles: ["master", "etcd"] },
        { name: "w1", host: "10.0.0.3", roles: ["worker"] },
      ],
    });
    expect(hosts.m1).to.deep.equal({
      address: "10.0.0.2:22",
      roles: ["master", "etcd"],
      units: {},
      layeredPackages: ["kubernetes-master", "flannel", "etcd"],
      requestedPackages: ["kubernetes-master", "flannel", "etcd"],
      bootedVersion: "27.1",
      bootedOrigin: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
      pendingReboot: false,
    });
    expect(hosts.w1.layeredPackages).to.deep.equal(["kubernetes-node", "flannel"]);
  });

  it("names the stack configuration path of each host's key in its connection", async () => {
    const seen: Record<string, any> = {};
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          seen[args.name] = args.inputs;
          return { id: `${args.name}-id`, state: hostReport(args.type, args.inputs) };
        },
        call: (args) => args.inputs,
      },
      "proj",
      "stack",
      false,
    );
    const hostKey = "SHA256:a2QQ3NHEOIfALRJoa9ScptnGVS7VHOaTgMGxR/rs58w";
    const cluster = new AtomicCluster("c", {
      method: "systemContainers",
      configKey: "my-cluster:cluster",
      hosts: [
        { name: "etcd1", host: "10.0.0.1", roles: ["etcd"] },
        { name: "master1", host: "10.0.0.2", roles: ["master"], hostKey },
      ],
    });
    await new Promise((resolve) => cluster.hosts.apply(resolve));
    // The connection is registered as a secret: the mock sees it wrapped.
    expect(seen["c-master1-master-kube-apiserver"].connection.value.hostKeySource).to.equal(
      "my-cluster:cluster.hosts[1].hostKey",
    );
    expect(seen["c-etcd1-etcd-etcd"].connection.value.hostKeySource).to.equal(undefined);
  });
});
