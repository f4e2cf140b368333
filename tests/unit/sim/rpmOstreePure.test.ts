/**
 * Table tests for the pure parts of the `rpm-ostree` stand-in and the catalogue: GLib option parsing per
 * version, the deployment model (cumulative changes, inactive requests, rollback rules), status rendering, and the
 * catalogue facts other parts of the simulator rely on.
 */
import { expect } from "chai";
import {
  baseImage,
  canonicalImageRef,
  classifyExecStart,
  defaultRegistry,
  rpmUnitFileText,
  systemContainerRunsEtcd,
} from "../../../sim/catalog";
import {
  Deployment,
  RpmOstreeState,
  applyOriginChange,
  initialState,
  rollbackDeployments,
  writeDeployment,
} from "../../../sim/tools/rpmostree/model";
import { parseOptions } from "../../../sim/tools/rpmostree/options";
import { formatSize } from "../../../sim/tools/rpmostree/space";
import {
  localeIsUtf8,
  printKv,
  renderStatusJson,
  renderStatusText,
} from "../../../sim/tools/rpmostree/status";

const NOW = Date.UTC(2017, 10, 20, 10, 11, 12) / 1000;
const change = (over: Partial<Parameters<typeof applyOriginChange>[1]>) => ({
  install: [],
  uninstall: [],
  idempotent: false,
  allowInactive: true,
  version: "2017.10" as const,
  ...over,
});

describe("rpm-ostree option parsing (GLib)", () => {
  const cases: Array<[string, string[], "2017.10" | "2018.7", string | object]> = [
    [
      "install",
      ["-r", "etcd", "flannel"],
      "2017.10",
      { values: { reboot: true }, args: ["etcd", "flannel"] },
    ],
    ["install", ["--idempotent", "etcd"], "2017.10", "Unknown option --idempotent"],
    ["install", ["--idempotent", "etcd"], "2018.7", { values: { idempotent: true }, args: ["etcd"] }],
    ["install", ["--allow-inactive", "etcd"], "2017.10", "Unknown option --allow-inactive"],
    [
      "rebase",
      ["R", "--install", "a", "--install=b", "-r"],
      "2017.10",
      { values: { install: ["a", "b"], reboot: true }, args: ["R"] },
    ],
    ["rebase", ["R", "--install"], "2017.10", "Missing argument for --install"],
    ["status", ["--json"], "2017.10", { values: { json: true }, args: [] }],
    ["status", ["-x"], "2017.10", "Unknown option -x"],
  ];
  for (const [builtin, argv, version, want] of cases) {
    it(`${version} ${builtin} ${argv.join(" ")}`, () => {
      const r = parseOptions(builtin, argv, version);
      if (typeof want === "string") expect(r).to.deep.equal({ ok: false, error: want });
      else expect(r).to.deep.include({ ok: true, ...want });
    });
  }
});

