/**
 * `rpm-ostree status` and `status --json`, pure renderers (reference §3; rpm-ostree v2017.10
 * `src/app/rpmostree-builtin-status.c` `status_generic`, `src/daemon/rpmostreed-deployment-utils.c`).
 *
 * v2017.10 text: `State: idle` | `State: transaction: <title>`, then `Deployments:`, each deployment introduced by
 * `● ` (booted) or two spaces and the origin refspec; keys right-aligned to the width of "InactiveBaseReplacements"
 * (24) plus two leading spaces; blank line between deployments. 2018.7 differences: `State: idle` / `State: busy`,
 * `AutomaticUpdates: disabled`, `Transaction: <title>` when busy, `ostree://` before the refspec, wrapped package
 * lists; JSON gains `cached-update`, `pinned`, `staged`. `status --json` is compact JSON without a final newline in both.
 */
import { BaseImage, nevra } from "../../catalog";
import { formatUtcDateTime } from "../atomic/hostEnv";
import {
  Deployment,
  RpmOstreeState,
  RpmOstreeVersion,
  baseOf,
  deploymentId,
  isLayered,
  resolveRequests,
} from "./model";

const MAX_KEY_LEN = "InactiveBaseReplacements".length;

/** `rpmostree_print_kv`: key right-aligned to MAX_KEY_LEN after two spaces. */
export function printKv(key: string, value: string): string {
  return `${" ".repeat(MAX_KEY_LEN - key.length + 2)}${key}: ${value}`;
}

/**
 * systemd's `is_locale_utf8()` as copied into rpm-ostree (libsd-locale-util): UTF-8 when the effective locale
 * says so, and also when no locale variable is set at all (plain "C" by default); an explicit `LANG=C` (a bare
 * SSH session) is not, so the booted marker becomes `*`.
 */
export function localeIsUtf8(env: NodeJS.ProcessEnv): boolean {
  const effective = env.LC_ALL || env.LC_CTYPE || env.LANG;
  if (!effective) return true;
  return /utf-?8/i.test(effective);
}

export interface StatusTextOptions {
  version: RpmOstreeVersion;
  utf8: boolean;
  verbose: boolean;
  /** Terminal width for 2018.x package wrapping (glnx_console_columns: 80 when not a tty). */
  columns?: number;
}

function packagesLine(key: string, pkgs: readonly string[], opts: StatusTextOptions): string[] {
  const sorted = [...pkgs]
    .map((p) => (/^[A-Za-z0-9._-]+$/.test(p) ? p : `'${p.replace(/'/g, "'\\''")}'`))
    .sort();
  if (sorted.length === 0) return [];
  if (opts.version === "2017.10") return [printKv(key, sorted.join(" "))];
  // 2018.x wraps at the text area width (at least a checksum's 64 columns).
  const columns = opts.columns ?? 80;
  const right = MAX_KEY_LEN + 2 + 2;
  const area = right >= columns ? Number.MAX_SAFE_INTEGER : Math.max(64, columns - right);
  const lines: string[] = [];
  let current = "";
  for (const p of sorted) {
    if (current === "") current = p;
    else if (current.length + p.length + 1 <= area) current += ` ${p}`;
    else {
      lines.push(current);
      current = p;
    }
  }
  lines.push(current);
  return lines.map((l, i) =>
    printKv(i === 0 ? key : "", l).replace(/^(\s*): /, (m, sp: string) => (i === 0 ? m : `${sp}  `)),
  );
}

/** The state line(s) before `Deployments:`. */
function stateLine(state: RpmOstreeState, version: RpmOstreeVersion): string {
  if (version === "2017.10")
    return state.transaction ? `State: transaction: ${state.transaction.title}` : "State: idle";
  // coreos/rpm-ostree v2018.7 src/app/rpmostree-builtin-status.c:292-295 (state, then the policy "none" as
  // `AutomaticUpdates: disabled`) and :356-360 (`Transaction: <title>` while busy). The one-line
  // `State: idle; auto updates disabled` form is v2018.2-v2018.6's.
  const lines = [state.transaction ? "State: busy" : "State: idle", "AutomaticUpdates: disabled"];
  if (state.transaction) lines.push(`Transaction: ${state.transaction.title}`);
  return lines.join("\n");
}

