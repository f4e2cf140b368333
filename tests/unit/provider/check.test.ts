import { expect } from "chai";
import { handler } from "../../../provider/handlers";
import { unwrapPlanLines } from "../../../provider/atomic";
// The SDK's dynamic provider host sends check's inputs as a protobuf Struct, which refuses undefined anywhere.
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

// check and diff run during `pulumi preview` and must never touch a host; these inputs point at a port nothing
// listens on, so any SSH attempt would fail the test with a connection error instead of returning.
const conn = { host: "127.0.0.1", port: 1, insecureIgnoreHostKey: true };

describe("check (preview)", () => {
  it("shows a SystemContainer's exact install commands", async () => {
    const r = await handler("SystemContainer").check(
      {},
      { connection: conn, name: "etcd", image: "registry.fedoraproject.org/f27/etcd" },
    );
    expect(r.failures).to.deep.equal([]);
    expect(r.inputs.commands).to.deep.equal([
      // Preview cannot see whether an RPM etcd runs; the apply reads it and stops it only then.
      "systemctl stop etcd.service # only if etcd.service is active",
      "atomic pull --storage=ostree registry.fedoraproject.org/f27/etcd",
      "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd",
      "systemctl start etcd.service",
    ]);
  });

  it("plans a rollback, with no pull, when the declared image is the one before", async () => {
    const h = handler("SystemContainer");
    const v1 = (
      await h.check({}, { connection: conn, name: "etcd", image: "registry.fedoraproject.org/f27/etcd:v1" })
    ).inputs;
    const v2 = (
      await h.check(v1, { ...v1, image: "registry.fedoraproject.org/f27/etcd:v2", commands: undefined })
    ).inputs;
    expect(v2.commands[0]).to.equal("atomic pull --storage=ostree registry.fedoraproject.org/f27/etcd:v2");
    const back = (
      await h.check(v2, { ...v2, image: "registry.fedoraproject.org/f27/etcd:v1", commands: undefined })
    ).inputs;
    expect(back.commands).to.deep.equal(["atomic containers rollback etcd"]);
  });

  it("shows the guide's rebase line for a LayeredPackage", async () => {
    const r = await handler("LayeredPackage").check(
      {},
      {
        connection: conn,
        packages: ["kubernetes-master", "flannel", "etcd"],
        rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
      },
    );
    expect(r.inputs.commands[0]).to.equal(
      "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host --install=kubernetes-master --install=flannel --install=etcd",
    );
    expect(r.inputs.reboot).to.equal("ifNeeded");
  });

  it("rejects a destination inside the source for an EtcdDataMigration", async () => {
    const r = await handler("EtcdDataMigration").check(
      {},
      { connection: conn, source: "/var/lib/etcd/member", destination: "/var/lib/etcd/member/x" },
    );
    expect(r.failures.map((f: { property: string }) => f.property)).to.include("destination");
  });

  it("diff ignores the provider code, and replaces on another host", async () => {
    const h = handler("SystemContainer");
    const olds = { connection: { ...conn, privateKey: "k" }, name: "etcd", image: "i/a/b", __provider: "x" };
    const same = await h.diff("id", olds, { ...olds, __provider: "y" });
    expect(same.changes).to.equal(false);
    const moved = await h.diff("id", olds, {
      ...olds,
      connection: { ...conn, privateKey: "k", host: "127.0.0.2" },
    });
    expect(moved.replaces).to.deep.equal(["connection"]);
  });

  for (const kind of ["SystemContainer", "LayeredPackage", "EtcdDataMigration"] as const) {
    it(`${kind}: a rotated key or re-pinned host key is an in-place update (so state holds the new credentials)`, async () => {
      const h = handler(kind);
      const base = { name: "etcd", image: "i/a/b", packages: ["etcd"], __provider: "x" };
      const olds = { ...base, connection: { ...conn, privateKey: "old" } };
      const rotated = await h.diff("id", olds, { ...base, connection: { ...conn, privateKey: "new" } });
      expect(rotated).to.include({ changes: true, deleteBeforeReplace: false });
      expect(rotated.replaces).to.deep.equal([]);
      const repinned = await h.diff("id", olds, {
        ...base,
        connection: { ...conn, privateKey: "old", hostKey: "SHA256:x" },
      });
      expect(repinned.changes).to.equal(true);
      const reordered = await h.diff("id", olds, { ...base, connection: { privateKey: "old", ...conn } });
      expect(reordered.changes).to.equal(false);
    });
  }
});

