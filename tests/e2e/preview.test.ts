import { expect } from "chai";
import * as fs from "fs";
import { unwrapPlanLines } from "../../provider/atomic";
import { SimCluster, type CommandLogEntry, type ToolLogEntry } from "../../sim";
import { publishImage } from "../../sim/catalog";
import { PulumiProject, writeProgram } from "../helpers/pulumi";
import { tempDir } from "../helpers/tempDirs";

// The preview is the plan: for every resource, at create and after every kind of drift a refresh records, the
// commands `pulumi preview` shows are the mutating commands `pulumi up` then runs (the host's commands.log), in
// order; and `pulumi preview --diff` shows every command line whole. Real CLI, simulated Fedora 26 hosts.
const REGISTRY = "registry.fedoraproject.org/f27";
const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { EtcdDataMigration, LayeredPackage, OstreeRemote, SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const host = config.require("host");
const etcd1 = { host, port: config.requireNumber("etcdPort"), hostKey: config.require("etcdHostKey") };
const worker1 = { host, port: config.requireNumber("workerPort"), hostKey: config.require("workerHostKey") };
const registry = "${REGISTRY}";
// One after the other, so the host's commands.log is the previews of the three, in this order.
const migration = new EtcdDataMigration("etcd-data", { connection: etcd1, hostName: "etcd1" });
const etcd = new SystemContainer(
  "etcd",
  { connection: etcd1, hostName: "etcd1", name: "etcd", image: registry + "/etcd" },
  { dependsOn: [migration] },
);
new SystemContainer(
  "kube-controller-manager",
  {
    connection: etcd1,
    hostName: "etcd1",
    name: "kube-controller-manager",
    image: config.get("cmImage") ?? registry + "/kubernetes-controller-manager",
  },
  { dependsOn: [etcd] },
);
// The remote the rebase pulls from, as Fedora's 26->27 upgrade guide adds it.
const remote = new OstreeRemote("worker-remote", {
  connection: worker1,
  hostName: "worker1",
  name: "fedora-atomic-27",
  url: "https://kojipkgs.fedoraproject.org/atomic/27",
  gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
});
new LayeredPackage(
  "worker",
  {
    connection: worker1,
    hostName: "worker1",
    packages: ["kubernetes-node", "flannel"],
    rebase: "${F27}",
  },
  { dependsOn: [remote] },
);
`;

/** Resource names in the order they run on their host (the program's dependsOn chain). */
const ON_HOST: Record<string, string[]> = {
  etcd1: ["etcd-data", "etcd", "kube-controller-manager"],
  worker1: ["worker-remote", "worker"],
};

/** Commands the provider runs to read a host: not part of any plan. */
const READS = [
  /^rpm-ostree status --json$/,
  /^rpm-ostree --version$/,
  /^cat \/proc\/sys\/kernel\/random\/boot_id$/,
  /^systemctl is-active /,
  // The quorum check before an etcd member stops (read-only; the preview shows it as a conditional step).
  /^env ETCDCTL_API=3 etcdctl /,
  /^ostree remote list/,
  /^sh -c '<(system-container-read|etcd-inspect|etcd-manifest|etcd-lineage|ostree-remotes-read) script>'/,
  // The migration's first inspection, which also makes a missing destination: the preview shows that mkdir as a
  // conditional line, which the match then takes as skipped (commands.log cannot tell whether the script ran it;
  // the migration suites check the folder it makes).
  /^sh -c '<etcd-prepare-inspect script>'/,
];

/**
 * A commands.log line as the preview shows it: an embedded script by its name, and the temporary copy's random
 * id as `<id>` (both only known at apply).
 */
function asShown(command: string): string {
  return (
    command
      .replace(/'# atomic-host:([A-Za-z0-9_-]+) v[0-9]+\n(?:[^']|'\\'')*'/g, "'<$1 script>'")
      .replace(/(\S*\.member\.tmp-)[0-9a-f]{12}\b/g, "'$1<id>'")
      .replace(/ ([0-9a-f]{12})$/, " '<id>'")
      // The migrate script's operands: SRC DEST ID UNIT BACKUP
      .replace(/(<etcd-migrate script>' \S+ \S+ \S+ )([0-9a-f]{12})( )/, "$1'<id>'$3")
  );
}

/**
 * The plan step inside a SystemContainer command that ran it together with a read: the step of a step-then-read
 * (the plan's last), and the pull of a read-then-pull when tools.log shows the pull ran during that command (the
 * script pulls only on a host with nothing of the container). Any other command as it is.
 */
function unwrapCombined(e: CommandLogEntry, tools: ToolLogEntry[]): string[] {
  const body = "\n(?:[^']|'\\\\'')*' ";
  const step = new RegExp(
    `^sh -c '# atomic-host:step-then-read v1${body}atomic-host-step \\S+ \\S+ (.*)$`,
    "s",
  ).exec(e.command);
  if (step) return [step[1]!];
  const read = new RegExp(
    `^sh -c '# atomic-host:system-container-read-then-pull v1${body}atomic-host-read \\S+ \\S+ (.*)$`,
    "s",
  ).exec(e.command);
  if (!read) return [e.command];
  const start = Date.parse(e.time);
  const pulled = tools.some(
    (t) =>
      t.argv.join(" ") === read[1] &&
      Date.parse(t.time) >= start &&
      Date.parse(t.time) <= start + e.durationMs,
  );
  return pulled ? [read[1]!] : [];
}

