import * as pulumi from "@pulumi/pulumi";
import type { Connection, HostArgs } from "./connection";
import type { ResourceKind } from "./types";

/**
 * What every resource on one host is: a dynamic resource of type `atomic-host:<kind>` whose `connection` is
 * stored as a secret (as an input and as an output), with the non-secret `host` label and the `commands` that
 * check computes for the preview.
 */
export abstract class HostResource extends pulumi.dynamic.Resource {
  declare readonly connection: pulumi.Output<Connection>;
  declare readonly hostName: pulumi.Output<string | undefined>;
  /** The host's `address:port` (not secret). */
  declare readonly host: pulumi.Output<string>;
  declare readonly commands: pulumi.Output<string[]>;

  /**
   * @param provider the kind's one serialized provider object (see `dynamicProvider.ts`).
   * @param computed the resource's other properties: those the provider computes (each `undefined` here), and any
   *   the resource sets itself.
   */
  protected constructor(
    provider: pulumi.dynamic.ResourceProvider,
    kind: ResourceKind,
    name: string,
    args: HostArgs,
    computed: Record<string, unknown>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      provider,
      name,
      {
        ...args,
        connection: pulumi.secret(args.connection),
        host: undefined,
        commands: undefined,
        ...computed,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "atomic-host",
      kind,
    );
  }
}
