/**
 * The types both sides of the dynamic provider share: the resource kinds, and each resource's Inputs (what its
 * provider receives, resolved and plain) and Outputs (what it stores: the inputs plus what the host reports).
 * The public resource modules (`systemContainer.ts` ...) re-export them beside their `Args` and classes; the
 * implementations in `impl/` import them from here, so nothing below a resource module points back up at it.
 * Also the contract each implementation meets ({@link ResourceHandler}). Types only: importing this module loads
 * nothing.
 */
import type { CheckFailure } from "./atomic";
import type { HealthCheck } from "./atomic/healthGate";
import type { Connection } from "./ssh";

/** Each resource kind this package's dynamic provider implements, with its inputs and outputs. */
export interface ResourceTypes {
  SystemContainer: { inputs: SystemContainerInputs; outputs: SystemContainerOutputs };
  LayeredPackage: { inputs: LayeredPackageInputs; outputs: LayeredPackageOutputs };
  EtcdDataMigration: { inputs: EtcdDataMigrationInputs; outputs: EtcdDataMigrationOutputs };
  OstreeRemote: { inputs: OstreeRemoteInputs; outputs: OstreeRemoteOutputs };
  HealthGate: { inputs: HealthGateInputs; outputs: HealthGateOutputs };
}

/** The resource kinds this package's dynamic provider implements; each names a handler in `handlers.ts`. */
export type ResourceKind = keyof ResourceTypes;

/** What `configure` receives (`pulumi.dynamic.ConfigureRequest`, without importing the SDK). */
export interface ConfigureRequestLike {
  config: { get(key: string): string | undefined };
}

/**
 * One resource's provider methods, `I` the inputs it receives and `O` the outputs it stores: the shape of
 * `pulumi.dynamic.ResourceProvider`, typed per resource. Each implementation in `impl/` `satisfies` it.
 */
export interface ResourceHandler<I, O> {
  /** Reads the stack's provider-wide configuration (credentials), once per provider process. */
  configure(req: ConfigureRequestLike): Promise<void>;
  /** Validates and defaults the inputs and computes what preview shows. Never connects to the host. */
  check(olds: Partial<I> | undefined, news: I): Promise<{ inputs: I; failures: CheckFailure[] }>;
  /** Whether the change is an update or a replacement. Never connects to the host. */
  diff(
    id: string,
    olds: O,
    news: I,
  ): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(inputs: I): Promise<{ id: string; outs: O }>;
  /** What the host has: `id: ""` when the resource is gone; `inputs` when the next preview should plan a repair. */
  read(id: string, props: O): Promise<{ id: string; props: O | Record<string, never>; inputs?: I }>;
  update(id: string, olds: O, news: I): Promise<{ outs: O }>;
  delete(id: string, props: O): Promise<void>;
}

