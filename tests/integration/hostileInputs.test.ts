import { expect } from "chai";
import * as fs from "fs";
import { unwrapPlanLines } from "../../provider/atomic";
import { handler } from "../../provider/handlers";
import type { ResourceKind } from "../../provider/types";
import { SimCluster, type ClusterHostEntry } from "../../sim";
import { PulumiProject, writeProgram } from "../helpers/pulumi";
import { removeDir, runProcess, skipUnlessSimAvailable, tempDir } from "./sim/support";

// Hostile inputs through every resource's `check`, the method `pulumi preview` runs. Each one must be refused
// with a failure naming the property and saying why, without echoing a credential, and without `check` ever
// reaching the host: the connection in every row points at a real simulated host and carries working
// credentials, so a connection attempt would succeed and show in its sshd log and commands.log.

const PASSWORD = "Hostile-Rows-Password-7Qx!";
const PASSPHRASE = "Hostile-Rows-Passphrase-3Zk";
/** Inside a connection string in the program itself: a secret the CLI does not know, so cannot mask. */
const URL_PASSWORD = "Hostile-Url-Password-8Ws";
const IMAGE = "registry.fedoraproject.org/f27/etcd";

/**
 * resource, what the row tries (in words), inputs laid over the resource's valid base inputs (a `connection`
 * object is merged into the base one), the failure's `property`, and a fragment of its `reason`.
 */
type Row = [
  resource: ResourceKind,
  what: string,
  patch: Record<string, unknown>,
  property: string,
  reason: string,
];

const SC = "SystemContainer" as const;
const LP = "LayeredPackage" as const;
const EDM = "EtcdDataMigration" as const;
const OR = "OstreeRemote" as const;
const HG = "HealthGate" as const;
const LONG = "a".repeat(300);
const RLO = "\u202e";

