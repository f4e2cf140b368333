/**
 * rpm-ostree's deployment model as pure functions (reference §3 "Deployment model"; rpm-ostree v2017.10
 * `rpmostreed-transaction-types.c`, `rpmostree-origin.c`, `rpmostree-sysroot-core.c`).
 *
 *  - `deployments` is the boot order: `[0]` boots next, `booted` marks the running one.
 *  - A change writes a new deployment at `[0]`; the booted one stays; any other (old pending, rollback) is dropped
 *    (`ostree_sysroot_simple_write_deployment` without RETAIN flags; the merge deployment is the booted one).
 *  - Changes are cumulative: each builds on the origin of the current default deployment (`[0]`).
 *  - A requested package the base already provides is an *inactive* request: recorded, not layered, and it
 *    becomes active when a later base (e.g. Fedora 27) stops providing it.
 *
 * No I/O here; `state.ts` loads and saves.
 */
import {
  BaseImage,
  Release,
  RpmPackage,
  baseImageForChecksum,
  baseImageForRef,
  evr,
  nevra,
  rpmRepository,
  sha256Hex,
} from "../../catalog";

export const OSNAME = "fedora-atomic";

/** One deployment in `state/rpm-ostree.json`. */
export interface Deployment {
  osname: string;
  serial: number;
  /** The deployed commit: the base commit, or a client-side layered commit on top of it. */
  checksum: string;
  /** The Fedora base commit under it. */
  baseChecksum: string;
  /** Timestamp of `checksum` (the layering time for a layered commit), unix seconds. */
  timestamp: number;
  /** Origin refspec `remote:ref` (no `ostree://` — that prefix is only printed by 2018.x status text). */
  origin: string;
  /** Packages requested in the origin (`packages=` in the origin file), sorted. */
  requestedPackages: string[];
  /** Requested packages that are actually layered (not provided by the base), sorted. */
  packages: string[];
  booted: boolean;
}

/** The running (or a pending) transaction, as `status --json` shows it: `[method, sender, objpath]`. */
export interface TransactionLock {
  method: string;
  sender: string;
  objpath: string;
  title: string;
  /** Process holding it, or null for one started by "another tool or timer" that ends explicitly. */
  pid: number | null;
  started: number;
  /** The daemon-side transaction's id (`state/rpmostreed/<id>.*`), when an rpm-ostree client started it. */
  id?: string;
  /** Canonical D-Bus parameters of the request, for joining a compatible request. */
  parameters?: string;
}

export interface RpmOstreeState {
  deployments: Deployment[];
  transaction: TransactionLock | null;
  /** Counter for D-Bus unique names (`:1.N`) given to transaction senders. */
  nextSender: number;
  /** The rpm-ostree release recorded at initialisation (host.json takes precedence). */
  rpmOstreeVersion?: RpmOstreeVersion;
}

export type RpmOstreeVersion = "2017.10" | "2018.7";

export const DBUS_OBJPATH = "/org/projectatomic/rpmostree1/fedora_atomic";

/** Split `remote:ref`; a refspec without `:` has no remote. */
export function parseRefspec(refspec: string): { remote: string | undefined; ref: string } {
  const i = refspec.indexOf(":");
  return i < 0
    ? { remote: undefined, ref: refspec }
    : { remote: refspec.slice(0, i), ref: refspec.slice(i + 1) };
}

export function baseOf(d: Deployment): BaseImage {
  const b = baseImageForChecksum(d.baseChecksum);
  if (!b) throw new Error(`unknown base commit ${d.baseChecksum}`);
  return b;
}

export function isLayered(d: Deployment): boolean {
  return d.checksum !== d.baseChecksum;
}

export function deploymentId(d: Deployment): string {
  return `${d.osname}-${d.checksum}.${d.serial}`;
}

/** Checksum of a client-side layered commit: a function of its base and what is layered. */
export function layeredChecksum(baseChecksum: string, layered: readonly RpmPackage[]): string {
  return sha256Hex(`rpm-ostree-layer:${baseChecksum}:${layered.map(nevra).sort().join(",")}`);
}

/** Outcome of resolving the requested packages against a base and its release's repositories. */
export interface Resolution {
  /** Requests the base does not provide: these are layered. */
  active: string[];
  /** Requests the base provides, with the providing NEVRA. */
  inactive: Array<{ name: string; providedBy: string }>;
  /** Requests no repository has. */
  missing: string[];
  /** Every package that ends up layered (active requests plus dependencies the base lacks), by name. */
  layered: RpmPackage[];
}

