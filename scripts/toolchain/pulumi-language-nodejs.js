#!/usr/bin/env node
// A Node.js language host for the Pulumi CLI: the gRPC `pulumirpc.LanguageRuntime` service the CLI starts as the
// `pulumi-language-nodejs` plugin to run a `runtime: nodejs` program.
//
// Why it exists: Pulumi's own language host is a separate Go module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) that is only published as untagged
// pseudo-versions, and the Go module proxy reachable here refuses every version of it ("403 This module version
// is not available"), while `pulumi` itself (pkg/v3) builds fine. This host does what the Go one does for the
// calls the CLI makes to run a program: it spawns `node <@pulumi/pulumi>/cmd/run` with the same flags and the
// same PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS / PULUMI_NODEJS_TYPESCRIPT environment, and reports plugins
// required by packages in node_modules that declare `"pulumi": {"resource": true}` exactly as the Go host does,
// so a package that would make the CLI download a plugin is still caught. It is used only when no real
// `pulumi-language-nodejs` is found on PATH (see scripts/setup).
//
// Protocol: started as `pulumi-language-nodejs [-flags...] ENGINE_ADDRESS` with cwd = the program directory; it
// prints the port it serves on, then serves until killed.
"use strict";
const path = require("path");
const fs = require("fs");
const { spawn } = require("child_process");

const cwd = process.cwd();
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [cwd] }));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
const langpb = require(path.join(sdkDir, "proto", "language_pb.js"));
const langrpc = require(path.join(sdkDir, "proto", "language_grpc_pb.js"));
const pluginpb = require(path.join(sdkDir, "proto", "plugin_pb.js"));
const sdkVersion = require(path.join(sdkDir, "package.json")).version;

const positional = process.argv.slice(2).filter((a) => !a.startsWith("-"));
let engineAddress = positional[positional.length - 1] || "";

/** Packages under node_modules that declare themselves Pulumi resource plugins (what the Go host reports). */
function pulumiResourcePackages(programDir) {
  const found = [];
  const root = path.join(programDir, "node_modules");
  const visit = (dir) => {
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    } catch {
      return;
    }
    if (pkg.pulumi && pkg.pulumi.resource === true) {
      found.push({
        name: pkg.pulumi.name || pkg.name.replace(/^@pulumi\//, ""),
        version: pkg.pulumi.version || pkg.version,
        server: pkg.pulumi.server || "",
      });
    }
  };
  let entries = [];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return found;
  }
  for (const e of entries) {
    if (e.startsWith("@")) {
      for (const s of fs.readdirSync(path.join(root, e))) visit(path.join(root, e, s));
    } else if (!e.startsWith(".")) {
      visit(path.join(root, e));
    }
  }
  return found;
}

function unimplemented(callback) {
  callback({ code: grpc.status.UNIMPLEMENTED, details: "not implemented by this language host" });
}

/** The Go host's option parsing: runtime.options.typescript (default true), tsconfig, nodeargs. */
function runtimeOptions(info) {
  const opts = info && info.getOptions() ? info.getOptions().toJavaScript() : {};
  return {
    typescript: opts.typescript === undefined ? true : opts.typescript !== false,
    tsconfig: typeof opts.tsconfig === "string" ? opts.tsconfig : "",
    nodeargs: typeof opts.nodeargs === "string" ? opts.nodeargs.split(/\s+/).filter(Boolean) : [],
  };
}

function run(call, callback) {
  const req = call.request;
  const info = req.getInfo();
  const programDir = (info && info.getProgramDirectory()) || req.getPwd() || cwd;
  const entryPoint = (info && info.getEntryPoint()) || req.getProgram() || ".";
  let runPath;
  try {
    runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [programDir] });
  } catch (err) {
    callback(
      null,
      new langpb.RunResponse().setError(
        `could not find @pulumi/pulumi in ${programDir}: run npm install (${err.message})`,
      ),
    );
    return;
  }
  const args = [runPath];
  const add = (k, v) => {
    if (v !== undefined && v !== null && v !== "") args.push(`--${k}`, String(v));
  };
  add("monitor", req.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", req.getOrganization());
  add("project", req.getProject());
  add("root-directory", info ? info.getRootDirectory() : "");
  add("stack", req.getStack());
  add("pwd", programDir);
  if (req.getDryrun()) args.push("--dry-run");
  add("parallel", req.getParallel());
  args.push(entryPoint, ...req.getArgsList());

  // Config keys reach the SDK in the "<namespace>:config:<name>" form, as the Go host sends them.
  const config = {};
  req.getConfigMap().forEach((value, key) => {
    const i = key.indexOf(":");
    config[i < 0 ? key : `${key.slice(0, i)}:config:${key.slice(i + 1)}`] = value;
  });
  const opts = runtimeOptions(info);
  const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
  if (opts.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (opts.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;

  const child = spawn(process.execPath, [...opts.nodeargs, ...args], {
    cwd: programDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.pipe(process.stdout);
  child.stderr.pipe(process.stderr);
  child.on("error", (err) => {
    callback(
      null,
      new langpb.RunResponse().setError(
        `Problem executing program (could not run language executor): ${err.message}`,
      ),
    );
  });
  child.on("close", (code, signal) => {
    const res = new langpb.RunResponse();
    // 32 is the SDK's "already showed the user an actionable message" exit code: bail without more output.
    if (code === 32) res.setBail(true);
    else if (code !== 0)
      res.setError(
        signal ? `Program exited unexpectedly: ${signal}` : `Program exited with non-zero exit code: ${code}`,
      );
    callback(null, res);
  });
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(langrpc.LanguageRuntimeService, {
  handshake(call, callback) {
    if (call.request.getEngineAddress()) engineAddress = call.request.getEngineAddress();
    callback(null, new langpb.LanguageHandshakeResponse());
  },
  getRequiredPlugins(call, callback) {
    const info = call.request.getInfo();
    const dir = (info && info.getProgramDirectory()) || call.request.getPwd() || cwd;
    const res = new langpb.GetRequiredPluginsResponse();
    for (const p of pulumiResourcePackages(dir)) {
      const d = new pluginpb.PluginDependency();
      d.setName(p.name);
      d.setKind("resource");
      d.setVersion(p.version.startsWith("v") ? p.version : `v${p.version}`);
      d.setServer(p.server);
      res.addPlugins(d);
    }
    callback(null, res);
  },
  getRequiredPackages(_call, callback) {
    unimplemented(callback); // the CLI falls back to GetRequiredPlugins
  },
  run,
  getPluginInfo(_call, callback) {
    callback(null, new pluginpb.PluginInfo().setVersion(sdkVersion));
  },
  installDependencies(call) {
    // Dependencies are installed by npm before the CLI runs (scripts/setup, the project's README).
    call.write(
      new langpb.InstallDependenciesResponse().setStdout(
        Buffer.from("Dependencies are managed by npm; nothing to do.\n"),
      ),
    );
    call.end();
  },
  about(_call, callback) {
    callback(null, new langpb.AboutResponse().setExecutable(process.execPath).setVersion(process.version));
  },
  getProgramDependencies(_call, callback) {
    callback(null, new langpb.GetProgramDependenciesResponse());
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`language host: could not listen: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