/** The table. Names, images, packages, refspecs, paths, units and connection fields; then values. */
const ROWS: Row[] = [
  // SystemContainer: name
  [SC, "command substitution", { name: "$(reboot)" }, "name", "1-64 characters from A-Z a-z 0-9 _ . -"],
  [SC, "backticks", { name: "etcd`reboot`" }, "name", "becomes the systemd unit NAME.service"],
  [SC, "a ; command separator", { name: "etcd;reboot" }, "name", "starting with a letter or digit"],
  [SC, "&&", { name: "etcd && reboot" }, "name", 'got "etcd && reboot"'],
  [SC, "a pipe", { name: "etcd|sh" }, "name", "1-64 characters"],
  [SC, "quotes", { name: "etcd' \"x" }, "name", "1-64 characters"],
  [SC, "a newline", { name: "etcd\nreboot" }, "name", 'got "etcd\\nreboot"'],
  [SC, "an option (--help)", { name: "--help" }, "name", "starting with a letter or digit"],
  [
    SC,
    "path traversal",
    { name: "../../etc/systemd/system/sshd" },
    "name",
    "the directory /var/lib/containers/atomic/NAME",
  ],
  [SC, "300 characters", { name: LONG }, "name", "1-64 characters"],
  [SC, "non-ASCII (étcd)", { name: "étcd" }, "name", 'got "étcd"'],
  [SC, "fullwidth letters", { name: "ｅｔｃｄ" }, "name", "A-Z a-z 0-9"],
  [SC, "an RTL override (U+202E)", { name: `etcd${RLO}dm.exe` }, "name", 'got "etcd\\u202edm.exe"'],
  [SC, "a NUL byte", { name: "etcd\0x" }, "name", 'got "etcd\\u0000x"'],
  [SC, "an empty string", { name: "" }, "name", 'got ""'],
  [SC, "a number", { name: 42 }, "name", "name must be a string"],
  [
    SC,
    "a unit type suffix (.socket)",
    { name: "etcd.socket" },
    "name",
    "must not end in a systemd unit type",
  ],
  [SC, "another container's deployment slot", { name: "etcd.1" }, "name", "would collide with a deployment"],
  // SystemContainer: image
  [
    SC,
    "command substitution",
    { image: `${IMAGE}:$(reboot)` },
    "image",
    "no whitespace or shell metacharacters",
  ],
  [SC, "a ; command separator", { image: `${IMAGE};reboot` }, "image", "shell metacharacters"],
  [SC, "an option (--help)", { image: "--help" }, "image", 'not starting with "-"'],
  [SC, "an option smuggled as a tag", { image: `${IMAGE}:-rf` }, "image", "tag must be 1-128 characters"],
  [
    SC,
    "path traversal",
    { image: "registry.fedoraproject.org/../../etc" },
    "image",
    "path components must be lowercase",
  ],
  [
    SC,
    "a short name (resolved by the host's search list)",
    { image: "etcd" },
    "image",
    "must start with a registry host",
  ],
  [
    SC,
    "300 characters",
    { image: `registry.fedoraproject.org/f27/${LONG}` },
    "image",
    "at most 255 characters",
  ],
  [SC, "non-ASCII", { image: "registry.fedoraproject.org/f27/étcd" }, "image", "shell metacharacters"],
  [SC, "a newline", { image: `${IMAGE}\nreboot` }, "image", "no whitespace"],
  [SC, "an empty string", { image: "" }, "image", "image must be registry/path/name"],
  [SC, "an object", { image: { name: IMAGE } }, "image", "must be a string"],
  // SystemContainer: values (keys and values), storage, systemPackage, running
  [
    SC,
    "a key with a ;",
    { values: { "A;reboot": "x" } },
    'values["A;reboot"]',
    "must match [A-Za-z_][A-Za-z0-9_]*",
  ],
  [
    SC,
    "a key with command substitution",
    { values: { "$(reboot)": "x" } },
    'values["$(reboot)"]',
    "$KEY in the image's templates",
  ],
  [SC, "a key that is an option", { values: { "--rootfs": "/" } }, 'values["--rootfs"]', "must match"],
  [SC, "an empty key", { values: { "": "x" } }, 'values[""]', "must match"],
  [SC, "a non-ASCII key", { values: { ÉTCD_NAME: "x" } }, 'values["ÉTCD_NAME"]', "must match"],
  [
    SC,
    "a key with an RTL override",
    { values: { [`A${RLO}B`]: "x" } },
    'values["A\\u202eB"]',
    'values key "A\\u202eB"',
  ],
  [
    SC,
    "a key atomic overwrites",
    { values: { EXEC_START: "/bin/sh" } },
    "values.EXEC_START",
    "set by atomic itself",
  ],
  [
    SC,
    "a value with a newline (a new unit directive)",
    { values: { ETCD_NAME: "n1\nExecStartPre=/sbin/reboot" } },
    "values.ETCD_NAME",
    "must not contain a newline",
  ],
  [
    SC,
    "a value with a carriage return",
    { values: { ETCD_NAME: "n1\rx" } },
    "values.ETCD_NAME",
    "carriage return",
  ],
  [SC, "a value with a NUL byte", { values: { ETCD_NAME: "n1\0x" } }, "values.ETCD_NAME", "or NUL"],
  [
    SC,
    "an overlong value",
    { values: { ETCD_NAME: "x".repeat(5000) } },
    "values.ETCD_NAME",
    "at most 4096 characters; got 5000",
  ],
  [
    SC,
    "a value that is a number",
    { values: { ETCD_NAME: 1 } },
    "values.ETCD_NAME",
    "must be a string; got a number",
  ],
  [SC, "values as a string", { values: "ETCD_NAME=x; reboot" }, "values", "must be an object"],
  [SC, "storage docker", { storage: "docker" }, "storage", 'must be "ostree"'],
  [SC, "systemPackage with a command", { systemPackage: "yes;reboot" }, "systemPackage", "must be one of"],
  [SC, "running as a string", { running: "true" }, "running", "must be true or false"],
  // LayeredPackage
  [LP, "command substitution", { packages: ["$(reboot)"] }, "packages[0]", "an RPM package name"],
  [LP, "backticks", { packages: ["etcd", "`reboot`"] }, "packages[1]", "an RPM package name"],
  [LP, "a ; command separator", { packages: ["etcd;reboot"] }, "packages[0]", 'got "etcd;reboot"'],
  [LP, "a pipe", { packages: ["etcd|sh"] }, "packages[0]", "an RPM package name"],
  [LP, "an option (--help)", { packages: ["--help"] }, "packages[0]", "starting with a letter or digit"],
  [LP, "an option (-y)", { packages: ["-y"] }, "packages[0]", "starting with a letter or digit"],
  [
    LP,
    "a local RPM by relative path",
    { packages: ["../../tmp/evil.rpm"] },
    "packages[0]",
    "an RPM package name",
  ],
  [LP, "a local RPM file", { packages: ["evil.rpm"] }, "packages[0]", "not a file"],
  [LP, "a newline", { packages: ["etcd\nflannel"] }, "packages[0]", 'got "etcd\\nflannel"'],
  [LP, "300 characters", { packages: [LONG] }, "packages[0]", "an RPM package name"],
  [LP, "non-ASCII", { packages: ["étcd"] }, "packages[0]", "an RPM package name"],
  [LP, "an empty string", { packages: [""] }, "packages[0]", 'got ""'],
  [LP, "a number", { packages: [7] }, "packages[0]", "got 7"],
  [LP, "a string instead of a list", { packages: "etcd flannel" }, "packages", "must be a list"],
  [LP, "an empty list", { packages: [] }, "packages", "at least one RPM package name"],
  [LP, "a duplicate", { packages: ["etcd", "etcd"] }, "packages[1]", "more than once"],
  [
    LP,
    "refspec with command substitution",
    { rebase: "fedora-atomic-27:$(reboot)" },
    "rebase",
    "must be an OSTree refspec",
  ],
  [LP, "refspec with &&", { rebase: "fedora-atomic-27:fedora/27 && reboot" }, "rebase", "OSTree refspec"],
  [LP, "refspec with ..", { rebase: "fedora-atomic-27:fedora/../../x" }, "rebase", 'no ".."'],
  [LP, "refspec that is an option", { rebase: "--os=evil" }, "rebase", "OSTree refspec"],
  [LP, "refspec with a newline", { rebase: "fedora/27\nx" }, "rebase", "OSTree refspec"],
  [LP, "refspec of 300 characters", { rebase: `fedora/${LONG}` }, "rebase", "OSTree refspec"],
  [LP, "reboot policy with a command", { reboot: "now;reboot" }, "reboot", "must be one of"],
  [
    LP,
    "reboot timeout as a string",
    { rebootTimeoutSeconds: "600" },
    "rebootTimeoutSeconds",
    "whole number of seconds",
  ],
  [LP, "negative reboot timeout", { rebootTimeoutSeconds: -1 }, "rebootTimeoutSeconds", "from 1 to 86400"],
  // EtcdDataMigration
  [EDM, "a relative source", { source: "var/lib/etcd/member" }, "source", "must be an absolute path"],
  [EDM, "source with ..", { source: "/var/lib/etcd/../../etc" }, "source", 'no "." or ".." components'],
  [
    EDM,
    "destination inside source",
    { destination: "/var/lib/etcd/member/etcd.etcd" },
    "destination",
    "must not be inside source",
  ],
  [
    EDM,
    "source inside destination",
    { source: "/var/lib/etcd/etcd.etcd/member" },
    "source",
    "must not be inside destination",
  ],
  [
    EDM,
    "source equal to destination",
    { source: "/var/lib/etcd/x", destination: "/var/lib/etcd/x" },
    "destination",
    "must differ",
  ],
  [EDM, "destination /", { destination: "/" }, "destination", 'must not be "/"'],
  [EDM, "destination that is an option", { destination: "-rf" }, "destination", "must be an absolute path"],
  [
    EDM,
    "destination with command substitution",
    { destination: "/var/lib/etcd/$(reboot)" },
    "destination",
    "may contain only A-Z a-z 0-9",
  ],
  [EDM, "source with a ;", { source: "/var/lib/etcd/member;rm -rf /" }, "source", "may contain only"],
  [EDM, "source with a newline", { source: "/var/lib/etcd/member\n/etc" }, "source", "may contain only"],
  [EDM, "source with a NUL byte", { source: "/var/lib/etcd/member\0" }, "source", "may contain only"],
  [EDM, "non-ASCII source", { source: "/var/lib/étcd/member" }, "source", 'got "/var/lib/étcd/member"'],
  [
    EDM,
    "destination with an RTL override",
    { destination: `/var/lib/etcd/${RLO}dcte` },
    "destination",
    "\\u202edcte",
  ],
  [EDM, "source of 1100 characters", { source: "/" + "a".repeat(1100) }, "source", "at most 1024 characters"],
  [EDM, "an empty source", { source: "" }, "source", "must be an absolute path"],
  [EDM, "destination as a number", { destination: 5 }, "destination", "must be a string"],
  [EDM, "service with a ;", { service: "etcd;reboot" }, "service", "a systemd unit name"],
  [EDM, "service that is an option", { service: "--help" }, "service", 'not starting with "-"'],
  [EDM, "service with a path", { service: "../etcd" }, "service", "a systemd unit name"],
  [EDM, "non-ASCII service", { service: "étcd" }, "service", "a systemd unit name"],
  [EDM, "service of 300 characters", { service: LONG }, "service", "a systemd unit name"],
  [EDM, "conflict policy overwrite", { conflict: "overwrite" }, "conflict", 'must be "fail"'],
  // Connection fields (any resource)
  [
    SC,
    "host with command substitution",
    { connection: { host: "$(reboot)" } },
    "connection.host",
    "a host name or an IP address",
  ],
  [
    LP,
    "host that is an ssh option",
    { connection: { host: "-oProxyCommand=reboot" } },
    "connection.host",
    "a host name or an IP address",
  ],
  [EDM, "host with a ;", { connection: { host: "node1;reboot" } }, "connection.host", 'got "node1;reboot"'],
  [
    SC,
    "host of 300 characters",
    { connection: { host: `${LONG}.example.com` } },
    "connection.host",
    "a host name or an IP address",
  ],
  [LP, "non-ASCII host", { connection: { host: "nöde1.example.com" } }, "connection.host", "a host name"],
  [EDM, "an empty host", { connection: { host: "" } }, "connection.host", "a host name or an IP address"],
  [SC, "host as a number", { connection: { host: 10 } }, "connection.host", "must be a string"],
  [SC, "user with a ;", { connection: { user: "root;reboot" } }, "connection.user", "a POSIX user name"],
  [
    LP,
    "user that is an ssh option",
    { connection: { user: "-oProxyCommand=reboot" } },
    "connection.user",
    'not starting with "-"',
  ],
  [EDM, "non-ASCII user", { connection: { user: "rööt" } }, "connection.user", "a POSIX user name"],
  [SC, "user with a newline", { connection: { user: "root\nx" } }, "connection.user", "a POSIX user name"],
  [
    SC,
    "port with a command",
    { connection: { port: "22;reboot" } },
    "connection.port",
    "a whole number from 1 to 65535",
  ],
  [LP, "port out of range", { connection: { port: 70000 } }, "connection.port", "from 1 to 65535"],
  [EDM, "fractional port", { connection: { port: 22.5 } }, "connection.port", "a whole number"],
  [
    SC,
    "proxy host with backticks",
    { connection: { proxy: { host: "`reboot`" } } },
    "connection.proxy.host",
    "a host name or an IP address",
  ],
  [
    SC,
    "connection as a URL with a password",
    { connection: `ssh://root:${URL_PASSWORD}@node1` },
    "connection.host",
    "connection must be an object",
  ],
  [
    LP,
    "password as a number",
    { connection: { password: 31337 } },
    "connection.password",
    "must be a string; got a number",
  ],
  [
    EDM,
    "private key as an object",
    { connection: { privateKey: { path: "~/.ssh/id_ed25519" } } },
    "connection.privateKey",
    "must be a string; got an object",
  ],
  [
    SC,
    "passphrase as an array",
    { connection: { privateKeyPassword: [PASSPHRASE] } },
    "connection.privateKeyPassword",
    "got an array",
  ],
  [
    SC,
    "insecureIgnoreHostKey as a string",
    { connection: { insecureIgnoreHostKey: "yes" } },
    "connection.insecureIgnoreHostKey",
    "must be true or false",
  ],
  [
    LP,
    "dialErrorLimit as a string",
    { connection: { dialErrorLimit: "3" } },
    "connection.dialErrorLimit",
    "whole number of attempts",
  ],
  // OstreeRemote: name, url, gpgKeyPath (each becomes an argv element and a file name / key file line on the host)
  [OR, "command substitution", { name: "$(reboot)" }, "name", "an ostree remote name"],
  [OR, "path traversal", { name: "../../etc/passwd" }, "name", "an ostree remote name"],
  [OR, "an option (--repo=/)", { name: "--repo=/" }, "name", "starting with a letter, digit or _"],
  [OR, "a newline in the name", { name: "f27\n[core]" }, "name", 'got "f27\\n[core]"'],
  [
    OR,
    "a URL with a newline (key file injection)",
    { url: "https://x/\ngpg-verify=false" },
    "url",
    "an http(s):// URL",
  ],
  [OR, "a URL with backticks", { url: "https://x/`reboot`" }, "url", "no spaces or quotes"],
  [OR, "an ftp URL", { url: "ftp://mirror/atomic" }, "url", "an http(s):// URL or a file:/// path"],
  [OR, "a relative key path", { gpgKeyPath: "RPM-GPG-KEY" }, "gpgKeyPath", "must be an absolute path"],
  [OR, "a key path with ..", { gpgKeyPath: "/etc/pki/../shadow" }, "gpgKeyPath", "normalised absolute path"],
  [OR, "gpgVerify as a string", { gpgVerify: "false" }, "gpgVerify", "must be true or false"],
  // HealthGate: its checks run commands on the host, so only a user `command` may carry shell
  [
    HG,
    "a unit with command substitution",
    { checks: [{ kind: "unitActive", name: "u", unit: "etcd$(reboot)" }] },
    "checks[0].unit",
    "must be a unit name",
  ],
  [
    HG,
    "a lease path that is relative",
    { checks: [{ kind: "flannelLease", name: "l", path: "../../etc/shadow" }] },
    "checks[0].path",
    "must be an absolute path",
  ],
  [
    HG,
    "a member ID with a ; separator",
    { checks: [{ kind: "etcdMember", name: "m", memberId: "1;reboot" }] },
    "checks[0].memberId",
    "in decimal",
  ],
  [
    HG,
    "a check name with a newline",
    { checks: [{ kind: "etcdCluster", name: "e\nreboot" }] },
    "checks[0].name",
    "1-100 letters",
  ],
  [
    HG,
    "an unknown kind",
    { checks: [{ kind: "shell", name: "s", command: "reboot" }] },
    "checks[0].kind",
    "must be one of",
  ],
  [HG, "no checks", { checks: [] }, "checks", "non-empty list"],
  [
    HG,
    "connection password as a number",
    { connection: { password: 31337 } },
    "connection.password",
    "must be a string; got a number",
  ],
];

