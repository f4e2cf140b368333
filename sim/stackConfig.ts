/**
 * `atomic-host-sim config`: the stack configuration block of a simulated cluster, ready to append under
 * `config:` in a Pulumi stack file (`Pulumi.<stack>.yaml`), so a rehearsal needs no hand-editing: names,
 * addresses, ports and host keys as the hosts have them, roles from the host names, and the etcd data folder of
 * the cluster's layout.
 *
 * The shape is pulumi-atomic-host's documented cluster description (README, "Configuration reference"); the
 * simulator does not import the package (it stands apart from the code it is there to test), so this writes it
 * from that documentation, and the first-stack walkthrough test proves the package accepts it.
 */
import type { ClusterHostEntry, SimFile } from "./cluster";

export type Role = "etcd" | "master" | "worker";
export type Method = "systemContainers" | "packageLayering";

/**
 * Roles of each host: from its name when it says (`etcd*`, `master*`, `worker*` or `node*`), else by position:
 * one host does everything; with two, the first is etcd and master and the second a worker; with more, the first
 * is etcd, the second master and the others workers.
 */
export function rolesByHost(names: string[]): Role[][] {
  const named = names.map((n): Role | undefined =>
    /^etcd/.test(n) ? "etcd" : /^master/.test(n) ? "master" : /^(worker|node)/.test(n) ? "worker" : undefined,
  );
  if (named.every((r) => r !== undefined)) return named.map((r) => [r!]);
  if (names.length === 1) return [["etcd", "master", "worker"]];
  if (names.length === 2) return [["etcd", "master"], ["worker"]];
  return names.map((_, i) => (i === 0 ? ["etcd"] : i === 1 ? ["master"] : ["worker"]));
}

/** Where the cluster's etcd keeps its member directory (sim/host.ts writes /etc/etcd/etcd.conf per layout). */
function etcdSource(sim: Pick<SimFile, "layout">): string {
  return sim.layout === "rpm" ? "/var/lib/etcd/default.etcd/member" : "/var/lib/etcd/member";
}

/** Options of {@link formatStackConfig}. */
export interface StackConfigOptions {
  /** The Pulumi project's name: the configuration namespace (`<project>:cluster`). */
  project: string;
  /** The migration method. Default "systemContainers". */
  method?: Method;
}

/** A YAML scalar: plain when it cannot be misread, else double-quoted (JSON strings are valid YAML). */
function scalar(s: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(s) &&
    !/^(true|false|null|yes|no|on|off|~)$/i.test(s) &&
    !/^[0-9.]+$/.test(s)
    ? s
    : JSON.stringify(s);
}

/**
 * The configuration block, indented to sit under `config:` (two spaces), with a comment naming the key file to
 * set as the stack's secret. Hosts keep the simulator's order.
 */
export function formatStackConfig(
  sim: Pick<SimFile, "layout" | "release">,
  hosts: ClusterHostEntry[],
  opts: StackConfigOptions,
): string {
  const roles = rolesByHost(hosts.map((h) => h.name));
  const lines = [
    `  # atomic-host-sim: ${hosts.length} simulated Fedora ${sim.release} host(s); roles from the host names.`,
    `  # The SSH key, once per stack: pulumi config set --secret atomic-host:privateKey < ${hosts[0]?.privateKeyPath ?? "KEY"}`,
    `  ${scalar(`${opts.project}:cluster`)}:`,
    `    method: ${opts.method ?? "systemContainers"}`,
    `    etcd:`,
    `      source: ${etcdSource(sim)}`,
    `    hosts:`,
  ];
  hosts.forEach((h, i) => {
    lines.push(
      `      - name: ${scalar(h.name)}`,
      `        host: ${scalar(h.host)}`,
      `        port: ${h.port}`,
      `        hostKey: ${JSON.stringify(h.hostKey)}`,
      `        roles: [${roles[i]!.join(", ")}]`,
    );
  });
  return lines.join("\n") + "\n";
}

/** The project name in a Pulumi.yaml's text (`name: my-cluster`), or undefined. */
export function projectNameOf(pulumiYaml: string): string | undefined {
  const m = /^name:\s*["']?([A-Za-z0-9_.-]+)["']?\s*$/m.exec(pulumiYaml);
  return m?.[1];
}