export function resolveRequests(base: BaseImage, requested: readonly string[]): Resolution {
  const repo = rpmRepository(base.release);
  const inBase = new Map(base.packages.map((p) => [p.name, p]));
  const res: Resolution = { active: [], inactive: [], missing: [], layered: [] };
  const layered = new Map<string, RpmPackage>();
  const addWithDeps = (p: RpmPackage) => {
    if (layered.has(p.name) || inBase.has(p.name)) return;
    layered.set(p.name, p);
    for (const dep of p.requires) {
      const d = repo.get(dep);
      if (d) addWithDeps(d);
    }
  };
  for (const name of [...requested].sort()) {
    const provided = inBase.get(name);
    if (provided) {
      res.inactive.push({ name, providedBy: nevra(provided) });
      continue;
    }
    const p = repo.get(name);
    if (!p) {
      res.missing.push(name);
      continue;
    }
    res.active.push(name);
    addWithDeps(p);
  }
  res.layered = [...layered.values()].sort((a, b) => a.name.localeCompare(b.name));
  return res;
}

/** Every package in a deployment's tree (base + layered + their dependencies), by name. */
export function deploymentPackages(d: Deployment): Map<string, RpmPackage> {
  const base = baseOf(d);
  const out = new Map(base.packages.map((p) => [p.name, p]));
  for (const p of resolveRequests(base, d.packages).layered) out.set(p.name, p);
  return out;
}

/** The change an operation asks for, applied to the default deployment's origin. */
export interface OriginChange {
  /** New refspec (rebase), or undefined to keep the current one. */
  refspec?: string;
  install: string[];
  uninstall: string[];
  /** 2018.7 `--idempotent`: already-requested installs and not-requested uninstalls are skipped, not errors. */
  idempotent: boolean;
  /** 2018.7 `--allow-inactive`; 2017.10 always allows inactive requests. */
  allowInactive: boolean;
  version: RpmOstreeVersion;
}

export type ChangeResult =
  | {
      ok: true;
      deployment: Deployment;
      resolution: Resolution;
      /** Inactive requests newly made by this change (printed as "Inactive requests:"). */
      newInactive: Array<{ name: string; providedBy: string }>;
      /** The origin did not change at all. */
      unchanged: boolean;
      /** Messages the daemon prints before any progress (2018.7's inactive-request deprecation warning). */
      warnings: string[];
    }
  | { ok: false; error: string; phase: "origin" | "depsolve"; warnings?: string[] };

/**
 * Build the deployment a package change or rebase produces (rpm-ostree's origin edits, then depsolve).
 * Origin errors ("already requested", "not currently requested") come before any progress output; depsolve
 * errors ("No package matches") after the tree is checked out.
 */
export function applyOriginChange(state: RpmOstreeState, change: OriginChange, now: number): ChangeResult {
  const current = state.deployments[0];
  const requested = new Set(current.requestedPackages);
  let originChanged = false;
  for (const p of change.uninstall) {
    if (!requested.has(p)) {
      if (change.idempotent) continue;
      return { ok: false, phase: "origin", error: `Package/capability '${p}' is not currently requested` };
    }
    requested.delete(p);
    originChanged = true;
  }
  for (const p of change.install) {
    if (requested.has(p)) {
      if (change.idempotent) continue;
      return { ok: false, phase: "origin", error: `Package/capability '${p}' is already requested` };
    }
    requested.add(p);
    originChanged = true;
  }
  const refspec = change.refspec ?? current.origin;
  if (refspec !== current.origin) originChanged = true;
  const base = baseImageForRef(parseRefspec(refspec).ref);
  if (!base) return { ok: false, phase: "depsolve", error: `No such ref ${refspec}` };

  const resolution = resolveRequests(base, [...requested]);
  const newInactive = resolution.inactive.filter((i) => change.install.includes(i.name));
  // v2018.7 only warns about an install the base already provides and goes on (the refusal came later):
  // coreos/rpm-ostree v2018.7 src/daemon/rpmostreed-transaction-types.c:988-996, printed by the client as a
  // Message signal on stdout (src/app/rpmostree-dbus-helpers.c:496-503), before depsolve and any progress.
  const warnings =
    change.version === "2018.7" && !change.allowInactive
      ? newInactive.map(
          (i) =>
            `warning: deprecated: "${i.name}" is already provided by: ${i.providedBy}. Use --allow-inactive to ` +
            "squash this warning. A future release will make this a requirement. See rpm-ostree(1) for details.",
        )
      : [];
  if (resolution.missing.length > 0) {
    // libdnf (2017 era) names the first package it cannot find; v2018.8+ lists them ("Packages not found: a, b").
    return { ok: false, phase: "depsolve", error: `No package matches '${resolution.missing[0]}'`, warnings };
  }
  const checksum = resolution.layered.length
    ? layeredChecksum(base.checksum, resolution.layered)
    : base.checksum;
  const serial = state.deployments
    .filter((d) => d.checksum === checksum && d.osname === current.osname)
    .reduce((max, d) => Math.max(max, d.serial + 1), 0);
  const deployment: Deployment = {
    osname: current.osname,
    serial,
    checksum,
    baseChecksum: base.checksum,
    timestamp: resolution.layered.length ? now : base.timestamp,
    origin: refspec,
    requestedPackages: [...requested].sort(),
    packages: resolution.active,
    booted: false,
  };
  return { ok: true, deployment, resolution, newInactive, unchanged: !originChanged, warnings };
}

