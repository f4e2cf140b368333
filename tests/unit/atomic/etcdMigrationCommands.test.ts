import { expect } from "chai";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EtcdInspection,
  type ManifestEntry,
  backupTimestamp,
  buildBackupCommand,
  buildCommitCommand,
  buildCopyCommand,
  buildDiscardTempCommand,
  buildEtcdInspectCommand,
  buildEtcdMigrateCommand,
  buildEtcdPrepareInspectCommand,
  parseMadeDestination,
  buildManifestCommand,
  parseEtcdMigrateOutput,
  parseMigrateResult,
  buildVerifyCommand,
  decideEtcdMigration,
  diffManifests,
  etcdMigrationWarnings,
  manifestSha256,
  manifestTotals,
  parseEtcdInspectOutput,
  parseEtcdStepOutput,
  parseManifestOutput,
  parseVerifyOutput,
} from "../../../provider/atomic";
import { output, runLocally } from "./fixtures";

const WAL = "0000000000000000-0000000000000000.wal";

describe("etcd migration command builders", () => {
  it("passes paths, ids and timestamps only as positional parameters", () => {
    const rows: [string[], string[]][] = [
      [
        buildEtcdInspectCommand({
          source: "/var/lib/etcd/member",
          destination: "/var/lib/etcd/etcd.etcd",
          unit: "etcd.service",
        }),
        ["/var/lib/etcd/member", "/var/lib/etcd/etcd.etcd", "etcd.service"],
      ],
      [buildManifestCommand("/var/lib/etcd/member"), ["/var/lib/etcd/member"]],
      [
        buildCopyCommand("/var/lib/etcd/member", "/var/lib/etcd/etcd.etcd", "a1"),
        ["/var/lib/etcd/member", "/var/lib/etcd/etcd.etcd", "a1"],
      ],
      [
        buildVerifyCommand("/var/lib/etcd/member", "/var/lib/etcd/etcd.etcd", "a1"),
        ["/var/lib/etcd/member", "/var/lib/etcd/etcd.etcd/.member.tmp-a1"],
      ],
      [buildCommitCommand("/var/lib/etcd/etcd.etcd", "a1"), ["/var/lib/etcd/etcd.etcd", "a1"]],
      [
        buildBackupCommand("/var/lib/etcd/etcd.etcd", "20171120T101112Z"),
        ["/var/lib/etcd/etcd.etcd", "20171120T101112Z"],
      ],
      [buildDiscardTempCommand("/var/lib/etcd/etcd.etcd", "a1"), ["/var/lib/etcd/etcd.etcd", "a1"]],
    ];
    for (const [argv, params] of rows) {
      expect(argv.slice(0, 2)).to.deep.equal(["sh", "-c"]);
      expect(argv[3]).to.equal("atomic-host-etcd");
      expect(argv.slice(4)).to.deep.equal(params);
      for (const p of params) expect(argv[2]).not.to.contain(p);
    }
  });

  it("refuses a temporary id or timestamp that is not plain letters and digits", () => {
    expect(() => buildCopyCommand("/a/member", "/b", "../x")).to.throw(
      TypeError,
      "temporary copy id must be 1-40 letters and digits",
    );
    expect(() => buildBackupCommand("/b", "now")).to.throw(
      TypeError,
      "backup timestamp must look like 20171120T101112Z",
    );
  });

  it("formats backup timestamps in UTC without separators", () => {
    expect(backupTimestamp(new Date(Date.UTC(2017, 10, 20, 10, 11, 12, 345)))).to.equal("20171120T101112Z");
  });
});

