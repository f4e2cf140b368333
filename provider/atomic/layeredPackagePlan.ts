/**
 * What to run for a LayeredPackage: the one rpm-ostree transaction ({@link planLayeringTransaction}) and the
 * reboot after it ({@link decideReboot}), the same two functions the apply calls on what it reads. At preview
 * they run on the host as the state records it (`__recorded`, a {@link LayeredPackageRecord}), so the preview
 * shows the line the apply will run, flags included, whenever the host still matches the record.
 */
import type { PlannedCommand } from "./result";
import {
  buildRebootCommand,
  decideReboot,
  planLayeringTransaction,
  type LayeringDeclaration,
} from "./rpmOstreeCommands";
import { bootedDeployment, type Deployment, type RpmOstreeStatus } from "./rpmOstreeStatus";
import { rpmOstreeCapabilities, type RpmOstreeCapabilities } from "./rpmOstreeVersion";
import type { RebootPolicy } from "./validate";

/** One deployment as the state records it. */
export interface RecordedDeployment {
  /** The refspec it follows. */
  origin?: string;
  /** Packages requested in its origin. */
  requested: string[];
  /** Packages layered in it (a request the base provides is not). */
  packages: string[];
}

/** What a LayeredPackage's state records of its host (the internal input `__recorded`). */
export interface LayeredPackageRecord {
  booted: RecordedDeployment;
  /** The default deployment when it is not the booted one: staged, waiting for a reboot. */
  pending?: RecordedDeployment;
  /** The flags the host's rpm-ostree accepts. */
  capabilities: Pick<RpmOstreeCapabilities, "idempotent" | "allowInactive">;
}

export type LayeredPackageStep = PlannedCommand<"transaction" | "reboot">;

export interface LayeredPackagePlan {
  steps: LayeredPackageStep[];
  /** The record the steps leave when they succeed. */
  after?: LayeredPackageRecord;
  /** Set when the plan cannot run (no deployment): the apply fails with this sentence. */
  blocked?: string;
}

function recorded(d: Deployment): RecordedDeployment {
  return { origin: d.origin, requested: [...d.requestedPackages], packages: [...d.packages] };
}

/** The record of a status read from the host; undefined when it lists no booted deployment. */
export function recordOfStatus(
  status: RpmOstreeStatus,
  capabilities: Pick<RpmOstreeCapabilities, "idempotent" | "allowInactive">,
): LayeredPackageRecord | undefined {
  const booted = bootedDeployment(status);
  if (booted === undefined) return undefined;
  const first = status.deployments[0];
  return {
    booted: recorded(booted),
    pending: first !== undefined && !first.booted ? recorded(first) : undefined,
    capabilities: { idempotent: capabilities.idempotent, allowInactive: capabilities.allowInactive },
  };
}

function deployment(d: RecordedDeployment, booted: boolean, serial: number): Deployment {
  return {
    id: `recorded.${serial}`,
    osname: "fedora-atomic",
    serial,
    checksum: "",
    timestamp: 0,
    origin: d.origin,
    requestedPackages: [...d.requested],
    requestedLocalPackages: [],
    packages: [...d.packages],
    booted,
  };
}

/** The status a host matching the record would print (no transaction running). */
export function statusOfRecord(record: LayeredPackageRecord): RpmOstreeStatus {
  const booted = deployment(record.booted, true, 0);
  return {
    deployments: record.pending ? [deployment(record.pending, false, 1), booted] : [booted],
    transaction: null,
  };
}

/**
 * The host a create is previewed on, before anything was read: nothing requested and another origin (a Fedora 26
 * host, as the migration starts from), and the oldest Fedora 27 rpm-ostree (no newer flags). The apply plans on
 * what it reads; on a host that differs the line differs (fewer packages, no rebase, `--idempotent`).
 */
export const UNREAD_HOST: LayeredPackageRecord = {
  booted: { origin: undefined, requested: [], packages: [] },
  capabilities: { idempotent: false, allowInactive: false },
};

/**
 * The plan: the transaction from {@link planLayeringTransaction}, then `systemctl reboot` when
 * {@link decideReboot} says so for the deployment the transaction stages.
 */
export function planLayeredPackage(
  declaration: LayeringDeclaration,
  record: LayeredPackageRecord,
  policy: RebootPolicy,
): LayeredPackagePlan {
  const status = statusOfRecord(record);
  const caps = { ...rpmOstreeCapabilities(undefined), ...record.capabilities };
  const tx = planLayeringTransaction(declaration, status, caps);
  if (tx.kind === "blocked") return { steps: [], blocked: tx.reason };
  const steps: LayeredPackageStep[] = [];
  let after: LayeredPackageRecord = record;
  const ran = tx.kind === "run";
  if (tx.kind === "run") {
    steps.push({ kind: "transaction", argv: tx.argv, why: tx.why });
    // The transaction builds the new default deployment on the old default one.
    const base = record.pending ?? record.booted;
    const requested = [
      ...base.requested.filter((p) => !tx.toUninstall.includes(p)),
      ...tx.toInstall.filter((p) => !base.requested.includes(p)),
    ];
    after = {
      ...record,
      pending: {
        origin: tx.rebaseTo ?? base.origin,
        requested,
        packages: [
          ...base.packages.filter((p) => !tx.toUninstall.includes(p)),
          ...tx.toInstall.filter((p) => !base.packages.includes(p)),
        ],
      },
    };
  }
  const decision = decideReboot(policy, statusOfRecord(after), declaration, ran);
  if (decision.reboot) {
    steps.push({
      kind: "reboot",
      argv: buildRebootCommand(),
      why: `${decision.reason}; then wait for a new boot id`,
    });
    after = { ...after, booted: after.pending ?? after.booted, pending: undefined };
  }
  return { steps, after };
}
