import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import { EtcdDataMigration } from "../etcdDataMigration";
import { HealthGate, type HealthCheck } from "../healthGate";
import { LayeredPackage } from "../layeredPackage";
import { OstreeRemote } from "../ostreeRemote";
import { SystemContainer } from "../systemContainer";
import {
  APISERVER_CONTAINER,
  DEFAULT_REBASE,
  DEFAULT_REGISTRY,
  DEFAULT_REMOTE,
  ETCD_CONTAINER,
  ETCD_PACKAGES,
  FLANNEL_CONTAINER,
  MASTER_CONTROL_CONTAINERS,
  MASTER_PACKAGES,
  WORKER_CONTAINERS,
  WORKER_PACKAGES,
  imageRef,
  type MigrationMethod,
} from "./defaults";
import { nodeStatus, type NodeStatus } from "./status";
import { etcdMemberGateChecks, type UserHealthChecks } from "./healthGates";

/** What every node component takes. */
export interface NodeArgs {
  /** How to reach the host (credentials may come from stack configuration instead). */
  connection: pulumi.Input<ConnectionArgs>;
  /** The host's name in the cluster, e.g. "master1": its resources' `hostName` (progress lines, preview). */
  hostName?: string;
  /** "systemContainers" or "packageLayering": the cluster's migration method. */
  method: MigrationMethod;
  /** Registry prefix of the system container images. Default "registry.fedoraproject.org/f27". */
  registry?: string;
  /** Refspec package layering rebases to. Default "fedora-atomic-27:fedora/27/x86_64/atomic-host". */
  rebase?: string;
  /** Reboot policy of package layering. Default "ifNeeded". */
  reboot?: "ifNeeded" | "always" | "never";
  /** Seconds to wait for a rebooting host. Default 600. */
  rebootTimeoutSeconds?: number;
  /**
   * The ostree remote the rebase pulls from, declared (as an OstreeRemote) before the LayeredPackage. Its name is
   * the remote of `rebase` ("fedora-atomic-27" by default); `url` and `gpgKeyPath` default to Fedora's
   * (https://kojipkgs.fedoraproject.org/atomic/27, /etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary) for
   * "fedora-atomic-27", and must be given for any other remote name, else no remote is declared.
   */
  ostreeRemote?: NodeRemoteArgs;
}

/** The ostree remote of a node's rebase (see {@link NodeArgs.ostreeRemote}). */
export interface NodeRemoteArgs {
  /** Repository URL. Default "https://kojipkgs.fedoraproject.org/atomic/27" for "fedora-atomic-27". */
  url?: string;
  /** `gpgkeypath`. Default "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary" for "fedora-atomic-27". */
  gpgKeyPath?: string;
  /** Default true. */
  gpgVerify?: boolean;
  /** Replace a different remote of that name already on the host. Default false (refused). */
  replace?: boolean;
}

export interface EtcdNodeArgs extends NodeArgs {
  /** Where etcd's data is now. Default "/var/lib/etcd/member" (kubernetes/contrib). */
  etcdSource?: string;
  /** Where the etcd container expects it. Default "/var/lib/etcd/etcd.etcd". */
  etcdDestination?: string;
  /** What to do with a different member directory at the destination. Default "fail". */
  etcdConflict?: "fail" | "backup";
  /** Extra checks the member's health gate runs (`etcd` entries; other roles are ignored here). */
  healthChecks?: UserHealthChecks;
}

export interface MasterNodeArgs extends NodeArgs {
  /** With package layering: also layer etcd (the guide's "master and etcd nodes" command). Default false. */
  colocatedEtcd?: boolean;
}

export type WorkerNodeArgs = NodeArgs;

/**
 * The resources a component was told to wait for. Children do not inherit a parent's `dependsOn`, so each node
 * hands these to its first children itself. Only plain resources can be forwarded (not Outputs of them).
 */
export function plainDependsOn(opts?: pulumi.ComponentResourceOptions): pulumi.Resource[] {
  const deps = opts?.dependsOn;
  if (!deps) return [];
  const list = Array.isArray(deps) ? deps : [deps];
  return list.filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d));
}

/**
 * The OstreeRemote a node's rebase needs, or undefined when the refspec names no remote (the rebase keeps the
 * current one) or names one with no known URL.
 */
