import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { SimCluster, type ClusterHostEntry } from "../../sim";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { PulumiProject, type PulumiResult, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// Faults through the real Pulumi CLI against simulated Fedora 26 Atomic hosts: sshd killed in the middle of an
// `up`, a host that cannot be reached, a slow reboot, an `up` interrupted with SIGINT, and an rpm-ostree
// transaction held by another client. Every case waits on what the hosts did (their commands.log), never on a
// guess of how long the CLI takes, so it holds on a loaded machine; the only time bounds are generous ceilings.
// FAULTS_TEST_VERBOSE=1 prints each CLI run's output.

const REGISTRY = "registry.fedoraproject.org/f27";
const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const WORKER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-node --install=flannel`;
const TRANSACTION = /^rpm-ostree (install|uninstall|rebase|upgrade|deploy|rollback)\b/;
const IMAGES: Record<string, string> = {
  flanneld: "flannel",
  "kube-apiserver": "kubernetes-apiserver",
  "kube-controller-manager": "kubernetes-controller-manager",
  "kube-scheduler": "kubernetes-scheduler",
  kubelet: "kubernetes-kubelet",
  "kube-proxy": "kubernetes-proxy",
};

/**
 * System containers on any number of hosts, from stack configuration: `hosts` (name, host, port, hostKey),
 * `containers` (per host, in order: each waits for the one before it when `chain` is true) and `connection`
 * (extra connection fields such as dialErrorLimit). Exports every unit's state by resource name.
 */
const CONTAINERS_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

interface HostConfig { name: string; host: string; port: number; hostKey: string }
const config = new pulumi.Config();
const hosts = config.requireObject<HostConfig[]>("hosts");
const containers = config.requireObject<{ name: string; image: string }[]>("containers");
const extra = config.getObject<Record<string, number>>("connection") ?? {};
const chain = config.getBoolean("chain") ?? false;
const units: Record<string, pulumi.Output<string>> = {};
for (const h of hosts) {
  const connection = { host: h.host, port: h.port, hostKey: h.hostKey, ...extra };
  let previous: SystemContainer | undefined;
  for (const c of containers) {
    const r: SystemContainer = new SystemContainer(
      h.name + "-" + c.name,
      { connection, name: c.name, image: c.image },
      chain && previous ? { dependsOn: [previous] } : {},
    );
    units[h.name + "-" + c.name] = r.unitState;
    previous = r;
  }
}
export const unitStates = units;
`;

/**
 * Fedora's 26→27 upgrade guide adds the fedora-atomic-27 remote first (a Fedora 26 host ships only fedora-atomic);
 * these hosts get it by hand so the program below is the bare LayeredPackage.
 */
const ADD_F27_REMOTE =
  "cat >/dev/null; ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary " +
  "fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27";

/**
 * The guide's worker layering, then a LayeredPackage that waits for it (a tool added afterwards), so that an `up`
 * interrupted during the first transaction leaves the second not begun.
 */
const LAYERING_CHAIN_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { LayeredPackage } from "pulumi-atomic-host";

const config = new pulumi.Config();
const h = config.requireObject<{ host: string; port: number; hostKey: string }>("host");
const connection = { host: h.host, port: h.port, hostKey: h.hostKey };
const worker = new LayeredPackage("worker-packages", {
  connection,
  packages: ["kubernetes-node", "flannel"],
  rebase: "${F27}",
});
const tools = new LayeredPackage("tools", { connection, packages: ["htop"] }, { dependsOn: [worker] });
export const booted = tools.booted;
export const layered = tools.layeredPackages;
`;

/** The guide's worker command (kubernetes-node and flannel, rebased to Fedora 27) on one host. */
const WORKER_LAYERING_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { LayeredPackage } from "pulumi-atomic-host";

const config = new pulumi.Config();
const h = config.requireObject<{ host: string; port: number; hostKey: string }>("host");
const worker = new LayeredPackage("worker-packages", {
  connection: { host: h.host, port: h.port, hostKey: h.hostKey },
  packages: ["kubernetes-node", "flannel"],
  rebase: "${F27}",
  rebootTimeoutSeconds: config.getNumber("rebootTimeoutSeconds"),
});
export const booted = worker.booted;
export const layered = worker.layeredPackages;
export const pendingReboot = worker.pendingReboot;
`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tmp(tag: string): string {
  return tempDir(`pah-faults-${tag}`);
}

/** Polls `predicate` every 100 ms until it holds; fails after `timeoutMs` saying what it waited for. */
async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function show(label: string, r: PulumiResult): void {
  if (process.env.FAULTS_TEST_VERBOSE) console.log(`----- ${label} (exit ${r.code})\n${r.output}\n-----`);
}

function hostConfig(h: ClusterHostEntry) {
  return { name: h.name, host: h.host, port: h.port, hostKey: h.hostKey };
}

function containerSpecs(names: string[]) {
  return names.map((name) => ({ name, image: `${REGISTRY}/${IMAGES[name]}` }));
}

/** A project running `source`, its stack holding the cluster's key as the `atomic-host:privateKey` secret. */
async function stackFor(
  name: string,
  source: string,
  sim: SimCluster,
  config: Record<string, unknown>,
): Promise<PulumiProject> {
  const p = new PulumiProject(writeProgram(name, source));
  await p.init(
    "dev",
    {},
    { "atomic-host:privateKey": fs.readFileSync(sim.hosts[0]!.privateKeyPath, "utf8") },
  );
  for (const [k, v] of Object.entries(config)) await p.setObject(`${name}:${k}`, v);
  return p;
}

/**
 * `pulumi up --yes` that gets SIGINT (and, with `twice`, a second one: terminate) as soon as `when` holds, so
 * the interruption lands in the middle of the host's work however long the CLI took to get there. `afterSignal`
 * then runs with the CLI's output so far (to release a fault once the CLI has acknowledged the signal, say).
 */
function upInterrupted(
  p: PulumiProject,
  when: () => boolean | Promise<boolean>,
  opts: { twice?: boolean; afterSignal?: (output: () => string) => Promise<void> } = {},
): Promise<PulumiResult & { signalled: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", ["up", "--yes", "--non-interactive"], { cwd: p.dir, env: p.env });
    let stdout = "";
    let stderr = "";
    let output = "";
    let signalled = 0;
    let closed = false;
    let watchError: unknown;
    child.stdout.on("data", (d) => ((stdout += d), (output += d)));
    child.stderr.on("data", (d) => ((stderr += d), (output += d)));
    child.stdin.end();
    const watch = async () => {
      while (!closed && !(await when())) await sleep(100);
      if (closed) return;
      child.kill("SIGINT");
      signalled = 1;
      if (opts.twice) {
        await sleep(500);
        if (child.exitCode === null) {
          child.kill("SIGINT");
          signalled = 2;
        }
      }
      await opts.afterSignal?.(() => output);
    };
    const watching = watch().catch((e: unknown) => (watchError = e));
    const killer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("error", reject);
    child.on("close", (code) => {
      closed = true;
      clearTimeout(killer);
      void watching.then(() =>
        watchError === undefined ? resolve({ code, stdout, stderr, output, signalled }) : reject(watchError),
      );
    });
  });
}

