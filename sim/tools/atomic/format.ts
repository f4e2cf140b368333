/**
 * Pure renderers for atomic's listings (reference §2; `Atomic/containers.py`, `Atomic/images.py`,
 * `Atomic/info.py`). Python's `str.format` padding (`{0:12}` left-justifies and never truncates) is reproduced
 * with {@link ljust}; truncation is done by slicing, as atomic does.
 */
import { formatLocalDateTime } from "./hostEnv";
import { PyValue, pyJsonDumps } from "./pyjson";
import { ContainerRow } from "./systemContainers";

/** Python's `"{0:N}".format(s)` for strings. */
export function ljust(s: string, width: number): string {
  return s.length >= width ? s : s + " ".repeat(width - s.length);
}

export const CONTAINER_FILTER_KEYWORDS: Record<string, keyof ContainerRow | "createdText"> = {
  container: "id",
  image: "imageName",
  command: "command",
  created: "createdText",
  state: "state",
  runtime: "runtime",
  backend: "backend",
};

/** Validate `-f KEY=VALUE` filters; returns an error message for an unknown key. */
export function checkContainerFilters(filters: readonly string[]): string | undefined {
  for (const f of filters) {
    const key = f.split("=", 1)[0];
    if (!(key in CONTAINER_FILTER_KEYWORDS)) {
      const keys = Object.keys(CONTAINER_FILTER_KEYWORDS)
        .map((k) => `'${k}'`)
        .join(", ");
      return `The filter ${key} is not valid.  Please choose from [${keys}]`;
    }
  }
  return undefined;
}

/** Case-insensitive substring filters, all of which must match. */
export function filterContainers(rows: readonly ContainerRow[], filters: readonly string[]): ContainerRow[] {
  return rows.filter((row) =>
    filters.every((f) => {
      const eq = f.indexOf("=");
      const key = CONTAINER_FILTER_KEYWORDS[f.slice(0, eq)];
      const value = f.slice(eq + 1).toLowerCase();
      const field = key === "createdText" ? formatLocalDateTime(row.created) : String(row[key]);
      return field.toLowerCase().includes(value);
    }),
  );
}

export interface ContainersListOptions {
  all: boolean;
  json: boolean;
  heading: boolean;
  truncate: boolean;
  quiet: boolean;
}

/**
 * `ps_tty` output lines (without trailing newlines). Without `-a` nothing at all is printed when no container is
 * running — even with `--json` — because that check comes first in atomic.
 */
export function renderContainersList(
  allRows: readonly ContainerRow[],
  opts: ContainersListOptions,
): string[] {
  const rows = opts.all ? [...allRows] : allRows.filter((r) => r.running);
  if (!allRows.some((r) => r.running) && !opts.all) return [];
  if (opts.quiet) return rows.map((r) => r.id.slice(0, 12));
  if (opts.json) {
    const list: PyValue = rows.map((r) => ({
      id: r.id,
      image_id: r.imageId,
      image_name: r.imageName,
      name: r.name,
      command: r.command,
      created: formatLocalDateTime(r.created),
      state: r.state,
      backend: r.backend,
      runtime: r.runtime,
      vulnerable: false,
      running: r.running,
    }));
    return [pyJsonDumps(list, { indent: 4, separators: [",", ": "] })];
  }
  if (rows.length === 0) return [];
  const max = (f: (r: ContainerRow) => string, trunc: number) =>
    opts.truncate ? trunc : Math.max(...rows.map((r) => f(r).length));
  const wId = max((r) => r.id, 12);
  const wImage = max((r) => r.imageName, 20);
  const wName = max((r) => r.name, 10);
  const wCommand = max((r) => r.command, 10);
  const line = (cells: string[]) =>
    [
      ljust(cells[0], 2),
      ljust(cells[1], wId),
      ljust(cells[2], wImage),
      ljust(cells[3], wName),
      ljust(cells[4], wCommand),
      ljust(cells[5], 16),
      ljust(cells[6], 10),
      ljust(cells[7], 10),
      ljust(cells[8], 10),
    ].join(" ");
  const out: string[] = [];
  if (opts.heading) {
    out.push(
      line([" ", "CONTAINER ID", "IMAGE", "NAME", "COMMAND", "CREATED", "STATE", "BACKEND", "RUNTIME"]),
    );
  }
  for (const r of rows) {
    out.push(
      line([
        "",
        r.id.slice(0, wId),
        r.imageName.slice(0, wImage),
        r.name.slice(0, wName),
        r.command.slice(0, wCommand),
        formatLocalDateTime(r.created).slice(0, 16),
        r.state.slice(0, 10),
        r.backend.slice(0, 10),
        r.runtime.slice(0, 10),
      ]),
    );
  }
  return out;
}

/** One row of `atomic images list`. */
export interface ImageRow {
  repo: string;
  tag: string;
  /** Full image ID (64 hex). */
  id: string;
  /** Unix seconds. */
  created: number;
  virtualSize: number | undefined;
  backend: "ostree" | "docker";
  type: string;
  used: boolean;
  dangling: boolean;
}

