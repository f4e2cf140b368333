import { expect } from "chai";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildAtomicInstallCommand,
  buildAtomicPullCommand,
  buildContainersListCommand,
  buildContainersRollbackCommand,
  buildContainersUpdateCommand,
  buildSystemContainerReadCommand,
  buildSystemctlCommand,
  buildUninstallCommand,
  classifyInstallOutcome,
  classifyPullOutcome,
  classifyRollbackOutcome,
  classifyUninstallOutcome,
  classifyUpdateOutcome,
  parseSystemContainerReadOutput,
  serviceUnitName,
} from "../../../provider/atomic";
import { fixture, output, runLocally } from "./fixtures";
import {
  buildContainerRepairCommand,
  buildImageCommitCommand,
  ostreeImageBranch,
  parseImageCommit,
} from "../../../provider/atomic";

const IMAGE = "registry.fedoraproject.org/f27/etcd";

describe("atomic command builders", () => {
  const rows: [string, string[], string[]][] = [
    [
      "pull into the ostree storage",
      buildAtomicPullCommand(IMAGE),
      ["atomic", "pull", "--storage=ostree", IMAGE],
    ],
    [
      "install like the migration guide",
      buildAtomicInstallCommand({ name: "etcd", image: IMAGE }),
      ["atomic", "install", "--system", "--system-package=no", "--storage=ostree", "--name=etcd", IMAGE],
    ],
    [
      "install with values sorted by key, each --set=K=V one argument",
      buildAtomicInstallCommand({
        name: "etcd",
        image: IMAGE,
        systemPackage: "auto",
        values: { ETCD_NAME: "node 1", ADDTL_MOUNTS: "-v 'x'" },
      }),
      [
        "atomic",
        "install",
        "--system",
        "--system-package=auto",
        "--storage=ostree",
        "--set=ADDTL_MOUNTS=-v 'x'",
        "--set=ETCD_NAME=node 1",
        "--name=etcd",
        IMAGE,
      ],
    ],
    [
      "update with a rebase and values",
      buildContainersUpdateCommand({
        name: "etcd",
        rebase: "registry.fedoraproject.org/f27/etcd:latest",
        values: { B: "2", A: "1" },
      }),
      [
        "atomic",
        "containers",
        "update",
        "--rebase=registry.fedoraproject.org/f27/etcd:latest",
        "--set=A=1",
        "--set=B=2",
        "etcd",
      ],
    ],
    [
      "update with nothing but the name",
      buildContainersUpdateCommand({ name: "etcd" }),
      ["atomic", "containers", "update", "etcd"],
    ],
    ["rollback", buildContainersRollbackCommand("etcd"), ["atomic", "containers", "rollback", "etcd"]],
    ["uninstall", buildUninstallCommand("etcd"), ["atomic", "uninstall", "--storage=ostree", "etcd"]],
    [
      "list with the name filter",
      buildContainersListCommand("etcd"),
      ["atomic", "containers", "list", "--all", "--json", "--no-trunc", "--filter=container=etcd"],
    ],
    [
      "systemctl start of the unit",
      buildSystemctlCommand("start", serviceUnitName("etcd")),
      ["systemctl", "start", "etcd.service"],
    ],
  ];
  for (const [title, actual, expected] of rows) {
    it(`builds ${title}`, () => expect(actual).to.deep.equal(expected));
  }

  it("refuses an operand that would be read as an option, naming its role and not its value", () => {
    expect(() => buildUninstallCommand("-a")).to.throw(TypeError, 'container name must not start with "-"');
    expect(() => buildAtomicPullCommand("")).to.throw(TypeError, "image must be a non-empty string");
  });

  it("passes the name to the read script as a positional parameter, never inside the script", () => {
    const argv = buildSystemContainerReadCommand("etcd");
    expect(argv.slice(0, 2)).to.deep.equal(["sh", "-c"]);
    expect(argv.slice(3)).to.deep.equal(["atomic-host-read", "/var/lib/containers/atomic", "etcd"]);
    expect(argv[2]).not.to.contain("etcd");
  });

  it("names the unit NAME.service unless it already has a unit type", () => {
    expect(serviceUnitName("flanneld")).to.equal("flanneld.service");
    expect(serviceUnitName("etcd.service")).to.equal("etcd.service");
  });
});

