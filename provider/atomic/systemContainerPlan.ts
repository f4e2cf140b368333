/**
 * What to run for a SystemContainer: an ordered list of commands, computed from the declaration, the previous
 * declaration and (when the provider has read the host) what is really installed. The same plan drives
 * `create`/`update` and is shown as command lines at preview, so a preview shows exactly what will run.
 */
import { SYSTEM_CONTAINER_DEFAULTS } from "./defaults";
import { stableJson, type PlannedCommand } from "./result";
import {
  buildAtomicInstallCommand,
  buildAtomicPullCommand,
  buildContainerRepairCommand,
  buildContainersRollbackCommand,
  buildContainersUpdateCommand,
  type HalfRemoved,
  type SystemContainerObservation,
} from "./systemContainerCommands";
import { buildSystemctlCommand, buildTmpfilesCreateCommand, serviceUnitName } from "./systemd";
import type { SystemPackageMode } from "./validateSystemContainer";

/** The declared (new) state of a system container, defaults not yet applied. */
export interface SystemContainerDeclaration {
  name: string;
  image: string;
  storage?: "ostree";
  systemPackage?: SystemPackageMode;
  values?: Record<string, string>;
  running?: boolean;
  triggers?: unknown[];
}

/** The previous declaration (old inputs or outputs); `previousImage` is the output of the same name, if known. */
export interface SystemContainerPrevious extends SystemContainerDeclaration {
  previousImage?: string;
}

export type SystemContainerStepKind =
  "pull" | "install" | "update" | "rollback" | "tmpfiles" | "enable" | "start" | "stop" | "repair";

export type SystemContainerStep = PlannedCommand<SystemContainerStepKind> & {
  /**
   * Run this `containers update` only if the image's ostree branch no longer points at this commit (the
   * deployment's `ostree-commit`). Set on a trigger-driven update: atomic 1.20.1 compares the MANIFEST digest
   * with the recorded `revision`, which atomic 1.19.1 (Fedora 26) wrote as the CONFIG digest, so after a rebase
   * to 27 it would redeploy and restart an unchanged image (syscontainers.py `update_container`: v1.19.1
   * `_get_image_id_from_manifest` vs V1.12.1 `_get_image_id`, which prefers the `docker.digest` metadata).
   */
  unlessImageCommit?: string;
};

export interface SystemContainerPlan {
  /** Commands in the order they must run; empty when the host already matches. */
  steps: SystemContainerStep[];
  /** Things the user should know that no command can change (shown at preview, logged at apply). */
  notes: string[];
  /**
   * Set when the declaration cannot be applied without a decision from the user; `steps` is then empty and the
   * provider must fail with this sentence.
   */
  blocked?: string;
}

/** Declared keys whose installed value differs (or is missing). Installed-only keys are not differences. */
function changedValueKeys(declared: Record<string, string>, installed: Record<string, string>): string[] {
  return Object.keys(declared)
    .filter((k) => installed[k] !== declared[k])
    .sort();
}

function startStep(name: string): SystemContainerStep {
  return {
    kind: "start",
    argv: buildSystemctlCommand("start", serviceUnitName(name)),
    why: "running is true and the unit is not active (atomic install and update never start a stopped unit)",
  };
}

/**
 * The tmpfiles directories an install did not create: missing ones, while the unit is not enabled. atomic install
 * runs `systemd-tmpfiles --create` just before `systemctl enable` (V1.12.1 syscontainers.py:955-960), so an enabled
 * unit had them created (and every boot creates them again); a missing one then is the unit's own business, e.g.
 * /run/NAME, which systemd removes when a unit with `RuntimeDirectory=` stops and creates when it starts.
 */
export function tmpfilesNotCreated(observed: SystemContainerObservation | undefined): string[] | undefined {
  if (!observed?.tmpfilesMissing?.length || observed.unit.enabled === "enabled") return undefined;
  return observed.tmpfilesMissing;
}

