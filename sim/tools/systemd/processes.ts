/**
 * Starting and stopping a unit's real process. Under a supervisor (the host's "PID 1") the process is the
 * supervisor's child, detached in its own session, and reaped by it; standalone, this process spawns it and leaves.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import type { UnitActionResult } from "../../host";
import {
  acquireLease,
  previousSubnet,
  readNetworkConfig,
  renderDockerOpts,
  renderSubnetEnv,
} from "../flannel";
import type { SystemdContext } from "./context";
import { hp, normalizeUnitName } from "./context";
import type { ProcessPlan } from "./plan";
import { planUnitProcess } from "./plan";
import type { UnitRuntime } from "./runtime";
import { activeState, processStartTicks, readRuntime, runtimeAlive, writeRuntime } from "./runtime";
import type { Unit } from "./units";
import { loadUnit } from "./units";

/** Live children of this process by unit: the supervisor reaps them and records how they ended. */
const children = new Map<string, childProcess.ChildProcess>();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function appendUnitLog(ctx: SystemdContext, unit: string, line: string): void {
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  fs.appendFileSync(path.join(ctx.paths.units, `${unit}.log`), `${new Date().toISOString()} ${line}\n`);
}

/** One probe of etcd's /health (200 and `"health":"true"` once it has a leader and serves). */
function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", timeout: 1000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(res.statusCode === 200 && /"health"\s*:\s*"?true/.test(body)));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

const jobFailed = (unit: string, why: string) =>
  `Job for ${unit} failed because ${why}.\nSee "systemctl status ${unit}" and "journalctl -xe" for details.\n`;

/** Records how a child the supervisor owns ended, unless a stop is already handling it. */
function onChildExit(
  ctx: SystemdContext,
  unit: string,
  pid: number,
  code: number | null,
  sig: NodeJS.Signals | null,
) {
  if (children.get(unit)?.pid === pid) children.delete(unit);
  const rt = readRuntime(ctx, unit);
  if (!rt || rt.pid !== pid || (rt.phase !== "active" && rt.phase !== "activating")) return;
  appendUnitLog(ctx, unit, `main process exited, code=${code ?? "killed"}${sig ? ` signal=${sig}` : ""}`);
  const clean = code === 0;
  writeRuntime(ctx, {
    ...rt,
    phase: clean ? "inactive" : "failed",
    since: new Date().toISOString(),
    result: clean ? "success" : sig ? "signal" : "exit-code",
    exitCode: code ?? undefined,
    signal: sig ?? undefined,
  });
}

/** Spawns the unit's process: detached (own session and process group), stdio to the unit's log. */
function spawnUnitProcess(ctx: SystemdContext, unit: Unit, plan: Exclude<ProcessPlan, { kind: "fail" }>) {
  const log = fs.openSync(path.join(ctx.paths.units, `${unit.name}.log`), "a");
  try {
    const child = childProcess.spawn(plan.argv[0], plan.argv.slice(1), {
      cwd: fs.existsSync(plan.cwd) ? plan.cwd : "/",
      env: plan.env,
      detached: true,
      stdio: ["ignore", log, log],
    });
    return child;
  } finally {
    fs.closeSync(log);
  }
}

/** Waits until etcd serves, its process ends, or the start times out. */
async function waitEtcdReady(
  ctx: SystemdContext,
  rt: UnitRuntime,
  port: number,
): Promise<"ready" | "died" | "timeout"> {
  const deadline = Date.now() + ctx.startTimeoutMs;
  while (Date.now() < deadline) {
    if (!runtimeAlive(rt)) return "died";
    if (await etcdHealthy(port)) return "ready";
    await sleep(100);
  }
  return "timeout";
}

/**
 * Waits until flanneld would have its lease (an endpoint serves `<prefix>/config`), then takes the lease and writes
 * subnet.env and the docker options as flanneld and mk-docker-opts.sh do (flannel.ts). Otherwise the unit's start
 * timeout ends the wait, as flanneld retries forever while etcd or the config is missing.
 */
