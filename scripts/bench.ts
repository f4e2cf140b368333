/**
 * `npm run bench`: the cost of an AtomicCluster (system containers) through the real Pulumi CLI, against
 * simulated clusters of 1, 4, 12 and 24 hosts behind a relay that adds 25 ms each way on the SSH path, with SSH
 * connection reuse on and off, side by side.
 *
 * For each size and mode, on a freshly started cluster: `pulumi up` from scratch, a no-op `pulumi up`,
 * `pulumi preview --refresh` and `pulumi refresh`, each measured for wall time, SSH logins (sshd's "Accepted"
 * lines), remote commands (commands.log lines), the stack's state file size and the dynamic-provider process's
 * peak resident memory (VmHWM, sampled every 100 ms). Results go to bench/results/latest.{json,md,png}.
 *
 * ```
 * npm run bench                                  # 1, 4, 12, 24 hosts; reuse on and off
 * npm run bench -- --hosts 1,4 --modes on,off    # fewer sizes
 * npm run bench -- --latency-ms 0 --max-unavailable 1 --out /tmp/bench
 * ```
 *
 * Timing figures are reported, never asserted. Every cluster is stopped and every temporary folder removed, also
 * on Ctrl-C; the run ends by checking that no process it started is left.
 *
 * The file has two halves: pure code (arguments, the markdown report, a PNG line chart with its own encoder and
 * bitmap font, so that no browser or image tool is needed) and the runner that drives the simulator and the CLI.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { SimCluster } from "../sim";
import {
  PulumiProject,
  REPO,
  installedPackageModules,
  pulumiBinDir,
  writeProgram,
} from "../tests/helpers/pulumi";

// ================================================================================================================
// Pure: options

export type Mode = "on" | "off";
export type Operation = "up" | "up-noop" | "preview-refresh" | "refresh";

/** The CLI invocation behind each measured operation, as a user would type it. */
export const OPERATIONS: { op: Operation; label: string; args: string[] }[] = [
  { op: "up", label: "pulumi up (from scratch)", args: ["up", "--yes"] },
  { op: "up-noop", label: "pulumi up (no changes)", args: ["up", "--yes"] },
  { op: "preview-refresh", label: "pulumi preview --refresh", args: ["preview", "--refresh"] },
  { op: "refresh", label: "pulumi refresh", args: ["refresh", "--yes"] },
];

export interface BenchOptions {
  /** Cluster sizes, in hosts. Default 1, 4, 12, 24. */
  hosts: number[];
  /** Connection reuse modes. Default on, off. */
  modes: Mode[];
  /** One-way delay the simulator's relay adds in front of each sshd, ms. Default 25. */
  latencyMs: number;
  /** Workers migrated at once; default (undefined): every worker at once. */
  maxUnavailable?: number;
  /** Output folder (relative paths are taken from the repository root, where npm runs scripts). Default bench/results. */
  out: string;
  /** Minutes one CLI run may take before it is killed. Default 30. */
  timeoutMinutes: number;
}

const USAGE = `usage: npm run bench -- [--hosts 1,4,12,24] [--modes on,off] [--latency-ms 25]
                        [--max-unavailable N] [--out bench/results] [--timeout-minutes 30]`;

/** Parses `argv` (after the script name); returns the options or the problems found, each naming the flag. */
export function parseBenchArgs(argv: string[]): { options?: BenchOptions; errors: string[] } {
  const errors: string[] = [];
  const o: BenchOptions = {
    hosts: [1, 4, 12, 24],
    modes: ["on", "off"],
    latencyMs: 25,
    out: path.join(REPO, "bench", "results"),
    timeoutMinutes: 30,
  };
  const wholes = (flag: string, v: string, min: number, max: number): number[] => {
    const list = v.split(",").map((s) => Number(s.trim()));
    if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= min && n <= max)) {
      errors.push(`${flag}: expected whole numbers from ${min} to ${max}, comma-separated (got "${v}")`);
      return [];
    }
    return list;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (flag === "--help" || flag === "-h") {
      errors.push(USAGE);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      errors.push(`${flag}: needs a value`);
      continue;
    }
    switch (flag) {
      case "--hosts":
        o.hosts = [...new Set(wholes(flag, value, 1, 200))].sort((a, b) => a - b);
        break;
      case "--modes": {
        const modes = value.split(",").map((s) => s.trim());
        if (!modes.every((m) => m === "on" || m === "off"))
          errors.push(`--modes: expected on, off or on,off`);
        else o.modes = [...new Set(modes as Mode[])];
        break;
      }
      case "--latency-ms":
        o.latencyMs = wholes(flag, value, 0, 5000)[0] ?? o.latencyMs;
        break;
      case "--max-unavailable":
        o.maxUnavailable = wholes(flag, value, 1, 1000)[0];
        break;
      case "--out":
        o.out = path.resolve(value);
        break;
      case "--timeout-minutes":
        o.timeoutMinutes = wholes(flag, value, 1, 1440)[0] ?? o.timeoutMinutes;
        break;
      default:
        errors.push(`${flag}: unknown option\n${USAGE}`);
    }
  }
  return errors.length ? { errors } : { options: o, errors };
}