interface PreviewStep {
  op: string;
  name: string;
  commands: string[];
  /** Top-level inputs whose value differs between the old state and the plan (the fields a reviewer sees change). */
  changed: string[];
}

/** The steps of `pulumi preview --json`, with each resource's planned commands. */
function previewSteps(json: string): Map<string, PreviewStep> {
  const out = new Map<string, PreviewStep>();
  for (const s of JSON.parse(json).steps ?? []) {
    const urn: string = s.urn;
    if (!urn.includes("atomic-host:")) continue;
    const name = urn.split("::").pop()!;
    const olds = s.oldState?.inputs ?? {};
    const news = s.newState?.inputs ?? {};
    const changed = Object.keys(news)
      .filter((k) => !k.startsWith("__") && k !== "commands")
      .filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
    out.set(name, { op: s.op, name, commands: news.commands ?? [], changed });
  }
  return out;
}

/**
 * Matches the previewed commands of a host's resources (in run order) against what the host ran: every
 * unconditional line must be the next command run; a conditional one (`# only if ...`) either is, or was skipped
 * because its condition did not hold. Returns the mismatch, or undefined.
 */
function mismatch(previewed: { line: string; condition?: string }[], ran: string[]): string | undefined {
  let i = 0;
  for (const p of previewed) {
    if (ran[i] === p.line) i++;
    else if (p.condition === undefined) {
      return `expected "${p.line}" next, the host ran "${ran[i] ?? "(nothing more)"}"\npreview: ${JSON.stringify(previewed, null, 1)}\nran: ${JSON.stringify(ran, null, 1)}`;
    }
  }
  return i === ran.length ? undefined : `the host also ran: ${JSON.stringify(ran.slice(i))}`;
}

