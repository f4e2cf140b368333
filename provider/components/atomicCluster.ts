import * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../connection";
import type { ClusterHostSpec, ClusterSpec } from "./clusterSpec";
import { HealthGate } from "../healthGate";
import { clusterSpecWarnings, effectiveMaxUnavailable } from "./clusterSpec";
import { ETCD_CLUSTER_CHECK, nodeGateChecks } from "./healthGates";
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

/** One health gate of the rollout, as the stack outputs show it. */
export interface GateSummary {
  /** Which batch the gate closes: `etcd <host>`, `masters`, `workers 1`, ... (in rollout order). */
  batch: string;
  /** The host the checks run on. */
  host: string;
  /** What is checked (as at preview). */
  checks: string[];
  /** When the checks last passed. */
  passedAt: string;
}

/**
 * A whole cluster migrated with one method, one batch at a time: the etcd members one after the other (each
 * migration refuses to stop a member unless the others are healthy and keep a quorum, and each member's gate waits
 * until it is back with the same member ID and caught up), then the masters, then the workers in batches of
 * `maxUnavailable` (default 1). After the masters and after each worker batch a health gate runs on every host just
 * changed (every declared unit active, flanneld holding a lease, the role's `healthChecks`) and on an etcd host
 * (every member healthy); the next batch depends on those gates, so a failed gate stops the rollout there, and the
 * next `up` runs the gate again and carries on.
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
  /** Every health gate, in rollout order. */
  readonly gates: { batch: string; host: string; gate: HealthGate }[] = [];
  /** The gates as plain values (also registered as this component's `gates` output). */
  readonly gateSummaries: pulumi.Output<GateSummary[]>;

  constructor(name: string, args: AtomicClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("atomic-host:index:AtomicCluster", name, {}, opts);
    const common = {
      method: args.method,
      registry: args.registry,
      rebase: args.rebase,
      reboot: args.reboot,
      rebootTimeoutSeconds: args.rebootTimeoutSeconds,
      ostreeRemote: args.ostreeRemote,
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
    for (const w of clusterSpecWarnings(args)) pulumi.log.warn(w, this);

    // etcd members one at a time: each waits for the previous member's gate.
    let previous: pulumi.Resource[] = [];
    const etcdHosts = args.hosts.filter((x) => x.roles.includes("etcd"));
    for (const h of etcdHosts) {
      // With layering, a master that also runs etcd layers etcd in its own (single) rebase transaction.
      if (layering && h.roles.includes("master")) continue;
      const node = new EtcdNode(
        `${name}-${h.name}-etcd`,
        {
          ...common,
          connection: connectionOf(h),
          hostName: h.name,
          etcdSource: args.etcd?.source,
          etcdDestination: args.etcd?.destination,
          etcdConflict: args.etcd?.conflict,
          healthChecks: args.healthChecks,
        },
        { parent: this, dependsOn: previous },
      );
      this.etcdNodes.push(node);
      track(h, node.status);
      this.gates.push({ batch: `etcd ${h.name}`, host: h.name, gate: node.gate });
      previous = node.ready;
    }

    /** The gates closing a batch: one per changed host, and the etcd cluster's health read from an etcd host. */
    const closeBatch = (
      batch: string,
      nodes: { h: ClusterHostSpec; role: "master" | "worker"; node: MasterNode | WorkerNode }[],
    ): pulumi.Resource[] => {
      const triggersOf = (n: MasterNode | WorkerNode) =>
        n.packages ? [n.packages.bootId] : n.containers.flatMap((c) => [c.imageId, c.deployment]);
      const gates = nodes.map(({ h, role, node }) => {
        const gate = new HealthGate(
          `${name}-${h.name}-health`,
          {
            connection: connectionOf(h),
            checks: nodeGateChecks(
              role,
              args.method,
              args.healthChecks,
              layering && h.roles.includes("etcd"),
            ),
            triggers: triggersOf(node),
          },
          { parent: this, dependsOn: node.ready },
        );
        this.gates.push({ batch, host: h.name, gate });
        return gate;
      });
      const etcdHost = etcdHosts[0];
      if (etcdHost) {
        const slug = batch.replace(/\s+/g, "-");
        const gate = new HealthGate(
          `${name}-${slug}-etcd-health`,
          {
            connection: connectionOf(etcdHost),
            checks: [ETCD_CLUSTER_CHECK],
            triggers: nodes.flatMap(({ node }) => triggersOf(node)),
          },
          { parent: this, dependsOn: nodes.flatMap(({ node }) => node.ready) },
        );
        this.gates.push({ batch, host: etcdHost.name, gate });
        gates.push(gate);
      }
      return gates;
    };

    const masterHosts = args.hosts.filter((x) => x.roles.includes("master"));
    const masters = masterHosts.map((h) => {
      const node = new MasterNode(
        `${name}-${h.name}-master`,
        {
          ...common,
          connection: connectionOf(h),
          hostName: h.name,
          colocatedEtcd: layering && h.roles.includes("etcd"),
        },
        { parent: this, dependsOn: previous },
      );
      this.masters.push(node);
      track(h, node.status);
      return { h, role: "master" as const, node };
    });
    if (masters.length > 0) previous = closeBatch("masters", masters);

    const workerHosts = args.hosts.filter((x) => x.roles.includes("worker"));
    const batch = effectiveMaxUnavailable(args.maxUnavailable, workerHosts.length);
    for (let i = 0; i < workerHosts.length; i += batch) {
      const after = previous;
      const group = workerHosts.slice(i, i + batch).map((h) => {
        const node = new WorkerNode(
          `${name}-${h.name}-worker`,
          { ...common, connection: connectionOf(h), hostName: h.name },
          { parent: this, dependsOn: after },
        );
        this.workers.push(node);
        track(h, node.status);
        return { h, role: "worker" as const, node };
      });
      previous = closeBatch(`workers ${i / batch + 1}`, group);
    }

    this.gateSummaries = pulumi.all(
      this.gates.map(({ batch: b, host, gate }) =>
        pulumi
          .all([gate.commands, gate.passedAt])
          .apply(([checks, passedAt]): GateSummary => ({ batch: b, host, checks: checks ?? [], passedAt })),
      ),
    );
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
    this.registerOutputs({ hosts: this.hosts, gates: this.gateSummaries });
  }
}