function remoteFor(
  parent: pulumi.ComponentResource,
  name: string,
  args: NodeArgs,
  dependsOn: pulumi.Resource[],
): OstreeRemote | undefined {
  const refspec = args.rebase ?? DEFAULT_REBASE;
  const colon = refspec.indexOf(":");
  if (colon < 0) return undefined;
  const remote = refspec.slice(0, colon);
  const fedora = remote === DEFAULT_REMOTE.name;
  const url = args.ostreeRemote?.url ?? (fedora ? DEFAULT_REMOTE.url : undefined);
  if (url === undefined) return undefined;
  const gpgVerify = args.ostreeRemote?.gpgVerify ?? true;
  const gpgKeyPath = gpgVerify
    ? (args.ostreeRemote?.gpgKeyPath ?? (fedora ? DEFAULT_REMOTE.gpgKeyPath : undefined))
    : undefined;
  return new OstreeRemote(
    `${name}-remote`,
    {
      connection: args.connection,
      hostName: args.hostName,
      name: remote,
      url,
      gpgVerify,
      gpgKeyPath,
      replace: args.ostreeRemote?.replace,
    },
    { parent, dependsOn },
  );
}

function layering(
  parent: pulumi.ComponentResource,
  name: string,
  args: NodeArgs,
  packages: readonly string[],
  after: pulumi.Resource[],
): { packages: LayeredPackage; remote?: OstreeRemote } {
  // The guide adds the remote before the rebase: rpm-ostree cannot rebase to a remote the host lacks.
  const remote = remoteFor(parent, name, args, after);
  const dependsOn = remote ? [...after, remote] : after;
  const layered = new LayeredPackage(
    `${name}-packages`,
    {
      connection: args.connection,
      hostName: args.hostName,
      packages: [...packages],
      rebase: args.rebase ?? DEFAULT_REBASE,
      reboot: args.reboot,
      rebootTimeoutSeconds: args.rebootTimeoutSeconds,
    },
    { parent, dependsOn },
  );
  return { packages: layered, remote };
}

function container(
  parent: pulumi.ComponentResource,
  name: string,
  args: NodeArgs,
  spec: { name: string; image: string },
  dependsOn: pulumi.Resource[],
): SystemContainer {
  return new SystemContainer(
    `${name}-${spec.name}`,
    {
      connection: args.connection,
      hostName: args.hostName,
      name: spec.name,
      image: imageRef(args.registry ?? DEFAULT_REGISTRY, spec.image),
      storage: "ostree",
      systemPackage: "no",
    },
    { parent, dependsOn },
  );
}

/**
 * An etcd node. System containers: the etcd data migration (which refuses to stop a member of a cluster that is
 * not healthy or would lose quorum without it), then the etcd container (ostree storage) started on the migrated
 * data. Package layering: etcd layered in the rebase to Fedora 27. Then a health gate: the member is back, with
 * the member ID it had before, and caught up with the leader; what waits for this node waits for the gate.
 */
export class EtcdNode extends pulumi.ComponentResource {
  /** The resources that finish this node: what others wait for. */
  readonly ready: pulumi.Resource[];
  /** System containers: the move of etcd's data to the container's layout (runs first). */
  readonly migration?: EtcdDataMigration;
  /** System containers: the etcd container, started on the migrated data. */
  readonly etcd?: SystemContainer;
  /** Package layering: etcd layered in the rebase to Fedora 27. */
  readonly packages?: LayeredPackage;
  /** With package layering: the ostree remote the rebase pulls from. */
  readonly remote?: OstreeRemote;
  /**
   * What the host has, as the last `up` or `refresh` read it: the etcd unit (image, image digest, state) and the
   * migration's result, or the layered packages and booted version. A registered output of the component.
   */
  readonly status: pulumi.Output<NodeStatus>;
  readonly gate: HealthGate;