describe("the system-container read script, run on this machine", () => {
  let root: string;
  let bin: string;
  const env = () => ({ ...process.env, PATH: `${bin}:${process.env.PATH}` });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "atomic-read-"));
    bin = join(root, "bin");
    mkdirSync(bin);
    // A stand-in systemctl: is-active prints "active", is-enabled "enabled", as systemd does for a running unit.
    writeFileSync(
      join(bin, "systemctl"),
      "#!/bin/sh\ncase $1 in is-active) echo active;; is-enabled) echo enabled;; esac\n",
    );
    chmodSync(join(bin, "systemctl"), 0o755);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function install(slot: number, infoFixture: string): void {
    mkdirSync(join(root, `etcd.${slot}`));
    copyFileSync(
      join(__dirname, "..", "..", "fixtures", "atomic", infoFixture),
      join(root, `etcd.${slot}`, "info"),
    );
  }

  it("reports an absent container", () => {
    const out = runLocally(buildSystemContainerReadCommand("etcd", root), env());
    expect(out.exitCode).to.equal(0);
    const r = parseSystemContainerReadOutput(out.stdout);
    expect(r.ok && r.value.present).to.equal(false);
    expect(r.ok && r.value.active).to.equal(undefined);
  });

  it("reads the active slot, the other slot's image and the unit state in one run", () => {
    install(0, "atomic-info-etcd.json");
    install(1, "atomic-info-etcd-f26.json");
    symlinkSync(join(root, "etcd.0"), join(root, "etcd"));
    const out = runLocally(buildSystemContainerReadCommand("etcd", root), env());
    const r = parseSystemContainerReadOutput(out.stdout);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.present).to.equal(true);
    expect(r.value.active?.slot).to.equal(0);
    expect(r.value.active?.path).to.equal(join(root, "etcd.0"));
    expect(r.value.active?.info.image).to.equal(IMAGE);
    expect(r.value.previous?.slot).to.equal(1);
    expect(r.value.previous?.info.image).to.equal("registry.fedoraproject.org/f26/etcd");
    expect(r.value.unit.active).to.equal("active");
    expect(r.value.unit.enabled).to.equal("enabled");
    expect(r.value.warnings).to.deep.equal([]);
  });

  it("follows a symlink to slot 1 and finds slot 0 as the previous one", () => {
    install(0, "atomic-info-etcd-f26.json");
    install(1, "atomic-info-etcd.json");
    symlinkSync(join(root, "etcd.1"), join(root, "etcd"));
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && [r.value.active?.slot, r.value.previous?.slot]).to.deep.equal([1, 0]);
  });

  it("has no previous deployment after a first install", () => {
    install(0, "atomic-info-etcd.json");
    symlinkSync(join(root, "etcd.0"), join(root, "etcd"));
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && r.value.previous).to.equal(undefined);
  });

  it("warns about a container directory that is not a symlink", () => {
    mkdirSync(join(root, "etcd"));
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && r.value.present).to.equal(true);
    expect(r.ok && r.value.warnings).to.deep.equal([
      "the container's path is not a symlink to a deployment (NAME.0 or NAME.1)",
      "the active deployment has no readable info file",
    ]);
  });

  it("warns about a corrupt info file instead of failing the read", () => {
    mkdirSync(join(root, "etcd.0"));
    writeFileSync(join(root, "etcd.0", "info"), '{"image": "trunc');
    symlinkSync(join(root, "etcd.0"), join(root, "etcd"));
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && r.value.active).to.equal(undefined);
    expect(r.ok && r.value.warnings[0]).to.match(/^the active deployment's info file is not valid JSON/);
  });

  it("returns an error for output of a script that did not finish", () => {
    const r = parseSystemContainerReadOutput("@@read 1\n@@link /x/etcd.0\n");
    expect(r.ok).to.equal(false);
  });

  it("lists the checkouts, and calls checkouts without the symlink half-removed, with the files their info lists", () => {
    install(0, "atomic-info-etcd-f26.json");
    install(1, "atomic-info-etcd.json");
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && r.value.present).to.equal(false);
    expect(r.ok && r.value.halfRemoved).to.deep.equal({
      checkouts: [join(root, "etcd.0"), join(root, "etcd.1")],
      unitFile: false,
      tmpfilesFile: false,
      installedFiles: ["/etc/etcd/etcd.conf", "/usr/local/bin/etcdctl"],
    });
  });

  it("reports the tmpfiles conf's missing directories", () => {
    const r = parseSystemContainerReadOutput(
      "@@read 1\n@@link /var/lib/containers/atomic/etcd.0\n@@unit-active inactive\n@@unit-enabled disabled\n" +
        "@@tmpfiles-etc\n@@tmpfiles-missing /var/lib/etcd/etcd.etcd\n@@end\n",
    );
    expect(r.ok && r.value.tmpfilesMissing).to.deep.equal(["/var/lib/etcd/etcd.etcd"]);
  });

  it("does not call a whole container half-removed", () => {
    install(0, "atomic-info-etcd.json");
    symlinkSync(join(root, "etcd.0"), join(root, "etcd"));
    const r = parseSystemContainerReadOutput(
      runLocally(buildSystemContainerReadCommand("etcd", root), env()).stdout,
    );
    expect(r.ok && r.value.checkouts).to.deep.equal([join(root, "etcd.0")]);
    expect(r.ok && r.value.halfRemoved).to.equal(undefined);
  });

  it("repairs: disables the unit, reloads systemd, removes both checkouts; refuses a whole container", () => {
    const name = `atomic-host-test-${process.pid}`;
    writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> ${join(root, "systemctl.log")}\n`);
    for (const n of [0, 1]) mkdirSync(join(root, `${name}.${n}`, "rootfs"), { recursive: true });
    const installed = [join(root, "etcd.conf"), join(root, "-etcdctl")];
    for (const f of installed) writeFileSync(f, "");
    writeFileSync(join(root, "kept"), "");
    const out = runLocally(buildContainerRepairCommand(name, root, installed), env());
    expect(out.exitCode, out.stderr).to.equal(0);
    expect(out.stdout.split("\n").filter(Boolean)).to.deep.equal([
      "@@step disable",
      "@@step unit-file",
      "@@step tmpfiles",
      "@@step installed-files",
      "@@step checkouts",
      "@@done",
    ]);
    for (const f of installed) expect(existsSync(f), f).to.equal(false);
    expect(existsSync(join(root, "kept"))).to.equal(true);
    expect(readFileSync(join(root, "systemctl.log"), "utf8")).to.equal(
      `disable --now -- ${name}.service\ndaemon-reload\n`,
    );
    expect(readdirSync(root).filter((f) => f.startsWith(name))).to.deep.equal([]);

    mkdirSync(join(root, `${name}.0`));
    symlinkSync(join(root, `${name}.0`), join(root, name));
    const refused = runLocally(buildContainerRepairCommand(name, root), env());
    expect(refused.exitCode).to.equal(3);
    expect(refused.stderr).to.match(/the container is installed, not half-removed/);
    expect(
      readdirSync(root)
        .filter((f) => f.startsWith(name))
        .sort(),
    ).to.deep.equal([name, `${name}.0`]);
  });
});

describe("ostreeImageBranch", () => {
  const rows: [string, string | undefined][] = [
    // registry/name:tag with every non-alphanumeric other than . and - written _XX (syscontainers.py _encode_to_ostree_ref)
    ["registry.fedoraproject.org/f27/etcd", "ociimage/registry.fedoraproject.org_2Ff27_2Fetcd_3Alatest"],
    ["registry.fedoraproject.org/f27/etcd:3.2", "ociimage/registry.fedoraproject.org_2Ff27_2Fetcd_3A3.2"],
    // a first component without a dot is not a registry (_parse_imagename)
    ["gscrivano/etcd", "ociimage/gscrivano_2Fetcd_3Alatest"],
    // no dot: not a registry, so the first ":" starts the tag ("5000/etcd"), as atomic's own parser has it
    ["localhost:5000/etcd", "ociimage/localhost_3A5000_2Fetcd"],
    ["registry.fedoraproject.org/f27/etcd@sha256:" + "a".repeat(64), undefined],
  ];
  for (const [image, branch] of rows) {
    it(`${image} → ${branch ?? "(none: a digest reference)"}`, () =>
      expect(ostreeImageBranch(image)).to.equal(branch));
  }

  it("reads ostree rev-parse's commit", () => {
    expect(
      parseImageCommit("9a0c3b1f2e4d5c6b7a8998877665544332211000ffeeddccbbaa998877665544\n"),
    ).to.deep.equal({
      ok: true,
      value: "9a0c3b1f2e4d5c6b7a8998877665544332211000ffeeddccbbaa998877665544",
    });
    expect(parseImageCommit("error: Refspec 'x' not found\n").ok).to.equal(false);
    expect(buildImageCommitCommand("ociimage/x")).to.deep.equal([
      "ostree",
      "--repo=/ostree/repo",
      "rev-parse",
      "ociimage/x",
    ]);
  });
});

describe("atomic outcome classifiers", () => {
  it("sees a fresh install (ref §1 canonical output)", () => {
    expect(
      classifyInstallOutcome(output(0, fixture("atomic-install-etcd.stdout")), "etcd", IMAGE),
    ).to.deep.equal({
      kind: "installed",
      checkoutPath: "/var/lib/containers/atomic/etcd.0",
    });
  });

  const present = output(0, fixture("atomic-install-already-present.stdout"));
  it("adopts 'NAME already present' (exit 0) when the installed image is the declared one", () => {
    expect(classifyInstallOutcome(present, "etcd", IMAGE, IMAGE)).to.deep.equal({
      kind: "adopted",
      installedImage: IMAGE,
    });
  });
  it("reports a conflict when the installed image is another one", () => {
    const other = "registry.fedoraproject.org/f26/etcd";
    expect(classifyInstallOutcome(present, "etcd", IMAGE, other)).to.deep.equal({
      kind: "conflict",
      installedImage: other,
    });
  });
  it("asks for a read when the installed image is not known yet", () => {
    expect(classifyInstallOutcome(present, "etcd", IMAGE)).to.deep.equal({ kind: "alreadyPresent" });
  });
  it("does not take another container's 'already present' line for this one", () => {
    const r = classifyInstallOutcome(output(0, "etcd-backup already present\n"), "etcd", IMAGE, IMAGE);
    expect(r.kind).to.equal("installed");
  });
  it("classifies an existing unit file (exit 1)", () => {
    const r = classifyInstallOutcome(
      output(1, "", fixture("atomic-install-unit-exists.stderr")),
      "etcd",
      IMAGE,
    );
    expect(r).to.deep.equal({
      kind: "failed",
      failure: "unitFileExists",
      message: "The file /etc/systemd/system/etcd.service already exists.",
    });
  });
  it("classifies a non-root user", () => {
    const r = classifyInstallOutcome(output(1, "", "Only root can use --system\n"), "etcd", IMAGE);
    expect(r.kind === "failed" && r.failure).to.equal("notRoot");
  });

  it("sees an update (ref §2)", () => {
    expect(classifyUpdateOutcome(output(0, fixture("atomic-containers-update.stdout")))).to.deep.equal({
      kind: "updated",
      checkoutPath: "/var/lib/containers/atomic/etcd.1",
    });
  });
  it("sees 'Latest version already installed.' as unchanged", () => {
    expect(classifyUpdateOutcome(output(0, fixture("atomic-containers-update-latest.stdout")))).to.deep.equal(
      { kind: "unchanged" },
    );
  });
  it("classifies an update of a missing container", () => {
    const r = classifyUpdateOutcome(output(1, "", fixture("atomic-containers-update-missing.stderr")));
    expect(r.kind === "failed" && r.failure).to.equal("notInstalled");
  });

  it("sees a rollback and the slot it went to (ref §2)", () => {
    expect(classifyRollbackOutcome(output(0, fixture("atomic-containers-rollback.stdout")))).to.deep.equal({
      kind: "rolledBack",
      checkoutPath: "/var/lib/containers/atomic/etcd.0",
    });
  });
  it("classifies a rollback with no previous deployment", () => {
    const r = classifyRollbackOutcome(
      output(
        1,
        fixture("atomic-containers-rollback-none.stdout"),
        fixture("atomic-containers-rollback-none.stderr"),
      ),
    );
    expect(r.kind === "failed" && r.failure).to.equal("noPreviousDeployment");
  });

  it("sees an uninstall (ref §2)", () => {
    expect(classifyUninstallOutcome(output(0, fixture("atomic-uninstall.stdout")))).to.deep.equal({
      kind: "removed",
    });
  });
  it("treats 'Unable to find' as already uninstalled", () => {
    expect(classifyUninstallOutcome(output(1, "", fixture("atomic-uninstall-missing.stderr")))).to.deep.equal(
      { kind: "absent" },
    );
    expect(
      classifyUninstallOutcome(
        output(1, "", "Unable to find 'etcd' in the following backends: docker, ostree\n"),
      ),
    ).to.deep.equal({
      kind: "absent",
    });
  });
  it("classifies a pull of an image the registry does not have", () => {
    const r = classifyPullOutcome(output(1, "", "Failed: manifest unknown\n"));
    expect(r).to.deep.equal({
      kind: "failed",
      failure: "imageNotFound",
      message: "Failed: manifest unknown",
    });
  });
});
