#!/usr/bin/env node
/**
 * `atomic-host-sim`: start, inspect and stop a cluster of simulated Fedora Atomic hosts.
 *
 *   atomic-host-sim up --dir DIR --hosts N [--release 26|27] [--layout contrib|rpm] [--base-port P]
 *                      [--rpm-ostree 2017.10|2018.7] [--latency-ms MS] [--reboot-down-ms MS]
 *                      [--flannel-start-timeout-ms MS]
 *                      [--etcd-hosts all|none|N|h1,h2] [--password PW] [--names h1,h2,...] [--seed-keys N]
 *                      [--etcd-cluster] [--roles h1=master,h2=node,...]
 *   atomic-host-sim down --dir DIR
 *   atomic-host-sim status --dir DIR [--json]
 *   atomic-host-sim config --dir DIR [--project NAME] [--method systemContainers|packageLayering]
 *   atomic-host-sim reboot|kill|start --dir DIR --host NAME
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import type { ClusterOptions, HostReport } from "./cluster";
import { clusterProcesses, clusterStatus, startCluster, stopCluster } from "./cluster";
import type { EtcdLayout, Release, RpmOstreeVersion } from "./host";
import { SimCluster, seedEtcdKeys } from "./index";
import { formatStackConfig, projectNameOf, type Method } from "./stackConfig";

const USAGE = `usage:
  atomic-host-sim up --dir DIR --hosts N [--release 26|27] [--layout contrib|rpm] [--base-port P]
                     [--rpm-ostree 2017.10|2018.7] [--latency-ms MS] [--reboot-down-ms MS]
                     [--flannel-start-timeout-ms MS]
                     [--etcd-hosts all|none|N|h1,h2] [--password PW] [--names h1,h2,...] [--seed-keys N]
                     [--etcd-cluster] [--roles h1=master,h2=node,...]
      (--roles: kubernetes/contrib groups on Fedora 26; their flannel and kube units run from the image)
  atomic-host-sim down --dir DIR
  atomic-host-sim status --dir DIR [--json]
  atomic-host-sim config --dir DIR [--project NAME] [--method systemContainers|packageLayering]
      prints the stack configuration of the hosts, to append under config: in Pulumi.<stack>.yaml
      (--project: the configuration namespace; default: the name in ./Pulumi.yaml)
  atomic-host-sim reboot|kill|start --dir DIR --host NAME
`;

const OPTIONS = {
  dir: { type: "string" },
  hosts: { type: "string" },
  names: { type: "string" },
  release: { type: "string" },
  layout: { type: "string" },
  "base-port": { type: "string" },
  "rpm-ostree": { type: "string" },
  "latency-ms": { type: "string" },
  "reboot-down-ms": { type: "string" },
  "flannel-start-timeout-ms": { type: "string" },
  "etcd-hosts": { type: "string" },
  password: { type: "string" },
  "seed-keys": { type: "string" },
  "etcd-cluster": { type: "boolean" },
  roles: { type: "string" },
  host: { type: "string" },
  json: { type: "boolean" },
  project: { type: "string" },
  method: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

class UsageError extends Error {}

function int(values: Values, flag: keyof Values, min = 0): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${flag}: expected an integer >= ${min}, got '${raw}'`);
  return n;
}

function oneOf<T extends string>(values: Values, flag: keyof Values, allowed: readonly T[]): T | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (!allowed.includes(raw as T))
    throw new UsageError(`--${flag}: expected one of ${allowed.join(", ")}, got '${raw}'`);
  return raw as T;
}

function requireDir(values: Values): string {
  if (!values.dir) throw new UsageError("--dir is required");
  return path.resolve(values.dir);
}

/** `up` flags → ClusterOptions. */
export function upOptions(values: Values): ClusterOptions {
  const names = values.names?.split(",").filter((n) => n !== "");
  const count = int(values, "hosts", 1);
  if (!names && count === undefined) throw new UsageError("--hosts N (or --names h1,h2,...) is required");
  if (names && count !== undefined && names.length !== count)
    throw new UsageError("--hosts and --names disagree");
  const etcdRaw = values["etcd-hosts"];
  const etcdHosts =
    etcdRaw === undefined
      ? undefined
      : etcdRaw === "all"
        ? "all"
        : /^\d+$/.test(etcdRaw)
          ? Number(etcdRaw)
          : etcdRaw === "none"
            ? 0
            : etcdRaw.split(",");
  const release = oneOf(values, "release", ["26", "27"] as const);
  return {
    dir: requireDir(values),
    hosts: names ?? count!,
    release: release === undefined ? undefined : (Number(release) as Release),
    layout: oneOf<EtcdLayout>(values, "layout", ["contrib", "rpm"]),
    basePort: int(values, "base-port", 1024),
    rpmOstreeVersion: oneOf<RpmOstreeVersion>(values, "rpm-ostree", ["2017.10", "2018.7"]),
    latencyMs: int(values, "latency-ms"),
    rebootDownMs: int(values, "reboot-down-ms"),
    flannelStartTimeoutMs: int(values, "flannel-start-timeout-ms"),
    etcdHosts,
    password: values.password,
    etcdCluster: values["etcd-cluster"] === true,
    roles: parseRoles(values.roles),
  };
}