describe("manifests", () => {
  const entries: ManifestEntry[] = [
    { path: "wal", type: "directory", mode: 0o700, size: 0 },
    { path: "snap/db", type: "file", mode: 0o600, size: 2, sha256: "b".repeat(64) },
    { path: "snap", type: "directory", mode: 0o700, size: 0 },
    { path: `wal/${WAL}`, type: "file", mode: 0o600, size: 6, sha256: "a".repeat(64) },
  ];

  it("hashes path, size, mode and content hash, sorted by path, in a documented line format", () => {
    const text =
      "d 0700 0 - snap\n" +
      `f 0600 2 ${"b".repeat(64)} snap/db\n` +
      "d 0700 0 - wal\n" +
      `f 0600 6 ${"a".repeat(64)} wal/${WAL}\n`;
    expect(manifestSha256(entries)).to.equal(createHash("sha256").update(text).digest("hex"));
  });

  it("leaves modes out when asked (tmpfiles Z may have reset them)", () => {
    const chmodded = entries.map((e) => ({ ...e, mode: 0o755 }));
    expect(manifestSha256(chmodded, { modes: false })).to.equal(manifestSha256(entries, { modes: false }));
    expect(manifestSha256(chmodded)).not.to.equal(manifestSha256(entries));
  });

  it("counts files and bytes", () => expect(manifestTotals(entries)).to.deep.equal({ files: 2, bytes: 8 }));

  it("lists missing, extra and changed entries for the conflict error", () => {
    const other: ManifestEntry[] = [
      { path: "snap", type: "directory", mode: 0o700, size: 0 },
      { path: "snap/db", type: "file", mode: 0o644, size: 2, sha256: "c".repeat(64) },
      {
        path: "snap/0000000000000002-0000000000000010.snap",
        type: "file",
        mode: 0o600,
        size: 9,
        sha256: "d".repeat(64),
      },
      { path: "wal", type: "file", mode: 0o600, size: 1, sha256: "e".repeat(64) },
    ];
    expect(diffManifests(entries, other)).to.deep.equal([
      "only in destination: snap/0000000000000002-0000000000000010.snap (file, 9 bytes)",
      "changed: snap/db: content, mode 0600 -> 0644",
      "changed: wal: type directory -> file, size 0 -> 1, mode 0700 -> 0600",
      `only in source: wal/${WAL} (file, 6 bytes)`,
    ]);
    expect(diffManifests(entries, other, { modes: false, labels: ["a", "b"], limit: 1 })).to.deep.equal([
      "only in b: snap/0000000000000002-0000000000000010.snap (file, 9 bytes)",
      "... and 3 more differences",
    ]);
  });

  it("finds no difference between identical manifests", () =>
    expect(diffManifests(entries, [...entries].reverse())).to.deep.equal([]));

  const bad: [string, string, string][] = [
    [
      "a missing directory",
      "@@manifest 1\n@@error no-such-directory\n",
      "manifest: the directory does not exist",
    ],
    [
      "a cut-short manifest",
      "@@manifest 1\n@@odd-names 0\ne f 600 1 a\n",
      "manifest: the manifest was cut short (no end marker)",
    ],
    [
      "a file without a hash",
      "@@manifest 1\n@@odd-names 0\ne f 600 1 a\n@@manifest-end\n@@end\n",
      "manifest: a has no sha256 (unreadable?)",
    ],
    ["no output", "", "the manifest script did not start"],
  ];
  for (const [title, text, message] of bad) {
    it(`returns an error for ${title}`, () => {
      const r = parseManifestOutput(text);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.contain(message);
    });
  }
});

