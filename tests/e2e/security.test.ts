import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { SimCluster, type ClusterHostEntry } from "../../sim";
import { PulumiProject, writeProgram, type PulumiResult } from "../helpers/pulumi";
import { skipUnlessSimAvailable } from "../integration/sim/support";
import { tempDir } from "../helpers/tempDirs";

// Credentials through the real Pulumi CLI against one simulated host with a root password: given per resource
// (in `connection`) and per stack (`atomic-host:*` secrets read by the provider's `configure`). After every
// command, no plaintext fragment of a key, password, passphrase or secret template value may be anywhere a person
// or a file can see it: the CLI's output (the provider's progress and SSH debug lines included), `pulumi stack
// export`, every file of the state backend and of the project, and the host's logs. Then the failures a person
// meets: a wrong password, an unknown key, a wrong passphrase, a changed host key.
//
// The CLI replaces the plaintext of the stack's own config secrets with "[secret]" in everything it prints, so a
// leak of a config secret into the output would be hidden from this test. Secrets that must be caught in the
// output therefore also come from files, wrapped in pulumi.secret by the program: the CLI knows nothing of those.

const PASSWORD = "Root-Password-e2e-5mK8w";
const PASSPHRASE = "Key-Passphrase-e2e-9vQ2r";
const TOKEN = "Etcd-Cluster-Token-e2e-3bN1p";
const WRONG_PASSWORD = "Wrong-Password-e2e-4tJ7n";
const WRONG_PASSPHRASE = "Wrong-Passphrase-e2e-2hX6c";
const REGISTRY = "registry.fedoraproject.org/f27";

/** The lines of a private key that are its own (the first base64 line is the same for every key of a kind). */
function keyFragments(key: string): string[] {
  const body = key.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("-----"));
  return body.slice(1).filter((l) => l.length >= 16);
}

/** Every file under `dir` (gzip files decompressed), skipping node_modules. */
function filesUnder(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.name === "node_modules" || entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) {
      const raw = fs.readFileSync(p);
      out.push({ file: p, text: (p.endsWith(".gz") ? zlib.gunzipSync(raw) : raw).toString("utf8") });
    }
  }
  return out;
}

/** A program's helper: a secret read from the file a (plain) config key names, unknown to the CLI's filter. */
const FROM_FILE = `
import * as fs from "fs";
const fromFile = (key: string) => {
  const file = config.get(key);
  return file === undefined ? undefined : pulumi.secret(fs.readFileSync(file, "utf8"));
};`;

