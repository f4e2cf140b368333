import { expect } from "chai";
import { handler } from "../../../provider/handlers";

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
