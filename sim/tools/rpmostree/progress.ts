/**
 * What a client sees while the daemon runs a deploy transaction (v2017.10; reference §3 "Output sequence"):
 *
 *   Checking out tree d428d3a... done
 *   Enabled rpm-md repositories: fedora updates
 *   rpm-md repo 'fedora' (cached); generated: ...
 *   Importing metadata [=============] 100%
 *   Resolving dependencies... done
 *   Will download: N packages (X MB)
 *   Importing: [=============] 100%
 *   Applying N overlays... done
 *   Writing rpmdb... done
 *   Writing OSTree commit... done
 *   Copying /etc changes: ...
 *   Transaction complete; bootconfig swap: yes deployment count change: N
 *
 * Pure: the caller decides what was downloaded and prints the result.
 */
import { RpmPackage, Release } from "../../catalog";
import { formatUtcDateTime } from "../atomic/hostEnv";

const BAR = "[=============] 100%";

/** When each release's repositories were last generated (fixed: the metadata is "cached"). */
const REPO_GENERATED: Record<Release, { fedora: number; updates: number }> = {
  26: { fedora: Date.UTC(2017, 6, 5, 19, 43, 39) / 1000, updates: Date.UTC(2017, 10, 19, 5, 12, 27) / 1000 },
  27: { fedora: Date.UTC(2017, 10, 5, 8, 4, 1) / 1000, updates: Date.UTC(2017, 10, 19, 4, 41, 33) / 1000 },
};

/** What the pull of a new base commit fetched (printed as one line before anything else). */
export interface PullStats {
  metadata: number;
  content: number;
  kib: number;
  seconds: number;
}

/**
 * The pull of Fedora 27's 27.1 commit onto a Fedora 26 host, as real-outputs/rpm-ostree-rebase-01.txt shows it
 * (F26 26.157 → F27 27.1): the simulator reports these figures for any pull of a new base commit.
 */
export const F26_TO_F27_PULL: Omit<PullStats, "seconds"> = { metadata: 2684, content: 15674, kib: 423335 };

export interface DeployProgress {
  /** Base commit checked out (printed abbreviated to 7). */
  baseChecksum: string;
  release: Release;
  /** Whether rpm-md repositories are needed (something is layered or requested). */
  needsRepos: boolean;
  /** Requests newly found inactive (already in the base). */
  newInactive: Array<{ name: string; providedBy: string }>;
  /** Packages not yet in the package cache. */
  toDownload: RpmPackage[];
  /** Every layered package (overlays applied). */
  layered: RpmPackage[];
  countChange: number;
  /** Set when the transaction pulled a new base commit. */
  pulled?: PullStats;
  /** rpm-ostree version; 2017.10 when omitted. */
  version?: "2017.10" | "2018.7";
}

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

export function renderDeployProgress(p: DeployProgress): string[] {
  const out: string[] = [];
  // The pull's summary line (real-outputs rpm-ostree-rebase-01.txt, rpm-ostree-rebase-install-01.txt; on a tty
  // the console progress bar leaves a blank line before it and pads it to the terminal width: SSH exec has no tty).
  if (p.pulled) {
    out.push(
      `${p.pulled.metadata} metadata, ${p.pulled.content} content objects fetched; ` +
        `${p.pulled.kib} KiB transferred in ${p.pulled.seconds} seconds`,
    );
  }
  if (p.needsRepos) {
    // Only package layering checks the base tree out (a plain rebase goes from the pull straight to the /etc merge:
    // rpm-ostree-rebase-01.txt; with --install, rpm-ostree-rebase-install-01.txt prints this line).
    out.push(`Checking out tree ${p.baseChecksum.slice(0, 7)}... done`);
    const g = REPO_GENERATED[p.release];
    out.push(
      "Enabled rpm-md repositories: fedora updates",
      `rpm-md repo 'fedora' (cached); generated: ${formatUtcDateTime(g.fedora)}`,
      `rpm-md repo 'updates' (cached); generated: ${formatUtcDateTime(g.updates)}`,
      `Importing metadata ${BAR}`,
      "Resolving dependencies... done",
    );
    if (p.newInactive.length) {
      out.push(
        "Inactive requests:",
        ...p.newInactive.map((i) => `  ${i.name} (already provided by ${i.providedBy})`),
      );
    }
    if (p.toDownload.length) {
      const size = p.toDownload.reduce((s, x) => s + x.sizeBytes, 0);
      out.push(
        `Will download: ${p.toDownload.length} package${p.toDownload.length === 1 ? "" : "s"} (${mb(size)})`,
      );
      // v2018.7 counts imports: rpmostree_output_progress_n_items ("Importing", n, total)
      // (coreos/rpm-ostree v2018.7 src/libpriv/rpmostree-core.c:2136-2137), which the daemon sends as
      // PercentProgress "Importing (n/total)" (src/daemon/rpmostreed-sysroot.c:146-157); the client prints it at 100%.
      const importing =
        p.version === "2018.7" ? `Importing (${p.toDownload.length}/${p.toDownload.length})` : "Importing:";
      out.push(`  Downloading from fedora: ${BAR}`, `${importing} ${BAR}`);
    }
    if (p.layered.length) {
      const n = p.layered.length;
      out.push(
        // v2018.7 prints no "Applying" message for overlays alone (rpmostree-core.c:3667-3668) and counts the
        // checkout as "Checking out packages" n/total (rpmostree-core.c:3650,3767-3768,3771, rpmostreed-sysroot.c:146-157).
        p.version === "2018.7"
          ? `Checking out packages (${n}/${n}) ${BAR}`
          : `Applying ${n} overlay${n === 1 ? "" : "s"}... done`,
        "Writing rpmdb... done",
        "Writing OSTree commit... done",
      );
    }
  }
  out.push(
    "Copying /etc changes: 22 modified, 0 removed, 66 added",
    `Transaction complete; bootconfig swap: yes deployment count change: ${p.countChange}`,
  );
  return out;
}