describe("credentials through the Pulumi CLI", function () {
  this.timeout(30 * 60_000);
  let sim: SimCluster;
  let h: ClusterHostEntry;
  let workDir: string;
  let simDir: string;
  let plainKey: string;
  let encryptedKey: string;
  let otherKey: string;
  /** Files holding each secret, for programs to read. */
  const file: Record<string, string> = {};
  /** name → text that must never show in plaintext. */
  let secrets: Record<string, string>;
  const projects: PulumiProject[] = [];

  /** Fails naming every place (output, file) that holds a secret in plaintext. */
  function expectNoLeak(places: { where: string; text: string }[]): void {
    const found = places.flatMap(({ where, text }) =>
      Object.entries(secrets)
        .filter(([, s]) => text.includes(s))
        .map(([name]) => `${name} in ${where}`),
    );
    expect(found, found.join("\n")).to.deep.equal([]);
  }

  /** Everything on disk a project wrote: the state backend (history and backups too) and the project folder. */
  function filesOf(project: PulumiProject) {
    return [...filesUnder(project.backend), ...filesUnder(project.dir)].map(({ file: f, text }) => ({
      where: f,
      text,
    }));
  }

  function hostLogs() {
    const p = sim.paths("host1");
    return [
      { where: "commands.log", text: fs.readFileSync(p.commandsLog, "utf8") },
      { where: "sshd.log", text: fs.readFileSync(p.sshdLog, "utf8") },
    ];
  }

  function newProject(name: string, program: string): PulumiProject {
    // SSH_AUTH_SOCK unset: no agent to fall back on, so only the credentials under test can log in. The SSH
    // layer's debug lines go to the provider's stderr, which the CLI prints: they are scanned too.
    const project = new PulumiProject(writeProgram(name, program), {
      SSH_AUTH_SOCK: "",
      PULUMI_ATOMIC_HOST_SSH_DEBUG: "1",
    });
    projects.push(project);
    return project;
  }

  async function exported(project: PulumiProject) {
    const plain = await project.ok(["stack", "export"]);
    const hidden = await project.ok(["stack", "export", "--show-secrets=false"]);
    return [
      { where: "pulumi stack export", text: plain.output },
      { where: "pulumi stack export --show-secrets=false", text: hidden.output },
    ];
  }

  const outputOf = (what: string, r: PulumiResult) => ({ where: `output of pulumi ${what}`, text: r.output });

  const commands = () => sim.readCommandsLog("host1").map((e) => e.command);

  before(async function () {
    skipUnlessSimAvailable(this);
    workDir = tempDir("pah-e2e-sec");
    simDir = tempDir("ahs-sec");
    // The contrib layout holds flannel's network config in etcd, as a running cluster does: flanneld starts only
    // once it gets a lease.
    sim = await SimCluster.start({ dir: simDir, hosts: 1, password: PASSWORD, layout: "contrib" });
    h = sim.host("host1");
    plainKey = fs.readFileSync(h.privateKeyPath, "utf8");
    // The same key (so the host accepts it), encrypted with a passphrase.
    file.encryptedKey = path.join(workDir, "id_encrypted");
    fs.copyFileSync(h.privateKeyPath, file.encryptedKey);
    fs.chmodSync(file.encryptedKey, 0o600);
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", PASSPHRASE, "-f", file.encryptedKey]);
    encryptedKey = fs.readFileSync(file.encryptedKey, "utf8");
    expect(encryptedKey).to.not.equal(plainKey);
    // A key the host does not know.
    file.otherKey = path.join(workDir, "id_other");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file.otherKey]);
    otherKey = fs.readFileSync(file.otherKey, "utf8");
    const plain = { PASSWORD, PASSPHRASE, TOKEN, WRONG_PASSWORD, WRONG_PASSPHRASE };
    for (const [name, value] of Object.entries(plain)) {
      file[name] = path.join(workDir, name.toLowerCase());
      fs.writeFileSync(file[name]!, value);
    }
    secrets = {
      password: PASSWORD,
      passphrase: PASSPHRASE,
      "secret template value": TOKEN,
      "wrong password": WRONG_PASSWORD,
      "wrong passphrase": WRONG_PASSPHRASE,
    };
    for (const [name, key] of Object.entries({ plainKey, encryptedKey, otherKey })) {
      keyFragments(key).forEach((line, i) => (secrets[`${name} line ${i + 2}`] = line));
    }
  });

  after(async () => {
    await sim?.stop();
    for (const p of projects) {
      fs.rmSync(p.dir, { recursive: true, force: true });
      p.cleanup();
    }
    for (const d of [workDir, simDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  describe("keys given per resource", () => {
    // etcd logs in with the encrypted key and its passphrase from config secrets, and has a secret template value;
    // flannel with root's password, kube-proxy with the encrypted key and passphrase, both read from files.
    const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
${FROM_FILE}
const base = { host: config.require("host"), port: config.requireNumber("port"), hostKey: config.require("hostKey") };
const flannel = new SystemContainer("flannel", {
  connection: { ...base, password: fromFile("pwPath") },
  name: "flannel",
  image: "${REGISTRY}/flannel",
  triggers: [config.get("trigger") ?? "1"],
});
// No migration here: the etcd container starts on an empty data dir, without flannel's network config. So flannel
// takes its lease from the host's RPM etcd first (otherwise the order is the engine's, and flannel may wait for a
// config that is not there).
const etcd = new SystemContainer("etcd", {
  connection: { ...base, privateKey: config.requireSecret("key"), privateKeyPassword: config.requireSecret("keyPassphrase") },
  name: "etcd",
  image: "${REGISTRY}/etcd",
  values: { ETCD_NAME: "node1", ETCD_INITIAL_CLUSTER_TOKEN: fromFile("valuePath")! },
  triggers: [config.get("trigger") ?? "1"],
}, { dependsOn: [flannel] });
const proxy = new SystemContainer("kube-proxy", {
  connection: { ...base, privateKey: fromFile("keyPath"), privateKeyPassword: fromFile("phrasePath") },
  name: "kube-proxy",
  image: "${REGISTRY}/kubernetes-proxy",
  triggers: [config.get("trigger") ?? "1"],
});
export const etcdConnection = etcd.connection;
export const flannelConnection = flannel.connection;
export const etcdCommands = etcd.commands;
export const etcdValues = etcd.values;
export const units = pulumi.all([etcd.unitState, flannel.unitState, proxy.unitState]);
`;
    let project: PulumiProject;
    const outputs: { where: string; text: string }[] = [];

    before(async () => {
      project = newProject("sec-per-resource", PROGRAM);
      await project.init(
        "dev",
        {
          host: h.host,
          port: String(h.port),
          hostKey: h.hostKey,
          valuePath: file.TOKEN!,
          pwPath: file.PASSWORD!,
          keyPath: file.encryptedKey!,
          phrasePath: file.PASSPHRASE!,
        },
        { key: encryptedKey, keyPassphrase: PASSPHRASE },
      );
    });

    it("previews, applies and refreshes with every credential", async () => {
      sim.clearCommandsLog("host1");
      const preview = await project.ok(["preview", "--diff"]);
      outputs.push(outputOf("preview --diff", preview));
      // The plan shows the secret template value masked, the others as they are.
      expect(preview.output, preview.output).to.include(
        "'--set=ETCD_INITIAL_CLUSTER_TOKEN=[secret]' --set=ETCD_NAME=node1",
      );
      const up = await project.ok(["up", "--yes"]);
      outputs.push(outputOf("up", up));
      expect(sim.countAcceptedLogins("host1", "publickey")).to.be.at.least(1);
      expect(sim.countAcceptedLogins("host1", "password")).to.be.at.least(1);
      const stack = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
      expect(stack.units).to.deep.equal(["active", "active", "active"]);
      // Outputs that carry a secret input stay secret; `commands` shows the value masked.
      expect(stack.etcdConnection).to.equal("[secret]");
      expect(stack.flannelConnection).to.equal("[secret]");
      expect(stack.etcdValues).to.equal("[secret]");
      expect(stack.etcdCommands.join("\n")).to.include("--set=ETCD_INITIAL_CLUSTER_TOKEN=[secret]");
      // Masking is for display only: the host got the real value.
      expect(commands().join("\n")).to.include(`--set=ETCD_INITIAL_CLUSTER_TOKEN=${TOKEN}`);
      sim.clearCommandsLog("host1");
      outputs.push(outputOf("refresh", await project.ok(["refresh", "--yes"])));
    });

    it("leaves no plaintext key, passphrase, password or secret value in the output, the export or the state files", async () => {
      const state = await exported(project);
      const files = filesOf(project);
      // The scan did read the stack's state file, where the secrets are stored encrypted.
      expect(files.some((f) => f.where.endsWith(".json") && f.text.includes('"ciphertext"'))).to.equal(true);
      expectNoLeak([...outputs, ...state, ...files, ...hostLogs()]);
      // The connection is stored encrypted, in the inputs and the outputs of every resource.
      const deployment = JSON.parse(state[1]!.text).deployment;
      const containers = deployment.resources.filter((r: { type: string }) =>
        r.type.endsWith("SystemContainer"),
      );
      expect(containers).to.have.length(3);
      for (const r of containers) {
        expect(r.inputs.connection).to.have.property("ciphertext");
        expect(r.outputs.connection).to.have.property("ciphertext");
      }
    });

    it("refuses a changed host key, naming the host and both fingerprints, and runs nothing", async () => {
      const pinned = h.hostKeyFingerprint;
      const changed = await sim.changeHostKey("host1");
      expect(changed.hostKeyFingerprint).to.not.equal(pinned);
      sim.clearCommandsLog("host1");
      // A new trigger makes every container's update connect (pull, then update if the digest changed).
      await project.ok(["config", "set", "trigger", "2"]);
      const up = await project.run(["up", "--yes"]);
      outputs.push(outputOf("up with a changed host key", up));
      expect(up.code, up.output).to.not.equal(0);
      expect(up.output).to.include(`[hostkey] root@${h.host}:${h.port}: host key mismatch`);
      expect(up.output).to.include(pinned);
      expect(up.output).to.include(changed.hostKeyFingerprint);
      expect(commands()).to.deep.equal([]);
      h = changed;
    });

    it("applies and destroys once the new host key is pinned, still without a leak", async () => {
      // The pending trigger change makes this up UPDATE every container, which stores the new hostKey in its
      // outputs. A hostKey change alone would not: diff ignores connection credentials, so the outputs (what
      // destroy and refresh connect with) would keep the old key and destroy would be refused.
      await project.ok(["config", "set", "hostKey", h.hostKey]);
      outputs.push(outputOf("up with the new host key", await project.ok(["up", "--yes"])));
      sim.clearCommandsLog("host1");
      outputs.push(outputOf("destroy", await project.ok(["destroy", "--yes"])));
      const uninstalled = commands().filter((c) => c.startsWith("atomic uninstall "));
      expect(uninstalled.map((c) => c.split(" ").pop()).sort()).to.deep.equal([
        "etcd",
        "flannel",
        "kube-proxy",
      ]);
      expectNoLeak([...outputs, ...(await exported(project)), ...filesOf(project), ...hostLogs()]);
    });
  });

  describe("keys given in the stack configuration", () => {
    // The connection names no credential: the provider's configure reads atomic-host:privateKey and friends.
    const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
const connection = { host: config.require("host"), port: config.requireNumber("port"), hostKey: config.require("hostKey") };
const apiserver = new SystemContainer("apiserver", {
  connection,
  name: "kube-apiserver",
  image: "${REGISTRY}/kubernetes-apiserver",
});
export const connectionOut = apiserver.connection;
export const unit = apiserver.unitState;
`;
    let project: PulumiProject;
    const outputs: { where: string; text: string }[] = [];

    before(async () => {
      project = newProject("sec-stack-config", PROGRAM);
      await project.init(
        "dev",
        { host: h.host, port: String(h.port), hostKey: h.hostKey },
        {
          "atomic-host:privateKey": encryptedKey,
          "atomic-host:privateKeyPassword": PASSPHRASE,
          "atomic-host:password": PASSWORD,
        },
      );
    });

    it("previews, applies, refreshes and destroys with the stack's key", async () => {
      sim.clearCommandsLog("host1");
      const logins = sim.countAcceptedLogins("host1", "publickey");
      outputs.push(outputOf("preview --diff", await project.ok(["preview", "--diff"])));
      outputs.push(outputOf("up", await project.ok(["up", "--yes"])));
      expect(sim.countAcceptedLogins("host1", "publickey")).to.be.above(logins);
      const stack = JSON.parse((await project.ok(["stack", "output", "--json"])).stdout);
      expect(stack.unit).to.equal("active");
      expect(stack.connectionOut).to.equal("[secret]");
      outputs.push(outputOf("refresh", await project.ok(["refresh", "--yes"])));
      expectNoLeak([...outputs, ...(await exported(project)), ...filesOf(project), ...hostLogs()]);
      outputs.push(outputOf("destroy", await project.ok(["destroy", "--yes"])));
      expect(commands().some((c) => /^atomic uninstall .*kube-apiserver$/.test(c))).to.equal(true);
    });

    it("leaves no plaintext key, passphrase or password anywhere after destroy", async () => {
      expectNoLeak([...outputs, ...(await exported(project)), ...filesOf(project), ...hostLogs()]);
    });
  });

  describe("wrong credentials", () => {
    const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { SystemContainer } from "pulumi-atomic-host";

const config = new pulumi.Config();
${FROM_FILE}
new SystemContainer("scheduler", {
  connection: {
    host: config.require("host"),
    port: config.requireNumber("port"),
    hostKey: config.require("hostKey"),
    password: fromFile("pwPath"),
    privateKey: fromFile("keyPath"),
    privateKeyPassword: fromFile("phrasePath"),
  },
  name: "kube-scheduler",
  image: "${REGISTRY}/kubernetes-scheduler",
});
`;
    let project: PulumiProject;

    before(async () => {
      project = newProject("sec-wrong", PROGRAM);
      await project.init("dev", { host: h.host, port: String(h.port), hostKey: h.hostKey });
    });

    /** Points the program at exactly these secret files, runs up, and expects it to fail before any command. */
    async function failingUp(files: Record<string, string>): Promise<string> {
      for (const k of ["pwPath", "keyPath", "phrasePath"]) {
        if (files[k] !== undefined) await project.ok(["config", "set", k, files[k]!]);
        else await project.run(["config", "rm", k]);
      }
      sim.clearCommandsLog("host1");
      const logins = sim.countAcceptedLogins("host1");
      const up = await project.run(["up", "--yes"]);
      expect(up.code, up.output).to.not.equal(0);
      expect(commands()).to.deep.equal([]);
      expect(sim.countAcceptedLogins("host1")).to.equal(logins);
      expectNoLeak([{ where: "output of up", text: up.output }, ...filesOf(project), ...hostLogs()]);
      return up.output;
    }

    it("a wrong password fails with an auth error that does not contain it", async () => {
      const out = await failingUp({ pwPath: file.WRONG_PASSWORD! });
      expect(out).to.include(`[auth] root@${h.host}:${h.port}: authentication as root failed`);
      expect(out).to.include("the server refused every credential offered (password)");
    });

    it("a key the host does not know fails with an auth error and no fragment of the key", async () => {
      const out = await failingUp({ keyPath: file.otherKey! });
      expect(out).to.include(`[auth] root@${h.host}:${h.port}: authentication as root failed`);
      expect(out).to.include("the server refused every credential offered (private key)");
    });

    it("a wrong passphrase says the key could not be used, without the passphrase", async () => {
      const out = await failingUp({ keyPath: file.encryptedKey!, phrasePath: file.WRONG_PASSPHRASE! });
      expect(out).to.include(`[auth] root@${h.host}:${h.port}: connection.privateKey could not be used`);
    });
  });
});