/** `--roles master1=master,worker1=node` → `ClusterOptions.roles` (startCluster validates names and roles). */
function parseRoles(raw: string | undefined): ClusterOptions["roles"] {
  if (raw === undefined) return undefined;
  const roles: NonNullable<ClusterOptions["roles"]> = {};
  for (const item of raw.split(",").filter((i) => i !== "")) {
    const [name, role, ...rest] = item.split("=");
    if (!name || (role !== "master" && role !== "node") || rest.length > 0)
      throw new UsageError(`--roles: '${item}' is not NAME=master or NAME=node`);
    roles[name] = role;
  }
  return roles;
}

/** Plain-text status table. */
export function formatStatus(reports: HostReport[]): string {
  const rows = [["NAME", "STATE", "PORT", "BOOT ID", "SUPERVISOR PID", "SSHD PID"]];
  for (const r of reports) {
    rows.push([
      r.name,
      r.state,
      String(r.port),
      r.bootId || "-",
      String(r.supervisorPid || "-"),
      String(r.sshdPid ?? "-"),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return (
    rows
      .map((row) =>
        row
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

async function up(values: Values): Promise<void> {
  const started = Date.now();
  const opts = upOptions(values);
  const file = await startCluster(opts);
  const seed = int(values, "seed-keys");
  if (seed) {
    const cluster = SimCluster.attach(opts.dir);
    const sim = cluster.simFile();
    const etcdHosts = file.hosts.filter((h) => sim.hosts.find((x) => x.name === h.name)?.etcd);
    // One cluster holds one keyspace: seeding through one member writes it to all of them.
    for (const h of sim.etcdCluster ? etcdHosts.slice(0, 1) : etcdHosts)
      await seedEtcdKeys(h.etcdClientPort, seed);
  }
  process.stdout.write(
    `${file.hosts.length} host(s) up in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${path.join(opts.dir, "cluster.json")}\n`,
  );
  for (const h of file.hosts) {
    process.stdout.write(
      `  ${h.name}: ssh -i ${h.privateKeyPath} -p ${h.port} root@127.0.0.1  (etcd :${h.etcdClientPort})\n`,
    );
  }
}

async function down(values: Values): Promise<void> {
  const dir = requireDir(values);
  await stopCluster(dir);
  const left = clusterProcesses(dir);
  if (left.length) throw new Error(`processes still running after down: ${left.join(" ")}`);
  process.stdout.write(`stopped ${dir}\n`);
}

async function status(values: Values): Promise<void> {
  const reports = await clusterStatus(requireDir(values));
  process.stdout.write(values.json ? `${JSON.stringify(reports, null, 2)}\n` : formatStatus(reports));
}

/** `config`: the stack configuration block of the cluster in DIR, for `>> Pulumi.<stack>.yaml`. */
function stackConfig(values: Values): void {
  const dir = requireDir(values);
  let project = values.project;
  if (project === undefined) {
    const text = fs.existsSync("Pulumi.yaml") ? fs.readFileSync("Pulumi.yaml", "utf8") : "";
    project = projectNameOf(text);
    if (project === undefined)
      throw new UsageError(
        "no Pulumi.yaml with a name here: run it in the project's folder, or pass --project NAME",
      );
  }
  const method = oneOf<Method>(values, "method", ["systemContainers", "packageLayering"]);
  const cluster = SimCluster.attach(dir);
  process.stdout.write(formatStackConfig(cluster.simFile(), cluster.hosts, { project, method }));
}

async function hostOp(op: "reboot" | "kill" | "start", values: Values): Promise<void> {
  if (!values.host) throw new UsageError("--host NAME is required");
  const cluster = SimCluster.attach(requireDir(values));
  if (op === "reboot") await cluster.reboot(values.host);
  else if (op === "kill") await cluster.kill(values.host);
  else await cluster.startHost(values.host);
  process.stdout.write(formatStatus((await cluster.status()).filter((r) => r.name === values.host)));
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || !command) {
    process.stdout.write(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  try {
    if (command === "up") await up(parsed.values);
    else if (command === "down") await down(parsed.values);
    else if (command === "status") await status(parsed.values);
    else if (command === "config") stackConfig(parsed.values);
    else if (command === "reboot" || command === "kill" || command === "start")
      await hostOp(command, parsed.values);
    else throw new UsageError(`unknown command '${command}'`);
    return 0;
  } catch (err) {
    process.stderr.write(`atomic-host-sim: ${(err as Error).message}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
