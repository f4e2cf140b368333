import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "./types";

/**
 * The provider object Pulumi serializes into every resource's state (`__provider`).
 *
 * It is deliberately tiny and stable: it captures nothing but the resource kind, and each method requires the
 * implementation by package path at call time, in the provider process. So no client, configuration value or
 * secret is ever captured into state, and old state (which runs the provider code it was created with for
 * `delete` and `refresh`) keeps working as long as `pulumi-atomic-host/provider/handlers` keeps its shape.
 * One object per kind, made once at module load, so the SDK's serialization cache is hit for every resource.
 */
export function makeDynamicProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  // Short arrow functions sharing one lookup: Pulumi stores this text twice per resource (in its inputs and its
  // outputs), each method's text once in each. Written as seven `async` methods it was 2.9 KB; like this, 2.1 KB.
  const h = () => require("pulumi-atomic-host/provider/handlers").handler(kind);
  return {
    configure: (...a) => h().configure(...a),
    check: (...a) => h().check(...a),
    diff: (...a) => h().diff(...a),
    create: (...a) => h().create(...a),
    read: (...a) => h().read(...a),
    update: (...a) => h().update(...a),
    delete: (...a) => h().delete(...a),
  };
}