describe("decideEtcdMigration", () => {
  const spec = {
    source: "/var/lib/etcd/member",
    destination: "/var/lib/etcd/etcd.etcd",
    unit: "etcd.service",
    conflict: "fail" as const,
  };
  const ready: EtcdInspection = {
    source: "directory",
    sourceWalFiles: 1,
    sourceHasSnap: true,
    sourceKib: 100,
    destination: "directory",
    destinationAvailKib: 1000,
    member: "absent",
    leftoverTempIds: [],
    backups: [],
    serviceState: "inactive",
  };
  const rows: [
    string,
    Partial<EtcdInspection>,
    Partial<typeof spec>,
    { differences: string[] } | undefined,
    ReturnType<typeof decideEtcdMigration>,
  ][] = [
    ["copies into an empty destination", {}, {}, undefined, { action: "copy" }],
    [
      "compares first when destination/member exists",
      { member: "directory" },
      {},
      undefined,
      { action: "compare" },
    ],
    [
      "adopts an identical destination",
      { member: "directory" },
      {},
      { differences: [] },
      { action: "adopt" },
    ],
    [
      "backs up a different destination when conflict is backup",
      { member: "directory" },
      { conflict: "backup" as never },
      { differences: ["changed: snap/db: content"] },
      { action: "backupThenCopy", differences: ["changed: snap/db: content"] },
    ],
    [
      "refuses a different destination when conflict is fail",
      { member: "directory" },
      {},
      { differences: ["changed: snap/db: content"] },
      {
        action: "fail",
        reason:
          "/var/lib/etcd/etcd.etcd/member already exists and differs from /var/lib/etcd/member (changed: snap/db: content). " +
          'If the etcd container already started there it created a NEW cluster: set conflict: "backup" to move it aside ' +
          "to /var/lib/etcd/etcd.etcd/member.backup-<UTC time>, or move it yourself",
      },
    ],
    [
      "refuses a source that is not an etcd member directory",
      { sourceWalFiles: undefined, sourceHasSnap: false },
      {},
      undefined,
      {
        action: "fail",
        reason:
          "source /var/lib/etcd/member is not an etcd member directory: it has no wal/*.wal files; " +
          "source /var/lib/etcd/member is not an etcd member directory: it has no snap/ directory",
      },
    ],
    [
      "refuses while etcd runs",
      { serviceState: "active" },
      {},
      undefined,
      { action: "fail", reason: "etcd.service is active: etcd must be stopped while its data is copied" },
    ],
    [
      "refuses a missing destination folder, pointing at the SystemContainer",
      { destination: "absent", member: "absent" },
      {},
      undefined,
      {
        action: "fail",
        reason:
          "destination /var/lib/etcd/etcd.etcd does not exist: it is created by systemd-tmpfiles when the etcd system " +
          "container is installed; install the SystemContainer first (dependsOn)",
      },
    ],
    [
      "refuses a symlinked source",
      { source: "symlink" },
      {},
      undefined,
      {
        action: "fail",
        reason:
          "source /var/lib/etcd/member is a symlink: name the member directory it points to (cp -a would copy the link)",
      },
    ],
    [
      "refuses when the copy would not fit",
      { sourceKib: 5000 },
      {},
      undefined,
      {
        action: "fail",
        reason: "the copy needs 5000 KiB but only 1000 KiB are free on /var/lib/etcd/etcd.etcd's filesystem",
      },
    ],
    [
      "refuses a destination/member that is a file",
      { member: "other" },
      {},
      undefined,
      {
        action: "fail",
        reason: "/var/lib/etcd/etcd.etcd/member exists but is not a directory: move it away, then retry",
      },
    ],
  ];
  for (const [title, inspection, specOverrides, comparison, expected] of rows) {
    it(title, () =>
      expect(
        decideEtcdMigration({ ...ready, ...inspection }, { ...spec, ...specOverrides }, comparison),
      ).to.deep.equal(expected),
    );
  }

  it("warns when ETCD_DATA_DIR puts the member directory elsewhere", () => {
    expect(
      etcdMigrationWarnings({ ...ready, confDataDir: "/var/lib/etcd/default.etcd" }, spec),
    ).to.deep.equal([
      "/etc/etcd/etcd.conf sets ETCD_DATA_DIR=/var/lib/etcd/default.etcd, so the RPM etcd keeps its data in " +
        "/var/lib/etcd/default.etcd/member, not /var/lib/etcd/member",
    ]);
    expect(etcdMigrationWarnings({ ...ready, confDataDir: "/var/lib/etcd" }, spec)).to.deep.equal([]);
  });

  it("parses a quoted ETCD_DATA_DIR from the inspect output", () => {
    const r = parseEtcdInspectOutput(
      '@@etcd-inspect 1\nsource directory\nconf-data-dir "/var/lib/etcd"\n@@end\n',
    );
    expect(r.ok && r.value.confDataDir).to.equal("/var/lib/etcd");
  });
});