/**
 * Write a new default deployment: `[new, booted]` (the booted one is the merge deployment and is kept; an old
 * pending or rollback deployment is dropped). Returns the new list and the change in deployment count.
 */
export function writeDeployment(
  deployments: readonly Deployment[],
  fresh: Deployment,
): {
  deployments: Deployment[];
  countChange: number;
} {
  const booted = deployments.find((d) => d.booted);
  const next = booted ? [fresh, booted] : [fresh];
  return { deployments: next, countChange: next.length - deployments.length };
}

/**
 * `rpm-ostree rollback`: with a rollback deployment (after the booted one), that one moves to the top; with only
 * a pending one, the booted deployment moves back on top (undoing the pending change); with neither:
 * "No rollback deployment found".
 */
export function rollbackDeployments(
  deployments: readonly Deployment[],
): { ok: true; deployments: Deployment[]; moved: Deployment } | { ok: false; error: string } {
  const bootedIndex = deployments.findIndex((d) => d.booted);
  const rollback = bootedIndex >= 0 ? deployments[bootedIndex + 1] : deployments[1];
  const pending = bootedIndex > 0 ? deployments[bootedIndex - 1] : undefined;
  let target: Deployment | undefined = rollback;
  if (!target && pending) target = deployments[bootedIndex];
  if (!target) return { ok: false, error: "No rollback deployment found" };
  return { ok: true, moved: target, deployments: [target, ...deployments.filter((d) => d !== target)] };
}

/** rpm-ostree's package diff between two trees (`rpmostree_diff_print`). */
export interface PackageDiff {
  upgraded: Array<{ name: string; from: string; to: string }>;
  downgraded: Array<{ name: string; from: string; to: string }>;
  removed: string[];
  added: string[];
}

/** Compare EVRs the simple way the catalogue needs (release 26 < 27 builds; numeric segments). */
function compareEvr(a: RpmPackage, b: RpmPackage): number {
  const seg = (p: RpmPackage) => [p.epoch, ...`${p.version}.${p.release}`.split(/[^0-9a-z]+/i)];
  const x = seg(a);
  const y = seg(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = typeof p === "number" ? p : /^\d+$/.test(p) ? Number(p) : NaN;
    const qn = typeof q === "number" ? q : /^\d+$/.test(q) ? Number(q) : NaN;
    if (!Number.isNaN(pn) && !Number.isNaN(qn)) {
      if (pn !== qn) return pn < qn ? -1 : 1;
    } else if (String(p) !== String(q)) return String(p) < String(q) ? -1 : 1;
  }
  return 0;
}

export function diffPackages(from: Map<string, RpmPackage>, to: Map<string, RpmPackage>): PackageDiff {
  const diff: PackageDiff = { upgraded: [], downgraded: [], removed: [], added: [] };
  const names = [...new Set([...from.keys(), ...to.keys()])].sort();
  for (const n of names) {
    const a = from.get(n);
    const b = to.get(n);
    if (a && b) {
      const c = compareEvr(a, b);
      if (c < 0) diff.upgraded.push({ name: n, from: evr(a), to: evr(b) });
      else if (c > 0) diff.downgraded.push({ name: n, from: evr(a), to: evr(b) });
    } else if (a) diff.removed.push(nevra(a));
    else if (b) diff.added.push(nevra(b));
  }
  return diff;
}

/** `rpmostree_diff_print` lines. */
export function renderPackageDiff(diff: PackageDiff): string[] {
  const out: string[] = [];
  if (diff.upgraded.length)
    out.push("Upgraded:", ...diff.upgraded.map((u) => `  ${u.name} ${u.from} -> ${u.to}`));
  if (diff.downgraded.length) {
    out.push("Downgraded:", ...diff.downgraded.map((u) => `  ${u.name} ${u.from} -> ${u.to}`));
  }
  if (diff.removed.length) out.push("Removed:", ...diff.removed.map((r) => `  ${r}`));
  if (diff.added.length) out.push("Added:", ...diff.added.map((a) => `  ${a}`));
  return out;
}

/** A fresh host: one booted deployment of the release's base, origin `fedora-atomic:<ref>`. */
export function initialState(base: BaseImage): RpmOstreeState {
  return {
    deployments: [
      {
        osname: OSNAME,
        serial: 0,
        checksum: base.checksum,
        baseChecksum: base.checksum,
        timestamp: base.timestamp,
        origin: `${OSNAME}:${base.ref}`,
        requestedPackages: [],
        packages: [],
        booted: true,
      },
    ],
    transaction: null,
    nextSender: 52,
  };
}

/** The release a deployment's base belongs to. */
export function releaseOf(d: Deployment): Release {
  return baseOf(d).release;
}
