/**
 * Test harness for the stand-in `atomic` and `rpm-ostree`: compiles the two entry points once per mocha run into
 * a temp dir (so every test runs the tools as real processes, ~0.1 s each, against the current sources), and
 * builds sandboxes: a host root for `$ATOMIC_SIM_ROOT`, a host dir, a cluster dir, and a PATH with tiny fake
 * `systemctl` / `systemd-tmpfiles` scripts that record their argv and keep unit state in files.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { seedOstreeSystem } from "../../../sim/tools/rpmostree/remotes";
import { tempDir } from "../../helpers/tempDirs";

export const REPO = path.resolve(__dirname, "../../..");

let compiledDir: string | undefined;

/** Compile sim/tools/{atomic,rpm-ostree}.ts (and what they import) once; returns the output root. */
export function compiledTools(): string {
  if (compiledDir) return compiledDir;
  const out = tempDir("sim-tools-build");
  execFileSync(
    process.execPath,
    [
      require.resolve("typescript/bin/tsc"),
      "--outDir", out,
      "--rootDir", REPO,
      "--target", "es2022",
      "--module", "commonjs",
      "--moduleResolution", "node",
      "--strict",
      "--esModuleInterop",
      "--skipLibCheck",
      "--types", "node",
      path.join(REPO, "sim/tools/atomic.ts"),
      path.join(REPO, "sim/tools/rpm-ostree.ts"),
    ], // prettier-ignore
    { stdio: "inherit" },
  );
  compiledDir = out;
  return out;
}

const FAKE_SYSTEMCTL = `#!/bin/sh
# Test stand-in for systemctl: records argv, keeps active/failed state per unit in $FAKE_SYSTEMD_DIR/units/NAME.
d="$FAKE_SYSTEMD_DIR"
printf 'systemctl' >> "$d/calls"; for a in "$@"; do printf ' %s' "$a" >> "$d/calls"; done; echo >> "$d/calls"
mkdir -p "$d/units"
unit() { echo "$1" | sed 's/\\.service$//'; }
state() { if [ -f "$d/units/$(unit "$1")" ]; then cat "$d/units/$(unit "$1")"; else echo inactive; fi; }
case "$1" in
  is-active) s=$(state "$2"); echo "$s"; [ "$s" = active ] && exit 0; exit 3 ;;
  is-failed) s=$(state "$2"); echo "$s"; [ "$s" = failed ] && exit 0; exit 1 ;;
  status) s=$(state "$2"); echo "   Active: $s"; [ "$s" = active ] && exit 0; exit 3 ;;
  start) echo active > "$d/units/$(unit "$2")" ;;
  stop) echo inactive > "$d/units/$(unit "$2")" ;;
  disable) for a in "$@"; do case "$a" in disable|--now) ;; *) echo inactive > "$d/units/$(unit "$a")" ;; esac; done ;;
esac
exit 0
`;

const FAKE_TMPFILES = `#!/bin/sh
d="$FAKE_SYSTEMD_DIR"
printf 'systemd-tmpfiles' >> "$d/calls"; for a in "$@"; do printf ' %s' "$a" >> "$d/calls"; done; echo >> "$d/calls"
exit 0
`;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  /** `$ATOMIC_SIM_ROOT`: the host's filesystem. */
  root: string;
  /** `$ATOMIC_SIM_HOST_DIR`. */
  hostDir: string;
  /** `$ATOMIC_SIM_CLUSTER_DIR`. */
  clusterDir: string;
  env: NodeJS.ProcessEnv;
  run(tool: "atomic" | "rpm-ostree", args: string[], extraEnv?: NodeJS.ProcessEnv): RunResult;
  /** Start a tool without waiting (for concurrency tests). */
  start(tool: "atomic" | "rpm-ostree", args: string[]): Promise<RunResult>;
  /** Lines the fake systemctl/systemd-tmpfiles recorded, oldest first. */
  calls(): string[];
  clearCalls(): void;
  setUnitState(name: string, state: "active" | "inactive" | "failed"): void;
  /** Write a file into the host root. */
  writeHostFile(p: string, text: string): void;
  hostPath(p: string): string;
}

/** The fixed clock every golden case runs under (the F27 migration blog's week). */
export const FIXED_CLOCK = "2017-11-20T10:11:12Z";

export function makeSandbox(opts: { atomicHost?: boolean; clock?: string } = {}): Sandbox {
  const dir = tempDir("sim-tools");
  const root = path.join(dir, "root");
  const hostDir = path.join(dir, "host");
  const clusterDir = path.join(dir, "cluster");
  const bin = path.join(dir, "bin");
  const systemd = path.join(dir, "systemd");
  for (const d of [root, path.join(hostDir, "state"), clusterDir, bin, systemd])
    fs.mkdirSync(d, { recursive: true });
  // An OSTree-booted host has /ostree (atomic then uses /ostree/repo).
  if (opts.atomicHost !== false) fs.mkdirSync(path.join(root, "ostree"), { recursive: true });
  // Every real host has a resolv.conf; the system containers bind-mount it.
  fs.mkdirSync(path.join(root, "etc"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/resolv.conf"), "nameserver 10.0.2.3\n");
  fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "systemd-tmpfiles"), FAKE_TMPFILES, { mode: 0o755 });
  fs.writeFileSync(path.join(systemd, "calls"), "");
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: dir,
    TZ: "UTC",
    LANG: "en_US.UTF-8",
    ATOMIC_SIM_ROOT: root,
    ATOMIC_SIM_HOST_DIR: hostDir,
    ATOMIC_SIM_CLUSTER_DIR: clusterDir,
    ATOMIC_SIM_CLOCK: opts.clock ?? FIXED_CLOCK,
    FAKE_SYSTEMD_DIR: systemd,
  };
  const entry = (tool: string) => path.join(compiledTools(), "sim/tools", `${tool}.js`);
  return {
    dir,
    root,
    hostDir,
    clusterDir,
    env,
    run(tool, args, extraEnv = {}) {
      const r = spawnSync(process.execPath, [entry(tool), ...args], {
        env: { ...env, ...extraEnv },
        encoding: "utf8",
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    start(tool, args) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [entry(tool), ...args], { env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (b) => (stdout += b));
        child.stderr.on("data", (b) => (stderr += b));
        child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
      });
    },
    calls: () => fs.readFileSync(path.join(systemd, "calls"), "utf8").split("\n").filter(Boolean),
    clearCalls: () => fs.writeFileSync(path.join(systemd, "calls"), ""),
    setUnitState(name, state) {
      fs.mkdirSync(path.join(systemd, "units"), { recursive: true });
      fs.writeFileSync(path.join(systemd, "units", name), state + "\n");
    },
    writeHostFile(p, text) {
      const f = path.join(root, p);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, text);
    },
    hostPath: (p) => path.join(root, p),
  };
}

