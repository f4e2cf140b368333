/**
 * The fixture of the suites that call a provider's handler directly, as the dynamic provider host would, against
 * simulated hosts (sim/): {@link useSimCluster} (one cluster for the suite) or {@link useSimClusters} (clusters
 * started by the tests), and the small helpers those suites share: the `connection` of a host, its commands.log,
 * a command run inside it without SSH, and `check` asserted to pass.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as net from "net";
import { closeAll, quoteCommand } from "../../provider/ssh";
import { SimCluster, type ClusterHostEntry, type ClusterOptions, type HostRef } from "../../sim";
import { skipUnlessSimAvailable, tempDir } from "../integration/sim/support";

/** How a suite set up by {@link useSimClusters} or {@link useSimCluster} treats the provider's output. */
export interface SimSuiteOptions {
  /**
   * Collect the provider's progress lines (its `console.log` calls) in {@link SimClusters.progress} instead of
   * printing them: `true`, or the name of an environment variable that, when set, prints them as well. Default:
   * printed as usual.
   */
  captureProgress?: boolean | string;
  /** Set `PULUMI_ATOMIC_HOST_QUIET=true` (the provider prints no progress) for the suite. Default: `false`. */
  quiet?: boolean;
  /** Runs on each cluster before the suite stops it (to release a fault a test left held). */
  beforeStop?: (sim: SimCluster) => void | Promise<void>;
}

/** The clusters of a suite, as {@link useSimClusters} sets them up. */
export interface SimClusters {
  /** The provider's progress lines, in order, when {@link SimSuiteOptions.captureProgress} is set; a test may empty it. */
  progress: string[];
  /** Starts a cluster in a new temporary folder (`ahs-<tag>-…`); the suite's `after` stops it and removes the folder. */
  start(tag: string, options: Omit<ClusterOptions, "dir">): Promise<SimCluster>;
  /** Prints to the console past the progress capture (the console's own `log`), for a test's own report. */
  print(...args: unknown[]): void;
}

/** One cluster for a suite, as {@link useSimCluster} sets it up. */
export interface SimFixture extends SimClusters {
  /** The cluster, started by the suite's `before`. */
  sim: SimCluster;
}

/**
 * In the calling `describe`: a `before` that skips the suite where the simulator cannot run (saying why) and
 * applies `options`, and an `after` that restores the console and the environment, closes the SSH pool's
 * connections, and stops every cluster the tests started with {@link SimClusters.start}, removing its folder.
 */
export function useSimClusters(options: SimSuiteOptions = {}): SimClusters {
  const suite = simSuite(options);
  before(function () {
    suite.setUp(this);
  });
  after(() => suite.tearDown());
  return suite.clusters;
}

/**
 * {@link useSimClusters} with one cluster, started by the suite's `before` in a temporary folder (`ahs-<tag>-…`)
 * with `clusterOptions`. The returned object's `sim` is filled in by the `before`.
 */
export function useSimCluster(
  tag: string,
  clusterOptions: Omit<ClusterOptions, "dir">,
  options: SimSuiteOptions = {},
): SimFixture {
  const suite = simSuite(options);
  const fixture = suite.clusters as SimFixture;
  before(async function () {
    suite.setUp(this);
    fixture.sim = await fixture.start(tag, clusterOptions);
  });
  after(() => suite.tearDown());
  return fixture;
}

function simSuite(options: SimSuiteOptions) {
  const started: SimCluster[] = [];
  let consoleLog: typeof console.log | undefined;
  let quiet: { saved: string | undefined } | undefined;
  const clusters: SimClusters = {
    progress: [],
    async start(tag, clusterOptions) {
      const sim = await SimCluster.start({ dir: tempDir(tag), ...clusterOptions });
      started.push(sim);
      return sim;
    },
    print: (...args) => (consoleLog ?? console.log)(...args),
  };
  return {
    clusters,
    setUp(ctx: Mocha.Context) {
      skipUnlessSimAvailable(ctx);
      if (options.quiet) {
        quiet = { saved: process.env.PULUMI_ATOMIC_HOST_QUIET };
        process.env.PULUMI_ATOMIC_HOST_QUIET = "true";
      }
      const capture = options.captureProgress;
      if (capture) {
        const log = (consoleLog = console.log);
        console.log = (...args: unknown[]) => {
          clusters.progress.push(args.map(String).join(" "));
          if (typeof capture === "string" && process.env[capture]) log(...args);
        };
      }
    },
    async tearDown() {
      if (consoleLog) console.log = consoleLog;
      await closeAll();
      for (const sim of started) {
        await options.beforeStop?.(sim);
        await sim.stop();
        fs.rmSync(sim.dir, { recursive: true, force: true });
      }
      if (quiet) {
        if (quiet.saved === undefined) delete process.env.PULUMI_ATOMIC_HOST_QUIET;
        else process.env.PULUMI_ATOMIC_HOST_QUIET = quiet.saved;
      }
    },
  };
}

/** The provider's `connection` input for a simulated host: its address, port, root's key and its host key. */
export function connectionOf(h: ClusterHostEntry) {
  return {
    host: h.host,
    port: h.port,
    privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
    hostKey: h.hostKey,
  };
}

/** The command lines that reached `host` over SSH so far, from its commands.log. */
export function commandsOf(sim: SimCluster, host: HostRef): string[] {
  return sim.readCommandsLog(host).map((e) => e.command);
}

/**
 * The stand-in tools (`atomic`, `rpm-ostree`, `systemctl`, `systemd-tmpfiles`, `reboot`) a shell on `host` ran,
 * oldest first, each as the provider would quote it: also those inside a script that ran several (the
 * SystemContainer provider runs a step and the read after it as one command), not those a tool ran itself.
 */
export function toolsOf(sim: SimCluster, host: HostRef): string[] {
  return sim.readToolsLog(host).map((e) => quoteCommand(e.argv));
}

/**
 * `sim.exec` (inside the host, no SSH, nothing in commands.log), the command first draining its stdin: `sim.exec`
 * writes to the child's stdin right after spawning it, and a command over before that write lands would make it
 * fail with an unhandled EPIPE (seen about once a run).
 */
export function inHost(sim: SimCluster, host: HostRef, command: string) {
  return sim.exec(host, `cat >/dev/null; ${command}`);
}

/** A handler's `check` as the engine calls it. */
interface Checker {
  check(olds: any, news: any): Promise<{ inputs?: any; failures?: unknown[] }>;
}

/** `provider.check(olds, news)`, failing the test with its reasons when it rejects the inputs; the inputs. */
export async function checked(
  provider: Checker,
  news: Record<string, unknown>,
  olds?: Record<string, unknown>,
): Promise<any> {
  const r = await provider.check(olds, news);
  expect(r.failures, JSON.stringify(r.failures)).to.deep.equal([]);
  return r.inputs;
}

/**
 * Polls `predicate` every `pollMs` (default 100 ms: each poll of a host runs a process in it) until it holds;
 * throws naming `what` after `timeoutMs` (default 120 s).
 */
export async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Whether the host's sshd answers a TCP connection with its `SSH-` banner within 2 s (it is up again). */
export function sshdAnswers(h: ClusterHostEntry): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(h.port, h.host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.once("data", (d: Buffer) => done(d.toString().startsWith("SSH-")));
    s.once("error", () => done(false));
  });
}
