/**
 * The SSH transport: verified, pooled connections to hosts and commands run over them. It knows nothing of
 * resources and does not import `@pulumi/pulumi`.
 */
export {
  DEFAULT_DIAL_ERROR_LIMIT,
  DEFAULT_PER_DIAL_TIMEOUT_S,
  DEFAULT_PORT,
  DEFAULT_USER,
  connectionLabel,
  getDefaultCredentials,
  resolveConnection,
  setDefaultCredentials,
} from "./connection";
export type {
  Connection,
  DefaultCredentials,
  HostKeyPolicy,
  ProxyConnection,
  ResolvedAuth,
  ResolvedConnection,
  ResolvedEndpoint,
} from "./connection";
export {
  RefusalError,
  RemoteError,
  formatRemoteError,
  isRemoteError,
  messageOf,
  redact,
  registerIdentifier,
  registerSecret,
  tailLines,
} from "./errors";
export type { RemoteErrorInit, RemoteErrorKind } from "./errors";
export { dialFailureReason } from "./dialErrors";
export { DEFAULT_MAX_OUTPUT_BYTES, exec, execOk, requireSuccess } from "./exec";
export type { ExecOptions, ExecResult } from "./exec";
export { buildRemoteTimeoutArgv, planHostTimeout } from "./hostTimeout";
export type { HostTimeoutPlan } from "./hostTimeout";
export { hostIdentity } from "./identity";
export {
  algorithmsForKeyType,
  buildHostKeyCheck,
  fingerprintSha256,
  formatPublicKeyLine,
  knownHostsEntryMatches,
  knownHostsName,
  parseKnownHosts,
  parsePublicKeyLine,
} from "./hostKey";
export type { HostKeyCheck, HostKeyVerdict, KnownHostEntry, PublicKey } from "./hostKey";
export { holdHostUntil, releaseHostHold, withHostLock } from "./lock";
export { setSshLogger, setSshProgress } from "./log";
export type { SshLogger } from "./log";
export {
  closeAll,
  configurePool,
  evict,
  forgetUnreachable,
  poolStats,
  resetPoolOptions,
  reuseEnabled,
} from "./pool";
export type { PoolOptions, PoolStats } from "./pool";
export { quoteArg, quoteCommand } from "./quote";
export { sleep } from "./sleep";
export {
  BOOT_ID_PATH,
  DEFAULT_REBOOT_POLL_MS,
  DEFAULT_REBOOT_TIMEOUT_MS,
  parseBootId,
  readBootId,
  waitForReboot,
} from "./reboot";
export type { WaitForRebootOptions } from "./reboot";