/** Value contents that ARE accepted: each `--set=KEY=VALUE` is one argv element, so the shell never parses them. */
const ACCEPTED_VALUES: Record<string, string> = {
  SPACES_AND_QUOTES: `a b 'c' "d"`,
  SUBSTITUTION: "$(touch CANARY) `touch CANARY` ${HOME}",
  SEPARATORS: "x; touch CANARY && touch CANARY | touch CANARY",
  OPTION_LIKE: "--rootfs=/ -rf",
  UNICODE: `étcd ｅｔｃｄ ${RLO}`,
  EMPTY: "",
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Short, printable form of a row's input for the table printed at the end. */
function printable(patch: Record<string, unknown>): string {
  const text = JSON.stringify(patch, (_k, v) =>
    typeof v === "string" && v.length > 40 ? `${v.slice(0, 12)}…(${v.length} chars)` : v,
  );
  return text.replace(/[\u202e]/g, "\\u202e");
}

describe("hostile inputs are refused by check, before any host is reached", function () {
  this.timeout(10 * 60_000);
  let sim: SimCluster;
  let h: ClusterHostEntry;
  let key: string;
  let dir: string;
  const ran: string[] = [];

  /** A connection that works: key, password and the pinned host key of the simulated host. */
  const connection = () => ({
    host: h.host,
    port: h.port,
    hostKey: h.hostKey,
    password: PASSWORD,
    privateKey: key,
    privateKeyPassword: PASSPHRASE,
  });

  function baseOf(resource: ResourceKind): Record<string, unknown> {
    switch (resource) {
      case "SystemContainer":
        return { connection: connection(), name: "etcd", image: IMAGE, values: { ETCD_NAME: "node1" } };
      case "LayeredPackage":
        return {
          connection: connection(),
          packages: ["etcd"],
          rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
        };
      case "EtcdDataMigration":
        return { connection: connection() };
      case "OstreeRemote":
        return {
          connection: connection(),
          name: "fedora-atomic-27",
          url: "https://kojipkgs.fedoraproject.org/atomic/27",
        };
      case "HealthGate":
        return { connection: connection(), checks: [{ kind: "etcdCluster", name: "etcd" }] };
    }
  }

  function inputsOf([resource, , patch]: Row): Record<string, unknown> {
    const base = baseOf(resource);
    const c = patch.connection;
    const inputs = { ...base, ...patch };
    if (isPlainObject(c)) inputs.connection = { ...(base.connection as object), ...c };
    return inputs;
  }

  /** Every secret the rows carry, and the long lines of the private key. */
  function secretFragments(): string[] {
    const lines = key
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length >= 16 && !l.startsWith("-----"));
    return [PASSWORD, PASSPHRASE, URL_PASSWORD, "31337", ...lines];
  }

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("hostile");
    sim = await SimCluster.start({ dir, hosts: 1, password: PASSWORD });
    h = sim.host("host1");
    key = fs.readFileSync(h.privateKeyPath, "utf8");
    sim.clearCommandsLog("host1");
  });

  after(async () => {
    await sim?.stop();
    if (dir) removeDir(dir);
    if (ran.length > 0) console.log(["    resource / input / property / reason", ...ran].join("\n"));
  });

  it(`has at least 30 rows, covering all five resources (${ROWS.length} rows)`, () => {
    expect(ROWS.length).to.be.at.least(30);
    expect(new Set(ROWS.map((r) => r[0])).size).to.equal(5);
  });

  it("refuses every row, naming the property and why, and echoes no credential", async () => {
    const problems: string[] = [];
    const secrets = secretFragments();
    for (const row of ROWS) {
      const [resource, what, patch, property, fragment] = row;
      const label = `${resource} ${what}`;
      let r: { inputs: unknown; failures: { property: string; reason: string }[] };
      try {
        r = await handler(resource).check({}, inputsOf(row));
      } catch (err) {
        problems.push(`${label}: check threw instead of returning a failure: ${(err as Error).message}`);
        continue;
      }
      const f = r.failures.find((x) => x.property === property);
      if (!f) {
        problems.push(`${label}: no failure for ${property}; got ${JSON.stringify(r.failures)}`);
        continue;
      }
      ran.push(
        `    ${resource} / ${printable(patch)} / ${f.property} / ${JSON.stringify(f.reason).replace(/\u202e/g, "\\u202e")}`,
      );
      if (!f.reason.includes(fragment))
        problems.push(`${label}: reason ${JSON.stringify(f.reason)} lacks ${JSON.stringify(fragment)}`);
      // The reason says which input it is about (its top-level name), so it reads on its own.
      const root = property.split(/[.[]/)[0]!;
      if (!f.reason.includes(root))
        problems.push(`${label}: reason ${JSON.stringify(f.reason)} does not name ${root}`);
      // A reason quotes a rejected name with every control and bidi character escaped.
      // eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
      if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/.test(f.reason))
        problems.push(`${label}: reason contains a raw control or bidi character`);
      for (const failure of r.failures) {
        for (const s of secrets) {
          if (failure.reason.includes(s) || failure.property.includes(s))
            problems.push(`${label}: failure ${failure.property} echoes a credential fragment`);
        }
      }
      // Only the row's own property (and, for a connection that is not an object, nothing else) fails.
      const others = r.failures.filter((x) => x.property !== property);
      if (others.length > 0) problems.push(`${label}: unexpected failures ${JSON.stringify(others)}`);
    }
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });

  it("accepts value contents that are safe as one argv element, and the plan passes each through sh intact", async () => {
    const canary = `${dir}/canary`;
    const values = Object.fromEntries(
      Object.entries(ACCEPTED_VALUES).map(([k, v]) => [k, v.replace(/CANARY/g, canary)]),
    );
    const r = await handler(SC).check({}, { connection: connection(), name: "etcd", image: IMAGE, values });
    expect(r.failures).to.deep.equal([]);
    // A line longer than the CLI's diff display shows is wrapped over several items: join them back.
    const install = unwrapPlanLines(r.inputs.commands as string[])
      .map((c) => c.line)
      .find((l) => l.startsWith("atomic install "))!;
    // What the host's login shell would do with the line, with `atomic` standing for a command that prints its
    // arguments NUL-separated: every value arrives as exactly one argument and nothing in it runs.
    const shown = await runProcess("sh", ["-c", `atomic() { printf '%s\\0' "$@"; }; ${install}`]);
    expect(shown.code, shown.stderr).to.equal(0);
    const argv = shown.stdout.split("\0").slice(0, -1);
    for (const [k, v] of Object.entries(values)) expect(argv).to.include(`--set=${k}=${v}`);
    expect(fs.existsSync(canary), "a value was run by the shell").to.equal(false);
  });

  it("never connected: the host's commands.log is empty and its sshd accepted no login", () => {
    expect(sim.readCommandsLog("host1")).to.deep.equal([]);
    expect(sim.countAcceptedLogins("host1")).to.equal(0);
  });

  describe("through the real CLI", () => {
    // Four rows (one per resource, and a connection) as a Pulumi program: `pulumi preview` fails with the reasons.
    const PREVIEW_ROWS = [
      ROWS.find(([k, w]) => k === SC && w === "command substitution")!,
      ROWS.find(([k, w]) => k === LP && w === "an option (--help)")!,
      ROWS.find(([k, w]) => k === EDM && w === "destination inside source")!,
      // The engine prints the value of a failing top-level property next to the reason: it must show "[secret]".
      ROWS.find(([k, w]) => k === SC && w === "connection as a URL with a password")!,
    ];
    let project: PulumiProject | undefined;

    after(() => {
      if (project) {
        removeDir(project.dir);
        project.cleanup();
      }
    });

    it("pulumi preview fails on each of four hostile rows with its reason, and the host sees nothing", async () => {
      const defaults: Record<ResourceKind, string> = {
        SystemContainer: `{ name: "etcd", image: ${JSON.stringify(IMAGE)} }`,
        LayeredPackage: `{ packages: ["etcd"] }`,
        EtcdDataMigration: `{}`,
        OstreeRemote: `{ name: "fedora-atomic-27", url: "https://kojipkgs.fedoraproject.org/atomic/27" }`,
        HealthGate: `{ checks: [{ kind: "etcdCluster", name: "etcd" }] }`,
      };
      // The engine stops at the first failing check, so the program declares the row chosen by config.
      const resources = PREVIEW_ROWS.map(
        ([resource, , patch], i) =>
          `() => new ${resource}("row${i}", { ...${defaults[resource]}, connection, ...${JSON.stringify(patch)} } as any),`,
      );
      const program = `
import * as pulumi from "@pulumi/pulumi";
import { EtcdDataMigration, LayeredPackage, SystemContainer } from "pulumi-atomic-host";
const config = new pulumi.Config();
const connection = {
  host: config.require("host"),
  port: config.requireNumber("port"),
  hostKey: config.require("hostKey"),
  password: config.requireSecret("password"),
};
const rows = [
${resources.join("\n")}
];
rows[config.requireNumber("row")]!();
`;
      project = new PulumiProject(writeProgram("hostile", program));
      await project.init(
        "dev",
        { host: h.host, port: String(h.port), hostKey: h.hostKey },
        { password: PASSWORD },
      );
      for (const [i, row] of PREVIEW_ROWS.entries()) {
        await project.ok(["config", "set", "row", String(i)]);
        const r = await project.run(["preview"]);
        expect(r.code, r.output).to.not.equal(0);
        const reason = (await handler(row[0]).check({}, inputsOf(row))).failures.find(
          (f: { property: string }) => f.property === row[3],
        )!.reason;
        expect(r.output, r.output).to.include(`property ${row[3]} value`);
        expect(r.output, r.output).to.include(reason);
        expect(r.output).not.to.include(PASSWORD);
        expect(r.output, r.output).not.to.include(URL_PASSWORD);
      }
      expect(sim.readCommandsLog("host1")).to.deep.equal([]);
      expect(sim.countAcceptedLogins("host1")).to.equal(0);
    });
  });
});