/** The roles the benchmark gives host `i` of `n`: etcd, then master (both on a single host), then workers. */
export function benchRoles(i: number, n: number): ("etcd" | "master" | "worker")[] {
  if (n === 1) return ["etcd", "master"];
  return i === 0 ? ["etcd"] : i === 1 ? ["master"] : ["worker"];
}

// ================================================================================================================
// Pure: results and the markdown report

export interface RunResult {
  hosts: number;
  mode: Mode;
  op: Operation;
  command: string;
  ok: boolean;
  exitCode: number | null;
  wallSeconds: number;
  /** Sum over hosts of new "Accepted publickey|password" lines in sshd's log. */
  sshConnections: number;
  /** The same, per host (host1 first). */
  sshConnectionsPerHost: number[];
  /** New commands.log entries, summed over hosts. */
  remoteCommands: number;
  /** Bytes of the stack's JSON in the file backend after the run. */
  stateBytes: number;
  /** Highest VmHWM of any dynamic-provider process during the run, bytes (null: none was seen). */
  providerPeakBytes: number | null;
  /** Dynamic-provider processes seen during the run (the CLI starts one per engine pass). */
  providerProcesses: number;
  /** The 1-minute load average when the run started (others sharing the machine skew the times). */
  loadAverage: number;
  /** Tail of the CLI's output when it failed. */
  errorTail?: string;
}

export interface ClusterResult {
  hosts: number;
  mode: Mode;
  /** Seconds `SimCluster.start` took (not part of any figure). */
  bootSeconds: number;
  resources?: number;
  /** Why earlier boot attempts failed, when the cluster booted on a retry. */
  bootErrors?: string[];
  error?: string;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryTotalMB: number;
  kernel: string;
  node: string;
  pulumiCli: string;
  pulumiSdk: string;
  sshd: string;
  date: string;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: {
    hosts: number[];
    modes: Mode[];
    latencyMsEachWay: number;
    maxUnavailable: string;
    method: "systemContainers";
    etcdHosts: number;
    reuseSwitch: string;
  };
  clusters: ClusterResult[];
  runs: RunResult[];
  totalSeconds: number;
}

const fmt = (n: number, digits: number) => n.toFixed(digits);

/** `off / on` as "2.35×", or "–" when it means nothing (either side failed, or on is zero). */
export function ratio(on: number | null | undefined, off: number | null | undefined): string {
  if (on === null || on === undefined || off === null || off === undefined) return "–";
  if (on === 0) return off === 0 ? "–" : "∞";
  return `${(off / on).toFixed(2)}×`;
}

/**
 * The table of every run: one row per hosts × operation × mode (on above off), with off/on ratios on the `off`
 * row.
 */
export function markdownTable(runs: RunResult[]): string {
  const head =
    "| hosts | operation | reuse | time (s) | SSH conns | commands | state KB | provider peak MB " +
    "| time off/on | conns off/on | peak off/on | load |\n" +
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  const label = (op: Operation) => OPERATIONS.find((o) => o.op === op)!.label;
  const order = (r: RunResult) =>
    r.hosts * 1000 + OPERATIONS.findIndex((o) => o.op === r.op) * 10 + (r.mode === "on" ? 0 : 1);
  const rows = [...runs]
    .sort((a, b) => order(a) - order(b))
    .map((r) => {
      const on = runs.find((x) => x.hosts === r.hosts && x.op === r.op && x.mode === "on");
      const both = r.mode === "off" && on && on.ok && r.ok;
      const mb = (b: number | null) => (b === null ? "–" : fmt(b / 1048576, 1));
      const cells = [
        String(r.hosts),
        label(r.op),
        r.mode,
        r.ok ? fmt(r.wallSeconds, 2) : `FAILED (exit ${r.exitCode}) after ${fmt(r.wallSeconds, 1)}`,
        String(r.sshConnections),
        String(r.remoteCommands),
        fmt(r.stateBytes / 1024, 1),
        mb(r.providerPeakBytes),
        both ? ratio(on.wallSeconds, r.wallSeconds) : "",
        both ? ratio(on.sshConnections, r.sshConnections) : "",
        both ? ratio(on.providerPeakBytes, r.providerPeakBytes) : "",
        fmt(r.loadAverage, 1),
      ];
      return `| ${cells.join(" | ")} |`;
    });
  return head + rows.join("\n") + "\n";
}

