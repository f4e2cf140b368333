import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { ClusterHostSpec, ClusterSpec } from "./clusterSpec";
import { EtcdNode, MasterNode, WorkerNode } from "./nodes";

export interface AtomicClusterArgs extends ClusterSpec {
  /**
   * Credentials and host-key settings shared by every host (merged under each host's own host, port, user and
   * hostKey). Leave the key out to use the stack's `atomic-host:privateKey` secret or ssh-agent.
   */
  connection?: Omit<ConnectionArgs, "host" | "port">;
}

/**
 * A whole cluster migrated with one method: etcd nodes first, then masters, then workers in batches of
 * `maxUnavailable` (default 1), so that with package layering no more than that many workers reboot at once
 * and the cluster is never all down.
 */
export class AtomicCluster extends pulumi.ComponentResource {
  readonly etcdNodes: EtcdNode[] = [];
  readonly masters: MasterNode[] = [];
  readonly workers: WorkerNode[] = [];

  constructor(name: string, args: AtomicClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:AtomicCluster", name, {}, opts);
    const common = {
      method: args.method,
      registry: args.registry,
      rebase: args.rebase,
      reboot: args.reboot,
      rebootTimeoutSeconds: args.rebootTimeoutSeconds,
    };
    const connectionOf = (h: ClusterHostSpec): ConnectionArgs => ({
      ...args.connection,
      host: h.host,
      port: h.port ?? 22,
      user: h.user ?? args.user ?? args.connection?.user ?? "root",
      ...(h.hostKey ? { hostKey: h.hostKey } : {}),
    });
    const layering = args.method === "packageLayering";

    for (const h of args.hosts.filter((x) => x.roles.includes("etcd"))) {
      // With layering, a master that also runs etcd layers etcd in its own (single) rebase transaction.
      if (layering && h.roles.includes("master")) continue;
      this.etcdNodes.push(
        new EtcdNode(
          `${name}-${h.name}-etcd`,
          {
            ...common,
            connection: connectionOf(h),
            hostName: h.name,
            etcdSource: args.etcd?.source,
            etcdDestination: args.etcd?.destination,
            etcdConflict: args.etcd?.conflict,
          },
          { parent: this },
        ),
      );
    }
    const etcdReady = this.etcdNodes.flatMap((n) => n.ready);
    for (const h of args.hosts.filter((x) => x.roles.includes("master"))) {
      this.masters.push(
        new MasterNode(
          `${name}-${h.name}-master`,
          {
            ...common,
            connection: connectionOf(h),
            hostName: h.name,
            colocatedEtcd: layering && h.roles.includes("etcd"),
          },
          { parent: this, dependsOn: etcdReady },
        ),
      );
    }
    let previous = this.masters.flatMap((m) => m.ready);
    const batch = Math.max(1, args.maxUnavailable ?? 1);
    const workerHosts = args.hosts.filter((x) => x.roles.includes("worker"));
    for (let i = 0; i < workerHosts.length; i += batch) {
      const group = workerHosts
        .slice(i, i + batch)
        .map(
          (h) =>
            new WorkerNode(
              `${name}-${h.name}-worker`,
              { ...common, connection: connectionOf(h), hostName: h.name },
              { parent: this, dependsOn: previous },
            ),
        );
      this.workers.push(...group);
      previous = group.flatMap((w) => w.ready);
    }
    this.registerOutputs({});
  }
}
