import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildAtomicPullCommand,
  buildReadThenPullCommand,
  planSystemContainerCreate,
  buildStepThenReadCommand,
  parseReadThenPull,
  parseStepThenRead,
} from "../../../provider/atomic";

// The combined scripts run by the machine's POSIX sh against a folder standing in for the checkout root, with a
// `systemctl` on PATH that answers what the test says; the "steps" are small shell commands.
describe("SystemContainer combined commands: the read with the pull, a step with the read", () => {
  let dir: string;
  let bin: string;
  let root: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pah-combined-"));
    bin = path.join(dir, "bin");
    root = path.join(dir, "atomic");
    fs.mkdirSync(bin);
    fs.mkdirSync(root);
    unitActive("inactive");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `systemctl is-active` answers `state`; `is-enabled`, "disabled". */
  function unitActive(state: string): void {
    fs.writeFileSync(
      path.join(bin, "systemctl"),
      `#!/bin/sh\ncase $1 in is-active) echo ${state}; [ ${state} = active ];; *) echo disabled; exit 1;; esac\n`,
      { mode: 0o755 },
    );
  }

  function run(argv: string[]) {
    const r = spawnSync(argv[0]!, argv.slice(1), {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const pullStep = ["sh", "-c", "printf 'Pulling...\\n'; printf 'no such image' >&2; exit 3"];

  it("pulls on a host with nothing of the container, and returns the pull's status and words apart from the read's", () => {
    const r = run(buildReadThenPullCommand("etcd", pullStep, root));
    expect(r.status).to.equal(0);
    const parsed = parseReadThenPull(r.stdout, r.stderr);
    expect(parsed.ok, JSON.stringify(parsed)).to.equal(true);
    if (!parsed.ok) return;
    expect(parsed.value.observed.present).to.equal(false);
    expect(parsed.value.observed.unit.active).to.equal("inactive");
    expect(parsed.value.pull).to.deep.equal({ exitCode: 3, stdout: "Pulling...\n", stderr: "no such image" });
    // Where the script pulls, the create planner starts with that very pull.
    const image = "registry.fedoraproject.org/f27/etcd";
    const plan = planSystemContainerCreate({ name: "etcd", image }, parsed.value.observed);
    expect(plan.blocked).to.equal(undefined);
    expect(plan.steps[0]?.argv).to.deep.equal(buildAtomicPullCommand(image));
  });

  for (const [what, prepare] of [
    ["a NAME symlink", () => fs.symlinkSync(path.join(root, "etcd.0"), path.join(root, "etcd"))],
    ["a NAME.1 checkout without the symlink", () => fs.mkdirSync(path.join(root, "etcd.1"))],
    ["the unit active", () => unitActive("active")],
  ] as const) {
    it(`does not pull with ${what}: the plan would not start with the pull`, () => {
      prepare();
      const r = run(buildReadThenPullCommand("etcd", pullStep, root));
      const parsed = parseReadThenPull(r.stdout, r.stderr);
      expect(parsed.ok, JSON.stringify(parsed)).to.equal(true);
      if (parsed.ok) expect(parsed.value.pull).to.equal(undefined);
      expect(r.stdout).not.to.include("Pulling");
    });
  }

  it("gives a pull its status as unknown when the command ended inside it (killed, connection lost)", () => {
    const cut =
      "@@read 1\n@@absent\n@@unit-active inactive\n@@unit-enabled \n@@end\n@@pull-begin\nPulling...\n";
    const parsed = parseReadThenPull(cut, "@@pull-begin\nKilled\n");
    expect(parsed.ok).to.equal(true);
    if (parsed.ok)
      expect(parsed.value.pull).to.deep.equal({ exitCode: null, stdout: "Pulling...\n", stderr: "Killed\n" });
  });

  it("refuses a read that did not run to the end, as the read alone does", () => {
    const parsed = parseReadThenPull("@@read 1\n@@absent\n", "");
    expect(parsed.ok).to.equal(false);
  });

  it("runs the step whatever it exits with, then the read; output without a final newline comes back as is", () => {
    fs.mkdirSync(path.join(root, "etcd.0"));
    fs.writeFileSync(
      path.join(root, "etcd.0", "info"),
      JSON.stringify({ image: "registry/etcd", revision: "ab" }),
    );
    fs.symlinkSync(path.join(root, "etcd.0"), path.join(root, "etcd"));
    unitActive("failed");
    const r = run(
      buildStepThenReadCommand("etcd", ["sh", "-c", "printf 'no newline'; printf 'err' >&2; exit 5"], root),
    );
    expect(r.status).to.equal(0);
    const parsed = parseStepThenRead(r.stdout, r.stderr);
    expect(parsed.step).to.deep.equal({ exitCode: 5, stdout: "no newline", stderr: "err" });
    expect(parsed.readProblem).to.equal(undefined);
    expect(parsed.observed?.present).to.equal(true);
    expect(parsed.observed?.active?.info.image).to.equal("registry/etcd");
    expect(parsed.observed?.unit.active).to.equal("failed");
  });

  it("is not fooled by a step that prints the marker itself", () => {
    const step = ["sh", "-c", "printf '\\n@@step-exit 0\\nstill the step\\n'; exit 1"];
    const r = run(buildStepThenReadCommand("etcd", step, root));
    const parsed = parseStepThenRead(r.stdout, r.stderr);
    expect(parsed.step.exitCode).to.equal(1);
    expect(parsed.step.stdout).to.equal("\n@@step-exit 0\nstill the step\n");
    expect(parsed.observed?.present).to.equal(false);
  });

  it("gives the step's status as unknown, and no read, when the command ended inside the step", () => {
    const parsed = parseStepThenRead("Starting...\n", "");
    expect(parsed.step).to.deep.equal({ exitCode: null, stdout: "Starting...\n", stderr: "" });
    expect(parsed.observed).to.equal(undefined);
    expect(parsed.readProblem).to.be.a("string");
  });
});
