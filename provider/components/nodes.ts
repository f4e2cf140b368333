import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import { EtcdDataMigration } from "../etcdDataMigration";
import { LayeredPackage } from "../layeredPackage";
import { SystemContainer } from "../systemContainer";
import {
  APISERVER_CONTAINER,
  DEFAULT_REBASE,
  DEFAULT_REGISTRY,
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

/** What every node component takes. */
export interface NodeArgs {
  /** How to reach the host (credentials may come from stack configuration instead). */
  connection: pulumi.Input<ConnectionArgs>;
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
}

export interface EtcdNodeArgs extends NodeArgs {
  /** Where etcd's data is now. Default "/var/lib/etcd/member" (kubernetes/contrib). */
  etcdSource?: string;
  /** Where the etcd container expects it. Default "/var/lib/etcd/etcd.etcd". */
  etcdDestination?: string;
  /** What to do with a different member directory at the destination. Default "fail". */
  etcdConflict?: "fail" | "backup";
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

function layering(
  parent: pulumi.ComponentResource,
  name: string,
  args: NodeArgs,
  packages: readonly string[],
  dependsOn: pulumi.Resource[],
): LayeredPackage {
  return new LayeredPackage(
    `${name}-packages`,
    {
      connection: args.connection,
      packages: [...packages],
      rebase: args.rebase ?? DEFAULT_REBASE,
      reboot: args.reboot,
      rebootTimeoutSeconds: args.rebootTimeoutSeconds,
    },
    { parent, dependsOn },
  );
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
      name: spec.name,
      image: imageRef(args.registry ?? DEFAULT_REGISTRY, spec.image),
      storage: "ostree",
      systemPackage: "no",
    },
    { parent, dependsOn },
  );
}

/**
 * An etcd node. System containers: the etcd data migration, then the etcd container (ostree storage) started on
 * the migrated data. Package layering: etcd layered in the rebase to Fedora 27.
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
  /**
   * What the host has, as the last `up` or `refresh` read it: the etcd unit (image, image digest, state) and the
   * migration's result, or the layered packages and booted version. A registered output of the component.
   */
  readonly status: pulumi.Output<NodeStatus>;

  constructor(name: string, args: EtcdNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:EtcdNode", name, {}, opts);
    const after = plainDependsOn(opts);
    if (args.method === "systemContainers") {
      this.migration = new EtcdDataMigration(
        `${name}-etcd-data`,
        {
          connection: args.connection,
          source: args.etcdSource,
          destination: args.etcdDestination,
          conflict: args.etcdConflict,
        },
        { parent: this, dependsOn: after },
      );
      this.etcd = container(this, name, args, ETCD_CONTAINER, [this.migration]);
      this.ready = [this.etcd];
    } else {
      this.packages = layering(this, name, args, ETCD_PACKAGES, after);
      this.ready = [this.packages];
    }
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
      this.packages = layering(this, name, args, packages, after);
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
      this.packages = layering(this, name, args, WORKER_PACKAGES, after);
      this.ready = [this.packages];
    }
    this.status = nodeStatus("worker", { containers: this.containers, packages: this.packages });
    this.registerOutputs({ status: this.status });
  }
}
