/**
 * The benchmark's charts: Vega-Lite specifications (pure), compiled to Vega and rendered to SVG by `vega` in Node
 * (its SVG renderer needs no canvas), then to PNG by `@resvg/resvg-js` (its prebuilt binary ships in the npm
 * package, no install script). Text uses the machine's fonts (DejaVu Sans on Debian).
 */

/** One point of the wall-time chart. */
export interface WallPoint {
  hosts: number;
  /** "reuse on" / "reuse off", with the latency when several are charted. */
  series: string;
  seconds: number;
}

/** One slice of a "where the time goes" bar. */
export interface TimeSlice {
  /** Bar label, e.g. "1 host" or "12 hosts @ 50 ms". */
  bar: string;
  /** Order of the bar along the axis. */
  order: number;
  part: string;
  seconds: number;
}

/** Parts of a bar, bottom to top, in a fixed order (and colour) whatever the data. */
export const TIME_PARTS = [
  "network floor (critical-path commands × 2 RTT)",
  "CPU: Pulumi CLI, language host, program",
  "CPU: dynamic provider",
  "CPU: the remote commands' own processes on the hosts",
  "CPU: simulator (sshd, tool server, relay, etcd)",
  "rest of the wall time (waiting, contention)",
];

type Spec = Record<string, unknown>;

/** Wall time of `pulumi up` from scratch against hosts, one line per series. */
export function wallTimeSpec(title: string, points: readonly WallPoint[]): Spec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 560,
    height: 320,
    background: "white",
    data: { values: points },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "hosts", type: "quantitative", title: "hosts", axis: { values: [1, 4, 12, 24] } },
      y: { field: "seconds", type: "quantitative", title: "wall time (s)" },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        legend: { orient: "top-left", labelLimit: 400 },
      },
    },
  };
}

/** Stacked bars: where the wall time of each run goes. */
export function timeBreakdownSpec(title: string, slices: readonly TimeSlice[]): Spec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 560,
    height: 320,
    background: "white",
    data: { values: slices.map((s) => ({ ...s, partOrder: TIME_PARTS.indexOf(s.part) })) },
    mark: "bar",
    encoding: {
      x: {
        field: "bar",
        type: "ordinal",
        title: null,
        sort: { field: "order" },
        axis: { labelAngle: 0 },
      },
      y: { field: "seconds", type: "quantitative", title: "seconds (CPU parts: CPU-seconds)", stack: "zero" },
      color: {
        field: "part",
        type: "nominal",
        title: null,
        scale: { domain: TIME_PARTS },
        legend: { orient: "bottom", columns: 1, labelLimit: 600 },
      },
      order: { field: "partOrder", type: "quantitative" },
    },
  };
}

/**
 * `import()` that TypeScript's CommonJS output leaves alone: vega and vega-lite are ES modules (vega-lite with a
 * top-level await), which `require` cannot load.
 */
const importEsm = new Function("specifier", "return import(specifier)") as <T>(
  specifier: string,
) => Promise<T>;

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: Spec): Promise<string> {
  // vega-lite's types need "moduleResolution": "node16"; what is used here is this much.
  const vegaLite = await importEsm<{ compile(spec: unknown): { spec: object } }>("vega-lite");
  const vega = await importEsm<typeof import("vega")>("vega");
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled as Parameters<typeof vega.parse>[0]), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG text to PNG bytes, at `scale` × the SVG's size. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  const { Resvg } = await import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return Buffer.from(resvg.render().asPng());
}
