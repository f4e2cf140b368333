import { expect } from "chai";
import {
  type DiffTable,
  ETCD_DATA_MIGRATION_DIFF,
  LAYERED_PACKAGE_DIFF,
  OSTREE_REMOTE_DIFF,
  type PropertyDiff,
  SYSTEM_CONTAINER_DIFF,
  UNKNOWN,
  diffProperties,
} from "../../../provider/atomic";

const conn = { host: "10.0.0.5", port: 22, user: "root", privateKey: "KEY-A" };
const provider = { __provider: "exports.handler = ...v1" };

type Row = [title: string, change: Record<string, unknown>, expected: PropertyDiff];

const none: PropertyDiff = { changes: false, replaces: [], deleteBeforeReplace: false, changed: [] };
const update = (...changed: string[]): PropertyDiff => ({
  changes: true,
  replaces: [],
  deleteBeforeReplace: false,
  changed,
});
const replace = (dbr: boolean, replaces: string[], ...changed: string[]): PropertyDiff => ({
  changes: true,
  replaces,
  deleteBeforeReplace: dbr,
  changed,
});

/**
 * Rows every resource shares: which host it is, and what never counts as a change. A move to another host
 * creates first (`dbrMove`); a host unknown at preview may be the same host (`dbrUnknown`).
 */
function hostRows(dbrMove: boolean, dbrUnknown = dbrMove): Row[] {
  return [
    [
      "another host replaces, creating the new one first",
      { connection: { ...conn, host: "10.0.0.6" } },
      replace(dbrMove, ["connection"], "connection.host"),
    ],
    [
      "another port replaces, creating the new one first",
      { connection: { ...conn, port: 2222 } },
      replace(dbrMove, ["connection"], "connection.port"),
    ],
    [
      "leaving out the default port 22 is no change",
      { connection: { host: "10.0.0.5", user: "root", privateKey: "KEY-A" } },
      none,
    ],
    ["a new private key is no change", { connection: { ...conn, privateKey: "KEY-B" } }, none],
    ["a new password is no change", { connection: { ...conn, password: "p" } }, none],
    ["another user is no change", { connection: { ...conn, user: "core" } }, none],
    ["a jump host is no change", { connection: { ...conn, proxy: { host: "bastion" } } }, none],
    ["a new __provider is no change", { __provider: "exports.handler = ...v2" }, none],
    ["a new hostName label is an update that runs nothing", { hostName: "master1" }, update("hostName")],
    [
      "an unknown host at preview may replace",
      { connection: { ...conn, host: UNKNOWN } },
      replace(dbrUnknown, ["connection"], "connection.host"),
    ],
    [
      "a wholly unknown connection may replace",
      { connection: UNKNOWN },
      replace(dbrUnknown, ["connection"], "connection.host", "connection.port"),
    ],
  ];
}

function runTable(table: DiffTable, olds: Record<string, unknown>, rows: Row[]): void {
  describe(`${table.resource} diff`, () => {
    for (const [title, change, expected] of rows) {
      it(title, () => expect(diffProperties(table, olds, { ...olds, ...change })).to.deep.equal(expected));
    }
    it("has a test row for every table row", () => {
      const tested = new Set(
        rows.flatMap(([, change]) =>
          Object.keys(change).map((k) => (k === "connection" ? "connection.host" : k)),
        ),
      );
      for (const row of table.rows) {
        if (row.path.startsWith("connection.")) continue;
        expect(tested.has(row.path), row.path).to.equal(true);
      }
    });
  });
}