/** Whether a `pulumi up` from scratch with reuse on opened exactly one SSH connection per host. */
export function acceptanceLines(runs: RunResult[]): string[] {
  return runs
    .filter((r) => r.op === "up" && r.mode === "on")
    .map((r) => {
      const holds = r.ok && r.sshConnections === r.hosts;
      const extra = r.sshConnectionsPerHost
        .map((n, i) => (n !== 1 ? `host${i + 1}: ${n}` : ""))
        .filter(Boolean)
        .join(", ");
      return `- ${r.hosts} host(s): ${r.sshConnections} connection(s) → ${holds ? "holds" : "does NOT hold"}${
        extra ? ` (${extra})` : ""
      }${r.ok ? "" : " (the run failed)"}`;
    });
}

/** bench/results/latest.md. */
export function markdownReport(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const boots = report.clusters
    .map((c) => {
      const retried = c.bootErrors
        ? ` after ${c.bootErrors.length} failed attempt(s): ${c.bootErrors.join("; ")}`
        : "";
      return `${c.hosts}/${c.mode}: ${fmt(c.bootSeconds, 1)} s${retried}${c.error ? ` (FAILED: ${c.error})` : ""}`;
    })
    .join(", ");
  return [
    "# Benchmark: AtomicCluster (system containers) through the Pulumi CLI",
    "",
    `${m.date} · ${m.nproc} CPU(s) (${m.cpuModel}) · ${m.memoryTotalMB} MB RAM · Linux ${m.kernel} · ` +
      `Node ${m.node} · Pulumi CLI ${m.pulumiCli} · @pulumi/pulumi ${m.pulumiSdk} · ${m.sshd}`,
    "",
    `Simulated Fedora 26 hosts (layout contrib, etcd running on host1 only) behind a relay adding ` +
      `${s.latencyMsEachWay} ms each way on the SSH path. Roles: host1 etcd, host2 master (one host: both), the ` +
      `rest workers; maxUnavailable ${s.maxUnavailable}. Reuse off = \`${s.reuseSwitch}\` in the CLI's ` +
      `environment. Each size and mode runs on its own freshly started cluster and stack.`,
    "",
    "SSH conns = logins sshd accepted (summed over hosts); commands = commands.log entries; state = the stack's " +
      "JSON in the file backend after the run; provider peak = highest VmHWM of the dynamic-provider node process " +
      "(sampled every 100 ms). `pulumi up --yes` and `pulumi refresh --yes` run a preview pass first, in its own " +
      "provider process. Times are wall-clock, measured once, on a machine that may be shared: read them as " +
      "indications, not guarantees. `load` is the machine's 1-minute load average when the run started (with " +
      `${m.nproc} CPUs, anything above ${m.nproc} means the run competed for them).`,
    "",
    markdownTable(report.runs),
    "**SSH connections for a `pulumi up` with reuse on, against the number of hosts:**",
    "",
    ...acceptanceLines(report.runs),
    "",
    "![pulumi up time against hosts](latest.png)",
    "",
    "Chart: `pulumi up` from scratch, wall time against hosts; blue = reuse on, orange = reuse off.",
    "",
    `Cluster boot times (not in any figure): ${boots}.`,
    "",
    `Total benchmark run time: ${fmt(report.totalSeconds / 60, 1)} min (${fmt(report.totalSeconds, 0)} s).`,
    "",
  ].join("\n");
}

// ================================================================================================================
// Pure: PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG chunks use it). */
export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGB PNG of `width` × `height` pixels from `rgb` (3 bytes a pixel, rows top to bottom). */
export function encodePng(width: number, height: number, rgb: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlib.deflateSync(raw, { level: 9 })),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

