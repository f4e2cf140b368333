/**
 * OSTree remotes as a simulated host has them, and what a pull from one does.
 *
 * The remotes themselves are real: each host has a real `/ostree/repo` (`ostree init --mode=bare`) and a real
 * `/etc/ostree/remotes.d/`, and `ostree` on the host is Debian's real CLI, so `ostree remote add|list|delete|
 * show-url` behave as libostree does. This module only
 *  - seeds a fresh host with the remotes and GPG key files its Fedora release shipped ({@link seedOstreeSystem}),
 *  - reads the remotes back the way libostree loads them for a system repo ({@link loadRemotes}: the repo's
 *    `config`, then every `*.conf` in `/etc/ostree/remotes.d`), and
 *  - decides what `ostree_repo_pull_with_options` would say for `remote:ref` ({@link pullError}), with
 *    libostree's own messages at the version Fedora 26/27 shipped (ostree 2017.12 / 2017.13).
 *
 * Which refs a remote serves is decided by its URL ({@link ostreeServerRefs} in the catalogue): Fedora published
 * one repository per release in 2017 (`https://kojipkgs.fedoraproject.org/atomic/26/` holds only Fedora 26's
 * refs), so an F26 host's `fedora-atomic` remote cannot give the Fedora 27 ref, which is why the upgrade guide adds
 * `fedora-atomic-27` first.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Release, fedoraGpgKeyFiles, fedoraOstreeRemoteConf, ostreeServerRefs } from "../../catalog";
import { HostEnv } from "../atomic/hostEnv";

/** One remote as libostree sees it after loading its key file group `[remote "NAME"]`. */
export interface OstreeRemote {
  name: string;
  url: string | undefined;
  /** `gpg-verify`, default true (`ostree_repo_remote_get_gpg_verify`). */
  gpgVerify: boolean;
  gpgKeyPath: string | undefined;
  /** The file the remote was defined in (host path). */
  file: string;
}

