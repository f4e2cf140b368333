/**
 * Every parser and classifier of the pure layer, on every real capture in `shared/reference/real-outputs/`
 * (outputs people pasted from real Fedora/RHEL Atomic hosts; provenance in that folder's SOURCES.md).
 *
 * The test walks the folder, so a capture added later is tested too: each file is claimed by the first rule
 * whose pattern matches its name, and a file no rule claims fails the test unless it is listed in UNPARSED with
 * the reason. The rules assert what must hold of any capture of that kind (so a parser that only fits our own
 * fixtures fails here); FACTS pins a few values read off particular captures by a person.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  buildOstreeRemoteAddCommand,
  classifyInstallOutcome,
  classifyRpmOstreeOutcome,
  classifyUninstallOutcome,
  parseAtomicTable,
  parseOstreeRemoteKeyFile,
  parseOstreeRemoteList,
  parseRpmOstreeStatus,
  parseRpmOstreeStatusText,
  parseSystemctlStatus,
  type ParseResult,
} from "../../../provider/atomic";
import { output } from "./fixtures";

/** `../shared/reference/real-outputs` from the repository root (CI has `shared/` beside the clone). */
const CORPUS = resolve(__dirname, "..", "..", "..", "..", "shared", "reference", "real-outputs");

const HEX64 = /^[0-9a-f]{64}$/;

function value<T>(r: ParseResult<T>, file: string): T {
  if (!r.ok) throw new Error(`${file}: ${r.error}`);
  return r.value;
}

interface Rule {
  pattern: RegExp;
  /** "parsed" (a parser read it) or "classified" (a classifier decided what the command did). */
  kind: "parsed" | "classified";
  what: string;
  check(text: string, file: string): void;
}