// Old OUTPUTS: inputs plus computed fields, which diff must ignore.
const scOlds = {
  ...provider,
  connection: conn,
  name: "etcd",
  image: "registry.fedoraproject.org/f27/etcd",
  values: { ETCD_NAME: "node1" },
  imageId: "abc",
  deployment: 0,
  unitState: "active",
  commands: ["atomic install ..."],
};
runTable(SYSTEM_CONTAINER_DIFF, scOlds, [
  ...hostRows(false, true),
  [
    "a new name replaces, creating the new container first (no collision: another unit)",
    { name: "etcd2" },
    replace(false, ["name"], "name"),
  ],
  [
    "a new name and systemPackage on the same host create first (the name differs)",
    { name: "etcd2", systemPackage: "yes" },
    replace(false, ["name", "systemPackage"], "name", "systemPackage"),
  ],
  ["a new image updates", { image: "registry.fedoraproject.org/f27/etcd:3.2" }, update("image")],
  ["storage ostree spelled out is no change", { storage: "ostree" }, none],
  ["systemPackage no spelled out is no change", { systemPackage: "no" }, none],
  [
    "systemPackage yes replaces, deleting first (install-time only; same host and name would collide)",
    { systemPackage: "yes" },
    replace(true, ["systemPackage"], "systemPackage"),
  ],
  ["new values update", { values: { ETCD_NAME: "node2" } }, update("values")],
  ["values in another key order are no change", { values: { ETCD_NAME: "node1" } }, none],
  ["running false updates", { running: false }, update("running")],
  ["running true spelled out is no change", { running: true }, none],
  ["new triggers update, not replace", { triggers: ["v2"] }, update("triggers")],
  ["a changed computed output is no change", { imageId: "def", commands: [] }, none],
]);

const lpOlds = {
  ...provider,
  connection: conn,
  packages: ["etcd", "flannel"],
  booted: { checksum: "x" },
  bootId: "b",
};
runTable(LAYERED_PACKAGE_DIFF, lpOlds, [
  ...hostRows(false),
  ["another package updates", { packages: ["etcd", "flannel", "kubernetes-master"] }, update("packages")],
  ["the same packages in another order are no change", { packages: ["flannel", "etcd"] }, none],
  ["a rebase updates", { rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host" }, update("rebase")],
  ["reboot never updates", { reboot: "never" }, update("reboot")],
  ["reboot ifNeeded spelled out is no change", { reboot: "ifNeeded" }, none],
  ["a new reboot timeout updates", { rebootTimeoutSeconds: 900 }, update("rebootTimeoutSeconds")],
  ["an unknown package list at preview updates", { packages: UNKNOWN }, update("packages")],
]);

const emOlds = {
  ...provider,
  connection: conn,
  manifestSha256: "m",
  files: 3,
  bytes: 10,
  migratedAt: "2017-11-20T10:11:12Z",
};
runTable(ETCD_DATA_MIGRATION_DIFF, emOlds, [
  ...hostRows(false),
  [
    "another source replaces",
    { source: "/var/lib/etcd/default.etcd/member" },
    replace(false, ["source"], "source"),
  ],
  [
    "another destination replaces",
    { destination: "/var/lib/etcd/etcd2.etcd" },
    replace(false, ["destination"], "destination"),
  ],
  [
    "the default source spelled out is no change",
    { source: "/var/lib/etcd/member", destination: "/var/lib/etcd/etcd.etcd" },
    none,
  ],
  ["another service updates", { service: "etcd-member" }, update("service")],
  ["conflict backup updates", { conflict: "backup" }, update("conflict")],
]);

const orOlds = {
  ...provider,
  connection: conn,
  name: "fedora-atomic-27",
  url: "https://kojipkgs.fedoraproject.org/atomic/27",
  gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
  adopted: false,
  file: "/etc/ostree/remotes.d/fedora-atomic-27.conf",
};
runTable(OSTREE_REMOTE_DIFF, orOlds, [
  ...hostRows(false),
  ["another name replaces (another remote)", { name: "fedora-atomic-28" }, replace(false, ["name"], "name")],
  ["another URL updates", { url: "https://dl.fedoraproject.org/atomic/repo/" }, update("url")],
  ["gpgVerify true spelled out is no change", { gpgVerify: true }, none],
  ["gpgVerify false updates", { gpgVerify: false }, update("gpgVerify")],
  ["another key path updates", { gpgKeyPath: "/etc/pki/rpm-gpg/other" }, update("gpgKeyPath")],
  ["replace false spelled out is no change", { replace: false }, none],
  ["replace true updates (runs nothing by itself)", { replace: true }, update("replace")],
  ["a changed computed output is no change", { adopted: true, file: "" }, none],
]);
