/**
 * Runs the real Pulumi CLI (the one scripts/setup found or built) in the offline environment: a file backend in
 * a folder of its own, a passphrase, no update check, no plugin downloads.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { tempDir } from "./tempDirs";

export const REPO = path.resolve(__dirname, "..", "..");

function cliVersion(): string {
  const env = fs.readFileSync(path.join(REPO, "scripts", "toolchain", "versions.env"), "utf8");
  return /^PULUMI_CLI_VERSION=(\S+)$/m.exec(env)![1]!;
}

/** The folder holding `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`. */
export function pulumiBinDir(): string {
  const cache =
    process.env.PULUMI_ATOMIC_HOST_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "pulumi-atomic-host");
  const pointer = path.join(cache, "pulumi-bin-dir");
  if (fs.existsSync(pointer)) return fs.readFileSync(pointer, "utf8").trim();
  return path.join(cache, "pulumi-cli", `v${cliVersion()}`, "bin");
}

export interface PulumiResult {
  code: number | null;
  stdout: string;
  stderr: string;
  output: string;
}

/** A project folder with its own state backend; `run` invokes the CLI there. */
export class PulumiProject {
  readonly backend: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.backend = tempDir("pah-state");
    const bin = pulumiBinDir();
    this.env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      PULUMI_BACKEND_URL: `file://${this.backend}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      PULUMI_HOME: path.join(this.backend, ".pulumi-home"),
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      ...extraEnv,
    };
  }

  /** Runs `pulumi ARGS` (non-interactive) and returns what it printed; never throws on a non-zero exit. */
  run(
    args: string[],
    opts: { input?: string; timeoutMs?: number; signalAfterMs?: number } = {},
  ): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: this.env });
      let stdout = "";
      let stderr = "";
      let output = "";
      child.stdout.on("data", (d) => {
        stdout += d;
        output += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
        output += d;
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
      if (opts.signalAfterMs !== undefined) setTimeout(() => child.kill("SIGINT"), opts.signalAfterMs);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, output });
      });
      if (opts.input !== undefined) child.stdin.end(opts.input);
      else child.stdin.end();
    });
  }

  /** Like `run`, but fails with the CLI's whole output when it exits non-zero. */
  async ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<PulumiResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}:\n${r.output}`);
    return r;
  }

  async init(
    stack: string,
    config: Record<string, string> = {},
    secrets: Record<string, string> = {},
  ): Promise<void> {
    await this.ok(["stack", "init", stack]);
    for (const [k, v] of Object.entries(config)) await this.ok(["config", "set", k, v]);
    for (const [k, v] of Object.entries(secrets))
      await this.ok(["config", "set", "--secret", k], { input: v });
  }

  /** Sets an object-valued config key from JSON (`--path` would need one call per leaf). */
  async setObject(key: string, value: unknown): Promise<void> {
    const file = path.join(this.dir, `Pulumi.${await this.currentStack()}.yaml`);
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const line = `  ${key}: ${JSON.stringify(value)}\n`;
    fs.writeFileSync(
      file,
      text.includes("config:") ? text.replace(/config:\n/, `config:\n${line}`) : `config:\n${line}`,
    );
  }

  async currentStack(): Promise<string> {
    const r = await this.ok(["stack", "--show-name"]);
    return r.stdout.trim();
  }

  async exportState(): Promise<any> {
    return JSON.parse((await this.ok(["stack", "export", "--show-secrets=false"])).stdout);
  }

  cleanup(): void {
    fs.rmSync(this.backend, { recursive: true, force: true });
  }
}

let packedInstall: string | undefined;

/**
 * `npm pack` of this repository installed into a folder of its own (with @pulumi/pulumi beside it), once per
 * test process: programs that link to it prove the package works as users install it, not only from source.
 */
export function installedPackageModules(): string {
  if (packedInstall) return packedInstall;
  const dir = tempDir("pah-installed");
  const tgz = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], {
    cwd: REPO,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop()!;
  const sdk = JSON.parse(
    fs.readFileSync(path.join(REPO, "node_modules/@pulumi/pulumi/package.json"), "utf8"),
  ).version;
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "e2e-install", private: true }));
  execFileSync(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--loglevel=error",
      path.join(dir, tgz),
      `@pulumi/pulumi@${sdk}`,
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "inherit"] },
  );
  packedInstall = path.join(dir, "node_modules");
  return packedInstall;
}

/** Writes a Pulumi project (Pulumi.yaml + index.ts) into a new temp folder linked to the installed package. */
export function writeProgram(name: string, source: string): string {
  const dir = tempDir(`pah-prog-${name}`);
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
  );
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, main: "index.ts", private: true }));
  fs.writeFileSync(path.join(dir, "index.ts"), source);
  fs.symlinkSync(installedPackageModules(), path.join(dir, "node_modules"));
  return dir;
}

/** Lines of CLI output that would mean it tried to fetch something from the network. */
export function downloadAttempts(output: string): string[] {
  return output
    .split("\n")
    .filter((l) => /download|get\.pulumi\.com|github\.com\/pulumi|plugin install/i.test(l));
}