describe("pulumi preview shows what pulumi up runs", function () {
  this.timeout(30 * 60_000);
  let sim: SimCluster;
  let project: PulumiProject;
  /** The mutating commands a host ran since its log was cleared, as the preview shows them. */
  const ran = (h: string) => {
    const tools = sim.readToolsLog(h);
    return sim
      .readCommandsLog(h)
      .flatMap((e) => unwrapCombined(e, tools))
      .map(asShown)
      .filter((c) => !READS.some((r) => r.test(c)));
  };

  /** Previews, then ups, and checks that each host ran exactly its resources' previewed commands. */
  async function previewThenUp(): Promise<Map<string, PreviewStep>> {
    const preview = previewSteps((await project.ok(["preview", "--json"])).stdout);
    for (const h of Object.keys(ON_HOST)) sim.clearCommandsLog(h);
    await project.ok(["up", "--yes", "--skip-preview"]);
    for (const [h, names] of Object.entries(ON_HOST)) {
      const previewed = names.flatMap((n) => unwrapPlanLines(preview.get(n)?.commands ?? []));
      const problem = mismatch(previewed, ran(h));
      expect(problem, `${h}: ${problem}`).to.equal(undefined);
    }
    return preview;
  }

  /** A hand-made change, then refresh; then preview, up, and nothing left to do. */
  let refreshOutput = "";
  async function repairs(change: Record<string, string>): Promise<Map<string, PreviewStep>> {
    for (const [h, cmd] of Object.entries(change)) {
      const r = await sim.exec(h, `cat >/dev/null; ${cmd}`);
      expect(r.exitCode, `${h}: ${cmd}: ${r.stderr}`).to.equal(0);
    }
    refreshOutput = (await project.ok(["refresh", "--yes", "--skip-preview"])).stdout;
    const preview = await previewThenUp();
    const after = previewSteps((await project.ok(["preview", "--json"])).stdout);
    for (const s of after.values()) expect(s.op, `${s.name} after the repair`).to.equal("same");
    return preview;
  }

  before(async () => {
    sim = await SimCluster.start({
      dir: tempDir("pah-e2e-preview"),
      hosts: ["etcd1", "worker1"],
      release: 26,
      etcdHosts: ["etcd1"],
      rebootDownMs: 1000,
    });
    const [e, w] = ["etcd1", "worker1"].map((h) => sim.host(h));
    project = new PulumiProject(writeProgram("preview-e2e", PROGRAM));
    await project.init(
      "dev",
      {
        host: e!.host,
        etcdPort: String(e!.port),
        etcdHostKey: e!.hostKey,
        workerPort: String(w!.port),
        workerHostKey: w!.hostKey,
      },
      { "atomic-host:privateKey": fs.readFileSync(e!.privateKeyPath, "utf8") },
    );
  });

  after(async () => {
    await sim?.stop();
    project?.cleanup();
  });

  it("shows every command line whole in preview --diff (none cut at the engine's 150 characters)", async () => {
    const r = await project.ok(["preview", "--diff"]);
    const preview = previewSteps((await project.ok(["preview", "--json"])).stdout);
    const cm = unwrapPlanLines(preview.get("kube-controller-manager")!.commands).map((c) => c.line);
    const install = `atomic install --system --system-package=no --storage=ostree --name=kube-controller-manager ${REGISTRY}/kubernetes-controller-manager`;
    expect(cm).to.include(install);
    expect(install.length).to.be.greaterThan(150);
    // Every display line of every resource appears whole in the CLI's output, none cut with "...".
    for (const s of preview.values()) {
      for (const line of s.commands) expect(r.stdout, line).to.include(JSON.stringify(line));
    }
    expect(r.stdout).not.to.match(/kubernetes-controller-manag\.\.\./);
    // Where each command runs, in plain text although the connection is secret.
    expect(r.stdout).to.match(new RegExp(`host\\s*: "127\\.0\\.0\\.1:${sim.host("etcd1").port}"`));
    expect(r.stdout).to.match(/hostName\s*: "etcd1"/);
    expect(r.stdout).not.to.match(/priorImage|__recorded/);
  });

  it("creates: every host runs exactly its resources' previewed commands, in order", async () => {
    const preview = await previewThenUp();
    expect([...preview.values()].map((s) => s.op)).to.deep.equal([
      "create",
      "create",
      "create",
      "create",
      "create",
    ]);
  });

  it("SystemContainer stopped by hand: preview shows running: false => true and the start, up runs it", async () => {
    const p = await repairs({ etcd1: "systemctl stop kube-controller-manager" });
    // Refresh shows the drifted field on the resource that drifted, and no input change (such as `commands`) on the
    // resources that did not: their inputs are left as they were.
    const line = (n: string) =>
      new RegExp(`atomic-host:\\w+ ${n} updated[^\\n]*`).exec(refreshOutput)?.[0] ?? "";
    expect(line("kube-controller-manager"), refreshOutput).to.include("running");
    for (const n of ["etcd", "etcd-data", "worker"])
      expect(line(n), refreshOutput).not.to.include("commands");
    expect(p.get("kube-controller-manager")).to.deep.include({
      op: "update",
      changed: ["running"],
      commands: ["systemctl start kube-controller-manager.service"],
    });
  });

  it("SystemContainer disabled by hand: preview shows the enable, up runs it", async () => {
    const p = await repairs({ etcd1: "systemctl disable kube-controller-manager" });
    expect(p.get("kube-controller-manager")).to.deep.include({
      op: "update",
      commands: ["systemctl enable kube-controller-manager.service"],
    });
  });

  it("SystemContainer on another image by hand: preview shows the image and the update back, up runs it", async () => {
    const other = `${REGISTRY}/kubernetes-controller-manager:v1.9.1`;
    publishImage(sim.dir, other);
    const p = await repairs({
      etcd1: `atomic pull --storage=ostree ${other} && atomic containers update --rebase=${other} kube-controller-manager`,
    });
    const cm = p.get("kube-controller-manager")!;
    expect(cm.op).to.equal("update");
    expect(cm.changed).to.include("image");
    // The declared image is the other deployment's: the apply rolls back, and so does the preview.
    expect(cm.commands).to.deep.equal(["atomic containers rollback kube-controller-manager"]);
  });

  it("SystemContainer removed by hand: refresh drops it, preview shows the whole create, up runs it", async () => {
    const p = await repairs({ etcd1: "atomic uninstall kube-controller-manager" });
    expect(p.get("kube-controller-manager")!.op).to.equal("create");
  });

  it("EtcdDataMigration destination removed (and etcd stopped): preview shows the migration again and the start", async () => {
    const p = await repairs({
      etcd1:
        "systemctl stop etcd && mv /var/lib/etcd/etcd.etcd/member /var/lib/etcd/member.moved-by-hand && rm -rf /var/lib/etcd/member.moved-by-hand",
    });
    expect(p.get("etcd-data")!.op).to.equal("create");
    expect(p.get("etcd")).to.deep.include({ op: "update", commands: ["systemctl start etcd.service"] });
  });

  it("LayeredPackage with a package uninstalled by hand: preview shows the install and the reboot, up runs them", async () => {
    const p = await repairs({ worker1: "rpm-ostree uninstall flannel" });
    expect(p.get("worker")).to.deep.include({
      op: "update",
      changed: ["packages"],
      commands: ["rpm-ostree install flannel", "systemctl reboot"],
    });
  });

  it("LayeredPackage rebased by hand to another base: preview shows the rebase back and the reboot, up runs them", async () => {
    const p = await repairs({ worker1: "rpm-ostree rebase fedora-atomic:fedora/26/x86_64/atomic-host" });
    expect(p.get("worker")).to.deep.include({
      op: "update",
      changed: ["rebase"],
      commands: [`rpm-ostree rebase ${F27}`, "systemctl reboot"],
    });
  });

  it("a declared change previews what up runs too (new image, then back by rollback)", async () => {
    const other = `${REGISTRY}/kubernetes-controller-manager:v1.9.1`;
    await project.ok(["config", "set", "cmImage", other]);
    let p = await previewThenUp();
    expect(p.get("kube-controller-manager")!.commands).to.deep.equal([
      `atomic pull --storage=ostree ${other}`,
      `atomic containers update --rebase=${other} kube-controller-manager`,
    ]);
    await project.ok(["config", "rm", "cmImage"]);
    p = await previewThenUp();
    expect(p.get("kube-controller-manager")!.commands).to.deep.equal([
      "atomic containers rollback kube-controller-manager",
    ]);
  });
});