// A 5×7 bitmap font: uppercase letters, digits and the punctuation the chart uses (text is upper-cased).
const FONT_ROWS: Record<string, string> = {
  A: ".###.#...##...#######...##...##...#",
  B: "####.#...##...#####.#...##...#####.",
  C: ".###.#...##....#....#....#...#.###.",
  D: "###..#..#.#...##...##...##..#.###..",
  E: "######....#....####.#....#....#####",
  F: "######....#....####.#....#....#....",
  G: ".###.#...##....#.####...##...#.####",
  H: "#...##...##...#######...##...##...#",
  I: ".###...#....#....#....#....#...###.",
  J: "..###...#....#....#....##..#..##...",
  K: "#...##..#.#.#..##...#.#..#..#.#...#",
  L: "#....#....#....#....#....#....#####",
  M: "#...###.###.#.##.#.##...##...##...#",
  N: "#...##...###..##.#.##..###...##...#",
  O: ".###.#...##...##...##...##...#.###.",
  P: "####.#...##...#####.#....#....#....",
  Q: ".###.#...##...##...##.#.##..#..##.#",
  R: "####.#...##...#####.#.#..#..#.#...#",
  S: ".#####....#.....###.....#....#####.",
  T: "#####..#....#....#....#....#....#..",
  U: "#...##...##...##...##...##...#.###.",
  V: "#...##...##...##...##...#.#.#...#..",
  W: "#...##...##...##.#.##.#.##.#.#.#.#.",
  X: "#...##...#.#.#...#...#.#.#...##...#",
  Y: "#...##...#.#.#...#....#....#....#..",
  Z: "#####....#...#...#...#...#....#####",
  "0": ".###.#...##..###.#.###..##...#.###.",
  "1": "..#...##....#....#....#....#...###.",
  "2": ".###.#...#....#...#...#...#...#####",
  "3": "#####...#...#.....#.....##...#.###.",
  "4": "...#...##..#.#.#..#.#####...#....#.",
  "5": "######....####.....#....##...#.###.",
  "6": "..##..#...#....####.#...##...#.###.",
  "7": "#####....#...#...#...#....#....#...",
  "8": ".###.#...##...#.###.#...##...#.###.",
  "9": ".###.#...##...#.####....#...#..##..",
  ".": "..........................##...##..",
  ",": "....................##....#...#....",
  ":": ".....##...##.........##...##.......",
  "(": "...#...#...#....#....#.....#.....#.",
  ")": ".#.....#.....#....#....#...#...#...",
  "-": "...............#####...............",
  "/": ".........#...#...#...#...#.........",
  "%": "##...##..#...#...#...#...#..##...##",
  "=": "..........#####.....#####..........",
  "+": ".......#....#..#####..#....#.......",
  " ": "...................................",
};

/** An RGB drawing surface with just enough primitives for a line chart. */
export class Canvas {
  readonly pixels: Buffer;

  constructor(
    readonly width: number,
    readonly height: number,
    background: [number, number, number] = [255, 255, 255],
  ) {
    this.pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  set(x: number, y: number, c: [number, number, number]): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.pixels.set(c, (y * this.width + x) * 3);
  }

  rect(x: number, y: number, w: number, h: number, c: [number, number, number]): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c);
  }

  disc(cx: number, cy: number, r: number, c: [number, number, number]): void {
    for (let j = -r; j <= r; j++)
      for (let i = -r; i <= r; i++) if (i * i + j * j <= r * r) this.set(cx + i, cy + j, c);
  }

  /** A line `width` pixels thick (a disc stamped along it). */
  line(x0: number, y0: number, x1: number, y1: number, c: [number, number, number], width = 1): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      if (width <= 1) this.set(x, y, c);
      else this.disc(Math.round(x), Math.round(y), Math.floor(width / 2), c);
    }
  }

  /** Width in pixels of `text` at `scale`. */
  static textWidth(text: string, scale: number): number {
    return text.length * 6 * scale - scale;
  }

  /** Draws `text` with its top-left corner at (x, y); unknown characters are drawn as spaces. */
  text(x: number, y: number, text: string, c: [number, number, number], scale = 2): void {
    [...text.toUpperCase()].forEach((ch, k) => {
      const rows = FONT_ROWS[ch] ?? FONT_ROWS[" "]!;
      for (let j = 0; j < 7; j++)
        for (let i = 0; i < 5; i++)
          if (rows[j * 5 + i] === "#") this.rect(x + (k * 6 + i) * scale, y + j * scale, scale, scale, c);
    });
  }
}

/** A round axis maximum at or above `v` (1, 2 or 5 times a power of ten). */
export function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface ChartSeries {
  label: string;
  color: [number, number, number];
  points: { x: number; y: number }[];
}

