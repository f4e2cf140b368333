import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "./types";

/**
 * The provider object Pulumi serializes into every resource's state (`__provider`, once in its inputs and once in
 * its outputs).
 *
 * Each kind's object is the whole `module.exports` of its own module, `provider/serialized/<kind>`. Pulumi's
 * closure serializer stores an object that is a module's exports under a `node_modules` folder as a `require` of
 * that module (`captureModuleAsync` in @pulumi/pulumi's runtime/closure/createClosure.js), so an installed
 * package's state holds `require("pulumi-atomic-host/provider/serialized/systemContainer")`, about 300 bytes,
 * instead of this object's code (2.1 KB). Run from a checkout (no `node_modules` in the path), Pulumi serializes
 * the object by value, and what it captures is still nothing but the kind.
 *
 * Either way each method requires the implementation by package path at call time, in the provider process. So
 * no client, configuration value or secret is ever captured into state, and old state (which runs the provider
 * code it was created with for `delete` and `refresh`) keeps working as long as
 * `pulumi-atomic-host/provider/handlers` keeps its shape and the `provider/serialized/*` paths stay.
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
