import { expect } from "chai";
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SimCluster, clusterProcesses, seedKeyValue } from "../../sim";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { REPO, downloadAttempts, pulumiBinDir } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// The README's "Your first stack", followed to the letter: every command of its `sh` blocks (steps 1 to 5) runs as
// written, in order, in one shell, in a fresh folder that holds only the package's tarball (npm pack of this tree,
// as the README's Install section makes it). The simulated hosts are the ones the walkthrough starts itself with
// `atomic-host-sim up`, configured with `atomic-host-sim config`. Between commands the test looks at the hosts.
//
// What the environment gives, standing in for the person at the keyboard: the passphrase `pulumi stack init` asks
// for (PULUMI_CONFIG_PASSPHRASE), "yes" to `up` and `destroy` (PULUMI_SKIP_CONFIRMATIONS; without a terminal the
// CLI cannot ask), and this machine's offline settings (no update check or plugin download; npm's cache). The
// state: `pulumi login --local` means the account's home folder (the CLI reads it from the user database, not
// $HOME), shared with whatever else runs on this machine; so the test's own folders stand in for it:
// PULUMI_BACKEND_URL (which takes precedence over the login) and PULUMI_HOME. No transpile-only: the program is
// type-checked as a user's is.

const README = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
const VERSION = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version as string;

/** The walkthrough's commands: each `sh` block of steps 1-5, split into commands (a heredoc stays whole). */
function walkthroughCommands(readme: string): string[] {
  const start = readme.indexOf("## Your first stack");
  const end = readme.indexOf("### Then your real cluster", start);
  if (start < 0 || end < 0)
    throw new Error("README: no 'Your first stack' section ending at 'Then your real cluster'");
  const commands: string[] = [];
  for (const m of readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = m[1]!.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === "" || line.trim().startsWith("#")) continue;
      const heredoc = /<<'?(\w+)'?\s*$/.exec(line);
      if (!heredoc) {
        commands.push(line);
        continue;
      }
      const body = [line];
      while (++i < lines.length && lines[i] !== heredoc[1]) body.push(lines[i]!);
      body.push(heredoc[1]!);
      commands.push(body.join("\n"));
    }
  }
  return commands;
}

interface Step {
  command: string;
  code: number;
  output: string;
}

