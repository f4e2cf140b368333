/**
 * Parsers for what atomic (1.19/1.20, Fedora 26/27) records about system containers:
 * - the `info` file it writes into each deployment, `/var/lib/containers/atomic/NAME.N/info` (json.dumps,
 *   indent 4; reference §1 "info file");
 * - `atomic containers list --all --json` (reference §2).
 */
import { fail, isPlainObject, ok, type ParseResult, tail } from "./result";

/** The fields of atomic's `info` file this package uses. */
export interface ContainerInfo {
  /** The image reference as given to `atomic install` / `--rebase`, e.g. "registry.fedoraproject.org/f27/etcd". */
  image: string;
  /** The image digest (`ImageId`), without a `sha256:` prefix; `""` when absent. */
  revision: string;
  /** The OSTree commit of the checked-out image, when recorded. */
  ostreeCommit?: string;
  /** Install time, seconds since the epoch; 0 when absent. */
  created: number;
  /**
   * Every template value of the deployment, as strings: built-ins, the image's `defaultValues`, `--set`, and
   * atomic's forced ones (`HOST_UID` is a number in the file and becomes "0" here).
   */
  values: Record<string, string>;
  /** Files atomic copied onto the host (`installed-files`); `atomic uninstall` deletes them. */
  installedFiles: string[];
  /** `system-package` as recorded: "no" on an ostree-booted host unless `yes`/`build` was asked for. */
  systemPackage?: string;
  /** `has-container-service`: false when the image ships no service template. */
  hasContainerService?: boolean;
  /** `rpm-installed`: the RPM name when installed as a system package, else undefined. */
  rpmInstalled?: string;
}

/** Turns an already-decoded info object into a {@link ContainerInfo}, or says what is missing. */
export function containerInfoFromObject(raw: unknown): ParseResult<ContainerInfo> {
  if (!isPlainObject(raw)) return fail("atomic's info file is not a JSON object");
  if (typeof raw.image !== "string" || raw.image === "") {
    return fail('atomic\'s info file has no "image" string');
  }
  const values: Record<string, string> = {};
  if (isPlainObject(raw.values)) {
    for (const [k, v] of Object.entries(raw.values)) {
      if (v === null || v === undefined) continue;
      values[k] = typeof v === "string" ? v : String(v);
    }
  }
  const installed = Array.isArray(raw["installed-files"])
    ? raw["installed-files"].filter((f): f is string => typeof f === "string")
    : [];
  const info: ContainerInfo = {
    image: raw.image,
    revision: typeof raw.revision === "string" ? raw.revision.replace(/^sha256:/, "") : "",
    created: typeof raw.created === "number" ? raw.created : 0,
    values,
    installedFiles: installed,
  };
  if (typeof raw["ostree-commit"] === "string") info.ostreeCommit = raw["ostree-commit"];
  if (typeof raw["system-package"] === "string") info.systemPackage = raw["system-package"];
  if (typeof raw["has-container-service"] === "boolean")
    info.hasContainerService = raw["has-container-service"];
  if (typeof raw["rpm-installed"] === "string") info.rpmInstalled = raw["rpm-installed"];
  return ok(info);
}

/** Parses the text of an `info` file. */
export function parseContainerInfo(json: string): ParseResult<ContainerInfo> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return fail(`atomic's info file is not valid JSON (${(e as Error).message}): ${tail(json, 200)}`);
  }
  return containerInfoFromObject(raw);
}

/** One row of `atomic containers list --json` (reference §2). */
export interface ContainerListEntry {
  /** The container id; for the ostree backend, the container name. */
  id: string;
  /** The name; atomic 1.20 sets it equal to `id` for ostree (older releases omit it: `id` is used). */
  name: string;
  /** `info.revision`: the installed image digest. */
  imageId: string;
  imageName: string;
  /** config.json `process.args` joined with spaces. */
  command: string;
  /** Local time as Python prints it, e.g. "2017-11-20 10:11:12". */
  created: string;
  /** running / failed / inactive / "no service" (derived from systemctl). */
  state: string;
  /** "ostree" or "docker". */
  backend: string;
  runtime: string;
  vulnerable: boolean;
  /** atomic's notion: `state != 'inactive'` for ostree, so "failed" counts as running. */
  running: boolean;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : String(v);
}

/**
 * Parses `atomic containers list --all --json` output. Empty output (atomic prints nothing when there is no
 * row to show and `--all` was not given) is an empty list.
 */
export function parseContainersListJson(stdout: string): ParseResult<ContainerListEntry[]> {
  const text = stdout.trim();
  if (text === "") return ok([]);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(
      `atomic containers list --json did not print JSON (${(e as Error).message}): ${tail(text, 200)}`,
    );
  }
  if (!Array.isArray(raw)) return fail("atomic containers list --json did not print a JSON list");
  const entries: ContainerListEntry[] = [];
  for (const row of raw) {
    if (!isPlainObject(row) || typeof row.id !== "string") {
      return fail('atomic containers list --json printed a row without an "id" string');
    }
    entries.push({
      id: row.id,
      name: typeof row.name === "string" && row.name !== "" ? row.name : row.id,
      imageId: str(row.image_id),
      imageName: str(row.image_name),
      command: str(row.command),
      created: str(row.created),
      state: str(row.state),
      backend: str(row.backend),
      runtime: str(row.runtime),
      vulnerable: row.vulnerable === true,
      running: row.running === true,
    });
  }
  return ok(entries);
}

/**
 * The ostree-backend row whose id is exactly `name`. atomic's `-f container=NAME` filter is a case-insensitive
 * substring match (`_value.lower() in it.lower()` in containers.py), so `etcd` also lists `etcd-backup` and
 * `ETCD2`: the filter narrows the output, this picks the row.
 */
export function findContainerByExactName(
  entries: readonly ContainerListEntry[],
  name: string,
): ContainerListEntry | undefined {
  return entries.find((e) => e.backend === "ostree" && e.id === name);
}
