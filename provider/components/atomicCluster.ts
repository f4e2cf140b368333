import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { ClusterHostSpec, ClusterSpec } from "./clusterSpec";
import { EtcdNode, MasterNode, WorkerNode } from "./nodes";
import { mergeHostStatus, type HostStatus, type NodeStatus } from "./status";

export interface AtomicClusterArgs extends ClusterSpec {
  /**
   * Credentials and host-key settings shared by every host (merged under each host's own host, port, user and
   * hostKey). Leave the key out to use the stack's `atomic-host:privateKey` secret or ssh-agent.
   */
  connection?: Omit<ConnectionArgs, "host" | "port">;
  /**
   * The stack configuration key the description was read from, e.g. "my-cluster:cluster" (`readClusterConfig`
   * sets it). Errors about a host's settings then name their path there: `my-cluster:cluster.hosts[0].hostKey`.
   */
  configKey?: string;
}

/**
 * A whole cluster migrated with one method: etcd nodes first, then masters, then workers in batches of
 * `maxUnavailable` (default 1), so that with package layering no more than that many workers reboot at once
 * and the cluster is never all down.
 */
export class AtomicCluster extends pulumi.ComponentResource {
  /** One EtcdNode per host with the role etcd (with package layering, not on a host that is also a master). */
  readonly etcdNodes: EtcdNode[] = [];
  /** One MasterNode per host with the role master. */
  readonly masters: MasterNode[] = [];
  /** One WorkerNode per host with the role worker, in batches of `maxUnavailable`. */
  readonly workers: WorkerNode[] = [];
  /**
   * Every host by its configured name, as the last `up` or `refresh` read it: `address` ("host:port"), `roles`,
   * `units` (per system container: image, image digest, systemd state), with package layering
   * `layeredPackages`, `requestedPackages`, `bootedVersion`, `bootedOrigin`, `pendingReboot`, and on an etcd host
   * migrated to system containers `etcdMigration` (files, bytes, manifest, when). A registered output:
   * `export const hosts = cluster.hosts;` shows it in `pulumi stack output`.
   */
  readonly hosts: pulumi.Output<Record<string, HostStatus>>;

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
      ...(h.hostKey
        ? {
            hostKey: h.hostKey,
            // So that a host-key error names the line of the stack configuration to fix.
            ...(args.configKey
              ? { hostKeySource: `${args.configKey}.hosts[${args.hosts.indexOf(h)}].hostKey` }
              : {}),
          }
        : {}),
    });
    const byHost = new Map<string, pulumi.Output<NodeStatus>[]>();
    const track = (h: ClusterHostSpec, status: pulumi.Output<NodeStatus>) =>
      byHost.set(h.name, [...(byHost.get(h.name) ?? []), status]);
    const layering = args.method === "packageLayering";

    for (const h of args.hosts.filter((x) => x.roles.includes("etcd"))) {
      // With layering, a master that also runs etcd layers etcd in its own (single) rebase transaction.
      if (layering && h.roles.includes("master")) continue;
      const node = new EtcdNode(
        `${name}-${h.name}-etcd`,
        {
          ...common,
          connection: connectionOf(h),
          etcdSource: args.etcd?.source,
          etcdDestination: args.etcd?.destination,
          etcdConflict: args.etcd?.conflict,
        },
        { parent: this },
      );
      this.etcdNodes.push(node);
      track(h, node.status);
    }
    const etcdReady = this.etcdNodes.flatMap((n) => n.ready);
    for (const h of args.hosts.filter((x) => x.roles.includes("master"))) {
      const node = new MasterNode(
        `${name}-${h.name}-master`,
        { ...common, connection: connectionOf(h), colocatedEtcd: layering && h.roles.includes("etcd") },
        { parent: this, dependsOn: etcdReady },
      );
      this.masters.push(node);
      track(h, node.status);
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
              { ...common, connection: connectionOf(h) },
              { parent: this, dependsOn: previous },
            ),
        );
      this.workers.push(...group);
      group.forEach((w, j) => track(workerHosts[i + j]!, w.status));
      previous = group.flatMap((w) => w.ready);
    }
    this.hosts = pulumi
      .all(
        args.hosts.map((h) =>
          pulumi
            .all(byHost.get(h.name) ?? [])
            .apply(
              (parts) => [h.name, mergeHostStatus(`${h.host}:${h.port ?? 22}`, h.roles, parts)] as const,
            ),
        ),
      )
      .apply((entries) => Object.fromEntries(entries));
    this.registerOutputs({ hosts: this.hosts });
  }
}
