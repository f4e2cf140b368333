export { AtomicCluster, type AtomicClusterArgs } from "./atomicCluster";
export { parseClusterSpec, type ClusterSpec, type ClusterHostSpec, type Role } from "./clusterSpec";
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
