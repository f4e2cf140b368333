import { expect } from "chai";
import {
  type RpmOstreeStatus,
  bootedDeployment,
  defaultDeployment,
  needsReboot,
  parseRpmOstreeStatus,
  pendingDeployment,
} from "../../../provider/atomic";
import { fixture } from "./fixtures";

function status(name: string): RpmOstreeStatus {
  const r = parseRpmOstreeStatus(fixture(name));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe("parseRpmOstreeStatus", () => {
  it("reads the 2017.10 compact line: a pending F27 with layered packages over a booted F26 (ref §3)", () => {
    const s = status("rpm-ostree-status-2017.10-pending.json");
    expect(s.transaction).to.equal(null);
    expect(s.deployments).to.have.length(2);
    expect(s.deployments[0]).to.deep.equal({
      id: "fedora-atomic-8c5e3b2a1f0d9e8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa.0",
      osname: "fedora-atomic",
      serial: 0,
      checksum: "8c5e3b2a1f0d9e8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa",
      version: "27.1",
      timestamp: 1511172672,
      origin: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
      requestedPackages: ["etcd", "flannel", "kubernetes-master"],
      requestedLocalPackages: [],
      packages: ["etcd", "flannel", "kubernetes-master"],
      booted: false,
      baseChecksum: "d428d3ad8ecf44e53d138042bad56a10308883a0c5d64b9c51eff27fdc9da82c",
    });
    expect(s.deployments[1]!.booted).to.equal(true);
    expect(s.deployments[1]!.version).to.equal("26.157");
    expect(s.deployments[1]!.baseChecksum).to.equal(undefined);
  });

  it("reads the running transaction as [method, sender, path]", () => {
    expect(status("rpm-ostree-status-2017.10-transaction.json").transaction).to.deep.equal([
      "PkgChange",
      ":1.52",
      "/org/projectatomic/rpmostree1/fedora_atomic",
    ]);
  });

  it("reads the pretty-printed 2019 form with cached-update, pinned and staged", () => {
    const s = status("rpm-ostree-status-2019-pretty.json");
    expect(s.deployments[0]!.pinned).to.equal(false);
    expect(s.deployments[0]!.staged).to.equal(false);
    expect(s.deployments[0]!.requestedPackages).to.include("etcd");
    expect(s.deployments[0]!.packages).not.to.include("etcd");
  });

  it("drops an ostree:// scheme from the origin", () => {
    const r = parseRpmOstreeStatus(
      '{"deployments":[{"checksum":"a","origin":"ostree://r:ref","booted":true}],"transaction":null}',
    );
    expect(r.ok && r.value.deployments[0]!.origin).to.equal("r:ref");
  });

  it("skips a warning line printed before the JSON", () => {
    const r = parseRpmOstreeStatus('warning: something\n{"deployments":[],"transaction":null}');
    expect(r).to.deep.equal({ ok: true, value: { deployments: [], transaction: null } });
  });

  const bad: [string, string, string][] = [
    ["the text format", "State: idle\nDeployments:\n", "rpm-ostree status --json printed no JSON object"],
    ["a truncated line", '{"deployments":[{"checksum"', "rpm-ostree status --json printed invalid JSON"],
    ["an object without deployments", '{"transaction":null}', 'without a "deployments" list'],
    [
      "a deployment without checksum",
      '{"deployments":[{"booted":true}]}',
      'deployment 0 has no "checksum" string',
    ],
  ];
  for (const [title, text, message] of bad) {
    it(`returns an error for ${title}`, () => {
      const r = parseRpmOstreeStatus(text);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.contain(message);
    });
  }
});

describe("deployment helpers", () => {
  const pending = status("rpm-ostree-status-2017.10-pending.json");
  const booted = status("rpm-ostree-status-2017.10-booted.json");
  const rows: [
    string,
    RpmOstreeStatus,
    string | undefined,
    string | undefined,
    string | undefined,
    boolean,
  ][] = [
    // title, status, booted version, default version, pending version, needsReboot
    ["a change waiting for a reboot", pending, "26.157", "27.1", "27.1", true],
    ["after the reboot", booted, "27.1", "27.1", undefined, false],
  ];
  for (const [title, s, b, d, p, reboot] of rows) {
    it(`finds booted, default and pending deployments ${title}`, () => {
      expect(bootedDeployment(s)?.version).to.equal(b);
      expect(defaultDeployment(s)?.version).to.equal(d);
      expect(pendingDeployment(s)?.version).to.equal(p);
      expect(needsReboot(s)).to.equal(reboot);
    });
  }
  it("finds nothing in an empty status", () => {
    const empty = { deployments: [], transaction: null };
    expect([
      bootedDeployment(empty),
      defaultDeployment(empty),
      pendingDeployment(empty),
      needsReboot(empty),
    ]).to.deep.equal([undefined, undefined, undefined, false]);
  });
});
