/**
 * libostree's free-space check, as a transaction that writes into the system repo meets it.
 *
 * Every rpm-ostree transaction that changes a deployment writes into `/ostree/repo` through libostree repo
 * transactions: the pull of a rebase, upgrade or deploy (`ostree_repo_pull_with_options` prepares one once the
 * refs are resolved, ostree-repo-pull.c:3983 at v2017.12), and the commit of the new tree with its layered packages.
 * `ostree_repo_prepare_transaction` (ostree-repo-commit.c:1087-1108, v2017.12) first measures the repo's filesystem
 * with `fstatvfs` and refuses to start when the free blocks are at or below `core.min-free-space-percent` of the
 * total (default 3, ostree-repo.c:2225-2237): "min-free-space-percent '3%' would be exceeded, 89.2 MB available" is
 * what an F26 Atomic host printed for a rebase (coreos/rpm-ostree#958, 2017-08). So on a full repo filesystem the
 * real tools stop there, before anything is written or deployed, rather than meet `ENOSPC` in a write (which still
 * happens where the check does not look: /boot, ostreedev/ostree#1648; not simulated).
 *
 * Here the measurement is real too: `statfs` of the host's `/ostree/repo`, which a test fills with the simulator's
 * `fillDisk` (a size-limited tmpfs) and a file written until the kernel answers ENOSPC. Deviations: the per-object
 * budget libostree keeps after that first check (ostree-repo-commit.c:565-579, "... %s more required") is not
 * modelled, since the stand-in writes no object bytes; `f_frsize` is taken equal to `f_bsize` (Node's statfs does
 * not report it; the two are equal on tmpfs, ext4 and xfs).
 */
import * as fs from "fs";
import { HostEnv } from "../atomic/hostEnv";
import { parseKeyFile } from "./remotes";

/** `core.min-free-space-percent` of the repo's config, libostree's default 3 when unset (ostree-repo.c:2227). */
export function minFreeSpacePercent(env: HostEnv): number {
  let text: string;
  try {
    text = fs.readFileSync(env.path("/ostree/repo/config"), "utf8");
  } catch {
    return 3;
  }
  const value = parseKeyFile(text).get("core")?.get("min-free-space-percent");
  // g_ascii_strtoull: leading digits, 0 when there are none.
  return value === undefined ? 3 : Number(/^\d*/.exec(value)![0] || "0");
}

/**
 * GLib's `g_format_size` (SI units, 1000 bytes a kB, one decimal): "0 bytes", "1 byte", "16.4 kB", "89.2 MB". GLib
 * of Fedora 26/27 (2.52/2.54) separates number and unit with a plain space.
 */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  const units = ["kB", "MB", "GB", "TB", "PB", "EB"];
  let i = 0;
  let value = bytes / 1000;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${value.toFixed(1)} ${units[i]}`;
}

/**
 * What `ostree_repo_prepare_transaction` on the host's `/ostree/repo` fails with, or undefined when there is room
 * (or no repo to measure: a bare test sandbox).
 */
export function repoSpaceError(env: HostEnv): string | undefined {
  const percent = minFreeSpacePercent(env);
  if (percent === 0) return undefined;
  let st: fs.StatsFs;
  try {
    st = fs.statfsSync(env.path("/ostree/repo"));
  } catch {
    return undefined;
  }
  // The daemon runs as root: f_bfree (ostree-repo-commit.c:1097 takes f_bavail only when unprivileged).
  const free = typeof process.getuid === "function" && process.getuid() !== 0 ? st.bavail : st.bfree;
  const reserved = Math.floor(st.blocks * (percent / 100));
  if (free > reserved) return undefined;
  return `min-free-space-percent '${percent}%' would be exceeded, ${formatSize(free * st.bsize)} available`;
}
