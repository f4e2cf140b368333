/**
 * A `@pulumi/command` connection value, as users already pass it to `command.remote.Command`, is accepted as it
 * is by every resource of this package. `npx tsc -p tests/tsconfig.json` is the check: if the resources' input
 * type drifts, the assignments below stop compiling.
 */
import type { types } from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { EtcdDataMigrationArgs, LayeredPackageArgs, SystemContainerArgs } from "../../../provider";

declare const commandConnection: types.input.remote.ConnectionArgs;
declare const commandConnectionOutput: pulumi.Output<types.output.remote.Connection>;

export const forSystemContainer: SystemContainerArgs["connection"] = commandConnection;
export const forLayeredPackage: LayeredPackageArgs["connection"] = commandConnection;
export const forMigration: EtcdDataMigrationArgs["connection"] = commandConnection;
export const fromAnOutput: SystemContainerArgs["connection"] = commandConnectionOutput;
// (mocha loads this file too; it has no runtime test because the assignments above are the test.)
