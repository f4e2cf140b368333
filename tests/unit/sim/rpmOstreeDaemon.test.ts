/**
 * rpm-ostree's daemon semantics in the stand-in (rpm-ostree v2017.10 `src/daemon/rpmostreed-os.c`,
 * `rpmostreed-transaction.c`): the transaction runs in a daemon-side process, outlives its client, is joined by an
 * identical request and refused to any other; `status` names the D-Bus method.
 */
import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { initRpmOstree, killRpmOstreed, loadState } from "../../../sim/tools/rpmostree/state";
import {
  RunResult,
  Sandbox,
  compiledTools,
  guideRemoteAdd,
  makeSandbox,
  seedFedoraOstree,
} from "./toolHarness";

function f26Host(): Sandbox {
  const sb = makeSandbox();
  initRpmOstree(sb.hostDir, { release: 26, rpmOstreeVersion: "2017.10" });
  seedFedoraOstree(sb, 26);
  return sb;
}

function hold(sb: Sandbox, on: boolean): void {
  fs.writeFileSync(path.join(sb.hostDir, "state/faults.json"), JSON.stringify({ holdTransaction: on }));
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A client process we can kill (Sandbox.start does not expose the child). */
function client(
  sb: Sandbox,
  args: string[],
): { pid: number; done: Promise<RunResult & { signal: string | null }> } {
  const child = spawn(process.execPath, [path.join(compiledTools(), "sim/tools/rpm-ostree.js"), ...args], {
    env: sb.env,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => (stdout += b));
  child.stderr.on("data", (b) => (stderr += b));
  const done = new Promise<RunResult & { signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ status: code ?? -1, stdout, stderr, signal })),
  );
  return { pid: child.pid as number, done };
}

const statusJson = (sb: Sandbox) => JSON.parse(sb.run("rpm-ostree", ["status", "--json"]).stdout);

