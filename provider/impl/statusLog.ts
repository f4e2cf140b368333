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
