import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "./connection";
import { HostResource } from "./hostResource";
import provider = require("./serialized/etcdDataMigration");

export type { EtcdDataMigrationInputs, EtcdDataMigrationOutputs } from "./types";

/**
 * Moves etcd's data to where the etcd system container expects it: the migration guide's
 * `systemctl stop etcd; cp -r /var/lib/etcd/member /var/lib/etcd/etcd.etcd/`, made safe.
 *
 * - create: confirms the source is an etcd member directory (wal/ and snap/), stops the service and confirms it
 *   is inactive, copies with ownership, modes and times into a temporary folder beside the destination, verifies
 *   the copy file by file (size and sha256), and moves it into place with one rename. The source is never
 *   modified or removed. An identical destination means nothing to do, and so does a destination that is this
 *   migration's copy continued by etcd (its WAL extends the source's: the container already runs on it), whatever
 *   `conflict` says, since replacing it would rewind the cluster; a temporary folder left by an interrupted
 *   attempt is discarded and the copy redone; a different member directory at the destination is refused
 *   (`conflict: "fail"`) or moved aside to a timestamped backup (`conflict: "backup"`). Nothing is overwritten.
 * - refresh: checks the destination still matches the manifest.
 * - delete: leaves all data where it is: removing either copy of a cluster's data is never a side effect.
 */
export interface EtcdDataMigrationArgs extends HostArgs {
  /** The member directory to copy. Default "/var/lib/etcd/member" (kubernetes/contrib); the RPM default is "/var/lib/etcd/default.etcd/member". */
  source?: pulumi.Input<string>;
  /** The folder that receives `member/`. Default "/var/lib/etcd/etcd.etcd" (the etcd system container's). */
  destination?: pulumi.Input<string>;
  /** The unit stopped before the copy. Default "etcd". */
  service?: pulumi.Input<string>;
  /** When the destination holds a different member directory: "fail" (default) or "backup" (move it aside). */
  conflict?: pulumi.Input<"fail" | "backup">;
}

export class EtcdDataMigration extends HostResource {
  declare readonly source: pulumi.Output<string>;
  declare readonly destination: pulumi.Output<string>;
  declare readonly service: pulumi.Output<string>;
  declare readonly conflict: pulumi.Output<string>;
  declare readonly files: pulumi.Output<number>;
  declare readonly bytes: pulumi.Output<number>;
  declare readonly manifestSha256: pulumi.Output<string>;
  declare readonly migratedAt: pulumi.Output<string>;
  declare readonly backupPath: pulumi.Output<string | undefined>;
  declare readonly destinationManifestSha256: pulumi.Output<string>;
  declare readonly memberId: pulumi.Output<string | undefined>;
  declare readonly memberName: pulumi.Output<string | undefined>;

  constructor(name: string, args: EtcdDataMigrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      "EtcdDataMigration",
      name,
      args,
      {
        files: undefined,
        bytes: undefined,
        manifestSha256: undefined,
        migratedAt: undefined,
        backupPath: undefined,
        destinationManifestSha256: undefined,
        memberId: undefined,
        memberName: undefined,
      },
      opts,
    );
  }
}