describe("rpm-ostree stand-in: the daemon runs the transaction", function () {
  this.timeout(60_000);

  it("keeps a transaction running after its client is killed; status shows it until it ends", async () => {
    const sb = f26Host();
    hold(sb, true);
    const c = client(sb, ["install", "htop"]);
    await until("the transaction to start", () => loadState(sb.hostDir).transaction !== null);
    process.kill(c.pid, "SIGKILL");
    expect((await c.done).signal).to.equal("SIGKILL");
    const during = statusJson(sb);
    expect(during.transaction[0]).to.equal("PkgChange");
    expect(sb.run("rpm-ostree", ["status"]).stdout).to.match(/^State: transaction: install; install: 1\n/);
    hold(sb, false);
    await until("the transaction to end", () => loadState(sb.hostDir).transaction === null);
    const after = statusJson(sb);
    expect(after.transaction).to.equal(null);
    expect(after.deployments[0]["requested-packages"]).to.deep.equal(["htop"]);
    expect(after.deployments[0].booted).to.equal(false);
  });

  it("lets an identical request join the running transaction; both clients follow it to the end", async () => {
    const sb = f26Host();
    hold(sb, true);
    const first = client(sb, ["install", "htop"]);
    await until("the transaction to start", () => loadState(sb.hostDir).transaction !== null);
    const second = client(sb, ["install", "htop"]);
    await new Promise((r) => setTimeout(r, 500));
    const other = sb.run("rpm-ostree", ["install", "tmux"]);
    expect(other).to.deep.equal({ status: 1, stdout: "", stderr: "error: System transaction in progress\n" });
    hold(sb, false);
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.status, a.stderr).to.equal(0);
    expect(b.status, b.stderr).to.equal(0);
    expect(b.stdout).to.equal(a.stdout);
    expect(a.stdout).to.match(/Transaction complete;[^\n]*\nAdded:\n {2}htop-[^\n]*\nRun "systemctl reboot"/);
    // One transaction, one new deployment.
    expect(loadState(sb.hostDir).deployments).to.have.length(2);
  });

  it("names the D-Bus method (UpdateDeployment for a rebase with --install) and refuses a rebase to the current refspec", async () => {
    const sb = f26Host();
    guideRemoteAdd(sb);
    hold(sb, true);
    const c = client(sb, ["rebase", "fedora-atomic-27:fedora/27/x86_64/atomic-host", "--install", "flannel"]);
    await until("the transaction to start", () => loadState(sb.hostDir).transaction !== null);
    expect(statusJson(sb).transaction[0]).to.equal("UpdateDeployment");
    expect(sb.run("rpm-ostree", ["status"]).stdout).to.match(/^State: transaction: rebase; install: 1\n/);
    hold(sb, false);
    expect((await c.done).status).to.equal(0);
    const r = sb.run("rpm-ostree", ["rebase", "fedora-atomic-27:fedora/27/x86_64/atomic-host"]);
    expect(r.stderr).to.equal(
      "error: Old and new refs are equal: fedora-atomic-27:fedora/27/x86_64/atomic-host\n",
    );
  });

  it("fails the client with 'Bus owner changed, aborting.' when rpm-ostreed is killed mid-transaction; nothing is deployed and the next request runs on a fresh daemon", async () => {
    const sb = f26Host();
    hold(sb, true);
    const c = client(sb, ["install", "htop"]);
    await until("the transaction to start", () => loadState(sb.hostDir).transaction !== null);
    const before = loadState(sb.hostDir).deployments;
    const pid = killRpmOstreed(sb.hostDir);
    expect(pid).to.be.a("number");
    const r = await c.done;
    expect({ status: r.status, stderr: r.stderr }).to.deep.equal({
      status: 1,
      stderr: "error: Bus owner changed, aborting.\n",
    });
    expect(loadState(sb.hostDir).deployments).to.deep.equal(before);
    expect(statusJson(sb).transaction).to.equal(null);
    expect(killRpmOstreed(sb.hostDir), "nothing left to kill").to.equal(undefined);
    // What the killed transaction left (a request and a log, no outcome) goes once it is a minute old.
    const dir = path.join(sb.hostDir, "state/rpmostreed");
    const killed = fs.readdirSync(dir);
    expect(killed.filter((e) => e.endsWith(".result"))).to.deep.equal([]);
    const longAgo = new Date(Date.now() - 120_000);
    for (const e of killed) fs.utimesSync(path.join(dir, e), longAgo, longAgo);
    hold(sb, false);
    const again = sb.run("rpm-ostree", ["install", "htop"]);
    expect(again.status, again.stderr).to.equal(0);
    expect(statusJson(sb).deployments[0]["requested-packages"]).to.deep.equal(["htop"]);
    expect(fs.readdirSync(dir).filter((e) => killed.includes(e))).to.deep.equal([]);
  });

  it("keeps the new deployment when rpm-ostreed is killed in its cleanup, after the boot loader swap", async () => {
    const sb = f26Host();
    fs.writeFileSync(
      path.join(sb.hostDir, "state/faults.json"),
      JSON.stringify({ holdTransactionCleanup: true }),
    );
    const c = client(sb, ["install", "htop"]);
    await until("the deployment to be written", () => loadState(sb.hostDir).deployments.length === 2);
    expect(killRpmOstreed(sb.hostDir)).to.be.a("number");
    const r = await c.done;
    expect(r.status).to.equal(1);
    expect(r.stderr).to.equal("error: Bus owner changed, aborting.\n");
    const after = statusJson(sb);
    expect(after.transaction).to.equal(null);
    expect(after.deployments[0]["requested-packages"]).to.deep.equal(["htop"]);
    expect(after.deployments[0].booted).to.equal(false);
  });

  it("refuses a transaction when the repo's filesystem is below core.min-free-space-percent, deploying nothing", () => {
    // The machine's real disk, measured by statfs, is far from 99 % free: libostree's check refuses at once.
    const sb = f26Host();
    const repo = sb.hostPath("ostree/repo");
    execFileSync("ostree", [`--repo=${repo}`, "config", "set", "core.min-free-space-percent", "99"]);
    const before = loadState(sb.hostDir).deployments;
    const r = sb.run("rpm-ostree", ["install", "htop"]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(
      /^error: min-free-space-percent '99%' would be exceeded, \d+\.\d (kB|MB|GB|TB) available\n$/,
    );
    expect(loadState(sb.hostDir).deployments).to.deep.equal(before);
    execFileSync("ostree", [`--repo=${repo}`, "config", "set", "core.min-free-space-percent", "3"]);
    expect(sb.run("rpm-ostree", ["install", "htop"]).status).to.equal(0);
  });

  it("prints status --json without a final newline", () => {
    const sb = f26Host();
    const out = sb.run("rpm-ostree", ["status", "--json"]).stdout;
    expect(out.endsWith("}")).to.equal(true);
  });
});
