/**
 * The entry point the serialized provider requires in the provider process
 * (`require("pulumi-atomic-host/provider/handlers").handler(kind)`). Its shape is a contract with every state
 * file ever written: keep `handler(kind)` and the method signatures stable.
 *
 * Only the serialized provider (`dynamicProvider.ts`) loads this module lazily, by package path, so that its
 * closure captures nothing but the kind; this module runs in the provider process and imports the
 * implementations directly.
 */
import { etcdDataMigrationProvider } from "./impl/etcdDataMigrationProvider";
import { healthGateProvider } from "./impl/healthGateProvider";
import { layeredPackageProvider } from "./impl/layeredPackageProvider";
import { ostreeRemoteProvider } from "./impl/ostreeRemoteProvider";
import { PartialFailure } from "./impl/common";
import { installErrorEchoFilter, noteThrown } from "./impl/statusLog";
import { systemContainerProvider } from "./impl/systemContainerProvider";
import type { ResourceHandler, ResourceKind, ResourceTypes } from "./types";

export type { ResourceHandler } from "./types";

/** Each kind's implementation, checked against its kind's inputs and outputs. */
const implementations: {
  [K in ResourceKind]: ResourceHandler<ResourceTypes[K]["inputs"], ResourceTypes[K]["outputs"]>;
} = {
  SystemContainer: systemContainerProvider,
  LayeredPackage: layeredPackageProvider,
  EtcdDataMigration: etcdDataMigrationProvider,
  OstreeRemote: ostreeRemoteProvider,
  HealthGate: healthGateProvider,
};

/**
 * What the engine exchanges with a handler: property maps as the state and the program hold them, which `check`
 * validates (the compiler cannot: old state, hostile inputs). `pulumi.dynamic.ResourceProvider` types them `any`
 * too; the implementations behind them are typed ({@link implementations}).
 */
type EngineProperties = Record<string, any>;

/** A handler as the engine calls it. */
export type EngineHandler = ResourceHandler<EngineProperties, EngineProperties>;

const handlers = new Map<ResourceKind, EngineHandler>();

/** The handler of `kind`, its methods' errors handled by {@link handlingErrors}. */
export function handler(kind: ResourceKind): EngineHandler {
  const known = handlers.get(kind);
  if (known) return known;
  const impl: EngineHandler | undefined = implementations[kind];
  if (impl === undefined) {
    throw new Error(
      `pulumi-atomic-host: unknown resource kind ${String(kind)} (state written by a newer version?)`,
    );
  }
  installErrorEchoFilter();
  const wrapped = handlingErrors(impl);
  handlers.set(kind, wrapped);
  return wrapped;
}

/**
 * `impl` with its errors handled in one place, on their way to the engine:
 * - a PartialFailure from create or update (the host was changed: the engine saves its properties as the
 *   resource's state) gets the resource's `__provider` among them, as every state must name its provider;
 * - every error is noted, so that the SDK's stderr echo of it (with a stack trace) is not shown beside the error
 *   itself (see `impl/statusLog.ts`).
 */
export function handlingErrors(impl: EngineHandler): EngineHandler {
  return {
    configure: noting((req) => impl.configure(req)),
    check: noting((olds, news) => impl.check(olds, news)),
    diff: noting((id, olds, news) => impl.diff(id, olds, news)),
    create: noting((inputs) => recordingProvider(inputs, () => impl.create(inputs))),
    read: noting((id, props) => impl.read(id, props)),
    update: noting((id, olds, news) => recordingProvider(news, () => impl.update(id, olds, news))),
    delete: noting((id, props) => impl.delete(id, props)),
  };
}

/** `method`, noting the error it throws before it propagates. */
function noting<A extends unknown[], R>(method: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await method(...args);
    } catch (err) {
      noteThrown(err);
      throw err;
    }
  };
}

/** Runs a create or update, completing the state a PartialFailure it throws carries with `__provider`. */
async function recordingProvider<T>(inputs: EngineProperties, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PartialFailure && inputs.__provider !== undefined) {
      err.properties.__provider ??= inputs.__provider;
    }
    throw err;
  }
}