/**
 * Give a sandbox the OSTree system a fresh Fedora host of `release` has (a real bare repo, the release's
 * `fedora-atomic` remote and GPG key files), as the simulator's host creation does.
 */
export function seedFedoraOstree(sb: Sandbox, release: 26 | 27): void {
  seedOstreeSystem({ etc: sb.hostPath("etc"), ostree: sb.hostPath("ostree") }, release);
}

/**
 * The upgrade guide's first step, with Debian's real ostree CLI (real-outputs/ostree-remote-add-01.txt). Outside a
 * mount namespace the repo is not the system repo, so libostree writes the remote into the repo's config instead
 * of /etc/ostree/remotes.d; the stand-ins read both, as libostree does.
 */
export function guideRemoteAdd(sb: Sandbox): void {
  execFileSync("ostree", [
    `--repo=${sb.hostPath("ostree/repo")}`,
    "remote",
    "add",
    "--set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
    "fedora-atomic-27",
    "https://kojipkgs.fedoraproject.org/atomic/27",
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// Golden files
// ---------------------------------------------------------------------------------------------------------------

export const GOLDEN_DIR = path.join(REPO, "tests/fixtures/golden");
const NO_NEWLINE = "\\ No newline at end of output\n";

/**
 * A golden file: `#` header lines (case, source citation, command), then `== exit N`, `== stdout`, the exact
 * stdout, `== stderr`, the exact stderr. Output without a final newline is followed by a
 * "\ No newline at end of output" line, as diff does.
 */
export interface Golden {
  header: string[];
  exit: number;
  stdout: string;
  stderr: string;
}

function encodeSection(text: string): string {
  if (text === "") return "";
  return text.endsWith("\n") ? text : text + "\n" + NO_NEWLINE;
}

function decodeSection(text: string): string {
  return text.endsWith("\n" + NO_NEWLINE) ? text.slice(0, -(NO_NEWLINE.length + 1)) : text;
}

export function formatGolden(g: Golden): string {
  return (
    g.header.map((h) => `# ${h}`).join("\n") +
    `\n== exit ${g.exit}\n== stdout\n${encodeSection(g.stdout)}== stderr\n${encodeSection(g.stderr)}`
  );
}

export function parseGolden(text: string): Golden {
  const m = /^((?:#.*\n)*)== exit (\d+)\n== stdout\n([\s\S]*?)== stderr\n([\s\S]*)$/.exec(text);
  if (!m) throw new Error("malformed golden file");
  return {
    header: m[1]
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^# ?/, "")),
    exit: Number(m[2]),
    stdout: decodeSection(m[3]),
    stderr: decodeSection(m[4]),
  };
}

/**
 * Load `tests/fixtures/golden/<name>.txt` and return it with the run's actual output, ready to compare. With
 * `UPDATE_GOLDEN=1` the file is (re)written from the run instead — then review the diff against the cited source
 * before committing.
 */
export function loadGolden(
  name: string,
  header: string[],
  r: RunResult,
  root?: string,
): { expected: Omit<Golden, "header">; actual: Omit<Golden, "header">; file: string } {
  const file = path.join(GOLDEN_DIR, `${name}.txt`);
  // Only the sandbox prefix varies between runs; nothing the tools print should contain it.
  const scrub = (s: string) => (root ? s.split(root).join("$ATOMIC_SIM_ROOT") : s);
  const actual: Golden = { header, exit: r.status, stdout: scrub(r.stdout), stderr: scrub(r.stderr) };
  if (process.env.UPDATE_GOLDEN === "1") {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // An existing golden keeps its header: its `# source:` (the real tool's file and line) and `# notes:` lines
    // are the record of where the expected text comes from, and are edited by hand, never regenerated.
    const kept = fs.existsSync(file) ? parseGolden(fs.readFileSync(file, "utf8")).header : header;
    fs.writeFileSync(file, formatGolden({ ...actual, header: kept }));
  }
  if (!fs.existsSync(file))
    throw new Error(`missing golden file ${file} (run with UPDATE_GOLDEN=1 to create it)`);
  const { exit, stdout, stderr } = parseGolden(fs.readFileSync(file, "utf8"));
  return {
    expected: { exit, stdout, stderr },
    actual: { exit: actual.exit, stdout: actual.stdout, stderr: actual.stderr },
    file,
  };
}