describe("check plans from the state as recorded (the preview is the apply's plan)", () => {
  const image = "registry.fedoraproject.org/f27/etcd";
  const declared = { connection: conn, name: "etcd", image };

  it("previews the repair of a unit stopped by hand as running: false => true and the start it runs", async () => {
    const h = handler("SystemContainer");
    const created = (await h.check({}, declared)).inputs;
    // What read hands back after refresh found the unit inactive: the fields as found, the record, no commands.
    const refreshed = {
      ...created,
      running: false,
      commands: [],
      __recorded: { ...created.__recorded, active: false },
    };
    const next = (await h.check(refreshed, declared)).inputs;
    expect(refreshed.running).to.equal(false);
    expect(next.running).to.equal(true);
    expect(next.commands).to.deep.equal(["systemctl start etcd.service"]);
    expect((await h.diff("id", { ...refreshed, unitState: "inactive" }, next)).changes).to.equal(true);
  });

  it("makes a repair no table row sees (a disabled unit) an update, because it runs a command", async () => {
    const h = handler("SystemContainer");
    const created = (await h.check({}, declared)).inputs;
    const refreshed = { ...created, commands: [], __recorded: { ...created.__recorded, disabled: true } };
    const next = (await h.check(refreshed, declared)).inputs;
    expect(next.commands).to.deep.equal(["systemctl enable etcd.service"]);
    expect((await h.diff("id", refreshed, next)).changes).to.equal(true);
    const again = (await h.check(next, declared)).inputs;
    expect(again.commands).to.deep.equal([]);
    expect((await h.diff("id", next, again)).changes).to.equal(false);
  });

  it("previews the repair of an install killed after the tmpfiles conf and the symlink: tmpfiles, enable, start", async () => {
    const h = handler("SystemContainer");
    const created = (await h.check({}, declared)).inputs;
    const refreshed = {
      ...created,
      running: false,
      commands: [],
      __recorded: {
        ...created.__recorded,
        active: false,
        disabled: true,
        tmpfilesMissing: ["/var/lib/etcd/etcd.etcd"],
      },
    };
    const next = (await h.check(refreshed, declared)).inputs;
    expect(next.commands).to.deep.equal([
      "systemd-tmpfiles --create /etc/tmpfiles.d/etcd.conf",
      "systemctl enable etcd.service",
      "systemctl start etcd.service",
    ]);
    expect(next.__recorded.tmpfilesMissing).to.equal(undefined);
  });

  it("previews the repair of a half-removed container: the repair script, then pull, install, start", async () => {
    const h = handler("SystemContainer");
    const created = (await h.check({}, declared)).inputs;
    const halfRemoved = {
      checkouts: ["/var/lib/containers/atomic/etcd.0"],
      unitFile: true,
      tmpfilesFile: true,
      installedFiles: ["/etc/etcd/etcd.conf"],
    };
    const refreshed = {
      ...created,
      running: false,
      commands: [],
      __recorded: { image: "", values: {}, active: false, halfRemoved },
    };
    const next = (await h.check(refreshed, declared)).inputs;
    expect(next.commands).to.have.length(4);
    expect(next.commands[0]).to.match(
      /^sh -c '<container-repair script>' atomic-host-repair \/var\/lib\/containers\/atomic etcd \/etc\/etcd\/etcd\.conf/,
    );
    expect(next.commands.slice(1)).to.deep.equal([
      `atomic pull --storage=ostree ${image}`,
      `atomic install --system --system-package=no --storage=ostree --name=etcd ${image}`,
      "systemctl start etcd.service",
    ]);
    expect(next.__recorded).to.deep.equal({ image, values: {}, active: true });
  });

  it("keeps the rollback slot in __recorded, never among the inputs a reviewer sees", async () => {
    const h = handler("SystemContainer");
    const v1 = (await h.check({}, { ...declared, image: `${image}:v1` })).inputs;
    const v2 = (await h.check(v1, { ...declared, image: `${image}:v2` })).inputs;
    expect(v2).not.to.have.property("priorImage");
    expect(v2.__recorded).to.include({ image: `${image}:v2`, previousImage: `${image}:v1` });
    const back = (await h.check(v2, { ...declared, image: `${image}:v1` })).inputs;
    expect(back.commands).to.deep.equal(["atomic containers rollback etcd"]);
    // State written by an older release (priorImage) still plans the rollback, and the field is dropped.
    const legacy = { ...v2, __recorded: undefined, priorImage: `${image}:v1` };
    const fromLegacy = (await h.check(legacy, { ...declared, image: `${image}:v1`, priorImage: "x" })).inputs;
    expect(fromLegacy.commands).to.deep.equal(["atomic containers rollback etcd"]);
    expect(fromLegacy).not.to.have.property("priorImage");
  });

  for (const kind of ["SystemContainer", "LayeredPackage", "EtcdDataMigration"] as const) {
    it(`${kind}: shows the host as a plain address:port, and validates hostName`, async () => {
      const h = handler(kind);
      const inputs = { ...declared, packages: ["etcd"], hostName: "etcd1" };
      const r = await h.check({}, inputs);
      expect(r.failures).to.deep.equal([]);
      expect(r.inputs).to.include({ host: "127.0.0.1:1", hostName: "etcd1" });
      const bad = await h.check({}, { ...inputs, hostName: "a\nb" });
      expect(bad.failures.map((f: { property: string }) => f.property)).to.deep.equal(["hostName"]);
    });
  }

  it("returns inputs the SDK can send as a protobuf Struct (no undefined at any depth), valid or not", async () => {
    const cases: [string, Record<string, unknown>][] = [
      ["SystemContainer", declared],
      ["SystemContainer", { ...declared, name: "" }],
      [
        "LayeredPackage",
        { connection: conn, packages: ["etcd"], rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host" },
      ],
      ["LayeredPackage", { connection: conn, packages: [] }],
      ["EtcdDataMigration", { connection: conn }],
      ["EtcdDataMigration", { connection: conn, source: "relative" }],
    ];
    for (const [kind, news] of cases) {
      const h = handler(kind as "SystemContainer");
      const first = await h.check({}, news);
      expect(() => Struct.fromJavaScript(first.inputs), `${kind} ${JSON.stringify(news)}`).not.to.throw();
      const second = await h.check(first.inputs, news);
      expect(() => Struct.fromJavaScript(second.inputs)).not.to.throw();
    }
  });

  it("LayeredPackage: a move to another host previews the whole plan, not a delta", async () => {
    const h = handler("LayeredPackage");
    const decl = {
      connection: conn,
      packages: ["kubernetes-node", "flannel"],
      rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
    };
    const first = (await h.check({}, decl)).inputs;
    const same = (await h.check(first, { ...decl, packages: [...decl.packages, "etcd"] })).inputs;
    expect(same.commands).to.deep.equal(["rpm-ostree install etcd", "systemctl reboot"]);
    const moved = (await h.check(first, { ...decl, connection: { ...conn, host: "127.0.0.2" } })).inputs;
    expect(moved.commands).to.deep.equal([
      "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host --install=kubernetes-node --install=flannel",
      "systemctl reboot",
    ]);
  });

  it("EtcdDataMigration: a move to another host previews the whole migration; the same one plans nothing", async () => {
    const h = handler("EtcdDataMigration");
    const first = (await h.check({}, { connection: conn })).inputs;
    expect(unwrapPlanLines(first.commands).map((l) => l.line)).to.have.length(4);
    expect((await h.check(first, { connection: conn, conflict: "backup" })).inputs.commands).to.deep.equal(
      [],
    );
    const moved = (await h.check(first, { connection: { ...conn, port: 2 } })).inputs;
    expect(moved.commands).to.deep.equal(first.commands);
  });
});