describe("parseEtcdStepOutput", () => {
  const rows: [string, ReturnType<typeof output>, ReturnType<typeof parseEtcdStepOutput>][] = [
    ["a finished step", output(0, "@@done /d/member\n"), { kind: "done", path: "/d/member" }],
    [
      "a refusal with the tool's words",
      output(
        6,
        "@@error copy-failed\n",
        "cp: error writing '/d/.member.tmp-a1/snap/db': No space left on device\n",
      ),
      {
        kind: "refused",
        refusal: "copy-failed",
        message:
          "cp -a failed; the partial copy was removed: cp: error writing '/d/.member.tmp-a1/snap/db': No space left on device",
      },
    ],
    [
      "a shell failure",
      output(2, "", "sh: 1: mv: not found\n"),
      { kind: "failed", message: "sh: 1: mv: not found" },
    ],
    ["silence", output(1), { kind: "failed", message: "exit status 1" }],
  ];
  for (const [title, out, expected] of rows) {
    it(`classifies ${title}`, () => expect(parseEtcdStepOutput(out)).to.deep.equal(expected));
  }
});

describe("parseEtcdMigrateOutput and parseMigrateResult", () => {
  const H = "a".repeat(64);
  const manifest = (extra = "") =>
    `@@odd-names 0\ne d 700 4096 wal\ne f 600 3 wal/x.wal\n${extra}h ${H}  ./wal/x.wal\n@@manifest-end`;
  it("reads a completed migration and the source's manifest", () => {
    const out = parseEtcdMigrateOutput(
      output(
        0,
        `@@step stop\n@@step copy\n@@step verify\n@@section source\n${manifest()}\n@@section copy\n${manifest()}\n@@end\n@@step commit\n@@done /d/member\n`,
      ),
    );
    expect(out.kind).to.equal("done");
    if (out.kind !== "done") return;
    expect(out.member).to.equal("/d/member");
    expect(out.source!.map((e) => e.path)).to.deep.equal(["wal", "wal/x.wal"]);
  });
  it("reads a verify mismatch rolled back with etcd restarted, with the differences", () => {
    const out = parseEtcdMigrateOutput(
      output(
        10,
        `@@step stop\n@@step copy\n@@step verify\n@@section source\n${manifest()}\n@@section copy\n` +
          `${manifest("e f 644 6 stray\nh " + H + "  ./stray\n")}\n@@end\n` +
          "@@failed verify verify-mismatch\n@@restarted etcd.service\n@@error verify-mismatch\n",
      ),
    );
    expect(out).to.deep.equal({
      kind: "rolledBack",
      step: "verify",
      reason: "verify-mismatch",
      restart: { kind: "restarted" },
      backupKept: false,
      differences: ["only in copy: stray (file, 6 bytes)"],
      stderr: "",
    });
  });
  const rows: [string, string, string, ReturnType<typeof parseEtcdMigrateOutput>][] = [
    [
      "a full disk, etcd restarted",
      "@@step stop\n@@step copy\n@@failed copy copy-failed\n@@restarted etcd.service\n@@error copy-failed\n",
      "cp: error writing 'x': No space left on device\n",
      {
        kind: "rolledBack",
        step: "copy",
        reason: "copy-failed",
        restart: { kind: "restarted" },
        backupKept: false,
        differences: undefined,
        stderr: "cp: error writing 'x': No space left on device",
      },
    ],
    [
      "a restart that failed, the backup moved back",
      "@@step stop\n@@step backup\n@@step copy\n@@failed copy copy-failed\n@@restored-backup /d/member.backup-1\n" +
        "@@restart-failed etcd.service failed\n@@error copy-failed\n",
      "",
      {
        kind: "rolledBack",
        step: "copy",
        reason: "copy-failed",
        restart: { kind: "restartFailed", state: "failed" },
        backupKept: false,
        differences: undefined,
        stderr: "",
      },
    ],
    [
      "a unit that was not running, a backup that could not be moved back",
      "@@step stop\n@@step backup\n@@step copy\n@@failed copy interrupted\n@@not-restarted etcd.service inactive\n",
      "",
      {
        kind: "rolledBack",
        step: "copy",
        reason: "interrupted",
        restart: { kind: "notRunning", state: "inactive" },
        backupKept: true,
        differences: undefined,
        stderr: "",
      },
    ],
    [
      "a refusal before the stop",
      "@@error destination-missing\n",
      "",
      {
        kind: "refused",
        refusal: "destination-missing",
        message: "the destination folder does not exist (or is a symlink)",
      },
    ],
    ["nothing (killed)", "@@step stop\n@@step copy\n", "", { kind: "unknown", stderr: "" }],
  ];
  for (const [title, stdout, stderr, expected] of rows) {
    it(`reads ${title}`, () =>
      expect(parseEtcdMigrateOutput(output(10, stdout, stderr))).to.deep.equal(expected));
  }
  it("reads the outcome file a reconnecting client finds", () => {
    expect(parseMigrateResult("@@none\n")).to.equal(undefined);
    expect(parseMigrateResult("done /d/member\n")).to.deep.equal({ kind: "done", member: "/d/member" });
    expect(parseMigrateResult("failed verify client-gone restarted\n")).to.deep.equal({
      kind: "rolledBack",
      step: "verify",
      reason: "client-gone",
      restart: { kind: "restarted" },
      backupKept: false,
      stderr: "",
    });
    expect(parseMigrateResult("failed copy interrupted restart-failed failed backup-kept\n")).to.deep.equal({
      kind: "rolledBack",
      step: "copy",
      reason: "interrupted",
      restart: { kind: "restartFailed", state: "failed" },
      backupKept: true,
      stderr: "",
    });
  });
  it("passes every path and name as a positional parameter; `none` when there is no backup", () => {
    const argv = buildEtcdMigrateCommand({
      source: "/var/lib/etcd/member",
      destination: "/var/lib/etcd/etcd.etcd",
      unit: "etcd.service",
      tempId: "abc123",
    });
    expect(argv.slice(3)).to.deep.equal([
      "atomic-host-etcd",
      "/var/lib/etcd/member",
      "/var/lib/etcd/etcd.etcd",
      "abc123",
      "etcd.service",
      "none",
    ]);
    expect(() =>
      buildEtcdMigrateCommand({
        source: "/a",
        destination: "/b",
        unit: "u",
        tempId: "x",
        backupTimestamp: "now",
      }),
    ).to.throw(TypeError);
  });
});

