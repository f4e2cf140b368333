import * as pulumi from "@pulumi/pulumi";
import { parseClusterSpec, type ClusterSpec } from "./components/clusterSpec";

/**
 * Reads the cluster description from the stack's configuration (`<project>:cluster`, an object) and fails the
 * program with every problem listed, each naming the key and the accepted form, before any resource is
 * registered, so a malformed stack never reaches a host. `config.name` is the namespace: the project's own name
 * (`name:` in Pulumi.yaml), so a project named my-cluster reads `my-cluster:cluster`. The result carries that
 * key as `configKey`, which AtomicCluster uses to name a host's settings in errors.
 */
export function readClusterConfig(
  config: pulumi.Config = new pulumi.Config(),
  key = "cluster",
): ClusterSpec & { configKey: string } {
  const raw = config.getObject<unknown>(key);
  if (raw === undefined) {
    throw new pulumi.RunError(
      `Missing required configuration ${config.name}:${key}: set it in Pulumi.<stack>.yaml ` +
        `(an object with method and hosts; see the README's configuration reference).`,
    );
  }
  const { spec, errors } = parseClusterSpec(raw, `${config.name}:${key}`);
  if (!spec) {
    throw new pulumi.RunError(`Invalid stack configuration:\n  - ${errors.join("\n  - ")}`);
  }
  return { ...spec, configKey: `${config.name}:${key}` };
}