/** GLib key file groups: `{group: {key: value}}` (comments and blank lines dropped; later keys win). */
export function parseKeyFile(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const g = /^\[(.+)\]$/.exec(line);
    if (g) {
      current = groups.get(g[1]) ?? new Map();
      groups.set(g[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return groups;
}

/** GLib's g_key_file_get_boolean: `true`/`1` and `false`/`0`. */
function keyFileBoolean(value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  return dflt;
}

function remotesOf(text: string, file: string): OstreeRemote[] {
  const out: OstreeRemote[] = [];
  for (const [group, keys] of parseKeyFile(text)) {
    const m = /^remote "(.+)"$/.exec(group);
    if (!m) continue;
    out.push({
      name: m[1],
      url: keys.get("url"),
      gpgVerify: keyFileBoolean(keys.get("gpg-verify"), true),
      gpgKeyPath: keys.get("gpgkeypath"),
      file,
    });
  }
  return out;
}

/**
 * The host's remotes, as libostree loads them for the system repo `/ostree/repo` (ostree-repo.c
 * `reload_remote_config`, ostree-repo.c:2280-2322 at v2017.12: the repo config's remote groups, then every
 * `/etc/ostree/remotes.d/*.conf`).
 */
export function loadRemotes(env: HostEnv): Map<string, OstreeRemote> {
  const remotes = new Map<string, OstreeRemote>();
  const read = (file: string) => {
    try {
      return fs.readFileSync(env.path(file), "utf8");
    } catch {
      return undefined;
    }
  };
  const repoConfig = read("/ostree/repo/config");
  for (const r of repoConfig === undefined ? [] : remotesOf(repoConfig, "/ostree/repo/config"))
    remotes.set(r.name, r);
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(env.path("/etc/ostree/remotes.d")).sort();
  } catch {
    entries = [];
  }
  for (const entry of entries) {
    if (!entry.endsWith(".conf")) continue;
    const file = `/etc/ostree/remotes.d/${entry}`;
    const text = read(file);
    for (const r of text === undefined ? [] : remotesOf(text, file)) remotes.set(r.name, r);
  }
  return remotes;
}

/**
 * What pulling `ref` from `remoteName` fails with, or undefined when the pull succeeds and gives `commit`.
 * libostree v2017.12 (Fedora 26's ostree-2017.12; 27 shipped 2017.13 with the same text), in pull order:
 *  1. `Remote "X" not found` — `_ostree_repo_get_remote` (src/libostree/ostree-repo.c:179-180), reached from
 *     `ostree_repo_pull_with_options` through `ostree_repo_remote_get_gpg_verify` (ostree-repo-pull.c:3377).
 *  2. `No such branch 'REF' in repository summary` — ostree-repo-pull.c:932, the remote's summary lacks the ref.
 *  3. with gpg-verify, a `gpgkeypath` that does not exist: the verifier opens it with `glnx_openat_rdonly`
 *     (ostree-gpg-verifier.c:183; libglnx glnx-fdio.c:430 `openat(%s)`), under `GLNX_AUTO_PREFIX_ERROR("GPG")`
 *     (ostree-gpg-verifier.c:98) and process_verify_result's `Commit <checksum>` prefix (ostree-repo-pull.c:1367):
 *     `Commit C: GPG: openat(PATH): No such file or directory`.
 */
export function pullError(env: HostEnv, remoteName: string, ref: string, commit: string): string | undefined {
  const remote = loadRemotes(env).get(remoteName);
  if (!remote) return `Remote "${remoteName}" not found`;
  if (!ostreeServerRefs(remote.url ?? "").includes(ref))
    return `No such branch '${ref}' in repository summary`;
  if (remote.gpgVerify && remote.gpgKeyPath !== undefined && !fs.existsSync(env.path(remote.gpgKeyPath))) {
    return `Commit ${commit}: GPG: openat(${remote.gpgKeyPath}): No such file or directory`;
  }
  return undefined;
}

/** Where a host's /etc and /ostree are on disk while it is created (they are separate folders of the host dir). */
export interface OstreeSystemDirs {
  /** On-disk folder that is the host's /etc (its overlay upper dir, or `$ATOMIC_SIM_ROOT/etc`). */
  etc: string;
  /** On-disk folder that is the host's /ostree. */
  ostree: string;
}

/**
 * A fresh host's OSTree system: a real bare repo at /ostree/repo (`ostree init --mode=bare`, Debian's ostree), the
 * release's `/etc/ostree/remotes.d/fedora-atomic.conf` and the release's `/etc/pki/rpm-gpg` key files
 * (placeholder bytes at the real paths: nothing verifies a signature in the simulator).
 */
export function seedOstreeSystem(dirs: OstreeSystemDirs, release: Release): void {
  const repo = path.join(dirs.ostree, "repo");
  if (!fs.existsSync(path.join(repo, "config"))) {
    fs.mkdirSync(repo, { recursive: true });
    const r = spawnSync("ostree", ["init", "--mode=bare", `--repo=${repo}`], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
      throw new Error(
        `ostree init --mode=bare --repo=${repo} failed (${r.error?.message ?? r.stderr.trim()}): the simulator ` +
          "needs Debian's ostree (apt-get install ostree)",
      );
    }
  }
  const remotesD = path.join(dirs.etc, "ostree", "remotes.d");
  fs.mkdirSync(remotesD, { recursive: true });
  fs.writeFileSync(path.join(remotesD, "fedora-atomic.conf"), fedoraOstreeRemoteConf(release));
  const keys = path.join(dirs.etc, "pki", "rpm-gpg");
  fs.mkdirSync(keys, { recursive: true });
  for (const f of fedoraGpgKeyFiles(release)) {
    const file = path.join(keys, f.name);
    fs.rmSync(file, { force: true });
    if (f.symlinkTo) fs.symlinkSync(f.symlinkTo, file);
    else fs.writeFileSync(file, f.text ?? "", { mode: 0o644 });
  }
}