describe("the etcd migration scripts, run on this machine", () => {
  let root: string;
  let src: string;
  let dest: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "etcd-migration-"));
    src = join(root, "var-lib-etcd", "member");
    dest = join(root, "var-lib-etcd", "etcd.etcd");
    mkdirSync(join(src, "wal"), { recursive: true });
    mkdirSync(join(src, "snap"));
    writeFileSync(join(src, "wal", WAL), "wal-bytes", { mode: 0o600 });
    writeFileSync(join(src, "wal", "0.tmp"), "");
    writeFileSync(join(src, "snap", "db"), "bolt", { mode: 0o600 });
    chmodSync(join(src, "wal"), 0o700);
    mkdirSync(dest);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function inspect() {
    const r = parseEtcdInspectOutput(
      runLocally(
        buildEtcdInspectCommand({ source: src, destination: dest, unit: "etcd-test-absent.service" }),
      ).stdout,
    );
    if (!r.ok) throw new Error(r.error);
    return r.value;
  }

  it("inspects a member directory and an empty destination", () => {
    const i = inspect();
    expect([i.source, i.sourceWalFiles, i.sourceHasSnap, i.destination, i.member]).to.deep.equal([
      "directory",
      1,
      true,
      "directory",
      "absent",
    ]);
    expect(i.sourceKib).to.be.a("number");
    expect(i.destinationAvailKib).to.be.a("number");
    expect(i.leftoverTempIds).to.deep.equal([]);
  });

  it("makes a missing destination (0700) in the apply's first inspection, says so, and inspects it made", () => {
    rmSync(dest, { recursive: true });
    const spec = { source: src, destination: dest, unit: "etcd-test-absent.service" };
    const r = runLocally(buildEtcdPrepareInspectCommand(spec));
    expect(parseMadeDestination(r.stdout)).to.equal(0);
    expect(statSync(dest).mode & 0o7777).to.equal(0o700);
    const i = parseEtcdInspectOutput(r.stdout);
    expect(i.ok && [i.value.destination, i.value.member]).to.deep.equal(["directory", "absent"]);
    // Made once: the next inspection finds it and runs no mkdir.
    expect(parseMadeDestination(runLocally(buildEtcdPrepareInspectCommand(spec)).stdout)).to.equal(undefined);
  });

  it("makes no destination when the source is not a directory (absent, or a symlink), nor over anything there", () => {
    rmSync(dest, { recursive: true });
    const spec = (source: string) => ({ source, destination: dest, unit: "etcd-test-absent.service" });
    expect(
      parseMadeDestination(runLocally(buildEtcdPrepareInspectCommand(spec(join(root, "none")))).stdout),
    ).to.equal(undefined);
    symlinkSync(src, join(root, "link"));
    expect(
      parseMadeDestination(runLocally(buildEtcdPrepareInspectCommand(spec(join(root, "link")))).stdout),
    ).to.equal(undefined);
    symlinkSync(join(root, "elsewhere"), dest);
    expect(parseMadeDestination(runLocally(buildEtcdPrepareInspectCommand(spec(src))).stdout)).to.equal(
      undefined,
    );
    expect(existsSync(join(root, "elsewhere"))).to.equal(false);
  });

  it("copies, verifies and commits: destination/member then has the source's exact files", () => {
    expect(parseEtcdStepOutput(runLocally(buildCopyCommand(src, dest, "t1")))).to.deep.equal({
      kind: "done",
      path: `${dest}/.member.tmp-t1`,
    });
    const v = parseVerifyOutput(runLocally(buildVerifyCommand(src, dest, "t1")).stdout);
    expect(v.ok).to.equal(true);
    if (!v.ok) return;
    expect(v.value.source.map((e) => e.path)).to.deep.equal([
      "snap",
      "snap/db",
      "wal",
      "wal/0.tmp",
      `wal/${WAL}`,
    ]);
    expect(diffManifests(v.value.source, v.value.copy)).to.deep.equal([]);
    expect(manifestSha256(v.value.copy)).to.equal(manifestSha256(v.value.source));
    expect(v.value.source.find((e) => e.path === "snap/db")).to.deep.equal({
      path: "snap/db",
      type: "file",
      mode: 0o600,
      size: 4,
      sha256: createHash("sha256").update("bolt").digest("hex"),
    });
    expect(parseEtcdStepOutput(runLocally(buildCommitCommand(dest, "t1")))).to.deep.equal({
      kind: "done",
      path: `${dest}/member`,
    });
    expect(readdirSync(dest)).to.deep.equal(["member"]);
    const after = parseManifestOutput(runLocally(buildManifestCommand(`${dest}/member`)).stdout);
    expect(after.ok && manifestSha256(after.value)).to.equal(manifestSha256(v.value.source));
    expect(existsSync(join(src, "snap", "db"))).to.equal(true);
  });

  it("refuses to commit over an existing member directory and leaves both untouched", () => {
    mkdirSync(join(dest, "member"));
    writeFileSync(join(dest, "member", "keep"), "x");
    runLocally(buildCopyCommand(src, dest, "t2"));
    const r = parseEtcdStepOutput(runLocally(buildCommitCommand(dest, "t2")));
    expect(r).to.deep.equal({
      kind: "refused",
      refusal: "member-exists",
      message: "DEST/member already exists; nothing was renamed",
    });
    expect(readdirSync(join(dest, "member"))).to.deep.equal(["keep"]);
    expect(existsSync(join(dest, ".member.tmp-t2", "snap", "db"))).to.equal(true);
  });

  it("removes its partial copy when cp fails", () => {
    const bin = join(root, "bin");
    mkdirSync(bin);
    // A cp that starts a copy and then fails, like a full disk.
    writeFileSync(
      join(bin, "cp"),
      '#!/bin/sh\nfor last; do :; done\nmkdir -p "$last/partial"\necho "cp: No space left on device" >&2\nexit 1\n',
    );
    chmodSync(join(bin, "cp"), 0o755);
    const r = parseEtcdStepOutput(
      runLocally(buildCopyCommand(src, dest, "t3"), { ...process.env, PATH: `${bin}:${process.env.PATH}` }),
    );
    expect(r).to.deep.equal({
      kind: "refused",
      refusal: "copy-failed",
      message: "cp -a failed; the partial copy was removed: cp: No space left on device",
    });
    expect(readdirSync(dest)).to.deep.equal([]);
  });

  it("refuses to copy into a missing destination folder", () => {
    rmSync(dest, { recursive: true });
    const r = parseEtcdStepOutput(runLocally(buildCopyCommand(src, dest, "t4")));
    expect(r.kind === "refused" && r.refusal).to.equal("destination-missing");
  });

  it("finds a leftover temporary copy, and discards exactly that one", () => {
    runLocally(buildCopyCommand(src, dest, "t5"));
    mkdirSync(join(dest, "unrelated"));
    expect(inspect().leftoverTempIds).to.deep.equal(["t5"]);
    expect(parseEtcdStepOutput(runLocally(buildDiscardTempCommand(dest, "t5")))).to.deep.equal({
      kind: "done",
      path: `${dest}/.member.tmp-t5`,
    });
    expect(readdirSync(dest)).to.deep.equal(["unrelated"]);
    expect(parseEtcdStepOutput(runLocally(buildDiscardTempCommand(dest, "t5"))).kind).to.equal("done");
  });

  it("moves a conflicting member directory aside to a timestamped backup, once", () => {
    mkdirSync(join(dest, "member"));
    const stamp = "20171120T101112Z";
    expect(parseEtcdStepOutput(runLocally(buildBackupCommand(dest, stamp)))).to.deep.equal({
      kind: "done",
      path: `${dest}/member.backup-${stamp}`,
    });
    expect(inspect().backups).to.deep.equal([`member.backup-${stamp}`]);
    mkdirSync(join(dest, "member"));
    expect(parseEtcdStepOutput(runLocally(buildBackupCommand(dest, stamp)))).to.deep.equal({
      kind: "refused",
      refusal: "backup-exists",
      message: "a backup with the same timestamp already exists",
    });
  });

  it("reports a symlinked source instead of copying the link", () => {
    const link = join(root, "link-member");
    symlinkSync(src, link);
    const r = parseEtcdInspectOutput(
      runLocally(buildEtcdInspectCommand({ source: link, destination: dest, unit: "x.service" })).stdout,
    );
    expect(r.ok && r.value.source).to.equal("symlink");
  });

  it("refuses to manifest a directory with names it could not parse safely", () => {
    writeFileSync(join(src, "snap", "weird\nname"), "x");
    const r = parseManifestOutput(runLocally(buildManifestCommand(src)).stdout);
    expect(r).to.deep.equal({
      ok: false,
      error:
        "manifest: 1 entries have names outside A-Z a-z 0-9 . _ + - , which an etcd member directory never has; " +
        "refusing to migrate it automatically",
    });
  });

  it("reports a missing directory from the manifest script", () => {
    const out = runLocally(buildManifestCommand(join(root, "nope")));
    expect(out.exitCode).to.equal(3);
    const r = parseManifestOutput(out.stdout);
    expect(r.ok).to.equal(false);
  });
});