async function waitFlannelReady(
  ctx: SystemdContext,
  rt: UnitRuntime,
  plan: Extract<ProcessPlan, { kind: "flannel" }>,
): Promise<"ready" | "died" | "timeout"> {
  const deadline = Date.now() + ctx.flannelStartTimeoutMs;
  const runDir = hp(ctx, plan.runDir);
  let previous: string | undefined;
  try {
    previous = previousSubnet(fs.readFileSync(path.join(runDir, "subnet.env"), "utf8"));
  } catch {
    previous = undefined;
  }
  while (Date.now() < deadline) {
    if (!runtimeAlive(rt)) return "died";
    const found = await readNetworkConfig(plan.ports, plan.prefix);
    if (found) {
      const subnet = await acquireLease(found.port, plan.prefix, found.config, previous);
      if (subnet) {
        const env = renderSubnetEnv(found.config, subnet);
        fs.mkdirSync(runDir, { recursive: true });
        fs.writeFileSync(path.join(runDir, "subnet.env"), env);
        fs.writeFileSync(path.join(runDir, "docker"), renderDockerOpts(env));
        appendUnitLog(ctx, rt.unit, `Lease acquired: ${subnet}`);
        return "ready";
      }
    }
    await sleep(100);
  }
  appendUnitLog(
    ctx,
    rt.unit,
    `Failed to get the network config at ${plan.prefix}/config: no etcd endpoint has it`,
  );
  return "timeout";
}

/**
 * `systemctl start` of one unit. Like systemd, a Type=simple unit is "active" as soon as its process is forked
 * (the etcd system container's unit is one: its start returns before etcd serves), while a Type=notify unit
 * (the RPM etcd.service) is "activating" until the service says it is ready: here, until etcd's /health answers.
 */
export async function startUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  const unit = loadUnit(ctx, name);
  if (!unit) return { exitCode: 5, stderr: `Failed to start ${name}: Unit ${name} not found.\n` };
  const state = activeState(ctx, name);
  if (state === "active" || state === "activating") return { exitCode: 0, stderr: "" };
  fs.mkdirSync(ctx.paths.units, { recursive: true });
  for (const dir of unit.runtimeDirectories)
    fs.mkdirSync(hp(ctx, path.join("/run", dir)), { recursive: true });
  const plan = planUnitProcess(ctx, unit);
  appendUnitLog(ctx, name, `Starting ${unit.description}...`);
  if (plan.kind === "fail") return startFailed(ctx, unit, plan);
  const child = spawnUnitProcess(ctx, unit, plan);
  const pid = child.pid;
  if (pid === undefined) {
    writeRuntime(ctx, {
      unit: name,
      phase: "failed",
      since: nowIso(),
      result: "resources",
      manager: ctx.manager,
    });
    return { exitCode: 1, stderr: jobFailed(name, "of unavailable resources or another system error") };
  }
  const waitsForReady = unit.type === "notify" && (plan.kind === "etcd" || plan.kind === "flannel");
  const rt: UnitRuntime = {
    unit: name,
    phase: waitsForReady ? "activating" : "active",
    pid,
    startTicks: (await ticksOf(pid)) ?? undefined,
    since: nowIso(),
    manager: ctx.manager,
    command: plan.argv.join(" "),
    dataDir: plan.kind === "etcd" ? plan.dataDir : undefined,
  };
  writeRuntime(ctx, rt);
  children.set(name, child);
  let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
  child.on("exit", (code, sig) => {
    exit = { code, sig };
    onChildExit(ctx, name, pid, code, sig);
  });
  if (ctx.manager === "standalone") child.unref();
  if (!waitsForReady) return { exitCode: 0, stderr: "" };
  const outcome =
    plan.kind === "flannel"
      ? await waitFlannelReady(ctx, rt, plan)
      : await waitEtcdReady(ctx, rt, plan.kind === "etcd" ? plan.clientPort : 0);
  if (outcome === "ready") {
    writeRuntime(ctx, { ...rt, phase: "active", since: nowIso() });
    return { exitCode: 0, stderr: "" };
  }
  if (outcome === "timeout") {
    await killUnitProcess(ctx, rt);
    writeRuntime(ctx, { ...rt, phase: "failed", since: nowIso(), result: "timeout" });
    return { exitCode: 1, stderr: jobFailed(name, "a timeout was exceeded") };
  }
  await sleep(20); // let the exit event land so the recorded exit status is the real one
  writeRuntime(ctx, {
    ...rt,
    phase: "failed",
    since: nowIso(),
    result: exit?.sig ? "signal" : "exit-code",
    exitCode: exit?.code ?? undefined,
    signal: exit?.sig ?? undefined,
  });
  return { exitCode: 1, stderr: jobFailed(name, "the control process exited with error code") };
}

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A unit whose process cannot run. systemd reports a spawn failure (`resources`) to `start` whatever the type;
 * a process that runs and fails fails the start only when start waits for it (not Type=simple).
 */
