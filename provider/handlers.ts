/**
 * The entry point the serialized provider requires in the provider process
 * (`require("pulumi-atomic-host/provider/handlers").handler(kind)`). Its shape is a contract with every state
 * file ever written: keep `handler(kind)` and the method signatures stable.
 */
import type { ResourceKind } from "./dynamicProvider";

export interface ResourceHandler {
  configure(req: unknown): Promise<void>;
  check(olds: any, news: any): Promise<any>;
  diff(id: string, olds: any, news: any): Promise<any>;
  create(inputs: any): Promise<any>;
  read(id: string, props: any): Promise<any>;
  update(id: string, olds: any, news: any): Promise<any>;
  delete(id: string, props: any): Promise<void>;
}

function implementation(kind: ResourceKind): ResourceHandler {
  switch (kind) {
    case "SystemContainer":
      return require("./impl/systemContainerProvider").systemContainerProvider;
    case "LayeredPackage":
      return require("./impl/layeredPackageProvider").layeredPackageProvider;
    case "EtcdDataMigration":
      return require("./impl/etcdDataMigrationProvider").etcdDataMigrationProvider;
    case "OstreeRemote":
      return require("./impl/ostreeRemoteProvider").ostreeRemoteProvider;
    case "HealthGate":
      return require("./impl/healthGateProvider").healthGateProvider;
    default:
      throw new Error(
        `pulumi-atomic-host: unknown resource kind ${String(kind)} (state written by a newer version?)`,
      );
  }
}

const handlers = new Map<ResourceKind, ResourceHandler>();

/**
 * The handler of `kind`. Each method's error is noted before it propagates, so that the SDK's stderr echo of it
 * (with a stack trace) is not shown beside the error itself (see `impl/statusLog.ts`).
 */
export function handler(kind: ResourceKind): ResourceHandler {
  const known = handlers.get(kind);
  if (known) return known;
  const impl = implementation(kind);
  const log = require("./impl/statusLog") as typeof import("./impl/statusLog");
  log.installErrorEchoFilter();
  const wrapped = Object.fromEntries(
    Object.entries(impl).map(([method, fn]) => [
      method,
      async (...args: unknown[]) => {
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>).apply(impl, args);
        } catch (err) {
          log.noteThrown(err);
          throw err;
        }
      },
    ]),
  ) as unknown as ResourceHandler;
  handlers.set(kind, wrapped);
  return wrapped;
}
