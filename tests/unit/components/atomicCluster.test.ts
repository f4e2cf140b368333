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

    it("gates the etcd member after its container: unit active, same member ID as before the migration", () => {
      const gate = r.get("c-etcd1-etcd-health")!;
      expect(gate.type).to.equal("pulumi-nodejs:dynamic/atomic-host:HealthGate");
      expect(gate.dependsOn).to.deep.equal(["c-etcd1-etcd-etcd"]);
      expect(gate.props.checks.map((c: any) => [c.kind, c.name])).to.deep.equal([
        ["unitActive", "etcd active"],
        ["etcdMember", "etcd member rejoined"],
      ]);
    });

    it("installs the master's containers after the etcd gate, and the controllers after kube-apiserver", () => {
      expect(r.get("c-master1-master-flanneld")!.dependsOn).to.deep.equal(["c-etcd1-etcd-health"]);
      expect(r.get("c-master1-master-kube-apiserver")!.dependsOn).to.deep.equal(["c-etcd1-etcd-health"]);
      expect(r.get("c-master1-master-kube-apiserver")!.props.image).to.equal(
        "registry.fedoraproject.org/f27/kubernetes-apiserver",
      );
      for (const n of ["kube-controller-manager", "kube-scheduler"]) {
        expect(r.get(`c-master1-master-${n}`)!.dependsOn).to.deep.equal(["c-master1-master-kube-apiserver"]);
      }
    });

    it("closes the masters' batch with a gate on each master and one on an etcd host", () => {
      const m = r.get("c-master1-health")!;
      expect(m.dependsOn).to.deep.equal([
        "c-master1-master-flanneld",
        "c-master1-master-kube-controller-manager",
        "c-master1-master-kube-scheduler",
      ]);
      expect(m.props.checks).to.deep.equal([
        { kind: "unitActive", name: "flanneld active", unit: "flanneld" },
        { kind: "unitActive", name: "kube-apiserver active", unit: "kube-apiserver" },
        { kind: "unitActive", name: "kube-controller-manager active", unit: "kube-controller-manager" },
        { kind: "unitActive", name: "kube-scheduler active", unit: "kube-scheduler" },
        { kind: "flannelLease", name: "flanneld lease", path: "/run/flanneld/subnet.env" },
      ]);
      const e = r.get("c-masters-etcd-health")!;
      expect(e.dependsOn).to.deep.equal(m.dependsOn);
      expect(e.props.checks).to.deep.equal([{ kind: "etcdCluster", name: "etcd cluster healthy" }]);
    });

    it("installs kubelet and kube-proxy on workers, one worker at a time by default, each batch after the last gate", () => {
      expect(r.get("c-worker1-worker-flanneld")!.dependsOn).to.deep.equal([
        "c-master1-health",
        "c-masters-etcd-health",
      ]);
      expect(r.get("c-worker1-worker-kubelet")!.dependsOn).to.deep.equal(["c-worker1-worker-flanneld"]);
      expect(r.get("c-worker1-worker-kube-proxy")!.props.image).to.equal(
        "registry.fedoraproject.org/f27/kubernetes-proxy",
      );
      expect(r.get("c-worker1-health")!.dependsOn).to.deep.equal([
        "c-worker1-worker-kube-proxy",
        "c-worker1-worker-kubelet",
      ]);
      expect(r.get("c-worker2-worker-flanneld")!.dependsOn).to.deep.equal([
        "c-worker1-health",
        "c-workers-1-etcd-health",
      ]);
      expect(r.has("c-workers-2-etcd-health")).to.equal(true);
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
        "c-m1-health",
        "c-masters-etcd-health",
        "c-worker1-worker-remote",
      ]);
      expect(r.get("c-worker2-worker-packages")!.dependsOn).to.deep.equal([
        "c-m1-health",
        "c-masters-etcd-health",
        "c-worker2-worker-remote",
      ]);
      expect(r.get("c-worker3-worker-packages")!.dependsOn).to.deep.equal([
        "c-worker1-health",
        "c-worker2-health",
        "c-worker3-worker-remote",
        "c-workers-1-etcd-health",
      ]);
      // The RPM's flanneld writes its lease where flannel puts it by default; the colocated etcd unit is gated too.
      expect(r.get("c-m1-health")!.props.checks.map((c: any) => c.unit ?? c.path)).to.deep.equal([
        "etcd",
        "flanneld",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "/run/flannel/subnet.env",
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
        "c-worker1-health",
        "c-worker2-health",
        "c-workers-1-etcd-health",
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

  describe("with a 3-member etcd cluster, maxUnavailable above the worker count and user checks", () => {
    let r: Map<string, Registered>;
    before(async () => {
      r = await register({
        method: "systemContainers",
        hosts: [
          { name: "etcd1", host: "10.0.0.1", roles: ["etcd"] },
          { name: "etcd2", host: "10.0.0.6", roles: ["etcd"] },
          { name: "etcd3", host: "10.0.0.7", roles: ["etcd"] },
          ...fourHosts.slice(1),
        ],
        maxUnavailable: 5,
        healthChecks: {
          worker: [
            {
              name: "kubelet healthz",
              command: "curl -sf http://127.0.0.1:10248/healthz",
              timeoutSeconds: 30,
            },
          ],
        },
      });
    });

    it("migrates the members one at a time: each waits for the previous member's gate", () => {
      expect(r.get("c-etcd1-etcd-etcd-data")!.dependsOn).to.deep.equal([]);
      expect(r.get("c-etcd2-etcd-etcd-data")!.dependsOn).to.deep.equal(["c-etcd1-etcd-health"]);
      expect(r.get("c-etcd3-etcd-etcd-data")!.dependsOn).to.deep.equal(["c-etcd2-etcd-health"]);
      expect(r.get("c-master1-master-flanneld")!.dependsOn).to.deep.equal(["c-etcd3-etcd-health"]);
    });

    it("takes every worker in one batch when maxUnavailable exceeds the worker count", () => {
      expect(r.get("c-worker1-worker-flanneld")!.dependsOn).to.deep.equal(
        r.get("c-worker2-worker-flanneld")!.dependsOn,
      );
      expect(r.has("c-workers-1-etcd-health")).to.equal(true);
      expect(r.has("c-workers-2-etcd-health")).to.equal(false);
    });

    it("adds the role's user checks to its gates, after the built-in ones", () => {
      expect(r.get("c-worker2-health")!.props.checks.at(-1)).to.deep.equal({
        kind: "command",
        name: "kubelet healthz",
        command: "curl -sf http://127.0.0.1:10248/healthz",
        timeoutSeconds: 30,
      });
      expect(r.get("c-master1-health")!.props.checks.some((c: any) => c.kind === "command")).to.equal(false);
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
