/**
 * The simulator against captures from real hosts (shared/reference/real-outputs, sources in its SOURCES.md): where
 * the corpus holds the same command and case, a simulated host run over real SSH must print the same, volatile
 * values aside. Each case names its file. Volatile: the pull's object counts, sizes and seconds, the /etc merge
 * counts, the package lines of a diff (the catalogue samples Fedora's packages; the line format is still checked),
 * and lines the capture's author elided with `...` (any number of lines). A capture made on a terminal
 * has console artefacts an SSH exec has not (rpm-ostree's progress bar leaves a blank line and pads the pull line
 * with spaces): those are stripped from the capture and said so in the case.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { SimCluster } from "../../../sim";
import { useSimCluster } from "../../helpers/simFixture";
import { sshRunner } from "./support";

const CORPUS = path.resolve(__dirname, "../../../../shared/reference/real-outputs");
const corpusFile = (name: string) => fs.readFileSync(path.join(CORPUS, name), "utf8");

/**
 * Values that differ from run to run (object counts, sizes, durations, /etc merge counts) and the package lines of a
 * diff (`  NAME EVR -> EVR`, `  NEVRA`): the distribution's packages, which the simulator's catalogue only samples;
 * their format must still be rpm-ostree's for the line to be masked.
 */
function maskVolatile(line: string): string {
  return line
    .replace(
      /^\d+ metadata, \d+ content objects fetched; \d+ (?:B|KiB) transferred in \d+ seconds$/,
      "<pull>",
    )
    .replace(/^Copying \/etc changes: \d+ modified, \d+ removed, \d+ added$/, "<etc-merge>")
    .replace(/^ {2}\S+ \S+ -> \S+$/, "<pkg>")
    .replace(/^ {2}[A-Za-z0-9._+-]+-[^-\s]+-[^-\s]+\.(?:x86_64|noarch)$/, "<pkg>");
}

function collapse(lines: string[]): string[] {
  return lines.filter((l, i) => !(l === "<pkg>" && lines[i - 1] === "<pkg>"));
}

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * `actual` matches the capture after masking, where a capture line `...` (indented or not: the author's elision)
 * stands for any number of lines.
 */
function matchesCapture(actual: string, capture: string): { ok: boolean; why: string } {
  const a = collapse(actual.replace(/\n$/, "").split("\n").map(maskVolatile));
  const c = collapse(capture.replace(/\n$/, "").split("\n").map(maskVolatile));
  const re = new RegExp(
    "^" + c.map((l) => (l.trim() === "..." ? "(?:.*\\n)*?" : `${escapeRe(l)}\\n`)).join("") + "$",
  );
  const text = a.map((l) => `${l}\n`).join("");
  return re.test(text)
    ? { ok: true, why: "" }
    : { ok: false, why: `masked:\n${text}\ncapture:\n${c.join("\n")}` };
}

describe("atomic-host-sim against real captures (real-outputs)", function () {
  this.timeout(180_000);
  const fixture = useSimCluster("real-outputs", {
    hosts: ["f26"],
    etcdHosts: [],
    release: 26,
    rebootDownMs: 500,
  });
  let cluster: SimCluster;
  let run: ReturnType<typeof sshRunner>;

  before(() => {
    cluster = fixture.sim;
    const ssh = sshRunner(cluster, "f26");
    run = (command) => ssh(`env LANG=en_US.UTF-8 ${command}`);
  });

  it("rpm-ostree status on a fresh F26 host = rpm-ostree-status-01.txt", async () => {
    const r = await run("rpm-ostree status");
    expect(r.stdout).to.equal(corpusFile("rpm-ostree-status-01.txt"));
  });

  it("cat /etc/ostree/remotes.d/fedora-atomic.conf = ostree-remotes-d-fedora-atomic-conf-01.txt", async () => {
    const r = await run("cat /etc/ostree/remotes.d/fedora-atomic.conf");
    expect(r.stdout).to.equal(corpusFile("ostree-remotes-d-fedora-atomic-conf-01.txt"));
  });

  it("ostree remote list = ostree-remote-list-02.txt (one remote, fedora-atomic)", async () => {
    const r = await run("ostree remote list");
    expect(r.stdout).to.equal(corpusFile("ostree-remote-list-02.txt"));
  });

  it("the guide's ostree remote add (ostree-remote-add-01.txt holds the command) prints nothing", async () => {
    const command = corpusFile("ostree-remote-add-01.txt")
      .trim()
      .replace(/^sudo /, "");
    const r = await run(command);
    expect([r.code, r.stdout, r.stderr]).to.deep.equal([0, "", ""]);
  });

  it("a second transaction while one runs = rpm-ostree-transaction-in-progress-02.txt", async () => {
    cluster.holdTransaction("f26", true);
    // The held transaction is an upgrade that finds nothing, so the host is unchanged for the captures below.
    const held = run("rpm-ostree upgrade");
    try {
      for (let i = 0; i < 100; i++) {
        const st = await cluster.exec("f26", "rpm-ostree status --json");
        if (JSON.parse(st.stdout).transaction) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await run("rpm-ostree install htop");
      expect([r.code, r.stderr]).to.deep.equal([1, corpusFile("rpm-ostree-transaction-in-progress-02.txt")]);
    } finally {
      cluster.holdTransaction("f26", false);
    }
    expect(await held).to.deep.include({ code: 0, stdout: "No upgrade available.\n" });
  });

  it("the F26 -> F27 rebase = rpm-ostree-rebase-01.txt (tty blank line and padding stripped)", async () => {
    const r = await run("rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host");
    expect(r.code, r.stderr).to.equal(0);
    const capture = corpusFile("rpm-ostree-rebase-01.txt")
      .replace(/^\n/, "")
      .split("\n")
      .map((l) => l.replace(/ +$/, ""))
      .join("\n");
    const m = matchesCapture(r.stdout, capture);
    expect(m.ok, `${m.why}\n--- simulator:\n${r.stdout}`).to.equal(true);
  });

  it("rpm-ostree status after the reboot = rpm-ostree-status-02.txt", async () => {
    await cluster.reboot("f26");
    const r = await run("rpm-ostree status");
    expect(r.stdout).to.equal(corpusFile("rpm-ostree-status-02.txt"));
  });
});
