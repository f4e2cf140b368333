/**
 * The demo behind `npm run demo`. Everything it starts lives under $PULUMI_ATOMIC_HOST_DEMO_DIR
 * (default /tmp/pulumi-atomic-host-demo): the simulated hosts, their keys and the stack's file backend.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SimCluster } from "../sim";

const REPO = path.resolve(__dirname, "..");
const DIR = process.env.PULUMI_ATOMIC_HOST_DEMO_DIR ?? "/tmp/pulumi-atomic-host-demo";
const SIM = path.join(DIR, "cluster");
const STATE = path.join(DIR, "state");
const STACK = "demo";
const HOSTS = ["etcd1", "master1", "worker1", "worker2"];
const ROLES: Record<string, string[]> = {
  etcd1: ["etcd"],
  master1: ["master"],
  worker1: ["worker"],
  worker2: ["worker"],
};
const SEEDED_KEYS = 1000;

const env = {
  ...process.env,
  PULUMI_BACKEND_URL: `file://${STATE}`,
  PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE || "demo-passphrase",
};

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function heading(text: string): void {
  say();
  say(`\x1b[1m== ${text}\x1b[0m`);
}

/**
 * The project the demo runs: the repository's Pulumi.yaml (the system-container example), or the package-layering
 * example's folder for `npm run demo -- layering`.
 */
let project = { dir: REPO, name: "atomic-cluster" };