/** A PNG line chart: y (seconds) against x (hosts), one line per series, values written beside the points. */
export function lineChartPng(title: string, xLabel: string, yLabel: string, series: ChartSeries[]): Buffer {
  const W = 960;
  const H = 600;
  const cv = new Canvas(W, H);
  const ink: [number, number, number] = [30, 30, 30];
  const grid: [number, number, number] = [225, 225, 225];
  const left = 100;
  const right = W - 40;
  const top = 90;
  const bottom = H - 80;
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const xMax = Math.max(1, ...xs);
  const yMax = niceCeil(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y))) * 1.1);
  const px = (x: number) => left + (x / xMax) * (right - left);
  const py = (y: number) => bottom - (y / yMax) * (bottom - top);

  cv.text((W - Canvas.textWidth(title, 2)) / 2, 20, title, ink, 2);
  for (let k = 0; k <= 5; k++) {
    const v = (yMax * k) / 5;
    cv.line(left, py(v), right, py(v), grid);
    const t = Number.isInteger(v) ? String(v) : v.toFixed(1);
    cv.text(left - 10 - Canvas.textWidth(t, 2), py(v) - 7, t, ink, 2);
  }
  for (const x of xs) {
    cv.line(px(x), top, px(x), bottom, grid);
    cv.line(px(x), bottom, px(x), bottom + 6, ink, 2);
    cv.text(px(x) - Canvas.textWidth(String(x), 2) / 2, bottom + 12, String(x), ink, 2);
  }
  cv.line(left, bottom, right, bottom, ink, 2);
  cv.line(left, top, left, bottom, ink, 2);
  cv.text((left + right - Canvas.textWidth(xLabel, 2)) / 2, bottom + 40, xLabel, ink, 2);
  cv.text(left - 60, top - 30, yLabel, ink, 2);

  series.forEach((s, n) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    for (let i = 1; i < pts.length; i++)
      cv.line(px(pts[i - 1]!.x), py(pts[i - 1]!.y), px(pts[i]!.x), py(pts[i]!.y), s.color, 3);
    for (const p of pts) {
      cv.disc(Math.round(px(p.x)), Math.round(py(p.y)), 6, s.color);
      const t = p.y.toFixed(1);
      // The first series' values go below its points, the others' above, so that close points stay legible.
      const ty = n === 0 ? py(p.y) + 12 : py(p.y) - 26;
      const tx = Math.min(right - Canvas.textWidth(t, 2), px(p.x) + 8);
      cv.rect(tx - 3, ty - 3, Canvas.textWidth(t, 2) + 6, 20, [255, 255, 255]);
      cv.text(tx, ty, t, s.color, 2);
    }
    // Legend, top left inside the plot.
    cv.rect(left + 20, top + 12 + n * 28, 24, 14, s.color);
    cv.text(left + 54, top + 12 + n * 28, s.label, ink, 2);
  });
  return encodePng(W, H, cv.pixels);
}

/** bench/results/latest.png: `pulumi up` from scratch, wall time against hosts, one line per reuse mode. */
export function upTimeChart(report: BenchReport): Buffer {
  const series = (mode: Mode, label: string, color: [number, number, number]): ChartSeries => ({
    label,
    color,
    points: report.runs
      .filter((r) => r.op === "up" && r.mode === mode && r.ok)
      .map((r) => ({ x: r.hosts, y: r.wallSeconds })),
  });
  return lineChartPng(
    `PULUMI UP FROM SCRATCH: WALL TIME VS HOSTS (${report.settings.latencyMsEachWay} MS EACH WAY)`,
    "HOSTS",
    "SECONDS",
    report.settings.modes.map((m) =>
      m === "on"
        ? series("on", "SSH REUSE ON (ONE POOLED CONNECTION PER HOST)", [31, 119, 180])
        : series("off", "SSH REUSE OFF (ONE CONNECTION PER COMMAND)", [230, 110, 20]),
    ),
  );
}

// ================================================================================================================
// Runner: processes

function readProc(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** Direct children of `pid`, from the kernel's per-thread `children` lists (no scan of all of /proc). */
function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) =>
    (readProc(pid, `task/${tid}/children`) ?? "")
      .split(" ")
      .filter((x) => x.trim() !== "")
      .map(Number),
  );
}

/** Live descendants of `root` (not `root` itself). */
function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = childPids(root);
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...childPids(pid));
  }
  return out;
}

/**
 * Samples, every `intervalMs`, the VmHWM (peak resident set) of this process's descendants whose command line
 * contains `dynamic-provider` (the node process `pulumi-resource-pulumi-nodejs` starts). VmHWM only grows, so
 * the last sample of a process is its peak up to ~`intervalMs` before it exited.
 */
class ProviderMemorySampler {
  private readonly peaks = new Map<number, number>();
  private readonly providers = new Set<number>();
  private timer?: NodeJS.Timeout;

  start(intervalMs = 100): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): { peakBytes: number | null; processes: number } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const peaks = [...this.peaks.values()];
    return { peakBytes: peaks.length ? Math.max(...peaks) : null, processes: peaks.length };
  }

  private sample(): void {
    // Only under the CLI this process started: the simulated hosts are children too, with many short processes.
    const clis = childPids(process.pid).filter((pid) => readProc(pid, "comm")?.trim() === "pulumi");
    for (const pid of clis.flatMap((cli) => descendants(cli))) {
      // Only a positive answer is kept: between fork and exec a child still shows its parent's command line.
      if (!this.providers.has(pid)) {
        // The plugin script first runs `node -e "require.resolve('.../dynamic-provider')"`: not the provider.
        const argv = (readProc(pid, "cmdline") ?? "").split("\0");
        if (!/dynamic-provider(\/index\.js)?$/.test(argv[1] ?? "")) continue;
        this.providers.add(pid);
      }
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readProc(pid, "status") ?? "");
      if (m) this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, Number(m[1]) * 1024));
    }
  }
}

