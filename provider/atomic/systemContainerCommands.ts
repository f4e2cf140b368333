/**
 * argv builders for `atomic` system-container commands and the one-round-trip read of a container's state
 * (what each command printed is classified in `systemContainerOutcomes.ts`).
 *
 * Flag style: every option that takes a value is written `--option=value` as ONE argv element (`--set=K=V`,
 * `--name=etcd`, `--rebase=IMAGE`, `--filter=container=etcd`). argparse accepts both forms; the joined form
 * cannot be misread when the value itself starts with `-`, and keeps each option and its value together in logs.
 * Facts are from projectatomic/atomic 1.19/1.20 (reference §1, §2).
 */
import { containerInfoFromObject, type ContainerInfo } from "./containerInfo";
import { assertOperand, fail, ok, type ParseResult, tail } from "./result";
import type { SystemPackageMode } from "./validateSystemContainer";

/** Where atomic checks out system containers (`/var/lib/containers/atomic`, unless `checkout_path` says otherwise). */
export const ATOMIC_CHECKOUT_ROOT = "/var/lib/containers/atomic";

/** The only storage that can hold system containers. */
export type ContainerStorage = "ostree";

/** `--set=KEY=VALUE` elements, sorted by key so the same values always give the same argv. */
function setFlags(values: Readonly<Record<string, string>> | undefined): string[] {
  if (!values) return [];
  return Object.keys(values)
    .sort()
    .map((k) => `--set=${k}=${values[k]}`);
}

/** `atomic pull --storage=ostree IMAGE`: fetches (or refreshes) the image into the OSTree repository. */
export function buildAtomicPullCommand(image: string, storage: ContainerStorage = "ostree"): string[] {
  return ["atomic", "pull", `--storage=${storage}`, assertOperand(image, "image")];
}

/** What `atomic install --system` needs. */
export interface AtomicInstallSpec {
  name: string;
  image: string;
  storage?: ContainerStorage;
  systemPackage?: SystemPackageMode;
  values?: Readonly<Record<string, string>>;
}

/**
 * `atomic install --system --system-package=no --storage=ostree [--set=K=V...] --name=NAME IMAGE`, the migration
 * guide's command. Install enables the unit but does not start it.
 */
export function buildAtomicInstallCommand(spec: AtomicInstallSpec): string[] {
  return [
    "atomic",
    "install",
    "--system",
    `--system-package=${spec.systemPackage ?? "no"}`,
    `--storage=${spec.storage ?? "ostree"}`,
    ...setFlags(spec.values),
    `--name=${assertOperand(spec.name, "container name")}`,
    assertOperand(spec.image, "image"),
  ];
}

/**
 * `atomic containers update [--rebase=IMAGE] [--set=K=V...] NAME`. It does not pull: pull the image first.
 * atomic overlays `--set` on the values stored in the deployment, so a key can be changed but never removed.
 */
export function buildContainersUpdateCommand(spec: {
  name: string;
  rebase?: string;
  values?: Readonly<Record<string, string>>;
}): string[] {
  const rebase = spec.rebase === undefined ? [] : [`--rebase=${assertOperand(spec.rebase, "image")}`];
  return [
    "atomic",
    "containers",
    "update",
    ...rebase,
    ...setFlags(spec.values),
    assertOperand(spec.name, "container name"),
  ];
}

/** `atomic containers rollback NAME`: switches to the other deployment slot (no pull). */
export function buildContainersRollbackCommand(name: string): string[] {
  return ["atomic", "containers", "rollback", assertOperand(name, "container name")];
}

/**
 * `atomic uninstall --storage=ostree NAME`: disables and stops the unit, deletes the unit file, the tmpfiles
 * conf, every `installed-files` entry (user edits to them are lost), the symlink and both deployments. Data in
 * bind-mounted host directories (e.g. /var/lib/etcd/etcd.etcd) is kept.
 */
export function buildUninstallCommand(name: string): string[] {
  return ["atomic", "uninstall", "--storage=ostree", assertOperand(name, "container name")];
}

/**
 * `atomic containers list --all --json --no-trunc --filter=container=NAME`. The filter is a case-insensitive
 * substring match: pick the row with `findContainerByExactName`.
 */
