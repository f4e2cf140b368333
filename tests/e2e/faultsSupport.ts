/**
 * What the fault e2e files share (faults.test.ts, interrupts.test.ts): the Pulumi programs they run, a stack per
 * simulated cluster, an `up` interrupted by signals, and readers of the hosts' state. Split out so that the two
 * files can run at the same time (npm test runs test files in parallel).
 */
import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import { SimCluster, type ClusterHostEntry } from "../../sim";
import { PulumiProject, type PulumiResult, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

export const REGISTRY = "registry.fedoraproject.org/f27";
export const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
export const WORKER_REBASE = `rpm-ostree rebase ${F27} --install=kubernetes-node --install=flannel`;
export const TRANSACTION = /^rpm-ostree (install|uninstall|rebase|upgrade|deploy|rollback)\b/;
export const IMAGES: Record<string, string> = {
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
export const CONTAINERS_PROGRAM = `
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
export const ADD_F27_REMOTE =
  "cat >/dev/null; ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary " +
  "fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27";

/**
 * The guide's worker layering, then a LayeredPackage that waits for it (a tool added afterwards), so that an `up`
 * interrupted during the first transaction leaves the second not begun.
 */
export const LAYERING_CHAIN_PROGRAM = `
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
export const WORKER_LAYERING_PROGRAM = `
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

/**
 * The migration guide's etcd host: the data moved to the container's layout (`EtcdDataMigration`, defaults
 * /var/lib/etcd/member to /var/lib/etcd/etcd.etcd), then the etcd system container started on it, after the
 * migration as the guide orders them.
 */
export const ETCD_MIGRATION_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { EtcdDataMigration, SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const h = config.requireObject<{ host: string; port: number; hostKey: string }>("host");
const connection = { host: h.host, port: h.port, hostKey: h.hostKey };
const migration = new EtcdDataMigration("etcd-data", { connection });
const etcd = new SystemContainer(
  "etcd",
  { connection, name: "etcd", image: "${REGISTRY}/etcd" },
  { dependsOn: [migration] },
);
export const migratedAt = migration.migratedAt;
export const etcdUnit = etcd.unitState;
`;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function tmp(tag: string): string {
  return tempDir(`pah-faults-${tag}`);
}

/** Polls `predicate` every 100 ms until it holds; fails after `timeoutMs` saying what it waited for. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export function show(label: string, r: PulumiResult): void {
  if (process.env.FAULTS_TEST_VERBOSE) console.log(`----- ${label} (exit ${r.code})\n${r.output}\n-----`);
}

export function hostConfig(h: ClusterHostEntry) {
  return { name: h.name, host: h.host, port: h.port, hostKey: h.hostKey };
}

export function containerSpecs(names: string[]) {
  return names.map((name) => ({ name, image: `${REGISTRY}/${IMAGES[name]}` }));
}

/** A project running `source`, its stack holding the cluster's key as the `atomic-host:privateKey` secret. */
export async function stackFor(
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
export function upInterrupted(
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
export function diagnostics(output: string): Map<string, string> {
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
export function expectNoChanges(r: PulumiResult, count: number): void {
  expect(r.code, r.output).to.equal(0);
  const resources = r.output.slice(r.output.lastIndexOf("\nResources:\n"));
  expect(resources, r.output).to.match(
    new RegExp(`^\\nResources:\\n\\s+${count + 1} unchanged\\n\\nDuration`),
  );
}

/** Names of the SystemContainer resources recorded in an exported stack state. */
export function containersInState(state: any): string[] {
  return (state.deployment.resources ?? [])
    .filter((r: any) => r.type === "pulumi-nodejs:dynamic/atomic-host:SystemContainer")
    .map((r: any) => r.urn.split("::").pop())
    .sort();
}

export async function isActive(sim: SimCluster, host: string, unit: string): Promise<string> {
  return (await sim.exec(host, `systemctl is-active ${unit}`)).stdout.trim();
}

/** Names in `atomic containers list -a --json` on the host (one entry per installed container). */
export async function installedContainers(sim: SimCluster, host: string): Promise<string[]> {
  const out = (await sim.exec(host, "atomic containers list -a --json")).stdout.trim();
  return out === "" ? [] : (JSON.parse(out) as { name: string }[]).map((c) => c.name).sort();
}

export async function stopCluster(sim: SimCluster | undefined): Promise<void> {
  if (!sim) return;
  await sim.stop();
  fs.rmSync(sim.dir, { recursive: true, force: true });
}