// ================================================================================================================
// Runner: one cluster, one mode

const PROGRAM = `
import { AtomicCluster, readClusterConfig } from "pulumi-atomic-host";

// The cluster from the stack's configuration (bench:cluster); the SSH key comes from atomic-host:privateKey.
const cluster = new AtomicCluster("bench", readClusterConfig());
export const nodes = cluster.etcdNodes.length + cluster.masters.length + cluster.workers.length;
`;

/** Set on SIGINT or SIGTERM: no further CLI run starts. */
let interrupted = false;

/** Everything the runner created, so that any exit path can take it down. */
const cleanups = new Map<string, () => Promise<void> | void>();
/** Every temporary folder the runner made, checked at the end. */
const createdPaths: string[] = [];

/** Clean-ups running now, so that an exit can wait for those another path started. */
const inFlight = new Set<Promise<void>>();

/** Runs, newest first, the clean-ups whose name starts with `prefix` (all of them by default). */
async function cleanupAll(prefix = ""): Promise<void> {
  for (const [what, fn] of [...cleanups.entries()].reverse()) {
    // Taken out before it runs, so that a signal handler's clean-up and the main path's never both run it.
    if (!what.startsWith(prefix) || !cleanups.delete(what)) continue;
    const running = (async () => fn())().catch((err: unknown) => {
      console.error(`bench: cleanup of ${what} failed: ${(err as Error).message}`);
    });
    inFlight.add(running);
    await running;
    inFlight.delete(running);
  }
  if (prefix === "") await Promise.all([...inFlight]);
}

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function stackFileBytes(backend: string, stack: string): number {
  const root = path.join(backend, ".pulumi", "stacks");
  const walk = (dir: string): number => {
    if (!fs.existsSync(dir)) return 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        const n = walk(p);
        if (n) return n;
      } else if (e.name === `${stack}.json` || e.name === `${stack}.json.gz`) return fs.statSync(p).size;
    }
    return 0;
  };
  return walk(root);
}

function clusterTag(n: number, mode: Mode): string {
  return `${n}-host${n === 1 ? "" : "s"}/reuse-${mode}`;
}

