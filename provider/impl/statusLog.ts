/**
 * Progress lines as the engine's ephemeral status messages.
 *
 * A dynamic provider's stdout reaches the CLI as info diagnostics with no resource (pulumi/pulumi v3.248.0
 * sdk/go/common/resource/plugin/plugin.go, `runtrace`: every stdout line becomes `Diag.Infof`), which the CLI
 * prints live and then again, all of them, in the Diagnostics summary at the end. A message sent to the engine's
 * `Log` RPC with `ephemeral: true` is shown live and left out of that summary (pkg/backend/display/progress.go:
 * `if v.Ephemeral { continue }` where the summary is printed), the way resource providers report status.
 *
 * The engine's address is the provider process's first argument (`pulumi-resource-pulumi-nodejs <engine>`,
 * read by @pulumi/pulumi's cmd/dynamic-provider `main`). Outside that process (tests calling the handlers
 * directly) there is no engine, and {@link logStatus} returns false so the caller prints the line instead.
 */
import * as path from "path";

interface EngineLog {
  log(line: string): void;
}

let engine: EngineLog | null | undefined;

function dynamicProviderEngineAddress(): string | undefined {
  const main = require.main?.filename ?? "";
  if (!main.split(path.sep).join("/").endsWith("cmd/dynamic-provider/index.js")) return undefined;
  const addr = process.argv[2];
  return addr && /^[\w.-]+:\d+$/.test(addr) ? addr : undefined;
}

function connect(): EngineLog | null {
  const addr = dynamicProviderEngineAddress();
  if (addr === undefined) return null;
  try {
    // The SDK's own generated client and its grpc-js, resolved beside the SDK the provider process runs.
    const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
    const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
    const engproto = require("@pulumi/pulumi/proto/engine_pb");
    const client = new engrpc.EngineClient(addr, grpc.credentials.createInsecure());
    // One call at a time, in order: concurrent unary calls may arrive out of order.
    let queue: Promise<void> = Promise.resolve();
    return {
      log(line: string) {
        const req = new engproto.LogRequest();
        req.setSeverity(engproto.LogSeverity.INFO);
        req.setMessage(line);
        req.setEphemeral(true);
        queue = queue.then(
          () =>
            new Promise<void>((resolve) => {
              client.log(req, (err: Error | null) => {
                // A lost status line must not fail the operation; print it instead.
                if (err) console.log(line);
                resolve();
              });
            }),
        );
      },
    };
  } catch {
    return null;
  }
}

/** Sends `line` as an ephemeral status message; false when there is no engine to send it to. */
export function logStatus(line: string): boolean {
  if (engine === undefined) engine = connect();
  if (engine === null) return false;
  engine.log(line);
  return true;
}

/** `${error}: ${error.stack}` of errors a handler threw, until the SDK's echo of each is seen (at most a few). */
const thrown = new Set<string>();
let filterInstalled = false;

/**
 * Remembers an error a provider method is about to throw. The SDK's dynamic provider host prints every error of
 * check, diff, read and delete to stderr as `${e}: ${e.stack}` before returning it to the engine
 * (@pulumi/pulumi cmd/dynamic-provider/index.js), and the CLI shows that stderr line as a diagnostic beside the
 * error itself: the same message twice, once with a stack trace. The engine still gets the error; only the echo
 * is dropped (see {@link installErrorEchoFilter}).
 */
export function noteThrown(err: unknown): void {
  if (!(err instanceof Error)) return;
  thrown.add(`${err}: ${err.stack}`);
  if (thrown.size > 100) thrown.delete(thrown.values().next().value!);
}

/** In the provider process only: drops the SDK's stderr echo of an error noted by {@link noteThrown}. */
export function installErrorEchoFilter(): void {
  if (filterInstalled || dynamicProviderEngineAddress() === undefined) return;
  filterInstalled = true;
  const original = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === "string" && thrown.delete(args[0])) return;
    original(...args);
  };
}