/** Runs the Pulumi CLI in the demo's project, streaming its output. */
function pulumi(args: string[], input?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("pulumi", [...args, "--non-interactive"], {
      cwd: project.dir,
      env,
      stdio: [input === undefined ? "ignore" : "pipe", "inherit", "inherit"],
    });
    if (input !== undefined) child.stdin!.end(input);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

function pulumiQuiet(args: string[], input?: string): { code: number; out: string } {
  const r = spawnSync("pulumi", [...args, "--non-interactive"], {
    cwd: project.dir,
    env,
    input,
    encoding: "utf8",
  });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

async function ensureCluster(): Promise<SimCluster> {
  if (fs.existsSync(path.join(SIM, "cluster.json"))) {
    const sim = SimCluster.attach(SIM);
    const states = await sim.status();
    if (states.every((s) => s.state === "up")) {
      say(`Reusing the simulated cluster in ${SIM}.`);
      return sim;
    }
    await sim.stop();
    fs.rmSync(SIM, { recursive: true, force: true });
  }
  fs.mkdirSync(DIR, { recursive: true });
  say(`Starting 4 simulated Fedora 26 Atomic hosts (sshd + etcd) in ${SIM} ...`);
  const sim = await SimCluster.start({
    dir: SIM,
    hosts: HOSTS,
    release: 26,
    layout: "contrib",
    etcdHosts: ["etcd1"],
  });
  say(`Writing ${SEEDED_KEYS} keys into etcd1's etcd through the etcd client ...`);
  await sim.seedEtcd("etcd1", SEEDED_KEYS);
  return sim;
}

function writeStack(sim: SimCluster, method: string): void {
  const cluster = {
    method,
    maxUnavailable: 1,
    rebootTimeoutSeconds: 120,
    hosts: sim.hosts.map((h) => ({
      name: h.name,
      host: h.host,
      port: h.port,
      hostKey: h.hostKey,
      roles: ROLES[h.name],
    })),
  };
  // The stack file holds the cluster description; the private key goes in as an encrypted secret.
  const file = path.join(project.dir, `Pulumi.${STACK}.yaml`);
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const keep = existing.split("\n").filter((l) => /^encryptionsalt:/.test(l));
  fs.writeFileSync(
    file,
    [...keep, "config:", `  ${project.name}:cluster: ${JSON.stringify(cluster)}`, ""].join("\n"),
  );
  const key = fs.readFileSync(sim.hosts[0]!.privateKeyPath, "utf8");
  const set = pulumiQuiet(["config", "set", "--secret", "atomic-host:privateKey", "--stack", STACK], key);
  if (set.code !== 0) throw new Error(`pulumi config set failed:\n${set.out}`);
}

async function summary(sim: SimCluster, seeded: Map<string, string> | undefined): Promise<void> {
  heading("Result");
  const rows: string[][] = [["host", "roles", "system containers (state)", "layered packages", "boot"]];
  for (const h of sim.hosts) {
    const list = (await sim.exec(h.name, "atomic containers list -a --json")).stdout.trim();
    const containers = (list ? (JSON.parse(list) as { name: string; state: string }[]) : [])
      .map((c) => `${c.name} (${c.state})`)
      .join(", ");
    const status = JSON.parse((await sim.exec(h.name, "rpm-ostree status --json")).stdout);
    const booted = status.deployments.find((d: { booted: boolean }) => d.booted);
    rows.push([
      h.name,
      ROLES[h.name]!.join(","),
      containers || "-",
      (booted.packages ?? []).join(" ") || "-",
      booted.origin,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [i, r] of rows.entries()) {
    say(r.map((c, j) => c.padEnd(widths[j]!)).join("  "));
    if (i === 0) say(widths.map((w) => "-".repeat(w)).join("  "));
  }
  const all = await sim.etcdGetAll("etcd1").catch(() => new Map<string, string>());
  const seededKeys = [...all.keys()].filter((k) => k.startsWith("/registry/sim-seed/"));
  const intact = seeded ? [...seeded].every(([k, v]) => all.get(k) === v) : seededKeys.length >= SEEDED_KEYS;
  say();
  say(
    `etcd on etcd1 serves ${seededKeys.length} of the ${SEEDED_KEYS} keys written before the migration: ${intact ? "all intact" : "NOT all intact"}.`,
  );
}

async function main(): Promise<void> {
  const arg = process.argv[2] ?? "";
  const layeringProject = {
    dir: path.join(REPO, "examples", "package-layering"),
    name: "atomic-cluster-layering",
  };
  if (arg === "down") {
    heading("pulumi destroy (etcd's data stays on the hosts)");
    for (const p of [{ dir: REPO, name: "atomic-cluster" }, layeringProject]) {
      project = p;
      if (
        fs.existsSync(path.join(SIM, "cluster.json")) &&
        fs.existsSync(path.join(p.dir, `Pulumi.${STACK}.yaml`))
      ) {
        await pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]);
        pulumiQuiet(["stack", "rm", "--yes", "--force", STACK]);
      }
      fs.rmSync(path.join(p.dir, `Pulumi.${STACK}.yaml`), { force: true });
    }
    if (fs.existsSync(path.join(SIM, "cluster.json"))) await SimCluster.attach(SIM).stop();
    fs.rmSync(DIR, { recursive: true, force: true });
    say("Stopped the simulated hosts and removed the demo's state.");
    return;
  }
  const method = arg === "layering" ? "packageLayering" : "systemContainers";
  if (arg === "layering") project = layeringProject;
  const sim = await ensureCluster();
  const seeded = await sim.etcdGetAll("etcd1").catch(() => undefined);
  fs.mkdirSync(STATE, { recursive: true });
  if (pulumiQuiet(["stack", "select", STACK]).code !== 0) {
    const init = pulumiQuiet(["stack", "init", STACK]);
    if (init.code !== 0) throw new Error(init.out);
  }
  writeStack(sim, method);
  heading(`pulumi preview (${method}): what up will do; the hosts are not touched`);
  if ((await pulumi(["preview", "--diff", "--stack", STACK])) !== 0) process.exit(1);
  heading("pulumi up");
  if ((await pulumi(["up", "--yes", "--skip-preview", "--stack", STACK])) !== 0) process.exit(1);
  await summary(sim, seeded);
  say();
  say(
    "Run `npm run demo` again: the second up changes nothing. Tear everything down with `npm run demo -- down`.",
  );
  say(
    `Or use the CLI yourself: . scripts/pulumi-env.sh; PULUMI_BACKEND_URL=file://${STATE} PULUMI_CONFIG_PASSPHRASE=demo-passphrase pulumi stack --stack ${STACK}`,
  );
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
