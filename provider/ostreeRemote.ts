import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "./connection";
import { HostResource } from "./hostResource";
import provider = require("./serialized/ostreeRemote");

export type { OstreeRemoteInputs, OstreeRemoteOutputs } from "./types";

/**
 * An ostree remote of the host's system repo, as Fedora's 26→27 upgrade guide adds one before the rebase:
 * `ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27
 * https://kojipkgs.fedoraproject.org/atomic/27`. A Fedora 26 host ships only `fedora-atomic`, so
 * `rpm-ostree rebase fedora-atomic-27:...` fails until this remote exists.
 *
 * - create: reads the host's remotes (`ostree remote list -u` and the files that define them). Absent: `ostree
 *   remote add`. Present and identical: adopted (`adopted: true`), nothing runs. Present and different: refused
 *   with the difference, unless `replace` (then `ostree remote delete` + `add`). Read back and verified.
 * - update: the same, for the remote this resource added (replacing its own remote needs no `replace`).
 * - refresh: the remote as the host has it; removed by hand leaves the state, a changed URL or key is drift.
 * - delete: `ostree remote delete NAME` for a remote this resource added; an adopted remote is left in place.
 *   A remote that a deployment still follows (its rpm-ostree origin names it) is kept too, and the delete says
 *   so: without it `rpm-ostree upgrade` on that deployment has nowhere to pull from.
 */
export interface OstreeRemoteArgs extends HostArgs {
  /** Remote name, e.g. "fedora-atomic-27" (letters, digits, `_ . -`). Changing it replaces the resource. */
  name: pulumi.Input<string>;
  /** URL of the ostree repository, e.g. "https://kojipkgs.fedoraproject.org/atomic/27". */
  url: pulumi.Input<string>;
  /** Verify commits' GPG signatures (ostree's `gpg-verify`). Default true; false adds `--no-gpg-verify`. */
  gpgVerify?: pulumi.Input<boolean>;
  /**
   * Key file pulls are verified with (`--set=gpgkeypath=PATH`), e.g.
   * "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary" (Fedora 26's fedora-repos already ships the 27 key).
   */
  gpgKeyPath?: pulumi.Input<string>;
  /**
   * Replace a DIFFERENT remote of the same name that this resource did not add (`ostree remote delete NAME`,
   * then `add`). Default false: such a remote is refused, naming what differs.
   */
  replace?: pulumi.Input<boolean>;
}

export class OstreeRemote extends HostResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly gpgVerify: pulumi.Output<boolean>;
  declare readonly gpgKeyPath: pulumi.Output<string | undefined>;
  declare readonly replace: pulumi.Output<boolean>;
  declare readonly adopted: pulumi.Output<boolean>;
  declare readonly file: pulumi.Output<string>;

  constructor(name: string, args: OstreeRemoteArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      "OstreeRemote",
      name,
      args,
      {
        adopted: undefined,
        file: undefined,
      },
      opts,
    );
  }
}
