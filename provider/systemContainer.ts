import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "./connection";
import { HostResource } from "./hostResource";
import provider = require("./serialized/systemContainer");

export type { SystemContainerInputs, SystemContainerOutputs } from "./types";

/**
 * A system container, as Fedora 27 Atomic Host's migration guide installs kube-apiserver, etcd, flanneld...:
 * `atomic install --system --system-package=no --storage=ostree --name NAME IMAGE`.
 *
 * - create: `atomic pull`, `atomic install`, then `systemctl start` when `running` (install only enables).
 *   A container already installed from the same image is adopted.
 * - update: a new image: `atomic pull` + `atomic containers update --rebase`; the image of the other deployment
 *   slot: `atomic containers rollback` (no pull); a changed trigger: `atomic pull`, and `containers update` only
 *   if the digest changed; changed values: `containers update --set`. Changing only credentials runs nothing.
 * - refresh: reads the `info` file and `atomic containers list`; a container removed by hand leaves the state.
 * - delete: `atomic uninstall NAME` (already gone counts as done).
 */
export interface SystemContainerArgs extends HostArgs {
  /** Container and systemd unit name, e.g. "etcd" (`--name`). Changing it replaces the resource. */
  name: pulumi.Input<string>;
  /** Image reference, e.g. "registry.fedoraproject.org/f27/etcd", optionally with `:tag` or `@sha256:...`. */
  image: pulumi.Input<string>;
  /** Storage backend. Only "ostree" (the default): atomic refuses `--system` with any other. */
  storage?: pulumi.Input<"ostree">;
  /** `--system-package`: "no" (default, as in the migration guide), "yes", "auto" or "build". */
  systemPackage?: pulumi.Input<"no" | "yes" | "auto" | "build">;
  /** Template values passed as `--set KEY=VALUE`; changing them runs `atomic containers update --set`. */
  values?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Whether the unit is active after apply. Default true (`atomic install` only enables the unit). */
  running?: pulumi.Input<boolean>;
  /** Any values; changing one pulls the image again and updates the container if its digest changed. */
  triggers?: pulumi.Input<any[]>;
}

/**
 * The keys of `values` whose value is a secret, ["*"] when `values` is one Output that is secret as a whole, or
 * undefined when none is.
 * Without them the provider would write a secret value in plaintext into `commands` (a new key, so the engine
 * does not carry the secret flag over to it) and into its progress lines.
 */
async function secretValueKeys(values: SystemContainerArgs["values"]): Promise<string[] | undefined> {
  if (values === undefined) return undefined;
  if (pulumi.Output.isInstance(values) || values instanceof Promise) {
    return (await pulumi.isSecret(pulumi.output(values))) ? ["*"] : undefined;
  }
  const keys: string[] = [];
  for (const [k, v] of Object.entries(values)) if (await pulumi.isSecret(pulumi.output(v))) keys.push(k);
  // Absent rather than [] when nothing is secret, so the plan of most resources shows no extra property.
  return keys.length > 0 ? keys.sort() : undefined;
}

export class SystemContainer extends HostResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly image: pulumi.Output<string>;
  declare readonly storage: pulumi.Output<string>;
  declare readonly systemPackage: pulumi.Output<string>;
  declare readonly values: pulumi.Output<Record<string, string> | undefined>;
  declare readonly running: pulumi.Output<boolean>;
  declare readonly triggers: pulumi.Output<unknown[] | undefined>;
  declare readonly imageId: pulumi.Output<string>;
  declare readonly deployment: pulumi.Output<number>;
  declare readonly previousImage: pulumi.Output<string | undefined>;
  declare readonly unitState: pulumi.Output<string>;
  declare readonly installedFiles: pulumi.Output<string[]>;

  constructor(name: string, args: SystemContainerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      "SystemContainer",
      name,
      args,
      {
        secretValueKeys: secretValueKeys(args.values),
        imageId: undefined,
        deployment: undefined,
        previousImage: undefined,
        unitState: undefined,
        installedFiles: undefined,
      },
      opts,
    );
  }
}