const RULES: Rule[] = [
  {
    pattern: /^rpm-ostree-status-json-\d+\.json$/,
    kind: "parsed",
    what: "parseRpmOstreeStatus",
    check(text, file) {
      const s = value(parseRpmOstreeStatus(text), file);
      expect(s.deployments.length, file).to.be.greaterThan(0);
      for (const d of s.deployments) {
        expect(d.checksum, file).to.match(HEX64);
        expect(d.osname, file).to.not.equal("");
        expect(d.origin, file).to.be.a("string");
      }
      expect(s.deployments.filter((d) => d.booted).length, file).to.be.at.most(1);
    },
  },
  {
    pattern: /^(rpm-ostree-status-(?!json)[a-z-]*\d+|atomic-host-status-\d+)\.txt$/,
    kind: "parsed",
    what: "parseRpmOstreeStatusText",
    check(text, file) {
      const s = value(parseRpmOstreeStatusText(text), file);
      // A capture taken during a transaction says "busy" (and names the transaction); any other state is new to us.
      expect(s.state, file).to.be.oneOf(["idle", "busy"]);
      expect(
        s.deployments.filter((d) => d.booted),
        file,
      ).to.have.length(1);
      for (const d of s.deployments) {
        expect(d.commit, file).to.match(HEX64);
        expect(d.origin, file).to.not.match(/^ostree:\/\//);
      }
    },
  },
  {
    pattern: /^rpm-ostree-(install|rebase|rebase-install|install-already-provided)-\d+\.txt$/,
    kind: "classified",
    what: "classifyRpmOstreeOutcome (exit 0)",
    check(text, file) {
      // Every such capture ends in a new deployment: "changed", including an inactive request (issue #1287).
      expect(classifyRpmOstreeOutcome(output(0, text)), file).to.deep.equal({ kind: "changed" });
    },
  },
  {
    pattern: /^rpm-ostree-transaction-in-progress-\d+\.txt$/,
    kind: "classified",
    what: "classifyRpmOstreeOutcome (exit 1)",
    check(text, file) {
      expect(classifyRpmOstreeOutcome(output(1, "", text)).kind, file).to.equal("busy");
    },
  },
  {
    pattern: /^atomic-containers-list-\d+\.txt$/,
    kind: "parsed",
    what: "parseAtomicTable (containers)",
    check(text, file) {
      const t = value(parseAtomicTable(text), file);
      expect(t.columns.slice(0, 4), file).to.deep.equal(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED"]);
      expect(t.rows.length, file).to.be.greaterThan(0);
      const state = t.columns.includes("STATE") ? "STATE" : "STATUS";
      for (const r of t.rows) {
        // Whatever the container's state (running, exited, failed...), it is one word in its column.
        expect(r.values[state], file).to.match(/^[a-z]+$/);
        expect(r.values.CREATED, file).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
        expect(r.values.RUNTIME, file).to.match(/^(runc|ostree|docker)$/);
      }
    },
  },
  {
    pattern: /^atomic-images-list-\d+\.txt$/,
    kind: "parsed",
    what: "parseAtomicTable (images)",
    check(text, file) {
      const t = value(parseAtomicTable(text), file);
      expect(t.columns, file).to.include.members(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "TYPE"]);
      expect(t.rows.length, file).to.be.greaterThan(0);
      for (const r of t.rows) {
        expect(r.values["IMAGE ID"], file).to.match(/^[0-9a-f]{12}$/);
        expect(r.values.TYPE, file).to.match(/^(system|ostree|docker)$/);
      }
    },
  },
  {
    pattern: /^atomic-install-system-\d+\.txt$/,
    kind: "classified",
    what: "classifyInstallOutcome (exit 0)",
    check(text, file) {
      // The container's name and checkout are read off the capture ("Extracting to .../NAME.N"), so a capture of
      // any container tests the classifier, not just etcd's.
      const m = /^Extracting to (\S*\/containers\/atomic\/([^/\s]+)\.[01])$/m.exec(text);
      expect(m, `${file}: no "Extracting to" line`).to.not.equal(null);
      const o = classifyInstallOutcome(output(0, text), m![2]!, "registry.example/any/image");
      expect(o, file).to.deep.equal({ kind: "installed", checkoutPath: m![1] });
    },
  },
  {
    pattern: /^atomic-uninstall-\d+\.txt$/,
    kind: "classified",
    what: "classifyUninstallOutcome (exit 1)",
    check(text, file) {
      // A capture does not keep its exit status: one that reports an error (01: an mmap error after the unit was
      // stopped) is a failure, never "already gone"; one that does not is a removal.
      const failedRun = /error|Traceback|failed/i.test(text);
      expect(classifyUninstallOutcome(output(failedRun ? 1 : 0, text)).kind, file).to.equal(
        failedRun ? "failed" : "removed",
      );
    },
  },
  {
    pattern: /^ostree-remote-add-\d+\.txt$/,
    kind: "parsed",
    what: "buildOstreeRemoteAddCommand (the capture is the command itself)",
    check(text, file) {
      const argv = text
        .trim()
        .replace(/^sudo /, "")
        .split(/\s+/);
      const operands = argv.slice(3).filter((a) => !a.startsWith("--"));
      const key = argv.find((a) => a.startsWith("--set=gpgkeypath="))?.slice("--set=gpgkeypath=".length);
      const rebuilt = buildOstreeRemoteAddCommand({
        name: operands[0]!,
        url: operands[1]!,
        gpgVerify: !argv.includes("--no-gpg-verify"),
        gpgKeyPath: key,
      });
      expect(rebuilt, file).to.deep.equal(argv);
    },
  },
  {
    pattern: /^ostree-remote-list-\d+\.txt$/,
    kind: "parsed",
    what: "parseOstreeRemoteList",
    check(text, file) {
      const l = value(parseOstreeRemoteList(text), file);
      expect(l.length, file).to.be.greaterThan(0);
      for (const r of l) expect(r.name, file).to.match(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
    },
  },
  {
    pattern: /^ostree-remotes-d-.*\.txt$/,
    kind: "parsed",
    what: "parseOstreeRemoteKeyFile",
    check(text, file) {
      const remotes = value(parseOstreeRemoteKeyFile(text, "/etc/ostree/remotes.d/x.conf"), file);
      expect(remotes.length, file).to.be.greaterThan(0);
      for (const r of remotes) {
        expect(r.url, file).to.match(/^(https?|file):\/\//);
        expect(r.gpgVerify, file).to.be.a("boolean");
        if (r.gpgKeyPath !== undefined) expect(r.gpgKeyPath, file).to.match(/^\//);
      }
    },
  },
  {
    pattern: /^systemctl-status-.*\.txt$/,
    kind: "parsed",
    what: "parseSystemctlStatus",
    check(text, file) {
      const s = value(parseSystemctlStatus(text), file);
      expect(s.unit, file).to.match(/\.service$/);
      expect(s.loadState, file).to.equal("loaded");
      // A system container's unit is in /etc/systemd/system, an RPM's in /usr/lib/systemd/system.
      expect(s.unitFile, file).to.match(/^\/(etc|usr\/lib)\/systemd\/system\/\S+\.service$/);
      expect(s.enabled, file).to.be.oneOf(["enabled", "disabled", "static", "masked", "indirect"]);
    },
  },
];

/** Files deliberately not parsed, with the reason. */
const UNPARSED: Record<string, string> = {
  "SOURCES.md": "the provenance table, not a capture",
};

/** Values a person read off particular captures. */
const FACTS: Record<string, (text: string) => void> = {
  "rpm-ostree-status-01.txt": (t) => {
    const d = value(parseRpmOstreeStatusText(t), "01").deployments;
    expect(d).to.have.length(1);
    expect(d[0]).to.include({
      origin: "fedora-atomic:fedora/26/x86_64/atomic-host",
      booted: true,
      version: "26.157",
    });
  },
  "rpm-ostree-status-layered-pending-01.txt": (t) => {
    const d = value(parseRpmOstreeStatusText(t), "lp01").deployments;
    expect(d.map((x) => x.booted)).to.deep.equal([false, true, false]);
    expect(d[0]!.origin).to.equal("unifiedrepo:fedora/28/x86_64/atomic-host");
    expect(d[0]!.pinned).to.equal(true);
    expect(d[0]!.layeredPackages).to.deep.equal([
      "aria2",
      "git",
      "git-annex",
      "mosh",
      "pciutils",
      "tig",
      "vim",
      "weechat",
    ]);
  },
  "rpm-ostree-status-layered-pending-02.txt": (t) => {
    const d = value(parseRpmOstreeStatusText(t), "lp02").deployments;
    expect(d.map((x) => [x.origin, x.booted, x.layeredPackages])).to.deep.equal([
      ["vmcheck", false, ["ltrace"]],
      ["vmcheck", true, []],
    ]);
  },
  "rpm-ostree-status-remote-not-found-01.txt": (t) => {
    const d = value(parseRpmOstreeStatusText(t), "rnf").deployments[0]!;
    expect(d.fields.OstreeRemoteStatus).to.equal('Remote "fedora" not found');
    expect(classifyRpmOstreeOutcome(output(1, "", `error: ${d.fields.OstreeRemoteStatus}`))).to.include({
      kind: "remoteNotFound",
      remote: "fedora",
    });
  },
  "rpm-ostree-status-json-01.json": (t) => {
    const s = value(parseRpmOstreeStatus(t), "j01");
    expect(s.deployments[0]).to.include({
      origin: "rhel-atomic-host-ostree:rhel-atomic-host/7/x86_64/standard",
    });
    expect(s.transaction).to.equal(null);
  },
  "rpm-ostree-status-json-04.json": (t) => {
    const s = value(parseRpmOstreeStatus(t), "j04");
    expect(s.deployments).to.have.length(2);
    expect(s.deployments.filter((d) => d.booted)).to.have.length(1);
    expect(s.deployments[0]!.requestedPackages).to.include("tmux");
  },
  "atomic-images-list-02.txt": (t) => {
    const rows = value(parseAtomicTable(t), "il02").rows;
    expect(rows[1]).to.deep.include({ marker: ">" });
    expect(rows[1]!.values.REPOSITORY).to.equal("docker.io/registry");
    expect(rows[5]!.values).to.include({ REPOSITORY: "registry.fedoraproject.org/f27/etcd", TYPE: "ostree" });
  },
  "atomic-containers-list-03.txt": (t) => {
    const rows = value(parseAtomicTable(t), "cl03").rows;
    expect(rows[rows.length - 1]!.values).to.include({
      "CONTAINER ID": "kubelet",
      BACKEND: "ostree",
      RUNTIME: "runc",
    });
  },
  "ostree-remotes-d-fedora-atomic-conf-01.txt": (t) => {
    expect(value(parseOstreeRemoteKeyFile(t), "rd01")[0]).to.include({
      name: "fedora-atomic",
      url: "https://kojipkgs.fedoraproject.org/atomic/26/",
      gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-26-primary",
    });
  },
  "systemctl-status-etcd-01.txt": (t) => {
    expect(value(parseSystemctlStatus(t), "se01")).to.include({ activeState: "inactive", subState: "dead" });
  },
  "systemctl-status-flannel-01.txt": (t) => {
    expect(value(parseSystemctlStatus(t), "sf01")).to.include({
      unit: "flannel.service",
      activeState: "active",
      subState: "running",
    });
  },
};

describe("the pure layer on real captures (shared/reference/real-outputs)", function () {
  const files = existsSync(CORPUS) ? readdirSync(CORPUS).sort() : [];
  const counts = { parsed: 0, classified: 0, unparsed: 0 };

  it("finds the corpus beside the repository", () => {
    expect(existsSync(CORPUS), `${CORPUS} must exist (shared/ beside the clone)`).to.equal(true);
    expect(files.length).to.be.greaterThan(30);
  });

  for (const file of files) {
    const rule = RULES.find((r) => r.pattern.test(file));
    if (rule === undefined) {
      it(`${file}: deliberately unparsed, with a reason`, () => {
        expect(UNPARSED[file], `${file} is claimed by no parser and not listed in UNPARSED`).to.be.a(
          "string",
        );
        counts.unparsed++;
      });
      continue;
    }
    it(`${file}: ${rule.what}`, () => {
      const text = readFileSync(join(CORPUS, file), "utf8");
      rule.check(text, file);
      FACTS[file]?.(text);
      counts[rule.kind]++;
    });
  }

  it("pins facts only for files that exist", () => {
    for (const f of Object.keys(FACTS)) expect(files, f).to.include(f);
  });

  after(() => {
    console.log(
      `      real-outputs: ${counts.parsed} files parsed, ${counts.classified} classified, ` +
        `${counts.unparsed} deliberately unparsed (of ${files.length})`,
    );
  });
});