describe("rpm-ostree deployment model", () => {
  const f26 = (): RpmOstreeState => initialState(baseImage(26));

  it("records a package the base provides as an inactive request, with no layered commit", () => {
    const r = applyOriginChange(f26(), change({ install: ["etcd"] }), NOW);
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.deployment.requestedPackages).to.deep.equal(["etcd"]);
    expect(r.deployment.packages).to.deep.equal([]);
    expect(r.deployment.checksum).to.equal(baseImage(26).checksum);
    expect(r.deployment.serial).to.equal(1);
    expect(r.newInactive).to.deep.equal([{ name: "etcd", providedBy: "etcd-3.1.9-1.fc26.x86_64" }]);
  });

  it("turns inactive requests active when the rebase target base lacks them", () => {
    const s = f26();
    const first = applyOriginChange(s, change({ install: ["etcd"] }), NOW);
    if (!first.ok) throw new Error(first.error);
    s.deployments = writeDeployment(s.deployments, first.deployment).deployments;
    const r = applyOriginChange(
      s,
      change({ refspec: "fedora-atomic-27:fedora/27/x86_64/atomic-host", install: ["flannel"] }),
      NOW,
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.deployment.packages).to.deep.equal(["etcd", "flannel"]);
    expect(r.deployment.baseChecksum).to.equal(baseImage(27).checksum);
    expect(r.deployment.checksum).to.not.equal(baseImage(27).checksum);
  });

  const errors: Array<[string, Parameters<typeof applyOriginChange>[1], string]> = [
    [
      "already requested",
      change({ install: ["etcd", "etcd"] }),
      "Package/capability 'etcd' is already requested",
    ],
    [
      "not requested",
      change({ uninstall: ["etcd"] }),
      "Package/capability 'etcd' is not currently requested",
    ],
    ["unknown package", change({ install: ["foo"] }), "No package matches 'foo'"],
  ];
  for (const [name, c, message] of errors) {
    it(`fails on ${name}`, () => {
      expect(applyOriginChange(f26(), c, NOW)).to.deep.include({ ok: false, error: message });
    });
  }

  it("only warns on a 2018.7 inactive request without --allow-inactive (rpmostreed-transaction-types.c:988-996)", () => {
    const r = applyOriginChange(
      f26(),
      change({ install: ["etcd"], version: "2018.7", allowInactive: false }),
      NOW,
    );
    expect(r).to.deep.include({
      ok: true,
      warnings: [
        'warning: deprecated: "etcd" is already provided by: etcd-3.1.9-1.fc26.x86_64. Use --allow-inactive to ' +
          "squash this warning. A future release will make this a requirement. See rpm-ostree(1) for details.",
      ],
    });
  });

  it("keeps [new, booted] and drops an old pending deployment", () => {
    const s = f26();
    const booted = s.deployments[0];
    const a = { ...booted, checksum: "a".repeat(64), booted: false } as Deployment;
    const b = { ...booted, checksum: "b".repeat(64), booted: false } as Deployment;
    const once = writeDeployment([booted], a);
    expect(once.countChange).to.equal(1);
    const twice = writeDeployment(once.deployments, b);
    expect(twice.deployments.map((d) => d.checksum)).to.deep.equal([b.checksum, booted.checksum]);
    expect(twice.countChange).to.equal(0);
  });

  it("rolls back: rollback deployment first; else the booted one over a pending; else an error", () => {
    const base = f26().deployments[0];
    const d = (c: string, booted: boolean) => ({ ...base, checksum: c.repeat(64), booted }) as Deployment;
    const [p, b, r] = [d("p", false), d("b", true), d("r", false)];
    expect(rollbackDeployments([b, r])).to.deep.include({ ok: true, deployments: [r, b] });
    expect(rollbackDeployments([p, b])).to.deep.include({ ok: true, deployments: [b, p] });
    expect(rollbackDeployments([p, b, r])).to.deep.include({ ok: true, deployments: [r, p, b] });
    expect(rollbackDeployments([b])).to.deep.equal({ ok: false, error: "No rollback deployment found" });
  });
});

describe("rpm-ostree status rendering", () => {
  it("right-aligns keys to InactiveBaseReplacements plus two spaces", () => {
    expect(printKv("Version", "x")).to.equal("                   Version: x");
    expect(printKv("LayeredPackages", "a")).to.equal("           LayeredPackages: a");
  });

  it("uses ● only in a UTF-8 (or unset) locale", () => {
    expect(localeIsUtf8({})).to.equal(true);
    expect(localeIsUtf8({ LANG: "en_US.UTF-8" })).to.equal(true);
    expect(localeIsUtf8({ LANG: "C" })).to.equal(false);
    expect(localeIsUtf8({ LANG: "en_US.UTF-8", LC_ALL: "C" })).to.equal(false);
  });

  it("prints compact JSON without a final newline, with a transaction tuple (rpmostree-builtin-status.c:648-673)", () => {
    const s = initialState(baseImage(27));
    s.transaction = {
      method: "PkgChange",
      sender: ":1.52",
      objpath: "/org/projectatomic/rpmostree1/fedora_atomic",
      title: "t",
      pid: null,
      started: 0,
    };
    const text = renderStatusJson(s, "2017.10");
    expect(text).to.not.include("\n");
    expect(JSON.parse(text).transaction).to.deep.equal([
      "PkgChange",
      ":1.52",
      "/org/projectatomic/rpmostree1/fedora_atomic",
    ]);
    expect(JSON.parse(text)).to.not.have.property("cached-update");
    expect(JSON.parse(renderStatusJson(s, "2018.7"))).to.have.property("cached-update", null);
  });

  it("wraps long package lists in 2018.x but not in 2017.10", () => {
    const s = initialState(baseImage(27));
    const pkgs = Array.from({ length: 12 }, (_, i) => `package-number-${i}`);
    s.deployments[0] = {
      ...s.deployments[0],
      packages: pkgs,
      requestedPackages: pkgs,
      checksum: "c".repeat(64),
    };
    const old = renderStatusText(s, { version: "2017.10", utf8: true, verbose: false });
    const newer = renderStatusText(s, { version: "2018.7", utf8: true, verbose: false });
    expect(old.split("\n").filter((l) => l.includes("package-number"))).to.have.length(1);
    expect(newer.split("\n").filter((l) => l.includes("package-number")).length).to.be.greaterThan(1);
  });
});

