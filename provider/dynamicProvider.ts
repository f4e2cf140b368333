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
  return {
    async configure(req) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).configure(req);
    },
    async check(olds, news) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).check(olds, news);
    },
    async diff(id, olds, news) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).diff(id, olds, news);
    },
    async create(inputs) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).create(inputs);
    },
    async read(id, props) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).read(id, props);
    },
    async update(id, olds, news) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).update(id, olds, news);
    },
    async delete(id, props) {
      return require("pulumi-atomic-host/provider/handlers").handler(kind).delete(id, props);
    },
  };
}