/**
 * The CLI's "Diagnostics:" section, by resource name (`pulumi:pulumi:Stack` under the stack's name): what each
 * resource reported, errors included.
 */
function diagnostics(output: string): Map<string, string> {
  const out = new Map<string, string>();
  const start = output.lastIndexOf("\nDiagnostics:\n");
  if (start < 0) return out;
  let current: string | undefined;
  for (const line of output.slice(start + 14).split("\n")) {
    if (/^\S/.test(line)) break; // "Outputs:", "Resources:": the section is over
    const header = /^ {2}\S.*\((.+)\):$/.exec(line);
    if (header) {
      current = header[1]!;
      out.set(current, "");
    } else if (current !== undefined) out.set(current, `${out.get(current)}${line}\n`);
  }
  return out;
}

/** The update said nothing changed: `count` resources (and the stack) unchanged, nothing else. */
function expectNoChanges(r: PulumiResult, count: number): void {
  expect(r.code, r.output).to.equal(0);
  const resources = r.output.slice(r.output.lastIndexOf("\nResources:\n"));
  expect(resources, r.output).to.match(
    new RegExp(`^\\nResources:\\n\\s+${count + 1} unchanged\\n\\nDuration`),
  );
}

/** Names of the SystemContainer resources recorded in an exported stack state. */
function containersInState(state: any): string[] {
  return (state.deployment.resources ?? [])
    .filter((r: any) => r.type === "pulumi-nodejs:dynamic/atomic-host:SystemContainer")
    .map((r: any) => r.urn.split("::").pop())
    .sort();
}