async function benchCluster(
  n: number,
  mode: Mode,
  opts: BenchOptions,
): Promise<{ cluster: ClusterResult; runs: RunResult[] }> {
  const tag = clusterTag(n, mode);
  const simDir = fs.mkdtempSync(path.join(os.tmpdir(), `pah-bench-sim-${n}-${mode}-`));
  createdPaths.push(simDir);
  cleanups.set(`${tag} cluster folder`, () => fs.rmSync(simDir, { recursive: true, force: true }));
  log(`${tag}: starting ${n} simulated host(s), ${opts.latencyMs} ms each way`);
  const t0 = process.hrtime.bigint();
  let sim: SimCluster | undefined;
  const bootErrors: string[] = [];
  // The simulator picks its ports in a range that overlaps the kernel's ephemeral ports, so on a busy machine a
  // host can lose its port to some other connection between the probe and the bind (EADDRINUSE). Booting is not
  // measured, so a failed boot (which stops what it started) is simply tried again in a fresh folder.
  for (let attempt = 1; !sim && attempt <= 3; attempt++) {
    try {
      sim = await SimCluster.start({
        dir: path.join(simDir, `attempt${attempt}`),
        hosts: n,
        latencyMs: opts.latencyMs,
        etcdHosts: 1,
      });
    } catch (err) {
      bootErrors.push((err as Error).message.split("\n")[0]!);
      log(`${tag}: cluster failed to boot (attempt ${attempt} of 3): ${bootErrors.at(-1)}`);
    }
  }
  if (!sim) {
    await cleanupAll(`${tag} `);
    return { cluster: { hosts: n, mode, bootSeconds: seconds(t0), error: bootErrors.join("; ") }, runs: [] };
  }
  const cluster = sim;
  cleanups.set(`${tag} cluster`, async () => {
    await cluster.stop();
    const left = cluster.processes();
    if (left.length) console.error(`bench: ${tag}: cluster processes left after stop: ${left.join(" ")}`);
  });
  const bootSeconds = seconds(t0);
  const bootRetries = bootErrors.length ? { bootErrors } : {};
  log(`${tag}: cluster up in ${bootSeconds.toFixed(1)} s`);

  const programDir = writeProgram(`bench`, PROGRAM);
  createdPaths.push(programDir);
  cleanups.set(`${tag} program`, () => fs.rmSync(programDir, { recursive: true, force: true }));
  const project = new PulumiProject(programDir, {
    PULUMI_ATOMIC_HOST_SSH_REUSE: mode === "on" ? "true" : "false",
  });
  createdPaths.push(project.backend);
  cleanups.set(`${tag} state backend`, () => project.cleanup());
  const stack = `h${n}-${mode}`;
  const workers = Math.max(1, n - 2);
  await project.init(
    stack,
    {},
    { "atomic-host:privateKey": fs.readFileSync(cluster.hosts[0]!.privateKeyPath, "utf8") },
  );
  await project.setObject("bench:cluster", {
    method: "systemContainers",
    maxUnavailable: opts.maxUnavailable ?? workers,
    hosts: cluster.hosts.map((h, i) => ({
      name: h.name,
      host: h.host,
      port: h.port,
      hostKey: h.hostKey,
      roles: benchRoles(i, n),
    })),
  });

  const runs: RunResult[] = [];
  for (const { op, args } of OPERATIONS) {
    if (interrupted) throw new Error("interrupted");
    const logins = () => cluster.hosts.map((h) => cluster.countAcceptedLogins(h.name));
    const commands = () => cluster.hosts.reduce((sum, h) => sum + cluster.readCommandsLog(h.name).length, 0);
    const loginsBefore = logins();
    const commandsBefore = commands();
    const loadAverage = os.loadavg()[0]!;
    const sampler = new ProviderMemorySampler();
    sampler.start(100);
    const start = process.hrtime.bigint();
    const r = await project.run(args, { timeoutMs: opts.timeoutMinutes * 60_000 });
    const wallSeconds = seconds(start);
    const memory = sampler.stop();
    // sshd writes its "Accepted" line before the session starts, so the log is complete once the CLI is done.
    const perHost = logins().map((v, i) => v - loginsBefore[i]!);
    const result: RunResult = {
      hosts: n,
      mode,
      op,
      command: `pulumi ${args.join(" ")}`,
      ok: r.code === 0,
      exitCode: r.code,
      wallSeconds,
      sshConnections: perHost.reduce((a, b) => a + b, 0),
      sshConnectionsPerHost: perHost,
      remoteCommands: commands() - commandsBefore,
      stateBytes: stackFileBytes(project.backend, stack),
      providerPeakBytes: memory.peakBytes,
      providerProcesses: memory.processes,
      loadAverage,
    };
    if (!result.ok) result.errorTail = r.output.split("\n").slice(-40).join("\n");
    runs.push(result);
    log(
      `${tag}: ${result.command}: ${result.ok ? "ok" : `FAILED (exit ${r.code})`} ${wallSeconds.toFixed(2)} s, ` +
        `${result.sshConnections} SSH conns, ${result.remoteCommands} commands, ` +
        `${(result.stateBytes / 1024).toFixed(1)} KB state, provider peak ` +
        `${memory.peakBytes === null ? "–" : (memory.peakBytes / 1048576).toFixed(1) + " MB"} ` +
        `(${memory.processes} process(es))`,
    );
    if (!result.ok) console.error(result.errorTail);
  }
  let resources: number | undefined;
  try {
    resources = (await project.exportState()).deployment?.resources?.length;
  } catch {
    // the figures stand without it
  }

  await cleanupAll(`${tag} `);
  return { cluster: { hosts: n, mode, bootSeconds, resources, ...bootRetries }, runs };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** What `cmd` printed (stdout and stderr), or its error message. */
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.error ? r.error.message : `${r.stdout}${r.stderr}`.trim();
}

function machineInfo(): MachineInfo {
  const sdk = JSON.parse(
    fs.readFileSync(path.join(REPO, "node_modules/@pulumi/pulumi/package.json"), "utf8"),
  );
  return {
    nproc: Number(sh("nproc", [])),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryTotalMB: Math.round(os.totalmem() / 1048576),
    kernel: os.release(),
    node: process.version,
    pulumiCli: sh(path.join(pulumiBinDir(), "pulumi"), ["version"]),
    pulumiSdk: sdk.version,
    // Older sshd has no -V; its usage message carries the version all the same.
    sshd: (/OpenSSH_[^\s,]+/.exec(sh("/usr/sbin/sshd", ["-V"])) ?? ["OpenSSH (version unknown)"])[0],
    date: new Date().toISOString(),
  };
}

