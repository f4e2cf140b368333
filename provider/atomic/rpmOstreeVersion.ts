/**
 * Parser for `rpm-ostree --version`, and which version-gated flags a host supports.
 *
 * The output is YAML-like (`src/app/main.c`, `opt_version`):
 * ```
 * rpm-ostree:
 *  Version: 2017.10          ← v2017.x prints the bare version
 *  Git: 5c7d2b0...           ← only in builds from git
 *  Features:
 *   - compose
 * ```
 * Later releases quote it, ` Version: '2018.7'`, so that YAML does not read "2018.10" as the float 2018.1.
 * Versions are therefore compared as (year, release) integers, never as numbers or strings.
 */
import { fail, ok, type ParseResult, tail } from "./result";

export interface RpmOstreeVersion {
  /** As printed, e.g. "2017.10". */
  version: string;
  year: number;
  /** The release within the year: 10 for 2017.10. */
  release: number;
  /** `Features:` entries, e.g. ["compose"]. */
  features: string[];
  git?: string;
}

/** Parses `rpm-ostree --version` output. */
export function parseRpmOstreeVersion(stdout: string): ParseResult<RpmOstreeVersion> {
  const m = /^\s*Version:\s*'?"?([0-9]{4})\.([0-9]+)(?:\.[0-9]+)*[^'"\s]*'?"?\s*$/m.exec(stdout);
  if (!m || !/^rpm-ostree:\s*$/m.test(stdout)) {
    return fail(
      `rpm-ostree --version did not print "rpm-ostree:" and " Version: YYYY.N": ${tail(stdout, 200)}`,
    );
  }
  const version = m[0].replace(/^\s*Version:\s*/, "").replace(/['"\s]/g, "");
  const features: string[] = [];
  let inFeatures = false;
  let git: string | undefined;
  for (const line of stdout.split("\n")) {
    if (/^\s*Features:\s*$/.test(line)) {
      inFeatures = true;
      continue;
    }
    const feature = /^\s+-\s+(\S+)\s*$/.exec(line);
    if (inFeatures && feature) {
      features.push(feature[1]!);
      continue;
    }
    inFeatures = false;
    const g = /^\s*Git:\s*(\S+)\s*$/.exec(line);
    if (g) git = g[1];
  }
  const result: RpmOstreeVersion = { version, year: Number(m[1]), release: Number(m[2]), features };
  if (git !== undefined) result.git = git;
  return ok(result);
}

/** True when `v` is `year.release` or later. */
export function isAtLeast(
  v: Pick<RpmOstreeVersion, "year" | "release">,
  year: number,
  release: number,
): boolean {
  return v.year > year || (v.year === year && v.release >= release);
}

/** Flags and behaviours that depend on the host's rpm-ostree release (reference §3, "Version and flag matrix"). */
export interface RpmOstreeCapabilities {
  /** `install/uninstall --idempotent` (v2018.7): an already (un)requested package is not an error. */
  idempotent: boolean;
  /** `install --allow-inactive` (v2018.6): request a package the base already provides. */
  allowInactive: boolean;
  /** `--unchanged-exit-77` on install/uninstall (v2018.7). */
  unchangedExit77: boolean;
  /** `rpm-ostree cancel` (v2018.1). */
  cancel: boolean;
  /** Deployments may be `staged` (v2018.5): the pending one is finalized at shutdown. */
  stagedDeployments: boolean;
}

/** The capabilities of a release. An unknown version is treated as 2017.10, the oldest Fedora 27 build. */
export function rpmOstreeCapabilities(
  v: Pick<RpmOstreeVersion, "year" | "release"> | undefined,
): RpmOstreeCapabilities {
  const at = (y: number, r: number) => v !== undefined && isAtLeast(v, y, r);
  return {
    idempotent: at(2018, 7),
    allowInactive: at(2018, 6),
    unchangedExit77: at(2018, 7),
    cancel: at(2018, 1),
    stagedDeployments: at(2018, 5),
  };
}

/** `rpm-ostree --version` (needs no daemon and no root). */
export function buildRpmOstreeVersionCommand(): string[] {
  return ["rpm-ostree", "--version"];
}
