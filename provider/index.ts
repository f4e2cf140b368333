export type { Connection, ConnectionArgs, HostArgs, ProxyConnectionArgs } from "./connection";
export {
  SystemContainer,
  type SystemContainerArgs,
  type SystemContainerInputs,
  type SystemContainerOutputs,
} from "./systemContainer";
export {
  LayeredPackage,
  type DeploymentInfo,
  type LayeredPackageArgs,
  type LayeredPackageInputs,
  type LayeredPackageOutputs,
} from "./layeredPackage";
export {
  EtcdDataMigration,
  type EtcdDataMigrationArgs,
  type EtcdDataMigrationInputs,
  type EtcdDataMigrationOutputs,
} from "./etcdDataMigration";
export {
  OstreeRemote,
  type OstreeRemoteArgs,
  type OstreeRemoteInputs,
  type OstreeRemoteOutputs,
} from "./ostreeRemote";
export {
  HealthGate,
  type HealthCheck,
  type HealthCheckResult,
  type HealthGateArgs,
  type HealthGateInputs,
  type HealthGateOutputs,
} from "./healthGate";
export * from "./components";
export { readClusterConfig } from "./clusterConfig";