/** The inputs every resource on one host has: how to reach it, its name, and what check computes for the preview. */
export interface HostInputs {
  connection: Connection;
  /** A name for the host in progress lines and in the preview, e.g. "master1". */
  hostName?: string;
  /**
   * Computed by check: the connection's `address:port`, not secret (the connection is, as a whole), so a reviewer
   * sees where the commands run.
   */
  host?: string;
  /**
   * Computed by check: the commands this change runs on the host, in order, as `pulumi preview --diff` shows
   * them. A command longer than 150 bytes (where the CLI's diff display cuts a line) continues on the next items:
   * "    " starts its next argument, "   +" continues an argument; `# only if ...` ends a command that runs only
   * if a fact preview cannot read holds. Embedded scripts show as `<name script>` with their arguments whole.
   */
  commands?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// SystemContainer

/** The inputs as the provider receives them. */
export interface SystemContainerInputs extends HostInputs {
  name: string;
  image: string;
  storage?: "ostree";
  systemPackage?: "no" | "yes" | "auto" | "build";
  values?: Record<string, string>;
  running?: boolean;
  triggers?: unknown[];
  /**
   * Set by the resource: the keys of `values` whose value is a secret ("*": all of them). The provider receives
   * every input decrypted, so this is how it knows to show those values as `[secret]` in `commands` and logs.
   */
  secretValueKeys?: string[];
}

/** What the provider stores: the inputs plus what the host reports. */
export interface SystemContainerOutputs extends SystemContainerInputs {
  /** Digest of the installed image (the `revision` in atomic's info file). */
  imageId: string;
  /** Active deployment slot: 0 or 1 (`/var/lib/containers/atomic/NAME.N`). */
  deployment: number;
  /** Image of the other slot: what `atomic containers rollback` returns to, if any. */
  previousImage?: string;
  /** `systemctl is-active` of the unit: active, inactive, failed... */
  unitState: string;
  /** Files atomic copied onto the host (`installed-files` in the info file). */
  installedFiles: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// LayeredPackage

export interface LayeredPackageInputs extends HostInputs {
  packages: string[];
  rebase?: string;
  reboot?: "ifNeeded" | "always" | "never";
  rebootTimeoutSeconds?: number;
}

/** A deployment as `rpm-ostree status --json` reports it. */
export interface DeploymentInfo {
  checksum: string;
  version?: string;
  origin: string;
}

export interface LayeredPackageOutputs extends LayeredPackageInputs {
  /** The booted deployment. */
  booted: DeploymentInfo;
  /** Packages requested in the default (next-boot) deployment. */
  requestedPackages: string[];
  /** Packages active (layered) in the booted deployment. */
  layeredPackages: string[];
  /** True when a change waits for a reboot that was not done (reboot: "never", or staged by hand). */
  pendingReboot: boolean;
  /** The host's boot id when last verified. */
  bootId: string;
  /**
   * Declared packages this resource layered itself: delete (and dropping them from `packages`) uninstalls these.
   * Absent in state written before 0.x (then every declared package counts as this resource's).
   */
  addedPackages?: string[];
  /**
   * Declared packages that were already requested on the host when this resource first declared them (layered by
   * hand or by another tool): the resource adopts them, and delete leaves them requested.
   */
  adoptedPackages?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// EtcdDataMigration

export interface EtcdDataMigrationInputs extends HostInputs {
  source?: string;
  destination?: string;
  service?: string;
  conflict?: "fail" | "backup";
}

export interface EtcdDataMigrationOutputs extends EtcdDataMigrationInputs {
  /** Number of files copied. */
  files: number;
  /** Bytes copied. */
  bytes: number;
  /** sha256 over the path, size, mode and content hash of every file, sorted by path. */
  manifestSha256: string;
  /** When the copy was moved into place (ISO 8601, UTC). */
  migratedAt: string;
  /** Where a different member directory found at the destination was moved, if it was. */
  backupPath?: string;
  /**
   * The manifest sha256 of DEST/member as last read. Equal to `manifestSha256` right after the migration; it
   * moves once etcd runs on the data (that drift is expected and shown by refresh, never "fixed").
   */
  destinationManifestSha256?: string;
  /**
   * The etcd member ID (decimal, as `etcdctl -w json` prints it) of the member stopped for the copy, when etcd ran
   * on the host: a HealthGate's `etcdMember` check proves the container rejoined as this same member.
   */
  memberId?: string;
  /** That member's name (`ETCD_NAME`). */
  memberName?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// OstreeRemote

/** The inputs as the provider receives them. */
export interface OstreeRemoteInputs extends HostInputs {
  name: string;
  url: string;
  gpgVerify?: boolean;
  gpgKeyPath?: string;
  replace?: boolean;
  /** Computed by check: the ostree command lines this change runs on a host without the remote. */
  commands?: string[];
}

export interface OstreeRemoteOutputs extends OstreeRemoteInputs {
  /** True when the host already had this exact remote: it was adopted and is left in place on delete. */
  adopted: boolean;
  /** The file that defines the remote on the host, e.g. "/etc/ostree/remotes.d/fedora-atomic-27.conf". */
  file: string;
}

// ---------------------------------------------------------------------------------------------------------------
// HealthGate

export interface HealthGateInputs {
  connection: Connection;
  checks: HealthCheck[];
  triggers?: unknown[];
  /** Computed by check: each check, what it runs and where. */
  commands?: string[];
}

/** One check's outcome. */
export interface HealthCheckResult {
  name: string;
  /** What the check saw when it passed (a unit state, a subnet, a member table). */
  output: string;
  /** Seconds from the first try to the pass. */
  seconds: number;
  attempts: number;
}

export interface HealthGateOutputs extends HealthGateInputs {
  /** When every check last passed (ISO 8601, UTC). */
  passedAt: string;
  results: HealthCheckResult[];
}