/** `systemd-tmpfiles --create /etc/tmpfiles.d/NAME.conf`, as atomic install runs it (and systemd at every boot). */
function tmpfilesStep(name: string, missing: readonly string[]): SystemContainerStep {
  return {
    kind: "tmpfiles",
    argv: buildTmpfilesCreateCommand(`/etc/tmpfiles.d/${name}.conf`),
    why:
      `${missing.join(", ")} declared in /etc/tmpfiles.d/${name}.conf ${missing.length === 1 ? "is" : "are"} ` +
      "missing (an atomic install stopped before it ran systemd-tmpfiles): create them as atomic install and every " +
      "boot do, or the unit cannot bind-mount them",
  };
}

function enableStep(name: string): SystemContainerStep {
  return {
    kind: "enable",
    argv: buildSystemctlCommand("enable", serviceUnitName(name)),
    why: "the unit was disabled outside Pulumi: atomic install enables it, so that it starts at boot",
  };
}

function stopStep(name: string, why: string): SystemContainerStep {
  return { kind: "stop", argv: buildSystemctlCommand("stop", serviceUnitName(name)), why };
}

/**
 * The plan for creating a system container.
 *
 * - Nothing installed under the name: `atomic pull`, `atomic install` (which enables the unit), then
 *   `systemctl start` when `running`. If a unit of the same name is active before the install (the RPM etcd or
 *   flanneld), it is stopped first: after the install, `systemctl start` would be a no-op while the RPM's
 *   process runs (atomic-host-tests PR #268).
 * - Installed from the declared image: adopted (no install), then the same value and running-state
 *   reconciliation as an update.
 * - Installed from another image, or `/etc/systemd/system/NAME.service` exists without a container: blocked,
 *   because atomic would print "already present" (and change nothing) or fail on the existing unit file.
 */
export function planSystemContainerCreate(
  declared: SystemContainerDeclaration,
  observed?: SystemContainerObservation,
): SystemContainerPlan {
  const running = declared.running ?? SYSTEM_CONTAINER_DEFAULTS.running;
  const values = declared.values ?? {};
  if (observed?.halfRemoved) {
    const left = observed.halfRemoved;
    const plan = planSystemContainerCreate(declared, {
      ...observed,
      halfRemoved: undefined,
      checkouts: [],
      tmpfilesFile: false,
      unit: { ...observed.unit, active: "", etcUnitFile: false },
    });
    if (plan.blocked) return plan;
    plan.steps.unshift({
      kind: "repair",
      argv: buildContainerRepairCommand(declared.name, undefined, left.installedFiles ?? []),
      why: `${declared.name} is half-removed (symlink gone; left: ${[
        ...left.checkouts,
        ...(left.unitFile ? [`/etc/systemd/system/${declared.name}.service`] : []),
        ...(left.tmpfilesFile ? [`/etc/tmpfiles.d/${declared.name}.conf`] : []),
        ...(left.installedFiles ?? []),
      ].join(", ")}): remove the leftovers as atomic uninstall would, then install again`,
    });
    plan.notes.unshift(
      `the system container ${declared.name} is half-removed (its checkouts are there without the ` +
        `/var/lib/containers/atomic/${declared.name} symlink: a failed restart inside "atomic containers update", ` +
        `or an "atomic install" killed before it made the symlink): removing what is left and installing it again ` +
        `(a previous deployment is lost)`,
    );
    return plan;
  }
  if (observed?.present) {
    const installed = observed.active?.info;
    if (installed === undefined) {
      return {
        steps: [],
        notes: [],
        blocked:
          `/var/lib/containers/atomic/${declared.name} exists but has no readable deployment info ` +
          `(${observed.warnings.join("; ") || "unknown state"}): inspect it, and remove it with ` +
          `"atomic uninstall ${declared.name}" if it is a leftover`,
      };
    }
    if (installed.image !== declared.image) {
      return {
        steps: [],
        notes: [],
        blocked:
          `a system container named ${declared.name} is already installed from ${installed.image}, not ` +
          `${declared.image}: atomic install would leave it as is. Import it by declaring that image, or remove ` +
          `it with "atomic uninstall ${declared.name}" first`,
      };
    }
    // Same declaration as olds: only what the host differs in (values, running state) produces steps.
    const plan = planSystemContainerUpdate({ ...declared }, declared, observed);
    plan.notes.unshift(
      `adopting the system container ${declared.name} already installed from ${declared.image}`,
    );
    return plan;
  }
  if (observed?.unit.etcUnitFile) {
    return {
      steps: [],
      notes: [],
      blocked:
        `/etc/systemd/system/${declared.name}.service exists but no system container ${declared.name} is ` +
        `installed: atomic install would fail with "The file /etc/systemd/system/${declared.name}.service ` +
        `already exists." Move that unit file away (it overrides any RPM unit of the same name) and retry`,
    };
  }
  const steps: SystemContainerStep[] = [];
  if (observed === undefined || observed.unit.active === "active") {
    const stop = stopStep(
      declared.name,
      `${serviceUnitName(declared.name)} is active before the install (an RPM unit of the same name): ` +
        "stop it, or the container's unit could not start",
    );
    // Without the host's state (a create at preview) the stop is shown with the fact it depends on.
    steps.push(
      observed === undefined ? { ...stop, condition: `${serviceUnitName(declared.name)} is active` } : stop,
    );
  }
  steps.push({
    kind: "pull",
    argv: buildAtomicPullCommand(declared.image),
    why: "fetch the image into the OSTree repository (install would reuse a stale local copy)",
  });
  steps.push({
    kind: "install",
    argv: buildAtomicInstallCommand({
      name: declared.name,
      image: declared.image,
      storage: declared.storage,
      systemPackage: declared.systemPackage ?? SYSTEM_CONTAINER_DEFAULTS.systemPackage,
      values,
    }),
    why: "install the system container; atomic enables its unit but does not start it",
  });
  if (running) steps.push(startStep(declared.name));
  return { steps, notes: [] };
}