function startFailed(
  ctx: SystemdContext,
  unit: Unit,
  plan: Extract<ProcessPlan, { kind: "fail" }>,
): UnitActionResult {
  appendUnitLog(ctx, unit.name, plan.log.trimEnd());
  writeRuntime(ctx, {
    unit: unit.name,
    phase: "failed",
    since: nowIso(),
    result: plan.result,
    exitCode: plan.result === "exit-code" ? 1 : undefined,
    manager: ctx.manager,
  });
  if (plan.result === "resources") {
    return { exitCode: 1, stderr: jobFailed(unit.name, "of unavailable resources or another system error") };
  }
  if (unit.type === "simple") return { exitCode: 0, stderr: "" };
  return { exitCode: 1, stderr: jobFailed(unit.name, "the control process exited with error code") };
}

/** /proc start time of a just-spawned pid (retried: the entry can lag the spawn by a moment). */
async function ticksOf(pid: number): Promise<string | null> {
  for (let i = 0; i < 20; i++) {
    const t = processStartTicks(pid);
    if (t !== null) return t;
    await sleep(5);
  }
  return null;
}

/** SIGTERM to the unit's process group, SIGKILL after the stop timeout; resolves once it is gone. */
async function killUnitProcess(ctx: SystemdContext, rt: UnitRuntime): Promise<void> {
  if (!rt.pid || !runtimeAlive(rt)) return;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-rt.pid!, sig);
    } catch {
      try {
        process.kill(rt.pid!, sig);
      } catch {
        // already gone
      }
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + ctx.stopTimeoutMs;
  while (runtimeAlive(rt) && Date.now() < deadline) await sleep(25);
  if (runtimeAlive(rt)) signalGroup("SIGKILL");
  while (runtimeAlive(rt)) await sleep(25);
}

/** `systemctl stop` of one unit: waits until its process has exited. */
export async function stopUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  const unit = loadUnit(ctx, name);
  const rt = readRuntime(ctx, name);
  if (!unit && !rt) return { exitCode: 5, stderr: `Failed to stop ${name}: Unit ${name} not loaded.\n` };
  if (rt && runtimeAlive(rt)) {
    writeRuntime(ctx, { ...rt, phase: "deactivating" });
    appendUnitLog(ctx, name, `Stopping ${unit?.description ?? name}...`);
    await killUnitProcess(ctx, rt);
    appendUnitLog(ctx, name, `Stopped ${unit?.description ?? name}.`);
  }
  if (rt && rt.phase !== "inactive") {
    writeRuntime(ctx, {
      unit: name,
      phase: "inactive",
      since: new Date().toISOString(),
      result: "success",
      manager: ctx.manager,
    });
  }
  for (const dir of unit?.runtimeDirectories ?? [])
    fs.rmSync(hp(ctx, path.join("/run", dir)), { recursive: true, force: true });
  return { exitCode: 0, stderr: "" };
}

/** `systemctl restart`: stop, then start (an unknown unit is "not found", as systemd says for restart). */
export async function restartUnit(ctx: SystemdContext, name: string): Promise<UnitActionResult> {
  if (!loadUnit(ctx, name))
    return { exitCode: 5, stderr: `Failed to restart ${name}: Unit ${name} not found.\n` };
  await stopUnit(ctx, name);
  return startUnit(ctx, name);
}

/** Runs start/stop/restart over several units, in order; the exit code is the first failure's. */
export async function runUnitAction(
  ctx: SystemdContext,
  action: "start" | "stop" | "restart",
  names: string[],
): Promise<UnitActionResult> {
  const fn = action === "start" ? startUnit : action === "stop" ? stopUnit : restartUnit;
  let exitCode = 0;
  let stderr = "";
  for (const name of names) {
    const r = await fn(ctx, normalizeUnitName(name));
    stderr += r.stderr;
    if (r.exitCode !== 0 && exitCode === 0) exitCode = r.exitCode;
  }
  return { exitCode, stderr };
}

/** Forgets every unit's runtime state: after a reboot or power loss nothing is running. */
export function resetAllRuntime(ctx: SystemdContext): void {
  children.clear();
  let files: string[];
  try {
    files = fs.readdirSync(ctx.paths.units);
  } catch {
    return;
  }
  for (const f of files) if (f.endsWith(".json")) fs.rmSync(path.join(ctx.paths.units, f), { force: true });
}
