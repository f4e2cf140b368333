import { expect } from "chai";
import {
  decideEtcdMigration,
  isEtcdContinuation,
  parseEtcdLineageOutput,
  type EtcdInspection,
  type EtcdLineage,
} from "../../../provider/atomic";

describe("etcd WAL lineage", () => {
  it("parses the lineage script's output", () => {
    const r = parseEtcdLineageOutput(
      "@@etcd-lineage 1\nwal prefix 0000000000000000-0000000000000000.wal\nwal extra 0000000000000001-0000000000002710.wal\n@@end\n",
    );
    expect(r).to.deep.equal({
      ok: true,
      value: {
        segments: [{ name: "0000000000000000-0000000000000000.wal", state: "prefix" }],
        extra: ["0000000000000001-0000000000002710.wal"],
      },
    });
  });

  it("says when cmp is missing on the host", () => {
    const r = parseEtcdLineageOutput("@@error no-cmp\n");
    expect(r.ok).to.equal(false);
    expect(!r.ok && r.error).to.include("cmp (diffutils) is not installed");
  });

  it("refuses output cut short", () => {
    expect(parseEtcdLineageOutput("@@etcd-lineage 1\nwal prefix a.wal\n").ok).to.equal(false);
  });

  const seg = (state: "identical" | "prefix" | "diverged" | "missing") => ({ name: "0.wal", state });
  const rows: Array<[string, EtcdLineage, boolean]> = [
    ["a source segment extended by etcd", { segments: [seg("prefix")], extra: [] }, true],
    ["identical segments plus a new one", { segments: [seg("identical")], extra: ["1.wal"] }, true],
    [
      "identical segments and nothing new (other files differ)",
      { segments: [seg("identical")], extra: [] },
      false,
    ],
    ["a diverged segment (a new cluster)", { segments: [seg("diverged")], extra: ["1.wal"] }, false],
    [
      "a missing segment",
      { segments: [seg("prefix"), { name: "1.wal", state: "missing" }], extra: [] },
      false,
    ],
    ["no source segment at all", { segments: [], extra: ["1.wal"] }, false],
  ];
  for (const [what, lineage, expected] of rows) {
    it(`${expected ? "is" : "is not"} a continuation: ${what}`, () => {
      expect(isEtcdContinuation(lineage)).to.equal(expected);
    });
  }

  const inspection: EtcdInspection = {
    source: "directory",
    sourceWalFiles: 1,
    sourceHasSnap: true,
    destination: "directory",
    member: "directory",
    leftoverTempIds: [],
    backups: [],
    serviceState: "inactive",
  };
  const spec = {
    source: "/var/lib/etcd/member",
    destination: "/var/lib/etcd/etcd.etcd",
    unit: "etcd.service",
  };

  it("adopts a continued destination even with conflict backup, so a running cluster is never rewound", () => {
    const d = decideEtcdMigration(
      inspection,
      { ...spec, conflict: "backup" },
      { differences: ["changed: wal/0.wal: size 1 -> 2"], continued: true },
    );
    expect(d).to.deep.equal({ action: "adopt", continued: true });
  });

  it("still backs up a different, unrelated member directory", () => {
    const d = decideEtcdMigration(
      inspection,
      { ...spec, conflict: "backup" },
      { differences: ["changed: wal/0.wal: content"], continued: false },
    );
    expect(d.action).to.equal("backupThenCopy");
  });
});