/**
 * The plan for updating a system container from `olds` to `news`, using `observed` when the host was read (at
 * apply) and only the declarations when it was not (at preview).
 *
 * Order: a stop (when `running` becomes false) first, so the update does not restart the unit; then the image
 * and values change; a start (when `running` is true and the unit is not active) last.
 * - New image that is the other deployment's image: `atomic containers rollback` (no pull), then
 *   `containers update --set` if the declared values differ from that deployment's.
 * - Other new image: `atomic pull`, then `atomic containers update --rebase=IMAGE --set=...`.
 * - Same image, `triggers` changed: `atomic pull` and `containers update`, which prints "Latest version already
 *   installed." and changes nothing when the digest did not move.
 * - Same image, values changed: `containers update --set=...` with every declared value.
 * A key removed from `values` cannot be unset: atomic overlays `--set` on the stored values (a note says so).
 * If the container was removed from the host, the plan is a create.
 */
export function planSystemContainerUpdate(
  olds: SystemContainerPrevious,
  news: SystemContainerDeclaration,
  observed?: SystemContainerObservation,
): SystemContainerPlan {
  if (observed && !observed.present) {
    const plan = planSystemContainerCreate(news, observed);
    if (!observed.halfRemoved) {
      plan.notes.unshift(
        `the system container ${news.name} is not installed on the host any more: installing it again`,
      );
    }
    return plan;
  }
  const notes: string[] = [];
  const steps: SystemContainerStep[] = [];
  const running = news.running ?? SYSTEM_CONTAINER_DEFAULTS.running;
  const declaredValues = news.values ?? {};
  const currentImage = observed?.active?.info.image ?? olds.image;
  const currentValues = observed?.active?.info.values ?? olds.values ?? {};
  const previousImage = observed ? observed.previous?.info.image : olds.previousImage;
  const unitActive = observed
    ? observed.unit.active === "active"
    : (olds.running ?? SYSTEM_CONTAINER_DEFAULTS.running);

  const removed = Object.keys(olds.values ?? {}).filter((k) => !(k in declaredValues));
  if (removed.length > 0) {
    notes.push(
      `values ${removed.join(", ")} removed from the declaration keep their installed values: atomic containers ` +
        "update only overlays --set on the stored values; reinstall the container to reset them",
    );
  }

  if (!running && unitActive) {
    steps.push(stopStep(news.name, "running is false and the unit is active"));
  }

  const setValues = Object.keys(declaredValues).length > 0 ? declaredValues : undefined;
  if (news.image !== currentImage) {
    if (previousImage !== undefined && previousImage === news.image) {
      steps.push({
        kind: "rollback",
        argv: buildContainersRollbackCommand(news.name),
        why: `${news.image} is the other deployment's image: roll back to it instead of pulling`,
      });
      const slotValues = observed?.previous?.info.values;
      const differ =
        slotValues === undefined
          ? setValues !== undefined
          : changedValueKeys(declaredValues, slotValues).length > 0;
      if (differ) {
        steps.push({
          kind: "update",
          argv: buildContainersUpdateCommand({ name: news.name, values: setValues }),
          why: "apply the declared values to the rolled-back deployment",
        });
      }
    } else {
      steps.push({
        kind: "pull",
        argv: buildAtomicPullCommand(news.image),
        why: `fetch ${news.image} (atomic containers update does not pull)`,
      });
      steps.push({
        kind: "update",
        argv: buildContainersUpdateCommand({ name: news.name, rebase: news.image, values: setValues }),
        why: `switch from ${currentImage} to ${news.image}; the current deployment stays for rollback`,
      });
    }
  } else if (stableJson(olds.triggers ?? null) !== stableJson(news.triggers ?? null)) {
    steps.push({
      kind: "pull",
      argv: buildAtomicPullCommand(news.image),
      why: "triggers changed: fetch the newest image for the same reference",
    });
    const valuesChanged = changedValueKeys(declaredValues, currentValues).length > 0;
    const commit = observed?.active?.info.ostreeCommit;
    steps.push({
      kind: "update",
      argv: buildContainersUpdateCommand({ name: news.name, values: setValues }),
      why: 'deploy the pulled image if its digest changed (otherwise atomic prints "Latest version already installed.")',
      ...(commit !== undefined && !valuesChanged ? { unlessImageCommit: commit } : {}),
    });
  } else {
    const changed = changedValueKeys(declaredValues, currentValues);
    if (changed.length > 0) {
      steps.push({
        kind: "update",
        argv: buildContainersUpdateCommand({ name: news.name, values: setValues }),
        why: `values ${changed.join(", ")} differ from the installed deployment`,
      });
    }
  }

  const notCreated = tmpfilesNotCreated(observed);
  if (notCreated) steps.push(tmpfilesStep(news.name, notCreated));
  if (observed?.unit.enabled === "disabled") steps.push(enableStep(news.name));
  if (running && !unitActive) steps.push(startStep(news.name));
  return { steps, notes };
}