/** images.py `convert_size`: decimal units, Python's round(x, 2) printed with `%s`. */
export function convertSize(size: number): string {
  if (size > 0) {
    const names = ["B", "KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    const i = Math.floor(Math.log(size) / Math.log(1000));
    const s = Math.round((size / Math.pow(1000, i)) * 100) / 100;
    if (s > 0) return `${Number.isInteger(s) ? `${s}.0` : String(s)} ${names[i]}`;
  }
  return "0B";
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** `time.strftime("%F %H:%M", time.localtime(t))`. */
export function formatLocalMinute(t: number): string {
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export interface ImagesListOptions {
  json: boolean;
  heading: boolean;
  truncate: boolean;
  quiet: boolean;
  filters: readonly string[];
}

/**
 * `display_all_image_info`. JSON is `util.output_json(list)`: `json.dumps(indent=4, separators=(',', ': '))`
 * written with `write_out`, so with a trailing newline (projectatomic/atomic V1.12.1 Atomic/images.py:164-166,
 * Atomic/util.py:249-250,267-269); the table ends with an empty line (atomic's final `write_out("")`).
 */
export function renderImagesList(rows: readonly ImageRow[], opts: ImagesListOptions): { text: string } {
  const id = (r: ImageRow) => (opts.truncate ? r.id.slice(0, 12) : r.id);
  const created = (r: ImageRow) => formatLocalMinute(r.created);
  const size = (r: ImageRow) => (r.virtualSize === undefined ? "" : convertSize(r.virtualSize));
  if (opts.json) {
    const list: PyValue = rows.map((r) => ({
      repo: r.repo,
      tag: r.tag,
      is_dangling: r.dangling,
      used: r.used,
      vulnerable: false,
      id: id(r),
      type: r.type,
      created: created(r),
      virtual_size: size(r),
      backend: r.backend,
      vuln_info: {},
    }));
    // Atomic/images.py:165 -> Atomic/util.py:267-269 (output_json: indent=4, write_out adds "\n").
    return { text: pyJsonDumps(list, { indent: 4, separators: [",", ": "] }) + "\n" };
  }
  const wRepo = rows.length ? Math.max(...rows.map((r) => r.repo.length)) + 2 : 1;
  const wTag = rows.length ? Math.max(...rows.map((r) => r.tag.length)) + 2 : 1;
  const wId = opts.truncate ? 14 : 65;
  const line = (c: string[]) =>
    [
      ljust(c[0], 2),
      ljust(c[1], wRepo),
      ljust(c[2], wTag),
      ljust(c[3], wId),
      ljust(c[4], 18),
      ljust(c[5], 14),
      ljust(c[6], 10),
    ].join(" ");
  const out: string[] = [];
  if (opts.heading && !opts.quiet) {
    out.push(line([" ", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "VIRTUAL SIZE", "TYPE"]));
  }
  for (const r of rows) {
    if (opts.filters.length && !imageMatchesFilters(r, id(r), opts.filters)) continue;
    if (opts.quiet) {
      out.push(id(r));
      continue;
    }
    const indicator = r.dangling ? "*" : r.used ? ">" : "";
    out.push(line([indicator, r.repo, r.tag, id(r), created(r), size(r), r.backend]));
  }
  out.push("");
  return { text: out.join("\n") + "\n" };
}

/** images.py `_filter_include_image`: unknown keys let everything through; matching is substring. */
function imageMatchesFilters(r: ImageRow, shownId: string, filters: readonly string[]): boolean {
  const info: Record<string, string> = {
    repo: r.repo,
    tag: r.tag,
    id: shownId,
    created: formatLocalMinute(r.created),
    size: r.virtualSize === undefined ? "" : convertSize(r.virtualSize),
    type: r.backend,
    dangling: r.dangling ? "True" : "False",
  };
  for (const f of filters) {
    const [rawVar, value = ""] = f.split("=");
    let v = rawVar.toLowerCase();
    if (v === "repository") v = "repo";
    if (v === "image") v = "id";
    if (!(v in info)) continue;
    if (!info[v].toLowerCase().includes(value)) return false;
  }
  return true;
}

/**
 * `atomic info IMAGE` for a system image: name, sorted labels, then the template variables with a default
 * (overridable with --set; RUN_DIRECTORY, STATE_DIRECTORY, UUID shown as `{SET_BY_OS}`) and those without one.
 */
export function renderImageInfo(
  image: string,
  labels: Record<string, string>,
  withDefault: Record<string, string> | undefined,
  toSet: string[] | undefined,
): string {
  let buf = `Image Name: ${image}`;
  for (const k of Object.keys(labels).sort()) buf += `\n${k}: ${labels[k]}`;
  if (withDefault && Object.keys(withDefault).length) {
    buf += "\n\nTemplate variables with default value, but overridable with --set:";
    for (const k of Object.keys(withDefault).sort()) buf += `\n${k}: ${withDefault[k]}`;
  }
  if (toSet && toSet.length) {
    buf += "\n\nTemplate variables that has no default value, and must be set with --set:";
    for (const k of [...toSet].sort()) buf += `\n${k}: {DEF_VALUE}`;
  }
  return buf;
}
