import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "./connection";
import { HostResource } from "./hostResource";
import type { DeploymentInfo } from "./types";
import provider = require("./serialized/layeredPackage");

export type { DeploymentInfo, LayeredPackageInputs, LayeredPackageOutputs } from "./types";

/**
 * Packages layered onto the host with rpm-ostree, optionally in the same transaction as a rebase, as the
 * migration guide does: `rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host --install
 * kubernetes-master --install flannel --install etcd -r`.
 *
 * - create/update: ONE transaction for the whole change (packages added and removed, and the rebase), computed
 *   from `rpm-ostree status --json`; then a reboot per `reboot`, a wait for a new boot id, and a check that the
 *   booted deployment has the declared packages and origin.
 * - refresh: booted and pending deployments; a package removed by hand is drift; a staged change not yet booted
 *   shows as `pendingReboot`.
 * - delete: uninstalls the packages this resource layered, in one transaction, and reboots per `reboot`. A rebase
 *   is NOT undone: going back to an older release would drop the host's updates and is a decision for
 *   `rpm-ostree rollback` or a new `rebase`, not a side effect of removing a package list.
 */
export interface LayeredPackageArgs extends HostArgs {
  /** RPM package names layered in one transaction, e.g. ["kubernetes-master", "flannel", "etcd"]. */
  packages: pulumi.Input<pulumi.Input<string>[]>;
  /** Refspec to rebase to in the same transaction, e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host". */
  rebase?: pulumi.Input<string>;
  /** "ifNeeded" (default: reboot when a deployment is pending, then wait), "always" or "never". */
  reboot?: pulumi.Input<"ifNeeded" | "always" | "never">;
  /** Seconds to wait for the host to come back with a new boot id. Default 600. */
  rebootTimeoutSeconds?: pulumi.Input<number>;
}

export class LayeredPackage extends HostResource {
  declare readonly packages: pulumi.Output<string[]>;
  declare readonly rebase: pulumi.Output<string | undefined>;
  declare readonly reboot: pulumi.Output<string>;
  declare readonly rebootTimeoutSeconds: pulumi.Output<number>;
  declare readonly booted: pulumi.Output<DeploymentInfo>;
  declare readonly requestedPackages: pulumi.Output<string[]>;
  declare readonly layeredPackages: pulumi.Output<string[]>;
  declare readonly pendingReboot: pulumi.Output<boolean>;
  declare readonly bootId: pulumi.Output<string>;
  /** Declared packages this resource layered; delete uninstalls them. */
  declare readonly addedPackages: pulumi.Output<string[]>;
  /** Declared packages already requested before this resource declared them; delete leaves them. */
  declare readonly adoptedPackages: pulumi.Output<string[]>;

  constructor(name: string, args: LayeredPackageArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      "LayeredPackage",
      name,
      args,
      {
        booted: undefined,
        requestedPackages: undefined,
        layeredPackages: undefined,
        pendingReboot: undefined,
        bootId: undefined,
        addedPackages: undefined,
        adoptedPackages: undefined,
      },
      opts,
    );
  }
}
