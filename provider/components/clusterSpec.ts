import { isPlainObject, validateGpgKeyPath, validateRemoteUrl } from "../atomic";
import type { MigrationMethod } from "./defaults";
import type { UserHealthChecks } from "./healthGates";

/** A node role in a Kubernetes-on-Atomic cluster. */
export type Role = "etcd" | "master" | "worker";

/** One host of a cluster description. */
export interface ClusterHostSpec {
  /** Short name, used in resource names. Letters, digits and `-`. */
  name: string;
  /** Address to SSH to. */
  host: string;
  /** SSH port. Default 22. */
  port?: number;
  /** SSH user. Default: the cluster's `user`, else "root". */
  user?: string;
  /** The host's public key (OpenSSH line) or `SHA256:` fingerprint: pins the host key. */
  hostKey?: string;
  /** One or more of "etcd", "master", "worker". */
  roles: Role[];
}

/** A whole cluster, as a stack's configuration describes it (`<project>:cluster`). */
export interface ClusterSpec {
  method: MigrationMethod;
  hosts: ClusterHostSpec[];
  /** Default SSH user. Default "root". */
  user?: string;
  /** Registry prefix of the system container images. */
  registry?: string;
  /** Refspec package layering rebases to. */
  rebase?: string;
  reboot?: "ifNeeded" | "always" | "never";
  rebootTimeoutSeconds?: number;
  /**
   * How many workers may be changing (and rebooting) at once: the size of a worker batch, each closed by a health
   * gate. Default 1. More than the worker count is taken as the worker count (and said).
   */
  maxUnavailable?: number;
  etcd?: { source?: string; destination?: string; conflict?: "fail" | "backup" };
  /**
   * The ostree remote package layering rebases from (named by `rebase`; "fedora-atomic-27" by default):
   * `url` (default https://kojipkgs.fedoraproject.org/atomic/27), `gpgKeyPath` (default
   * /etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary), `gpgVerify` (default true), `replace` (default false).
   */
  ostreeRemote?: { url?: string; gpgKeyPath?: string; gpgVerify?: boolean; replace?: boolean };
  /**
   * Checks of your own per role, run by the health gate after each host of that role changed, over the same SSH
   * connection: `{ worker: [{ name, command, timeoutSeconds? }] }`. A command passes on exit 0 and is retried
   * until it does or `timeoutSeconds` (default 120) runs out.
   */
  healthChecks?: UserHealthChecks;
}

/** Worker batch size: `maxUnavailable` (default 1), at most the worker count. */
export function effectiveMaxUnavailable(maxUnavailable: number | undefined, workers: number): number {
  return Math.max(1, Math.min(maxUnavailable ?? 1, Math.max(workers, 1)));
}

/**
 * Settings that are allowed but deserve a word: an even etcd member count (it tolerates no more failures than one
 * member fewer), a `maxUnavailable` above the worker count (clamped).
 */
export function clusterSpecWarnings(
  spec: Pick<ClusterSpec, "hosts" | "maxUnavailable">,
  key = "cluster",
): string[] {
  const warnings: string[] = [];
  const members = spec.hosts.filter((h) => h.roles.includes("etcd")).length;
  if (members > 1 && members % 2 === 0) {
    warnings.push(
      `${key}.hosts: ${members} etcd members tolerate ${members / 2 - 1} member(s) down, no more than ` +
        `${members - 1} would; an odd count (3, 5) is usual`,
    );
  }
  const workers = spec.hosts.filter((h) => h.roles.includes("worker")).length;
  if (spec.maxUnavailable !== undefined && workers > 0 && spec.maxUnavailable > workers) {
    warnings.push(
      `${key}.maxUnavailable: ${spec.maxUnavailable} is more than the ${workers} worker(s): using ${workers} ` +
        "(every worker in one batch)",
    );
  }
  return warnings;
}

const ROLES: readonly Role[] = ["etcd", "master", "worker"];
/** An OpenSSH public key line (type, base64, optional comment) or an OpenSSH `SHA256:` fingerprint. */
const HOST_KEY_FORM =
  /^((ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}( .*)?|SHA256:[A-Za-z0-9+/]{43}=?)$/;
const METHODS: readonly MigrationMethod[] = ["systemContainers", "packageLayering"];
const REBOOTS = ["ifNeeded", "always", "never"] as const;

