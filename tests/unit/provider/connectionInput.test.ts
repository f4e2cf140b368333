/**
 * A `@pulumi/command` connection value, as users already pass it to `command.remote.Command`, is accepted as it
 * is by every resource of this package. `npx tsc -p tests/tsconfig.json` is the check: if the resources' input
 * type drifts, `true` no longer fits the tuple below and type checking fails. (The file has no runtime test:
 * the types are the test.)
 */
import type { types } from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { EtcdDataMigrationArgs, LayeredPackageArgs, SystemContainerArgs } from "../../../provider";

type Accepts<Theirs, Ours> = [Theirs] extends [Ours] ? true : false;
type CommandInput = types.input.remote.ConnectionArgs;
type CommandOutput = pulumi.Output<types.output.remote.Connection>;

export const accepted: [
  Accepts<CommandInput, SystemContainerArgs["connection"]>,
  Accepts<CommandInput, LayeredPackageArgs["connection"]>,
  Accepts<CommandInput, EtcdDataMigrationArgs["connection"]>,
  Accepts<CommandOutput, SystemContainerArgs["connection"]>,
] = [true, true, true, true];