/** One bash, as a person's terminal: `cd` and exports carry over from one command to the next. */
class Shell {
  private readonly bash: ChildProcessWithoutNullStreams;
  private buffer = "";
  private waiting?: (text: string) => void;
  private n = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.bash = spawn("bash", ["--noprofile", "--norc"], { cwd, env });
    this.bash.stdout.on("data", (d) => {
      this.buffer += d;
      this.waiting?.(this.buffer);
    });
    this.bash.stderr.on("data", (d) => process.stderr.write(d));
  }

  /** Runs a command (its stdin empty, stderr with stdout) and resolves with its exit status and output. */
  run(command: string, timeoutMs: number): Promise<Step> {
    const marker = `__first_stack_step_${++this.n}__`;
    this.buffer = "";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${command}\n${this.buffer}`)), timeoutMs);
      this.waiting = (text) => {
        const m = new RegExp(`${marker} (\\d+)\\n`).exec(text);
        if (!m) return;
        clearTimeout(timer);
        this.waiting = undefined;
        resolve({ command, code: Number(m[1]), output: text.slice(0, m.index) });
      };
      this.bash.stdin.write(`{\n${command}\n} </dev/null 2>&1\necho "${marker} $?"\n`);
    });
  }

  close(): void {
    this.bash.stdin.end();
  }
}

function sh(sim: SimCluster, host: string, command: string): Promise<string> {
  return sim.exec(host, command).then((r) => r.stdout.trim());
}

describe("the README's first stack, followed to the letter", function () {
  this.timeout(30 * 60_000);
  const UNITS: Record<string, string[]> = {
    etcd1: ["etcd"],
    master1: ["flanneld", "kube-apiserver", "kube-controller-manager", "kube-scheduler"],
    worker1: ["flanneld", "kubelet", "kube-proxy"],
  };
  let workspace: string;
  let shell: Shell;
  let sim: SimCluster | undefined;
  const steps: Step[] = [];
  // `pulumi login --local` creates the account's ~/.pulumi (meta.yaml) even though the stacks live elsewhere.
  const localBackend = path.join(os.userInfo().homedir, ".pulumi");
  const hadLocalBackend = fs.existsSync(localBackend);
  const commands = walkthroughCommands(README);

  before(function () {
    skipUnlessSimAvailable(this);
    workspace = tempDir("pah-first");
    execFileSync("npm", ["pack", "--silent", "--pack-destination", workspace], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "inherit"],
    });
    fs.mkdirSync(path.join(workspace, "home"));
    fs.mkdirSync(path.join(workspace, "state"));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env))
      if (
        k.startsWith("PULUMI_") ||
        k.startsWith("npm_") ||
        k === "TS_NODE_PROJECT" ||
        k === "TS_NODE_TRANSPILE_ONLY"
      )
        delete env[k];
    Object.assign(env, {
      HOME: path.join(workspace, "home"),
      // The CLI setup found or built; not this repository's node_modules/.bin (npm test puts it on PATH).
      PATH: [pulumiBinDir(), ...(process.env.PATH ?? "").split(":").filter((d) => !d.startsWith(REPO))].join(
        ":",
      ),
      PULUMI_BACKEND_URL: `file://${path.join(workspace, "state")}`,
      PULUMI_HOME: path.join(workspace, "home", ".pulumi"),
      PULUMI_CONFIG_PASSPHRASE: "the passphrase typed at stack init",
      PULUMI_SKIP_CONFIRMATIONS: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), ".npm"),
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
    });
    shell = new Shell(workspace, env);
  });

  after(async () => {
    shell?.close();
    const dir = workspace && path.join(workspace, "rehearsal");
    if (dir && fs.existsSync(path.join(dir, "cluster.json")) && clusterProcesses(dir).length > 0)
      await SimCluster.attach(dir).stop();
    if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
    // Leave no trace: remove the login's ~/.pulumi when this test made it and it holds nothing else.
    if (!hadLocalBackend && fs.existsSync(localBackend)) {
      const left = fs.readdirSync(localBackend).filter((f) => !/^meta\.yaml(\.attrs)?$/.test(f));
      if (left.length === 0) fs.rmSync(localBackend, { recursive: true, force: true });
    }
  });

  it("installs the package from the tarball the README names", () => {
    expect(README).to.contain(`npm install @pulumi/pulumi@3.248.0 ../pulumi-atomic-host-${VERSION}.tgz`);
    expect(fs.existsSync(path.join(workspace, `pulumi-atomic-host-${VERSION}.tgz`))).to.equal(true);
    expect(commands.length).to.be.greaterThan(10);
  });

  it("runs every command of steps 1 to 5, and each does what the README says", async () => {
    let logins = 0;
    const loginsNow = () => sim!.hosts.reduce((n, h) => n + sim!.countAcceptedLogins(h.name), 0);
    const hostCommands = () => sim!.hosts.flatMap((h) => sim!.readCommandsLog(h.name).map((e) => e.command));
    let ups = 0;
    for (const command of commands) {
      const step = await shell.run(command, 15 * 60_000);
      steps.push(step);
      if (process.env.FIRST_STACK_VERBOSE) console.log(`$ ${command}\n${step.output}`);
      expect(step.code, `${command}\n${step.output}`).to.equal(0);
      expect(downloadAttempts(step.command.startsWith("npm") ? "" : step.output), command).to.deep.equal([]);

      if (command.startsWith("npm install")) {
        const installed = path.join(workspace, "my-cluster", "node_modules", "pulumi-atomic-host");
        expect(fs.existsSync(path.join(installed, "bin", "provider", "index.js"))).to.equal(true);
        // The README sends readers to the example stack configuration inside the package.
        expect(
          fs.existsSync(path.join(installed, "examples", "system-containers", "Pulumi.example.yaml")),
        ).to.equal(true);
      } else if (command.startsWith("npx atomic-host-sim up")) {
        sim = SimCluster.attach(path.join(workspace, "rehearsal"));
        expect(sim.hosts.map((h) => h.name)).to.deep.equal(["etcd1", "master1", "worker1"]);
        logins = loginsNow();
      } else if (command.startsWith("npx atomic-host-sim config")) {
        const stack = fs.readFileSync(path.join(workspace, "my-cluster", "Pulumi.rehearsal.yaml"), "utf8");
        expect(stack).to.match(/^ {2}my-cluster:cluster:$/m);
        for (const h of sim!.hosts) expect(stack).to.contain(`port: ${h.port}`).and.contain(h.hostKey);
      } else if (command.startsWith("pulumi preview")) {
        expect(step.output).to.contain(
          "atomic install --system --system-package=no --storage=ostree --name=kube-apiserver",
        );
        expect(hostCommands(), "nothing ran on a host").to.deep.equal([]);
        expect(loginsNow(), "no login").to.equal(logins);
      } else if (command === "pulumi up" && ++ups === 1) {
        for (const [host, units] of Object.entries(UNITS))
          for (const u of units)
            expect(await sh(sim!, host, `systemctl is-active ${u}`), `${host} ${u}`).to.equal("active");
        const data = await sim!.etcdGetAll("etcd1");
        for (let i = 0; i < 100; i++) {
          const [k, v] = seedKeyValue(i);
          expect(data.get(k), k).to.equal(v);
        }
        for (const h of sim!.hosts) sim!.clearCommandsLog(h.name);
        logins = loginsNow();
      } else if (command === "pulumi up") {
        // The summary has one line, "N unchanged": no resource was created, updated, replaced or deleted.
        expect(step.output, step.output).to.match(/Resources:\n\s+\d+ unchanged\n\s*\nDuration/);
        expect(step.output).not.to.match(/\d+ (created|updated|deleted|replaced)/);
        expect(hostCommands(), "the second up runs nothing").to.deep.equal([]);
        expect(loginsNow(), "the second up does not connect").to.equal(logins);
      } else if (command.startsWith("pulumi stack output hosts")) {
        const hosts = JSON.parse(step.output);
        expect(Object.keys(hosts).sort()).to.deep.equal(["etcd1", "master1", "worker1"]);
        for (const [host, units] of Object.entries(UNITS)) {
          const h = sim!.host(host);
          expect(hosts[host].address).to.equal(`${h.host}:${h.port}`);
          expect(Object.keys(hosts[host].units).sort(), host).to.deep.equal([...units].sort());
          for (const u of units) {
            expect(hosts[host].units[u].state, `${host} ${u}`).to.equal("active");
            expect(hosts[host].units[u].imageId, `${host} ${u}`).to.match(/^[0-9a-f]{64}$/);
          }
        }
        expect(hosts.etcd1.roles).to.deep.equal(["etcd"]);
        expect(hosts.etcd1.etcdMigration.source).to.equal("/var/lib/etcd/member");
        expect(hosts.etcd1.etcdMigration.files).to.be.greaterThan(0);
      } else if (command === "pulumi destroy") {
        expect(step.output).to.contain("etcd.service is left stopped and disabled (inactive, disabled)");
        expect(step.output).to.contain('"pulumi up" installs the etcd container again');
        expect(await sh(sim!, "etcd1", "systemctl is-active etcd; true")).to.equal("inactive");
        expect(await sh(sim!, "etcd1", "systemctl is-enabled etcd; true")).to.equal("disabled");
        expect(
          await sh(sim!, "etcd1", "ls -d /var/lib/etcd/member/wal /var/lib/etcd/etcd.etcd/member/wal"),
          "both copies of etcd's data stay",
        ).to.equal("/var/lib/etcd/etcd.etcd/member/wal\n/var/lib/etcd/member/wal");
        for (const h of Object.keys(UNITS))
          expect(await sh(sim!, h, "atomic containers list --all -q; true"), h).to.equal("");
      } else if (command.startsWith("npx atomic-host-sim down")) {
        expect(clusterProcesses(path.join(workspace, "rehearsal"))).to.deep.equal([]);
      }
    }
    // Each step the README names ran.
    const ran = steps.map((s) => s.command.split("\n")[0]);
    for (const expected of [
      "pulumi login --local",
      "pulumi stack init rehearsal",
      "pulumi preview --diff",
      "pulumi up",
      "pulumi stack output hosts",
      "pulumi destroy",
    ])
      expect(ran, expected).to.include(expected);
    expect(ups).to.equal(2);
  });
});