export function renderStatusText(state: RpmOstreeState, opts: StatusTextOptions): string {
  const out: string[] = [stateLine(state, opts.version), "Deployments:"];
  state.deployments.forEach((d, index) => {
    if (index > 0) out.push("");
    const base = baseOf(d);
    const marker = d.booted ? (opts.utf8 ? "●" : "*") : " ";
    const prefix = opts.version === "2017.10" ? "" : "ostree://";
    out.push(`${marker} ${prefix}${d.origin}`);
    out.push(printKv("Version", `${base.version} (${formatUtcDateTime(base.timestamp)})`));
    if (isLayered(d)) {
      out.push(printKv("BaseCommit", d.baseChecksum));
      if (opts.verbose) out.push(printKv("Commit", d.checksum));
    } else out.push(printKv("Commit", d.checksum));
    if (opts.verbose) out.push(printKv("StateRoot", d.osname));
    out.push(printKv("GPGSignature", `Valid signature by ${base.gpgFingerprint}`));
    if (opts.verbose) {
      const inactive = d.requestedPackages.filter((p) => !d.packages.includes(p));
      out.push(...packagesLine("InactiveRequests", inactive, opts));
    }
    out.push(...packagesLine("LayeredPackages", d.packages, opts));
  });
  return out.join("\n") + "\n";
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** OSTree's GPG signature variant `(bbbbbsxxsssssxx)` as json-glib serialises it. */
function signatureJson(base: BaseImage): Json {
  const names: Record<number, [string, string]> = {
    26: ["Fedora 26 Primary (26)", "fedora-26-primary@fedoraproject.org"],
    27: ["Fedora 27 (27)", "fedora-27@fedoraproject.org"],
  };
  const [user, email] = names[base.release];
  return [
    true, false, false, false, false, base.gpgFingerprint, base.timestamp, 0, "RSA", "SHA256", user, email,
    base.gpgFingerprint, 0, 0,
  ]; // prettier-ignore
}

/** One deployment as the daemon's GVariant dict, keys sorted (GVariant dict order is unspecified). */
export function deploymentJson(d: Deployment, version: RpmOstreeVersion): { [k: string]: Json } {
  const base = baseOf(d);
  const layered = isLayered(d);
  const o: { [k: string]: Json } = {
    id: deploymentId(d),
    osname: d.osname,
    serial: d.serial,
    checksum: d.checksum,
    version: base.version,
    timestamp: d.timestamp,
    origin: d.origin,
    signatures: [signatureJson(base)],
    "gpg-enabled": true,
    unlocked: "none",
    "regenerate-initramfs": false,
    "requested-packages": d.requestedPackages,
    "requested-local-packages": [],
    "requested-base-removals": [],
    "requested-base-local-replacements": [],
    packages: d.packages,
    "base-removals": [],
    "base-local-replacements": [],
    "base-commit-meta": {
      version: base.version,
      "rpmostree.inputhash": base.checksum.split("").reverse().join(""),
    },
    booted: d.booted,
  };
  if (layered) {
    const res = resolveRequests(base, d.packages);
    o["base-checksum"] = d.baseChecksum;
    o["base-version"] = base.version;
    o["base-timestamp"] = base.timestamp;
    o["layered-commit-meta"] = {
      "rpmostree.clientlayer": true,
      "rpmostree.clientlayer_version": 1,
      "rpmostree.packages": d.packages,
      "rpmostree.removed-base-packages": [],
      "rpmostree.replaced-base-packages": [],
      "rpmostree.layered-nevras": res.layered.map(nevra),
      version: base.version,
    };
  }
  if (version === "2018.7") {
    o.pinned = false;
    o.staged = false;
  }
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * `status --json`: compact JSON with no trailing newline — v2017.10 hands the root to json-glib's
 * `json_generator_to_stream` and prints nothing after it (src/app/rpmostree-builtin-status.c:648-673).
 */
export function renderStatusJson(state: RpmOstreeState, version: RpmOstreeVersion): string {
  const top: { [k: string]: Json } = {
    deployments: state.deployments.map((d) => deploymentJson(d, version)),
    transaction: state.transaction
      ? [state.transaction.method, state.transaction.sender, state.transaction.objpath]
      : null,
  };
  if (version === "2018.7") top["cached-update"] = null;
  return JSON.stringify(top);
}
