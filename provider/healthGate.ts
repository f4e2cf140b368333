import * as pulumi from "@pulumi/pulumi";
import type { HealthCheck } from "./atomic/healthGate";
import type { Connection, ConnectionArgs } from "./connection";
import type { HealthCheckResult } from "./types";
import provider = require("./serialized/healthGate");

export type { HealthCheck } from "./atomic/healthGate";
export type { HealthCheckResult, HealthGateInputs, HealthGateOutputs } from "./types";

/**
 * Checks that a host is healthy after a change, and fails the `up` (so nothing that depends on the gate is
 * touched) when it is not: the health gate between AtomicCluster's batches.
 *
 * - check:  validates the checks; `commands` lists each check and where it runs. No SSH.
 * - create / update: runs every check in order over the host's SSH connection, each retried until it passes or
 *   its `timeoutSeconds` runs out; fails with the check, the host and what the check printed.
 * - read:   nothing (a gate's result is a moment, not host state).
 * - delete: nothing.
 *
 * It re-runs when `checks` or `triggers` change: put in `triggers` the outputs of what the gate guards, so the gate
 * runs whenever they changed and a no-op `up` does not connect.
 */
export interface HealthGateArgs {
  /** The host the checks run on. Stored as a secret. */
  connection: pulumi.Input<ConnectionArgs>;
  /** The checks, in order (see `HealthCheck`). */
  checks: pulumi.Input<pulumi.Input<HealthCheck>[]>;
  /** Anything whose change re-runs the gate (the gated resources' outputs). Default []. */
  triggers?: pulumi.Input<unknown[]>;
}

export class HealthGate extends pulumi.dynamic.Resource {
  declare readonly connection: pulumi.Output<Connection>;
  declare readonly checks: pulumi.Output<HealthCheck[]>;
  declare readonly triggers: pulumi.Output<unknown[] | undefined>;
  declare readonly commands: pulumi.Output<string[]>;
  declare readonly passedAt: pulumi.Output<string>;
  declare readonly results: pulumi.Output<HealthCheckResult[]>;

  constructor(name: string, args: HealthGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        ...args,
        connection: pulumi.secret(args.connection),
        commands: undefined,
        passedAt: undefined,
        results: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "connection"] },
      "atomic-host",
      "HealthGate",
    );
  }
}