export function buildContainersListCommand(name: string): string[] {
  return [
    "atomic",
    "containers",
    "list",
    "--all",
    "--json",
    "--no-trunc",
    `--filter=container=${assertOperand(name, "container name")}`,
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Read: one round trip

/** `$0` of the read script, so a shell error on the host reads "atomic-host-read: ...". */
const READ_ARG0 = "atomic-host-read";

/**
 * Everything `read` needs, printed as marker lines. Paths and the name arrive only as `$1` and `$2`; nothing is
 * interpolated into the script. The info files are JSON, whose lines can never start with `@@`, so the markers
 * cannot be confused with content. It always exits 0; a missing piece is simply not reported.
 */
export const SYSTEM_CONTAINER_READ_SCRIPT = `# atomic-host:system-container-read v1
export LC_ALL=C
root=$1
name=$2
link=$root/$name
target=
printf '@@read 1\\n'
if [ -L "$link" ]; then
  target=$(readlink -- "$link")
  printf '@@link %s\\n' "$target"
elif [ -e "$link" ]; then
  printf '@@not-a-symlink\\n'
else
  printf '@@absent\\n'
fi
if [ -f "$link/info" ]; then
  printf '@@info-begin\\n'
  cat -- "$link/info"
  printf '\\n@@info-end\\n'
fi
if [ -n "$target" ]; then
  case $target in
    /*) dir=\${target%/*} ;;
    *) dir=$root ;;
  esac
  case $target in
    *.0) other=$dir/$name.1 ;;
    *.1) other=$dir/$name.0 ;;
    *) other= ;;
  esac
  if [ -n "$other" ] && [ -f "$other/info" ]; then
    printf '@@other %s\\n' "$other"
    printf '@@other-info-begin\\n'
    cat -- "$other/info"
    printf '\\n@@other-info-end\\n'
  fi
fi
active=$(systemctl is-active -- "$name.service" 2>/dev/null)
printf '@@unit-active %s\\n' "$active"
printf '@@unit-enabled %s\\n' "$(systemctl is-enabled -- "$name.service" 2>/dev/null)"
if [ -e "/etc/systemd/system/$name.service" ]; then printf '@@unit-file-etc\\n'; fi
if [ -e "/usr/lib/systemd/system/$name.service" ]; then printf '@@unit-file-usr\\n'; fi
if [ -e "/etc/tmpfiles.d/$name.conf" ]; then
  printf '@@tmpfiles-etc\\n'
  while read -r type path rest || [ -n "$type" ]; do
    case $type in
      d|D) if [ ! -e "$path" ]; then printf '@@tmpfiles-missing %s\\n' "$path"; fi ;;
    esac
  done < "/etc/tmpfiles.d/$name.conf"
fi
for n in 0 1; do
  if [ -d "$root/$name.$n" ]; then
    printf '@@checkout %s\\n' "$root/$name.$n"
    if [ -z "$target" ] && [ ! -e "$link" ] && [ -f "$root/$name.$n/info" ]; then
      printf '@@checkout-info-begin\\n'
      cat -- "$root/$name.$n/info"
      printf '\\n@@checkout-info-end\\n'
    fi
  fi
done
printf '@@end\\n'
exit 0
`;

/**
 * `sh -c SCRIPT atomic-host-read ROOT NAME`: reads the deployment symlink, the active and the other
 * deployment's `info`, the unit's active and enabled state, and whether unit files exist in /etc and /usr/lib.
 * `root` is {@link ATOMIC_CHECKOUT_ROOT} unless the host sets atomic's `checkout_path`.
 */
export function buildSystemContainerReadCommand(name: string, root: string = ATOMIC_CHECKOUT_ROOT): string[] {
  return [
    "sh",
    "-c",
    SYSTEM_CONTAINER_READ_SCRIPT,
    READ_ARG0,
    assertOperand(root, "checkout root"),
    assertOperand(name, "container name"),
  ];
}

/** A deployment slot `NAME.N` and its info file. */
export interface DeploymentSlot {
  /** 0 or 1. */
  slot: number;
  /** The checkout directory, e.g. /var/lib/containers/atomic/etcd.0 (possibly under /ostree/deploy/...). */
  path: string;
  info: ContainerInfo;
}

/** What is on the host for one container name. */
export interface SystemContainerObservation {
  /** True when `/var/lib/containers/atomic/NAME` exists (atomic's own "already present" test). */
  present: boolean;
  /** The active deployment, when the symlink and its info file are readable. */
  active?: DeploymentSlot;
  /** The other deployment (what `atomic containers rollback` returns to), when it has an info file. */
  previous?: DeploymentSlot;
  /** Problems worth reporting: NAME is not a symlink, an info file is unreadable... */
  warnings: string[];
  unit: {
    /** `systemctl is-active NAME.service`: active, inactive, failed...; "" when systemctl printed nothing. */
    active: string;
    /** `systemctl is-enabled NAME.service`: enabled, disabled, static...; "" for no unit file. */
    enabled: string;
    /** `/etc/systemd/system/NAME.service` exists (atomic's unit, or one that makes `atomic install` fail). */
    etcUnitFile: boolean;
    /** `/usr/lib/systemd/system/NAME.service` exists: an RPM unit of the same name, e.g. the etcd RPM's. */
    usrUnitFile: boolean;
  };
  /** `/etc/tmpfiles.d/NAME.conf` exists (atomic writes it at install; `atomic install` refuses when it exists). */
  tmpfilesFile?: boolean;
  /**
   * Directories (`d`/`D` lines) of `/etc/tmpfiles.d/NAME.conf` that do not exist: `atomic install` runs
   * `systemd-tmpfiles --create` only after the symlink (V1.12.1 syscontainers.py:955-957), so an install killed in
   * between leaves them missing, and a unit bind-mounting them (etcd's data dir) cannot start.
   */
  tmpfilesMissing?: string[];
  /** Deployment checkouts `ROOT/NAME.0`, `ROOT/NAME.1` that exist, with or without the NAME symlink. */
  checkouts?: string[];
  /**
   * Set when the NAME symlink is gone but checkouts remain: what a failed restart inside `atomic containers
   * update` leaves (atomic 1.20, syscontainers.py `_do_checkout`, the `except` at lines 963-969 of V1.12.1:
   * installed files and the symlink are removed, the new checkout, the unit file and the tmpfiles conf stay).
   * `atomic uninstall` cannot remove it (it finds no container without the symlink) and `atomic install`
   * refuses it ("The file /etc/systemd/system/NAME.service already exists.").
   */
  halfRemoved?: HalfRemoved;
}

/** What is left of a container whose NAME symlink is gone (see {@link SystemContainerObservation.halfRemoved}). */
export interface HalfRemoved {
  checkouts: string[];
  unitFile: boolean;
  tmpfilesFile: boolean;
  /**
   * The host files the leftover checkouts' `info` lists as installed by atomic (`installed-files`): an install
   * killed after copying them (`rm_add_files_to_host`, V1.12.1 syscontainers.py:891) leaves them, and a reinstall
   * would then skip them ("File X already exists.") and no longer own them. Absent when no leftover lists any.
   */
  installedFiles?: string[];
}

function slotOf(path: string): number | undefined {
  const m = /\.([0-9]+)$/.exec(path);
  return m ? Number(m[1]) : undefined;
}

function infoFrom(lines: string[], label: string, warnings: string[]): ContainerInfo | undefined {
  const text = lines.join("\n").trim();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    warnings.push(`${label} is not valid JSON: ${tail(text, 120)}`);
    return undefined;
  }
  const parsed = containerInfoFromObject(raw);
  if (!parsed.ok) {
    warnings.push(`${label}: ${parsed.error}`);
    return undefined;
  }
  return parsed.value;
}

/** Parses the output of {@link buildSystemContainerReadCommand}. */
export function parseSystemContainerReadOutput(stdout: string): ParseResult<SystemContainerObservation> {
  const lines = stdout.split("\n");
  if (!lines.some((l) => l === "@@read 1") || !lines.some((l) => l === "@@end")) {
    return fail(`the system-container read script did not run to the end; it printed: ${tail(stdout, 200)}`);
  }
  const obs: SystemContainerObservation = {
    present: false,
    warnings: [],
    unit: { active: "", enabled: "", etcUnitFile: false, usrUnitFile: false },
  };
  let target: string | undefined;
  let otherPath: string | undefined;
  let block: "info" | "other" | undefined;
  let infoLines: string[] | undefined;
  let otherLines: string[] | undefined;
  let checkoutLines: string[] | undefined;
  const checkoutInfos: string[][] = [];
  for (const line of lines) {
    if (checkoutLines !== undefined) {
      if (line === "@@checkout-info-end") {
        checkoutInfos.push(checkoutLines);
        checkoutLines = undefined;
      } else checkoutLines.push(line);
      continue;
    }
    if (block === "info") {
      if (line === "@@info-end") block = undefined;
      else infoLines!.push(line);
      continue;
    }
    if (block === "other") {
      if (line === "@@other-info-end") block = undefined;
      else otherLines!.push(line);
      continue;
    }
    if (line.startsWith("@@link ")) {
      obs.present = true;
      target = line.slice("@@link ".length);
    } else if (line === "@@not-a-symlink") {
      obs.present = true;
      obs.warnings.push("the container's path is not a symlink to a deployment (NAME.0 or NAME.1)");
    } else if (line === "@@info-begin") {
      block = "info";
      infoLines = [];
    } else if (line.startsWith("@@other ")) {
      otherPath = line.slice("@@other ".length);
    } else if (line === "@@other-info-begin") {
      block = "other";
      otherLines = [];
    } else if (line.startsWith("@@unit-active")) {
      obs.unit.active = line.slice("@@unit-active".length).trim();
    } else if (line.startsWith("@@unit-enabled")) {
      obs.unit.enabled = line.slice("@@unit-enabled".length).trim();
    } else if (line === "@@unit-file-etc") {
      obs.unit.etcUnitFile = true;
    } else if (line === "@@unit-file-usr") {
      obs.unit.usrUnitFile = true;
    } else if (line === "@@tmpfiles-etc") {
      obs.tmpfilesFile = true;
    } else if (line.startsWith("@@tmpfiles-missing ")) {
      (obs.tmpfilesMissing ??= []).push(line.slice("@@tmpfiles-missing ".length));
    } else if (line.startsWith("@@checkout ")) {
      (obs.checkouts ??= []).push(line.slice("@@checkout ".length));
    } else if (line === "@@checkout-info-begin") {
      checkoutLines = [];
    }
  }
  if (block !== undefined || checkoutLines !== undefined)
    return fail("the system-container read script printed an unterminated info block");
  if (infoLines !== undefined) {
    const info = infoFrom(infoLines, "the active deployment's info file", obs.warnings);
    const slot = target === undefined ? undefined : slotOf(target);
    if (info && target !== undefined && slot !== undefined) obs.active = { slot, path: target, info };
    else if (info && target !== undefined)
      obs.warnings.push(`the container's symlink points to ${target}, not NAME.0 or NAME.1`);
  } else if (obs.present) {
    obs.warnings.push("the active deployment has no readable info file");
  }
  if (!obs.present && obs.checkouts !== undefined && obs.checkouts.length > 0) {
    const installed = new Set<string>();
    for (const [i, infoLines] of checkoutInfos.entries()) {
      const info = infoFrom(infoLines, `a leftover checkout's info file (${i + 1})`, obs.warnings);
      for (const f of info?.installedFiles ?? []) {
        if (f.startsWith("/") && !f.split("/").includes("..") && !/[\0\n]/.test(f)) installed.add(f);
      }
    }
    obs.halfRemoved = {
      checkouts: obs.checkouts,
      unitFile: obs.unit.etcUnitFile,
      tmpfilesFile: obs.tmpfilesFile === true,
      ...(installed.size > 0 ? { installedFiles: [...installed].sort() } : {}),
    };
  }
  if (otherLines !== undefined && otherPath !== undefined) {
    const info = infoFrom(otherLines, "the other deployment's info file", obs.warnings);
    const slot = slotOf(otherPath);
    if (info && slot !== undefined) obs.previous = { slot, path: otherPath, info };
  }
  return ok(obs);
}

// ---------------------------------------------------------------------------------------------------------------
// Repair of a half-removed container

/** `$0` of the repair script. */
const REPAIR_ARG0 = "atomic-host-repair";

/**
 * Removes what a failed restart inside `atomic containers update`, or an `atomic install` killed before the NAME
 * symlink, left (see {@link SystemContainerObservation.halfRemoved}), the way `atomic uninstall` removes a container
 * (syscontainers.py `uninstall`, V1.12.1): `systemctl disable --now` (failure ignored), the unit file, `daemon-reload`,
 * the tmpfiles conf, the host files the leftovers' info lists as installed (the arguments after NAME), then the
 * checkouts NAME.0 and NAME.1. It does not run `systemd-tmpfiles --remove`: the conf's directories may hold the
 * service's data (/var/lib/etcd), and only the conf file itself blocks the reinstall.
 * It refuses to run when the NAME symlink exists again (then the container is whole, not half-removed).
 */
export const CONTAINER_REPAIR_SCRIPT = `# atomic-host:container-repair v1
export LC_ALL=C
root=$1
name=$2
if [ -e "$root/$name" ] || [ -L "$root/$name" ]; then
  echo "atomic-host-repair: $root/$name exists: the container is installed, not half-removed" >&2
  exit 3
fi
printf '@@step disable\\n'
systemctl disable --now -- "$name.service" >/dev/null 2>&1 || :
printf '@@step unit-file\\n'
rm -f -- "/etc/systemd/system/$name.service" || exit 1
systemctl daemon-reload || exit 1
printf '@@step tmpfiles\\n'
rm -f -- "/etc/tmpfiles.d/$name.conf" || exit 1
shift 2
if [ $# -gt 0 ]; then
  printf '@@step installed-files\\n'
  rm -f -- "$@" || exit 1
fi
printf '@@step checkouts\\n'
rm -rf -- "$root/$name.0" "$root/$name.1" || exit 1
printf '@@done\\n'
`;

/** `sh -c SCRIPT atomic-host-repair ROOT NAME [INSTALLED-FILE...]`. */
export function buildContainerRepairCommand(
  name: string,
  root: string = ATOMIC_CHECKOUT_ROOT,
  installedFiles: readonly string[] = [],
): string[] {
  return [
    "sh",
    "-c",
    CONTAINER_REPAIR_SCRIPT,
    REPAIR_ARG0,
    assertOperand(root, "checkout root"),
    assertOperand(name, "container name"),
    ...installedFiles.map((f) => assertOperand(f, "installed file")),
  ];
}

/** Where atomic keeps pulled images on a system install (`get_ostree_repo_location`'s default). */
export const ATOMIC_OSTREE_REPO = "/ostree/repo";

/**
 * The ostree branch atomic stores an image under: `ociimage/` + the image's `registry/name:tag` (tag "latest"
 * when none) with every character other than letters, digits, `.` and `-` written `_XX` (hex). Mirrors
 * `_get_ostree_image_branch`, `_encode_to_ostree_ref` and `_parse_imagename` (syscontainers.py, v1.19.1 and
 * V1.12.1 alike). Undefined for a digest reference (`@sha256:`), which atomic stores differently.
 */
export function ostreeImageBranch(image: string): string | undefined {
  if (image.includes("@")) return undefined;
  const name = image.startsWith("oci:") ? image.slice("oci:".length) : image;
  const slash = name.indexOf("/");
  let registry = slash < 0 ? "" : name.slice(0, slash);
  let rest = slash < 0 ? name : name.slice(slash + 1);
  if (!registry.includes(".")) {
    registry = "";
    rest = name;
  }
  const colon = rest.indexOf(":");
  const [repo, tag] = colon > 0 ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, "latest"];
  const full = registry ? `${registry}/${repo}:${tag}` : `${repo}:${tag}`;
  const encoded = [...full]
    .map((c) =>
      /^[A-Za-z0-9.-]$/.test(c) ? c : `_${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
  return `ociimage/${encoded}`;
}

/**
 * `ostree --repo=/ostree/repo rev-parse BRANCH`: the commit the image's branch points at after a pull. The info
 * file records the commit a deployment was checked out from (`ostree-commit`, in 1.19.1 and 1.20.1), so comparing
 * the two tells whether the image moved whatever digest kind the `revision` holds.
 */
export function buildImageCommitCommand(branch: string, repo: string = ATOMIC_OSTREE_REPO): string[] {
  return [
    "ostree",
    `--repo=${assertOperand(repo, "ostree repo")}`,
    "rev-parse",
    assertOperand(branch, "image branch"),
  ];
}

/** Parses `ostree rev-parse` output: one 64-hex commit. */
export function parseImageCommit(stdout: string): ParseResult<string> {
  const c = stdout.trim();
  return /^[0-9a-f]{64}$/.test(c)
    ? ok(c)
    : fail(`ostree rev-parse did not print a commit: ${tail(stdout, 120)}`);
}