/**
 * What a SystemContainer's state records of its host, kept in the internal input `__recorded` (the engine never
 * displays `__` keys): what `read` found at the last refresh, or what the last apply's plan leaves. The preview
 * plans from it with the same planner the apply uses on what it reads, so the two agree whenever the host still
 * matches the record.
 */
export interface SystemContainerRecord {
  /** The active deployment's image and (declared keys of its) values. */
  image: string;
  values: Record<string, string>;
  /** The other deployment slot, when it has one: what `atomic containers rollback` returns to. */
  previousImage?: string;
  previousValues?: Record<string, string>;
  /** `systemctl is-active` said "active". */
  active: boolean;
  /** `systemctl is-enabled` said "disabled" (false): atomic install enables the unit. */
  disabled?: boolean;
  /** Directories of the tmpfiles conf an install stopped before creating (see `tmpfilesNotCreated`). */
  tmpfilesMissing?: string[];
  /**
   * Checkouts without the NAME symlink (see SystemContainerObservation.halfRemoved); `image` and `values` are then
   * empty: no deployment is installed.
   */
  halfRemoved?: HalfRemoved;
}

/** The record of what `read` observed; undefined when no container is installed under the name. */
export function recordOfObservation(
  observed: SystemContainerObservation,
  declaredKeys: readonly string[],
): SystemContainerRecord | undefined {
  const info = observed.active?.info;
  if (observed.halfRemoved) {
    return { image: "", values: {}, active: false, halfRemoved: observed.halfRemoved };
  }
  if (!observed.present || info === undefined) return undefined;
  const pick = (v: Record<string, string>) =>
    Object.fromEntries(declaredKeys.filter((k) => k in v).map((k) => [k, v[k]!]));
  const previous = observed.previous?.info;
  return {
    image: info.image,
    values: pick(info.values),
    previousImage: previous?.image,
    previousValues: previous ? pick(previous.values) : undefined,
    active: observed.unit.active === "active",
    disabled: observed.unit.enabled === "disabled" ? true : undefined,
    tmpfilesMissing: tmpfilesNotCreated(observed),
  };
}