/**
 * Waits for the `pulumi` processes this process started to stop, after interrupting them (SIGINT, as Ctrl-C
 * would) when `signalThem` (a Ctrl-C at the terminal has already reached them), then kills whatever of them and
 * their plugins is still there after 10 s.
 */
async function stopCliChildren(signalThem: boolean): Promise<void> {
  const clis = childPids(process.pid).filter((pid) => readProc(pid, "comm")?.trim() === "pulumi");
  const tree = clis.flatMap((cli) => [cli, ...descendants(cli)]);
  if (signalThem) for (const pid of clis) process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 10_000 && tree.some((pid) => readProc(pid, "stat")); waited += 200) {
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const pid of tree) {
    try {
      if (readProc(pid, "stat")) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// ================================================================================================================
// Main

async function main(): Promise<number> {
  const { options: opts, errors } = parseBenchArgs(process.argv.slice(2));
  if (!opts) {
    console.error(errors.join("\n"));
    return errors.some((e) => e === USAGE) ? 0 : 2;
  }
  const started = process.hrtime.bigint();
  const machine = machineInfo();
  log(
    `${machine.nproc} CPU(s), ${machine.memoryTotalMB} MB, Node ${machine.node}, Pulumi ${machine.pulumiCli}`,
  );
  log(`sizes ${opts.hosts.join(", ")}; reuse ${opts.modes.join(", ")}; ${opts.latencyMs} ms each way`);

  // One `npm pack` install of this package for every program, as the e2e tests do.
  const modules = installedPackageModules();
  createdPaths.push(path.dirname(modules));
  cleanups.set("installed package", () => fs.rmSync(path.dirname(modules), { recursive: true, force: true }));

  const clusters: ClusterResult[] = [];
  const runs: RunResult[] = [];
  for (const n of opts.hosts) {
    for (const mode of opts.modes) {
      if (interrupted) break;
      try {
        const r = await benchCluster(n, mode, opts);
        clusters.push(r.cluster);
        runs.push(...r.runs);
      } catch (err) {
        // One broken size must not cost the others their figures.
        console.error(`bench: ${n} host(s), reuse ${mode}: ${(err as Error).stack ?? err}`);
        clusters.push({ hosts: n, mode, bootSeconds: 0, error: (err as Error).message.split("\n")[0] });
        await cleanupAll(`${clusterTag(n, mode)} `);
      }
    }
  }
  await cleanupAll();
  if (interrupted) {
    console.error("bench: interrupted; the previous results (if any) are left as they were");
    return 130;
  }

  const report: BenchReport = {
    machine,
    settings: {
      hosts: opts.hosts,
      modes: opts.modes,
      latencyMsEachWay: opts.latencyMs,
      maxUnavailable: opts.maxUnavailable === undefined ? "all workers at once" : String(opts.maxUnavailable),
      method: "systemContainers",
      etcdHosts: 1,
      reuseSwitch: "PULUMI_ATOMIC_HOST_SSH_REUSE=false",
    },
    clusters,
    runs,
    totalSeconds: seconds(started),
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const prettier = require("prettier");
  const json = await prettier.format(JSON.stringify(report), { parser: "json", printWidth: 110 });
  fs.writeFileSync(path.join(opts.out, "latest.json"), json);
  fs.writeFileSync(path.join(opts.out, "latest.md"), markdownReport(report));
  fs.writeFileSync(path.join(opts.out, "latest.png"), upTimeChart(report));
  console.log("\n" + markdownTable(runs));
  console.log(acceptanceLines(runs).join("\n"));
  log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}/latest.{json,md,png}`);
  log(`total ${(report.totalSeconds / 60).toFixed(1)} min`);

  const leftovers = createdPaths.filter((p) => fs.existsSync(p));
  if (leftovers.length) console.error(`bench: temporary folders still there: ${leftovers.join(" ")}`);
  const left = descendants(process.pid).filter((pid) => readProc(pid, "cmdline") !== undefined);
  if (left.length) {
    console.error(`bench: processes still running under the benchmark: ${left.join(" ")}`);
    return 1;
  }
  if (leftovers.length) return 1;
  return runs.every((r) => r.ok) && clusters.every((c) => !c.error) ? 0 : 1;
}

if (require.main === module) {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\nbench: ${sig}: stopping the CLI and clusters, removing temporary folders`);
      interrupted = true;
      void stopCliChildren(sig === "SIGTERM")
        .then(() => cleanupAll())
        .then(() => process.exit(130));
    });
  }
  main().then(
    async (code) => {
      await cleanupAll();
      process.exit(code);
    },
    async (err) => {
      console.error(err);
      await cleanupAll();
      process.exit(1);
    },
  );
}