  constructor(name: string, args: EtcdNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:EtcdNode", name, {}, opts);
    const after = plainDependsOn(opts);
    if (args.method === "systemContainers") {
      this.migration = new EtcdDataMigration(
        `${name}-etcd-data`,
        {
          connection: args.connection,
          hostName: args.hostName,
          source: args.etcdSource,
          destination: args.etcdDestination,
          conflict: args.etcdConflict,
        },
        { parent: this, dependsOn: after },
      );
      this.etcd = container(this, name, args, ETCD_CONTAINER, [this.migration]);
    } else {
      ({ packages: this.packages, remote: this.remote } = layering(this, name, args, ETCD_PACKAGES, after));
    }
    // The member ID stays a nested Output, so preview still lists every check (with the ID still unknown).
    const memberId = this.migration?.memberId;
    const checks = etcdMemberGateChecks(undefined, args.healthChecks).map((c) =>
      c.kind === "etcdMember" && memberId ? ({ ...c, memberId } as unknown as HealthCheck) : c,
    );
    this.gate = new HealthGate(
      `${name}-health`,
      {
        connection: args.connection,
        checks,
        triggers: this.etcd
          ? [this.migration!.migratedAt, this.etcd.imageId, this.etcd.deployment]
          : [this.packages!.bootId],
      },
      { parent: this, dependsOn: [this.etcd ?? this.packages!] },
    );
    this.ready = [this.gate];
    this.status = nodeStatus("etcd", {
      containers: this.etcd ? [this.etcd] : [],
      packages: this.packages,
      migration: this.migration,
    });
    this.registerOutputs({ status: this.status });
  }
}

/**
 * A master. System containers: flanneld and kube-apiserver (which provides kubectl), then
 * kube-controller-manager and kube-scheduler. Package layering: kubernetes-master and flannel (and etcd when
 * colocated) in the rebase to Fedora 27.
 */
export class MasterNode extends pulumi.ComponentResource {
  /** The resources that finish this node: what the workers wait for. */
  readonly ready: pulumi.Resource[];
  /** System containers: flanneld, kube-apiserver, kube-controller-manager, kube-scheduler. */
  readonly containers: SystemContainer[] = [];
  /** Package layering: kubernetes-master and flannel (and etcd when colocated) in the rebase to Fedora 27. */
  readonly packages?: LayeredPackage;
  /** With package layering: the ostree remote the rebase pulls from. */
  readonly remote?: OstreeRemote;
  /** What the host has (units, or layered packages and booted version), as the last `up` or `refresh` read it. */
  readonly status: pulumi.Output<NodeStatus>;

  constructor(name: string, args: MasterNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:MasterNode", name, {}, opts);
    const after = plainDependsOn(opts);
    if (args.method === "systemContainers") {
      const flannel = container(this, name, args, FLANNEL_CONTAINER, after);
      const apiserver = container(this, name, args, APISERVER_CONTAINER, after);
      const control = MASTER_CONTROL_CONTAINERS.map((spec) => container(this, name, args, spec, [apiserver]));
      this.containers.push(flannel, apiserver, ...control);
      this.ready = [flannel, ...control];
    } else {
      const packages = args.colocatedEtcd ? [...MASTER_PACKAGES, ...ETCD_PACKAGES] : MASTER_PACKAGES;
      ({ packages: this.packages, remote: this.remote } = layering(this, name, args, packages, after));
      this.ready = [this.packages];
    }
    this.status = nodeStatus("master", { containers: this.containers, packages: this.packages });
    this.registerOutputs({ status: this.status });
  }
}

/** A worker. System containers: flanneld, kubelet and kube-proxy. Package layering: kubernetes-node and flannel. */
export class WorkerNode extends pulumi.ComponentResource {
  /** The resources that finish this node: what the next batch of workers waits for. */
  readonly ready: pulumi.Resource[];
  /** System containers: flanneld, kubelet, kube-proxy. */
  readonly containers: SystemContainer[] = [];
  /** Package layering: kubernetes-node and flannel in the rebase to Fedora 27. */
  readonly packages?: LayeredPackage;
  /** With package layering: the ostree remote the rebase pulls from. */
  readonly remote?: OstreeRemote;
  /** What the host has (units, or layered packages and booted version), as the last `up` or `refresh` read it. */
  readonly status: pulumi.Output<NodeStatus>;

  constructor(name: string, args: WorkerNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:WorkerNode", name, {}, opts);
    const after = plainDependsOn(opts);
    if (args.method === "systemContainers") {
      const flannel = container(this, name, args, FLANNEL_CONTAINER, after);
      const rest = WORKER_CONTAINERS.map((spec) => container(this, name, args, spec, [flannel]));
      this.containers.push(flannel, ...rest);
      this.ready = rest;
    } else {
      ({ packages: this.packages, remote: this.remote } = layering(this, name, args, WORKER_PACKAGES, after));
      this.ready = [this.packages];
    }
    this.status = nodeStatus("worker", { containers: this.containers, packages: this.packages });
    this.registerOutputs({ status: this.status });
  }
}