async function isActive(sim: SimCluster, host: string, unit: string): Promise<string> {
  return (await sim.exec(host, `systemctl is-active ${unit}`)).stdout.trim();
}

/** Names in `atomic containers list -a --json` on the host (one entry per installed container). */
async function installedContainers(sim: SimCluster, host: string): Promise<string[]> {
  const out = (await sim.exec(host, "atomic containers list -a --json")).stdout.trim();
  return out === "" ? [] : (JSON.parse(out) as { name: string }[]).map((c) => c.name).sort();
}

async function stopCluster(sim: SimCluster | undefined): Promise<void> {
  if (!sim) return;
  await sim.stop();
  fs.rmSync(sim.dir, { recursive: true, force: true });
}

describe("faults through the Pulumi CLI against simulated hosts", function () {
  this.timeout(20 * 60_000);

  before(function () {
    skipUnlessSimAvailable(this);
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a host's sshd killed during up", () => {
    const HOSTS = ["host1", "host2", "victim"];
    const CONTAINERS = ["flanneld", "kubelet", "kube-proxy"];
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      // host1 runs the cluster's etcd, which holds flannel's network config: every flanneld needs it for its lease.
      sim = await SimCluster.start({ dir: tmp("sshd"), hosts: HOSTS, etcdHosts: ["host1"] });
      p = await stackFor("faults-sshd", CONTAINERS_PROGRAM, sim, {
        hosts: sim.hosts.map(hostConfig),
        containers: containerSpecs(CONTAINERS),
        // Three quick dial attempts: a dead sshd is reported in seconds, not after the default ten.
        connection: { dialErrorLimit: 3, perDialTimeout: 5 },
      });
    });

    after(async () => {
      await stopCluster(sim);
      p?.cleanup();
    });

    it("fails the victim's resources with errors naming the host, and converges the other hosts", async () => {
      const victim = sim.host("victim");
      // Every command on the victim starts 2.5 s late: the kill lands while the create that installed first is
      // still running (its start and read-back), with seconds to spare on a loaded machine.
      sim.slow("victim", 2500);
      const installs = () =>
        sim.readCommandsLog("victim").filter((e) => e.command.startsWith("atomic install")).length;
      const killed = until("the victim's first atomic install", () => installs() >= 1).then(() =>
        sim.killSshd("victim", { restartAfterMs: -1 }),
      );
      const r = await p.run(["up", "--yes"]);
      await killed;
      show("up with sshd killed", r);
      expect(r.code, r.output).to.not.equal(0);
      // Each of the victim's resources failed with an error naming it (user@host:port), saying what happened
      // and what to do next; the other hosts' resources have no diagnostics and their units run.
      const diags = diagnostics(r.output);
      const label = `root@127.0.0.1:${victim.port}`;
      for (const unit of CONTAINERS) {
        const d = diags.get(`victim-${unit}`) ?? "";
        expect(d, `victim-${unit}`).to.match(/error: .*\[(connection|connect)\] root@127\.0\.0\.1:\d+: /s);
        expect(d, `victim-${unit}`).to.include(label);
        expect(d, `victim-${unit}`).to.include("next: ");
      }
      for (const h of ["host1", "host2"]) {
        for (const unit of CONTAINERS) {
          expect(diags.has(`${h}-${unit}`), `${h}-${unit} has diagnostics`).to.equal(false);
          expect(await isActive(sim, h, unit), `${h} ${unit}`).to.equal("active");
        }
      }
      // The create that had installed its container is recorded with its error (a partial state the next up
      // repairs); the others had changed nothing and are not recorded.
      const state = await p.exportState();
      const recorded = (state.deployment.resources as any[]).filter((x) => /::victim-/.test(x.urn));
      expect(recorded, JSON.stringify(recorded.map((x) => x.urn))).to.have.length(1);
      expect((recorded[0].initErrors ?? []).join("\n")).to.match(
        /\[(connection|connect)\] root@127\.0\.0\.1:/,
      );
      expect(containersInState(state).filter((n) => !n.startsWith("victim-"))).to.have.length(6);
    });

    it("completes on the next up once sshd is back, and a further up reports no changes", async () => {
      sim.slow("victim", 0);
      await sim.startHost("victim");
      const r = await p.run(["up", "--yes"]);
      show("up after sshd restart", r);
      expect(r.code, r.output).to.equal(0);
      for (const h of HOSTS) {
        for (const unit of CONTAINERS)
          expect(await isActive(sim, h, unit), `${h} ${unit}`).to.equal("active");
        expect(await installedContainers(sim, h), h).to.deep.equal([...CONTAINERS].sort());
      }
      // The container installed before the kill was taken up where it stopped, not installed a second time.
      const installed = sim
        .readCommandsLog("victim")
        .filter((e) => e.command.startsWith("atomic install") && e.exitCode === 0)
        .map((e) => /--name=(\S+)/.exec(e.command)![1]);
      expect(installed.sort()).to.deep.equal([...CONTAINERS].sort());
      const again = await p.run(["up", "--yes"]);
      show("up once more", again);
      expect(again.code, again.output).to.equal(0);
      expectNoChanges(again, HOSTS.length * CONTAINERS.length);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a host that cannot be reached", () => {
    let sim: SimCluster;
    let p: PulumiProject;
    let silent: net.Server;
    let silentPort: number;
    const held: net.Socket[] = [];

    before(async () => {
      sim = await SimCluster.start({ dir: tmp("unreach"), hosts: ["down"], etcdHosts: [] });
      // A port that accepts TCP connections but never says a word (no SSH banner): only the per-dial timeout
      // ends each attempt, as with a host behind a firewall that drops packets.
      silent = net.createServer((s) => held.push(s.on("error", () => undefined)));
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      silentPort = (silent.address() as net.AddressInfo).port;
      const down = hostConfig(sim.host("down"));
      p = await stackFor("faults-unreach", CONTAINERS_PROGRAM, sim, {
        hosts: [down, { ...down, name: "silent", port: silentPort }],
        containers: containerSpecs(["flanneld"]),
        connection: { dialErrorLimit: 2, perDialTimeout: 2 },
      });
    });

    after(async () => {
      for (const s of held) s.destroy();
      silent?.close();
      await stopCluster(sim);
      p?.cleanup();
    });

    it("fails within the dial deadline with a connect error naming host:port", async () => {
      await sim.kill("down");
      const port = sim.host("down").port;
      const started = Date.now();
      const r = await p.run(["up", "--yes"]);
      const seconds = (Date.now() - started) / 1000;
      show("up with unreachable hosts", r);
      expect(r.code, r.output).to.not.equal(0);
      // 2 attempts of at most 2 s each, plus the CLI's own start-up: far below this ceiling on any machine.
      expect(seconds, "seconds until pulumi up failed").to.be.below(120);
      const diags = diagnostics(r.output);
      const refused = diags.get("down-flanneld") ?? "";
      expect(refused).to.include(`[connect] root@127.0.0.1:${port}: could not open an SSH connection`);
      expect(refused).to.include(`ECONNREFUSED 127.0.0.1:${port}`);
      expect(refused).to.include("next: check that the host is up");
      const mute = diags.get("silent-flanneld") ?? "";
      expect(mute).to.include(`[connect] root@127.0.0.1:${silentPort}: no SSH session within 2 s`);
      expect(mute).to.include("next: check that the host is up");
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("a slow reboot", () => {
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      // The host stays down 15 s after `systemctl reboot`, as a real machine's firmware and boot would.
      sim = await SimCluster.start({
        dir: tmp("reboot"),
        hosts: ["worker"],
        etcdHosts: [],
        rebootDownMs: 15_000,
      });
      expect((await sim.exec("worker", ADD_F27_REMOTE)).exitCode).to.equal(0);
      p = await stackFor("faults-reboot", WORKER_LAYERING_PROGRAM, sim, {
        host: hostConfig(sim.host("worker")),
        rebootTimeoutSeconds: 120,
      });
    });

    after(async () => {
      await stopCluster(sim);
      p?.cleanup();
    });

    it("waits for the host to come back and succeeds, reporting its progress", async () => {
      const bootId = sim.bootId("worker");
      const r = await p.run(["up", "--yes"]);
      show("up with a slow reboot", r);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.match(/rebooting \(.+\); waiting up to 120 s for it to come back/);
      const back = /back after (\d+) s with a new boot id/.exec(r.output);
      expect(back, r.output).to.not.equal(null);
      // The simulator keeps the host down 15 s: the provider cannot have seen it back much sooner.
      expect(Number(back![1])).to.be.at.least(10);
      const log = sim.readCommandsLog("worker").map((e) => e.command);
      expect(log.filter((c) => TRANSACTION.test(c))).to.deep.equal([WORKER_REBASE]);
      expect(log.filter((c) => c === "systemctl reboot")).to.have.length(1);
      expect(sim.bootId("worker")).to.not.equal(bootId);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      expect(outs.layered).to.deep.equal(["flannel", "kubernetes-node"]);
      expect(outs.pendingReboot).to.equal(false);
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("up interrupted with SIGINT", () => {
    const CONTAINERS = Object.keys(IMAGES);
    let sim: SimCluster;
    const installs = (host: string) =>
      sim.readCommandsLog(host).filter((e) => e.command.startsWith("atomic install") && e.exitCode === 0);
    const installedNames = (host: string) => installs(host).map((e) => /--name=(\S+)/.exec(e.command)![1]);
    const projects: PulumiProject[] = [];

    async function project(name: string, host: string): Promise<PulumiProject> {
      const p = await stackFor(name, CONTAINERS_PROGRAM, sim, {
        hosts: [hostConfig(sim.host(host))],
        containers: containerSpecs(CONTAINERS),
        // One after another, so that when the signal comes some are done, one is in flight, others not begun.
        chain: true,
      });
      projects.push(p);
      return p;
    }

    async function expectConverged(host: string): Promise<void> {
      for (const unit of CONTAINERS) expect(await isActive(sim, host, unit), unit).to.equal("active");
      expect(await installedContainers(sim, host)).to.deep.equal([...CONTAINERS].sort());
    }

    before(async () => {
      // graceful runs the cluster's etcd, which holds flannel's network config: both flanneld need it for a lease.
      sim = await SimCluster.start({
        dir: tmp("sigint"),
        hosts: ["graceful", "terminated"],
        etcdHosts: ["graceful"],
      });
    });

    after(async () => {
      await stopCluster(sim);
      for (const p of projects) p.cleanup();
    });

    describe("once (cancel)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-sigint", "graceful");
      });

      it("finishes the operation in flight, starts no other, and leaves no pending operation", async () => {
        sim.slow("graceful", 1000);
        // The signal comes while the first container's create is still running (its start and read-back).
        const r = await upInterrupted(p, () => installs("graceful").length >= 1);
        show("up interrupted", r);
        sim.slow("graceful", 0);
        expect(r.signalled).to.equal(1);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; cancelling");
        expect(r.output).to.include("error: update canceled");
        const state = await p.exportState();
        expect(state.deployment.pending_operations ?? []).to.deep.equal([]);
        expect(containersInState(state)).to.deep.equal(["graceful-flanneld"]);
        expect(installedNames("graceful")).to.deep.equal(["flanneld"]);
      });

      it("completes on the next up, a further up reports no changes, and installs nothing twice", async () => {
        const r = await p.run(["up", "--yes"]);
        show("up after SIGINT", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged("graceful");
        expect(installedNames("graceful").sort()).to.deep.equal([...CONTAINERS].sort());
        expectNoChanges(await p.run(["up", "--yes"]), CONTAINERS.length);
      });
    });

    describe("twice (terminate)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-sigterm", "terminated");
      });

      it("leaves the create in flight pending", async () => {
        sim.slow("terminated", 1000);
        const r = await upInterrupted(p, () => installs("terminated").length >= 1, { twice: true });
        show("up terminated", r);
        sim.slow("terminated", 0);
        expect(r.signalled).to.equal(2);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; terminating");
        const pending = (await p.exportState()).deployment.pending_operations ?? [];
        expect(pending.map((o: any) => [o.type, o.resource.urn.split("::").pop()])).to.deep.equal([
          ["creating", "terminated-flanneld"],
        ]);
      });

      it("recovers with refresh --clear-pending-creates, then up, installing nothing twice", async () => {
        // What the CLI's warning points to ("repair your stack using `pulumi refresh`"); without a terminal the
        // pending create is only cleared when asked for explicitly (a plain `refresh --yes` leaves it).
        const refresh = await p.run(["refresh", "--clear-pending-creates", "--yes"]);
        show("refresh --clear-pending-creates", refresh);
        expect(refresh.code, refresh.output).to.equal(0);
        expect((await p.exportState()).deployment.pending_operations ?? []).to.deep.equal([]);
        const r = await p.run(["up", "--yes"]);
        show("up after refresh", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged("terminated");
        // flanneld, installed before the CLI was killed, was adopted by the new create, not installed again.
        expect(installedNames("terminated").sort()).to.deep.equal([...CONTAINERS].sort());
        expectNoChanges(await p.run(["up", "--yes"]), CONTAINERS.length);
      });
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("LayeredPackage: up interrupted with SIGINT during the rpm-ostree transaction", () => {
    let sim: SimCluster;
    const projects: PulumiProject[] = [];
    const rebases = (host: string) => sim.readCommandsLog(host).filter((e) => e.command === WORKER_REBASE);
    const transactions = (host: string) =>
      sim.readCommandsLog(host).filter((e) => TRANSACTION.test(e.command));

    async function status(host: string): Promise<{ transaction: unknown; deployments: any[] }> {
      return JSON.parse((await sim.exec(host, "cat >/dev/null; rpm-ostree status --json")).stdout);
    }

    async function project(name: string, host: string): Promise<PulumiProject> {
      const p = await stackFor(name, LAYERING_CHAIN_PROGRAM, sim, { host: hostConfig(sim.host(host)) });
      projects.push(p);
      return p;
    }

    /** Both resources' packages are layered in the booted Fedora 27 deployment, nothing pending. */
    async function expectConverged(p: PulumiProject, host: string): Promise<void> {
      const booted = (await status(host)).deployments.find((d) => d.booted);
      expect(booted.origin).to.equal(F27);
      expect([...booted.packages].sort()).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      expect(outs.layered).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
    }

    before(async () => {
      sim = await SimCluster.start({
        dir: tmp("lp-sigint"),
        hosts: ["graceful", "terminated"],
        etcdHosts: [],
        rebootDownMs: 1500,
      });
      for (const h of ["graceful", "terminated"])
        expect((await sim.exec(h, ADD_F27_REMOTE)).exitCode).to.equal(0);
    });

    after(async () => {
      for (const h of ["graceful", "terminated"]) sim?.holdTransaction(h, false);
      await stopCluster(sim);
      for (const p of projects) p.cleanup();
    });

    describe("once (cancel)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-lp-sigint", "graceful");
      });

      it("finishes the transaction in flight and its reboot, starts no other resource, and leaves no pending operation", async () => {
        // Held, the rebase transaction is running on the host when the signal comes; it is released once the CLI
        // has said it is cancelling, and the create in flight then finishes.
        sim.holdTransaction("graceful", true);
        const r = await upInterrupted(p, async () => (await status("graceful")).transaction !== null, {
          afterSignal: async (output) => {
            await until("the CLI to acknowledge the signal", () => output().includes("received; cancelling"));
            sim.holdTransaction("graceful", false);
          },
        });
        show("up interrupted during the transaction", r);
        expect(r.signalled).to.equal(1);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("error: update canceled");
        const state = await p.exportState();
        expect(state.deployment.pending_operations ?? []).to.deep.equal([]);
        const recorded = (state.deployment.resources as any[])
          .filter((x) => x.type === "pulumi-nodejs:dynamic/atomic-host:LayeredPackage")
          .map((x) => x.urn.split("::").pop());
        expect(recorded).to.deep.equal(["worker-packages"]);
        // The rebase ran once, succeeded, and the host rebooted into it; htop's transaction never started.
        expect(transactions("graceful").map((e) => [e.command, e.exitCode])).to.deep.equal([
          [WORKER_REBASE, 0],
        ]);
        const booted = (await status("graceful")).deployments.find((d) => d.booted);
        expect(booted.origin).to.equal(F27);
      });

      it("completes on the next up with htop's transaction alone, and a further up reports no changes", async () => {
        const r = await p.run(["up", "--yes"]);
        show("up after SIGINT", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged(p, "graceful");
        expect(rebases("graceful")).to.have.length(1);
        expect(transactions("graceful").map((e) => e.command)).to.deep.equal([
          WORKER_REBASE,
          "rpm-ostree install htop",
        ]);
        expectNoChanges(await p.run(["up", "--yes"]), 2);
      });
    });

    describe("twice (terminate)", () => {
      let p: PulumiProject;
      before(async () => {
        p = await project("faults-lp-sigterm", "terminated");
      });

      it("leaves the create in flight pending; rpm-ostreed finishes the transaction on its own", async () => {
        sim.holdTransaction("terminated", true);
        const r = await upInterrupted(p, async () => (await status("terminated")).transaction !== null, {
          twice: true,
        });
        show("up terminated during the transaction", r);
        expect(r.signalled).to.equal(2);
        expect(r.code, r.output).to.not.equal(0);
        expect(r.output).to.include("received; terminating");
        const pending = (await p.exportState()).deployment.pending_operations ?? [];
        expect(pending.map((o: any) => [o.type, o.resource.urn.split("::").pop()])).to.deep.equal([
          ["creating", "worker-packages"],
        ]);
        // The provider is gone; the daemon still holds the transaction, and finishes it once released: the change
        // is staged, not booted (the reboot was the provider's next step).
        expect((await status("terminated")).transaction).to.not.equal(null);
        sim.holdTransaction("terminated", false);
        await until(
          "the transaction to end on the host",
          async () => (await status("terminated")).transaction === null,
        );
        const [pendingDeployment, booted] = (await status("terminated")).deployments;
        expect(pendingDeployment.origin).to.equal(F27);
        expect(pendingDeployment.booted).to.equal(false);
        expect(booted.booted).to.equal(true);
        // Its client, left following it on the host, ends with it and is logged then.
        await until("the terminated client's commands.log line", () => rebases("terminated").length === 1);
      });

      it("recovers with refresh --clear-pending-creates, then up, without a second transaction for the staged change", async () => {
        const refresh = await p.run(["refresh", "--clear-pending-creates", "--yes"]);
        show("refresh --clear-pending-creates", refresh);
        expect(refresh.code, refresh.output).to.equal(0);
        expect((await p.exportState()).deployment.pending_operations ?? []).to.deep.equal([]);
        const r = await p.run(["up", "--yes"]);
        show("up after refresh", r);
        expect(r.code, r.output).to.equal(0);
        await expectConverged(p, "terminated");
        // The staged rebase was booted as it was: the only rebase is the one the terminated up started.
        expect(rebases("terminated")).to.have.length(1);
        expect(transactions("terminated").map((e) => e.command)).to.deep.equal([
          WORKER_REBASE,
          "rpm-ostree install htop",
        ]);
        expectNoChanges(await p.run(["up", "--yes"]), 2);
      });
    });
  });

  // -------------------------------------------------------------------------------------------------------------
  describe("an rpm-ostree transaction held by another client", () => {
    let sim: SimCluster;
    let p: PulumiProject;

    before(async () => {
      sim = await SimCluster.start({ dir: tmp("txn"), hosts: ["worker"], etcdHosts: [], rebootDownMs: 1500 });
      expect((await sim.exec("worker", ADD_F27_REMOTE)).exitCode).to.equal(0);
      p = await stackFor("faults-txn", WORKER_LAYERING_PROGRAM, sim, {
        host: hostConfig(sim.host("worker")),
        rebootTimeoutSeconds: 120,
      });
    });

    after(async () => {
      sim?.holdTransaction("worker", false);
      await stopCluster(sim);
      p?.cleanup();
    });

    it("waits for it, and converges once it is released", async () => {
      sim.holdTransaction("worker", true);
      // A client started on the host itself (not over SSH) takes the transaction and holds it. The trailing
      // sleep keeps bash alive until sim.exec has closed its stdin.
      await sim.exec("worker", "setsid rpm-ostree install htop >/dev/null 2>&1 </dev/null & sleep 1");
      await until("the other client's transaction", async () => {
        const st = JSON.parse((await sim.exec("worker", "rpm-ostree status --json")).stdout);
        return st.transaction !== null && st.transaction !== undefined;
      });
      const statusReads = () =>
        sim.readCommandsLog("worker").filter((e) => e.command === "rpm-ostree status --json").length;
      let releasedAt = 0;
      const release = until("the provider reading the status", () => statusReads() >= 1).then(async () => {
        await sleep(10_000);
        releasedAt = Date.now();
        sim.holdTransaction("worker", false);
      });
      const r = await p.run(["up", "--yes"]);
      await release;
      show("up with a held transaction", r);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.include("waiting for a running rpm-ostree transaction (");
      const txns = sim.readCommandsLog("worker").filter((e) => TRANSACTION.test(e.command));
      // One transaction of ours, run after the other client's ended: it never collided with it.
      expect(txns.map((e) => e.command)).to.deep.equal([WORKER_REBASE]);
      expect(txns[0]!.exitCode).to.equal(0);
      expect(Date.parse(txns[0]!.time)).to.be.at.least(releasedAt - 1000);
      const outs = JSON.parse((await p.ok(["stack", "output", "--json"])).stdout);
      expect(outs.booted.origin).to.equal(F27);
      // htop, staged by the other client, stays layered: the rebase built on its deployment.
      expect(outs.layered).to.deep.equal(["flannel", "htop", "kubernetes-node"]);
      expect(outs.pendingReboot).to.equal(false);
    });
  });
});