/**
 * Checks a cluster description read from stack configuration and returns it typed, or every problem found, each
 * naming the configuration path and the accepted form (never echoing a value that could be a secret).
 */
export function parseClusterSpec(raw: unknown, key = "cluster"): { spec?: ClusterSpec; errors: string[] } {
  const errors: string[] = [];
  const err = (path: string, reason: string) => errors.push(`${key}${path}: ${reason}`);
  if (!isPlainObject(raw)) {
    err("", "must be an object with `method` and `hosts` (see the README's configuration reference)");
    return { errors };
  }
  if (!METHODS.includes(raw.method as MigrationMethod)) {
    err(".method", `must be "systemContainers" or "packageLayering"`);
  }
  const optString = (path: string, v: unknown) => {
    if (v !== undefined && (typeof v !== "string" || v.length === 0)) err(path, "must be a non-empty string");
  };
  optString(".user", raw.user);
  optString(".registry", raw.registry);
  optString(".rebase", raw.rebase);
  if (raw.reboot !== undefined && !REBOOTS.includes(raw.reboot as (typeof REBOOTS)[number])) {
    err(".reboot", `must be "ifNeeded", "always" or "never"`);
  }
  const positiveInt = (path: string, v: unknown, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max)) {
      err(path, `must be a whole number from 1 to ${max}`);
    }
  };
  positiveInt(".rebootTimeoutSeconds", raw.rebootTimeoutSeconds, 86400);
  positiveInt(".maxUnavailable", raw.maxUnavailable, 1000);
  if (raw.etcd !== undefined) {
    if (!isPlainObject(raw.etcd))
      err(".etcd", "must be an object with optional source, destination, conflict");
    else {
      optString(".etcd.source", raw.etcd.source);
      optString(".etcd.destination", raw.etcd.destination);
      if (raw.etcd.conflict !== undefined && raw.etcd.conflict !== "fail" && raw.etcd.conflict !== "backup") {
        err(".etcd.conflict", `must be "fail" or "backup"`);
      }
    }
  }
  if (raw.ostreeRemote !== undefined) {
    const r = raw.ostreeRemote;
    if (!isPlainObject(r))
      err(".ostreeRemote", "must be an object with optional url, gpgKeyPath, gpgVerify, replace");
    else {
      for (const f of validateRemoteUrl(r.url, "url"))
        if (r.url !== undefined) err(".ostreeRemote.url", f.reason);
      for (const f of validateGpgKeyPath(r.gpgKeyPath, "gpgKeyPath"))
        err(".ostreeRemote.gpgKeyPath", f.reason);
      for (const k of ["gpgVerify", "replace"] as const) {
        if (r[k] !== undefined && typeof r[k] !== "boolean")
          err(`.ostreeRemote.${k}`, "must be true or false");
      }
      const known = ["url", "gpgKeyPath", "gpgVerify", "replace"];
      for (const k of Object.keys(r)) if (!known.includes(k)) err(`.ostreeRemote.${k}`, "is not a known key");
      const remote = typeof raw.rebase === "string" ? raw.rebase.split(":")[0] : "fedora-atomic-27";
      if (typeof raw.rebase === "string" && !raw.rebase.includes(":")) {
        err(
          ".ostreeRemote",
          'is set but rebase names no remote ("remote:ref"), so no remote would be declared',
        );
      } else if (remote !== "fedora-atomic-27" && r.url === undefined) {
        err(
          ".ostreeRemote.url",
          `is required: rebase pulls from the remote "${remote}", whose URL has no default`,
        );
      }
    }
  }
  if (raw.healthChecks !== undefined) {
    if (!isPlainObject(raw.healthChecks)) {
      err(
        ".healthChecks",
        "must be an object by role: { etcd?, master?, worker? }, each a list of {name, command, timeoutSeconds?}",
      );
    } else {
      for (const [role, list] of Object.entries(raw.healthChecks)) {
        const at = `.healthChecks.${role}`;
        if (!ROLES.includes(role as Role)) {
          err(at, `is not a role: use "etcd", "master" or "worker"`);
          continue;
        }
        if (!Array.isArray(list)) {
          err(at, "must be a list of {name, command, timeoutSeconds?}");
          continue;
        }
        const seen = new Set<string>();
        list.forEach((c: unknown, i: number) => {
          const ci = `${at}[${i}]`;
          if (!isPlainObject(c)) return err(ci, "must be an object {name, command, timeoutSeconds?}");
          if (typeof c.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$/.test(c.name))
            err(
              `${ci}.name`,
              "must be 1-100 letters, digits, spaces or . _ : / -, starting with a letter or digit",
            );
          else if (seen.has(c.name)) err(`${ci}.name`, `duplicates another check's name "${c.name}"`);
          else seen.add(c.name);
          if (typeof c.command !== "string" || c.command.trim() === "" || c.command.length > 4096)
            err(`${ci}.command`, "must be a non-empty shell command of at most 4096 characters");
          positiveInt(`${ci}.timeoutSeconds`, c.timeoutSeconds, 3600);
        });
      }
    }
  }
  if (!Array.isArray(raw.hosts) || raw.hosts.length === 0) {
    err(".hosts", "must be a non-empty list of {name, host, port?, user?, hostKey?, roles}");
    return { errors };
  }
  const names = new Set<string>();
  const addresses = new Set<string>();
  raw.hosts.forEach((h: unknown, i: number) => {
    const at = `.hosts[${i}]`;
    if (!isPlainObject(h)) {
      err(at, "must be an object {name, host, port?, user?, hostKey?, roles}");
      return;
    }
    if (typeof h.name !== "string" || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(h.name)) {
      err(`${at}.name`, "must be 1-63 letters, digits or '-', not starting or ending with '-'");
    } else if (names.has(h.name)) {
      err(`${at}.name`, `duplicates another host's name "${h.name}"`);
    } else names.add(h.name);
    if (typeof h.host !== "string" || !/^[A-Za-z0-9.:-]+$/.test(h.host) || h.host.startsWith("-")) {
      err(`${at}.host`, "must be a host name or IP address");
    }
    if (typeof h.port === "string") {
      // YAML reads `port: "2222"` (and `pulumi config set --path` without --type) as a string.
      err(
        `${at}.port`,
        /^[0-9]+$/.test(h.port)
          ? `${JSON.stringify(h.port)} is a string; write the number without quotes (port: ${Number(h.port)})`
          : `${JSON.stringify(h.port.slice(0, 40))} is not a port: a whole number from 1 to 65535`,
      );
    } else if (
      h.port !== undefined &&
      !(Number.isInteger(h.port) && (h.port as number) >= 1 && (h.port as number) <= 65535)
    ) {
      err(`${at}.port`, "must be a whole number from 1 to 65535");
    }
    const address = `${String(h.host)}:${String(h.port ?? 22)}`;
    if (addresses.has(address)) err(at, `${address} is listed twice`);
    addresses.add(address);
    optString(`${at}.user`, h.user);
    optString(`${at}.hostKey`, h.hostKey);
    if (typeof h.hostKey === "string" && h.hostKey !== "" && !HOST_KEY_FORM.test(h.hostKey.trim())) {
      // A public key, not a secret: but only its first characters are shown, enough to recognise it.
      err(
        `${at}.hostKey`,
        `${JSON.stringify(h.hostKey.slice(0, 24))}... is neither an OpenSSH public key line ("ssh-ed25519 AAAA...", ` +
          `as ssh-keyscan prints it) nor a "SHA256:..." fingerprint (as ssh-keygen -lf prints it)`,
      );
    }
    if (typeof h.roles === "string") {
      err(`${at}.roles`, `must be a list, e.g. [${JSON.stringify(h.roles)}], not a single string`);
    } else if (!Array.isArray(h.roles) || h.roles.length === 0) {
      err(`${at}.roles`, `must be a non-empty list of "etcd", "master", "worker"`);
    } else {
      h.roles.forEach((r: unknown, j: number) => {
        if (!ROLES.includes(r as Role)) {
          const shown = typeof r === "string" ? JSON.stringify(r.slice(0, 40)) : `a ${typeof r}`;
          err(`${at}.roles[${j}]`, `${shown} is not one of ${ROLES.join(", ")}`);
        }
      });
    }
  });
  if (errors.length > 0) return { errors };
  const spec = raw as unknown as ClusterSpec;
  const has = (role: Role) => spec.hosts.some((h) => h.roles.includes(role));
  if (!has("etcd")) err(".hosts", "no host has the role etcd");
  if (!has("master")) err(".hosts", "no host has the role master");
  return errors.length > 0 ? { errors } : { spec, errors };
}
