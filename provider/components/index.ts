export { AtomicCluster, type AtomicClusterArgs, type GateSummary } from "./atomicCluster";
export {
  clusterSpecWarnings,
  effectiveMaxUnavailable,
  parseClusterSpec,
  type ClusterSpec,
  type ClusterHostSpec,
  type Role,
} from "./clusterSpec";
export { type UserHealthCheck, type UserHealthChecks } from "./healthGates";
export { DEFAULT_REBASE, DEFAULT_REGISTRY, imageRef, type MigrationMethod } from "./defaults";
export {
  EtcdNode,
  MasterNode,
  WorkerNode,
  type EtcdNodeArgs,
  type MasterNodeArgs,
  type NodeArgs,
  type WorkerNodeArgs,
} from "./nodes";
export type { EtcdMigrationStatus, HostStatus, NodeStatus, UnitStatus } from "./status";