/** The observation a record stands for: what the planner would read on a host that matches it. */
export function observationOfRecord(name: string, record: SystemContainerRecord): SystemContainerObservation {
  const left = record.halfRemoved;
  if (left) {
    return {
      present: false,
      warnings: [],
      unit: { active: "inactive", enabled: "", etcUnitFile: left.unitFile, usrUnitFile: false },
      tmpfilesFile: left.tmpfilesFile,
      checkouts: left.checkouts,
      halfRemoved: left,
    };
  }
  const slot = (image: string, values: Record<string, string>, n: number) => ({
    slot: n,
    path: `/var/lib/containers/atomic/${name}.${n}`,
    info: { image, revision: "", created: 0, values, installedFiles: [] },
  });
  return {
    present: true,
    active: slot(record.image, record.values, 0),
    previous:
      record.previousImage === undefined
        ? undefined
        : slot(record.previousImage, record.previousValues ?? {}, 1),
    warnings: [],
    unit: {
      active: record.active ? "active" : "inactive",
      enabled: record.disabled ? "disabled" : "enabled",
      etcUnitFile: true,
      usrUnitFile: false,
    },
    tmpfilesMissing: record.tmpfilesMissing,
  };
}

/**
 * The record a plan leaves when every step succeeds, from the record before it (none for a create). A triggers
 * update whose digest did not move changes nothing on the host; it is recorded as a new deployment of the same
 * image, which only matters if the next change declares the slot before it again.
 */
export function recordAfterPlan(
  before: SystemContainerRecord | undefined,
  declared: SystemContainerDeclaration,
  plan: SystemContainerPlan,
): SystemContainerRecord | undefined {
  let r = before ? { ...before } : undefined;
  for (const step of plan.steps) {
    switch (step.kind) {
      case "install":
        r = { image: declared.image, values: { ...(declared.values ?? {}) }, active: false };
        break;
      case "update":
        if (r === undefined) break;
        r = {
          ...r,
          image: declared.image,
          values: { ...r.values, ...(declared.values ?? {}) },
          previousImage: r.image,
          previousValues: r.values,
        };
        break;
      case "rollback":
        if (r === undefined || r.previousImage === undefined) break;
        r = {
          ...r,
          image: r.previousImage,
          values: r.previousValues ?? {},
          previousImage: r.image,
          previousValues: r.values,
        };
        break;
      case "repair":
        r = undefined;
        break;
      case "tmpfiles":
        if (r) r = { ...r, tmpfilesMissing: undefined };
        break;
      case "enable":
        if (r) r = { ...r, disabled: undefined };
        break;
      case "start":
        if (r) r.active = true;
        break;
      case "stop":
        if (r) r.active = false;
        break;
      default:
        break;
    }
  }
  return r;
}
