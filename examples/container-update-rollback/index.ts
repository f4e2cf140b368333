// One system container kept at a declared image. Change `image` (or `tag`) to update it: atomic pulls and
// checks the new image out into the other deployment slot. Declare the previous image again to roll back:
// the provider sees it in the other slot and runs `atomic containers rollback` without pulling.
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const etcd = new SystemContainer("etcd", {
  connection: {
    host: config.require("host"),
    port: config.getNumber("port") ?? 22,
    hostKey: config.require("hostKey"),
  },
  name: "etcd",
  image: config.get("image") ?? "registry.fedoraproject.org/f27/etcd",
  storage: "ostree",
  // Bump to pull the same tag again and update if the registry has a new digest for it.
  triggers: [config.get("refresh") ?? "0"],
});

export const imageId = etcd.imageId;
export const deployment = etcd.deployment;
export const previousImage = etcd.previousImage;
export const commands = etcd.commands;