describe("libostree's free-space message", () => {
  // GLib's g_format_size: SI units, one decimal; the sizes real hosts printed (coreos/rpm-ostree#958,
  // coreos/fedora-coreos-tracker#731, ostreedev/ostree#1688).
  const rows: [number, string][] = [
    [0, "0 bytes"],
    [1, "1 byte"],
    [999, "999 bytes"],
    [1000, "1.0 kB"],
    [16_384, "16.4 kB"],
    [34_078_720, "34.1 MB"],
    [89_210_000, "89.2 MB"],
    [5_100_000_000, "5.1 GB"],
  ];
  for (const [bytes, text] of rows) {
    it(`formats ${bytes} bytes as "${text}"`, () => expect(formatSize(bytes)).to.equal(text));
  }
});

describe("catalogue", () => {
  it("has the seven F27 guide images with distinct deterministic digests", () => {
    const images = defaultRegistry().images;
    expect(Object.keys(images)).to.have.length(7);
    const digests = Object.values(images).map((i) => i.digest);
    expect(new Set(digests).size).to.equal(7);
    expect(defaultRegistry().images["registry.fedoraproject.org/f27/etcd:latest"].digest).to.equal(
      digests[0],
    );
    expect(images["registry.fedoraproject.org/f27/etcd:latest"].labels).to.not.have.property("atomic.type");
    expect(images["registry.fedoraproject.org/f27/flannel:latest"].labels["atomic.type"]).to.equal("system");
  });

  it("ships kubernetes, flannel and etcd in the F26 base only", () => {
    const names = (r: 26 | 27) => baseImage(r).packages.map((p) => p.name);
    expect(names(26)).to.include.members(["kubernetes-master", "kubernetes-node", "flannel", "etcd"]);
    expect(names(27)).to.not.include.members(["kubernetes-master"]);
    expect(names(27)).to.not.include("etcd");
  });

  it("tells what a unit runs: the RPM etcd, the RPM flanneld, a runc system container, or something else", () => {
    const execStart = (unit: string) => /^ExecStart=(.*)$/m.exec(rpmUnitFileText(unit)!)![1];
    expect(classifyExecStart(execStart("etcd.service"))).to.deep.equal({ kind: "etcd-rpm" });
    expect(classifyExecStart("/bin/runc --systemd-cgroup run 'etcd'")).to.deep.equal({
      kind: "runc",
      container: "etcd",
    });
    expect(classifyExecStart(execStart("flanneld.service"))).to.deep.equal({ kind: "flannel-rpm" });
    expect(classifyExecStart(execStart("kube-proxy.service"))).to.deep.equal({ kind: "other" });
    expect(
      systemContainerRunsEtcd(
        JSON.stringify({ process: { args: ["/usr/bin/etcd-env.sh", "/usr/bin/etcd"] } }),
      ),
    ).to.equal(true);
    expect(rpmUnitFileText("etcd.service")).to.contain(
      'ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd --name=\\"${ETCD_NAME}\\" --data-dir=\\"${ETCD_DATA_DIR}\\" --listen-client-urls=\\"${ETCD_LISTEN_CLIENT_URLS}\\""',
    );
  });

  it("canonicalises image references", () => {
    expect(canonicalImageRef("registry.fedoraproject.org/f27/etcd")).to.equal(
      "registry.fedoraproject.org/f27/etcd:latest",
    );
    expect(canonicalImageRef("localhost:5000/etcd")).to.equal("localhost:5000/etcd:latest");
    expect(canonicalImageRef("docker://a/b:1")).to.equal("a/b:1");
  });
});
