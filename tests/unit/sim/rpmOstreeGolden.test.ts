/**
 * Golden tests for the stand-in `rpm-ostree` (v2017.10 by default, v2018.7 where the host says so): each step
 * runs the compiled tool against a sandbox host dir and compares with tests/fixtures/golden/rpm-ostree/<case>.txt
 * (headers cite the reference section or rpm-ostree source). Regenerate with UPDATE_GOLDEN=1 and review.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
  beginExternalTransaction,
  bootPendingDeployment,
  endExternalTransaction,
  initRpmOstree,
} from "../../../sim/tools/rpmostree/state";
import { REPO, Sandbox, guideRemoteAdd, loadGolden, makeSandbox, seedFedoraOstree } from "./toolHarness";

const REF3 = "shared/reference/fedora-atomic-tools.md §3";
const STATUS_C = "coreos/rpm-ostree src/app/rpmostree-builtin-status.c";
const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const RemoteNotFound =
  'ostreedev/ostree v2017.12 src/libostree/ostree-repo.c:179-180 ("Remote \\"%s\\" not found"), reached from ' +
  "ostree_repo_pull_with_options (ostree-repo-pull.c:3377) called by rpm-ostree v2017.10 " +
  "src/daemon/rpmostree-sysroot-upgrader.c:414";
const NoSuchBranch =
  "ostreedev/ostree v2017.12 src/libostree/ostree-repo-pull.c:932; fedora-atomic.conf of F26 " +
  "(real-outputs/ostree-remotes-d-fedora-atomic-conf-01.txt) names the per-release repository .../atomic/26/";
const OldAndNewRefs =
  "rpm-ostree v2017.10 src/daemon/rpmostreed-transaction-types.c:55-56 (change_origin_refspec)";
const GpgKeyMissing =
  "ostreedev/ostree v2017.12 src/libostree/ostree-gpg-verifier.c:98,183 (GPG prefix, glnx_openat_rdonly), " +
  'libglnx e301544 glnx-fdio.c:430 ("openat(%s)"), ostree-repo-pull.c:1367 ("Commit <checksum>" prefix)';

function golden(sb: Sandbox, name: string, source: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = sb.run("rpm-ostree", args, extraEnv);
  const envNote = Object.entries(extraEnv)
    .map(([k, v]) => `${k}=${v} `)
    .join("");
  const header = [
    `case: rpm-ostree/${name}`,
    `source: ${source}`,
    `command: ${envNote}rpm-ostree ${args.join(" ")}`,
  ];
  const { expected, actual, file } = loadGolden(`rpm-ostree/${name}`, header, r, sb.root);
  expect(actual, path.relative(REPO, file)).to.deep.equal(expected);
  return r;
}

function host(release: 26 | 27, version: "2017.10" | "2018.7" = "2017.10"): Sandbox {
  const sb = makeSandbox();
  fs.writeFileSync(
    path.join(sb.hostDir, "state/host.json"),
    JSON.stringify({ name: "h1", release, layout: "contrib", rpmOstreeVersion: version, reachable: true }),
  );
  initRpmOstree(sb.hostDir, { release, rpmOstreeVersion: version });
  seedFedoraOstree(sb, release);
  return sb;
}

describe("rpm-ostree stand-in (golden)", function () {
  this.timeout(120_000);

  describe("v2017.10 on a fresh Fedora 26 host", () => {
    let sb: Sandbox;
    before(() => (sb = host(26)));

    it("prints status as v2017.10 status_generic does", () => {
      golden(sb, "status-f26", `${REF3} "rpm-ostree status text"; ${STATUS_C}`, ["status"]);
      golden(sb, "status-f26-lang-c", `${REF3} (libsd_special_glyph: * outside UTF-8)`, ["status"], {
        LANG: "C",
      });
      golden(sb, "status-json-f26", `${REF3} "rpm-ostree status --json (v2017.10)" (one compact line)`, [
        "status",
        "--json",
      ]);
    });

    it("has nothing to roll back to and no upgrade", () => {
      golden(sb, "rollback-none", `${REF3} "rollback"`, ["rollback"]);
      golden(sb, "upgrade-none", `${REF3} "upgrade"`, ["upgrade"]);
      golden(sb, "upgrade-none-exit-77", `${REF3} "upgrade" (--upgrade-unchanged-exit-77)`, [
        "upgrade",
        "--upgrade-unchanged-exit-77",
      ]);
    });

    it("rejects options that only exist from 2018.x", () => {
      golden(
        sb,
        "install-idempotent-2017",
        `${REF3} version matrix (--idempotent v2018.7); GLib "Unknown option"`,
        ["install", "--idempotent", "etcd"],
      );
      golden(sb, "install-allow-inactive-2017", `${REF3} version matrix (--allow-inactive v2018.6)`, [
        "install",
        "--allow-inactive",
        "etcd",
      ]);
      golden(sb, "cancel-2017", `${REF3} version matrix (rpm-ostree cancel v2018.1)`, ["cancel"]);
    });

    it("records a request the base provides as inactive", () => {
      golden(sb, "install-etcd-inactive-f26", `${REF3} "install" (capability provided by the base)`, [
        "install",
        "etcd",
      ]);
      golden(sb, "status-f26-inactive-verbose", `${REF3} status -v (InactiveRequests)`, ["status", "-v"]);
    });

    it("errors on a package already requested, also through rebase --install (rpm-ostree #1467)", () => {
      golden(sb, "install-etcd-already-requested", `${REF3} "install"`, ["install", "etcd"]);
      golden(sb, "rebase-install-already-requested", `${REF3} "install" (and rebase --install)`, [
        "rebase",
        F27,
        "--install",
        "etcd",
      ]);
    });

    it("errors on a package not requested and on one no repository has", () => {
      golden(sb, "uninstall-not-requested", `${REF3} "uninstall"`, ["uninstall", "flannel"]);
      golden(sb, "install-unknown-package", `${REF3} "install" (libdnf, 2017 era)`, ["install", "foo"]);
      golden(
        sb,
        "install-no-package",
        'coreos/rpm-ostree v2017.10 src/app/rpmostree-pkg-builtins.c:160 (rpmostree_usage_error), src/app/rpmostree-libbuiltin.c:32-43 ("usage error: "), src/app/main.c:430 ("error: "); sim prints only the help\'s Usage line',
        ["install"],
      );
    });
  });

  describe("v2017.10: the guide's rebase with --install on a Fedora 26 master", () => {
    let sb: Sandbox;
    before(() => (sb = host(26)));

    it("fails the pull while the host has only Fedora 26's remote, and changes nothing", () => {
      golden(sb, "rebase-f27-remote-not-found", RemoteNotFound, [
        "rebase", F27, "--install", "kubernetes-master", "--install", "flannel", "--install", "etcd",
      ]); // prettier-ignore
      golden(sb, "rebase-f27-ref-not-on-f26-remote", NoSuchBranch, [
        "rebase", "fedora-atomic:fedora/27/x86_64/atomic-host",
      ]); // prettier-ignore
      golden(sb, "rebase-same-refspec", OldAndNewRefs, [
        "rebase",
        "fedora-atomic:fedora/26/x86_64/atomic-host",
      ]);
      golden(
        sb,
        "status-f26-after-failed-rebase",
        "coreos/rpm-ostree v2017.10 src/app/rpmostree-builtin-status.c:210-211 (State: idle, Deployments), :346 (Version), :366 (Commit), :448 (GPGSignature): unchanged after the failed pull",
        ["status"],
      );
    });

    it("fails the pull with libostree's GPG error when the remote's gpgkeypath is missing", () => {
      guideRemoteAdd(sb);
      const key = sb.hostPath("etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary");
      const saved = fs.readFileSync(key);
      fs.rmSync(key);
      try {
        golden(sb, "rebase-f27-gpgkeypath-missing", GpgKeyMissing, ["rebase", F27]);
      } finally {
        fs.writeFileSync(key, saved);
      }
    });

    it("rebases to 27 layering kubernetes-master, flannel and etcd", () => {
      golden(sb, "rebase-f27-master", `migration guide; ${REF3} "install" output sequence, "Deployment model"; pull line then "Checking out tree": real-outputs/rpm-ostree-rebase-install-01.txt`, [
        "rebase", F27, "--install", "kubernetes-master", "--install", "flannel", "--install", "etcd",
      ]); // prettier-ignore
    });

    it("shows [pending, booted] in status text and JSON", () => {
      golden(sb, "status-pending-f27", `${REF3} "rpm-ostree status text" (the sample)`, ["status"]);
      golden(sb, "status-json-pending-f27", `${REF3} "rpm-ostree status --json" (layered keys)`, [
        "status",
        "--json",
      ]);
    });

    it("boots into 27 with the packages layered", () => {
      bootPendingDeployment(sb.hostDir);
      golden(sb, "status-booted-f27", `${REF3} "Deployment model" (reboot makes [0] booted)`, ["status"]);
    });

    it("rolls back to 26", () => {
      golden(sb, "rollback-to-f26", `${REF3} "rollback"`, ["rollback"]);
    });
  });

  describe("v2017.10: -r reboots after the transaction", () => {
    it("runs systemctl reboot and prints no diff", () => {
      const sb = host(26);
      guideRemoteAdd(sb);
      golden(sb, "rebase-f27-node-reboot", `migration guide (worker); ${REF3} "-r"; pull line: real-outputs/rpm-ostree-rebase-install-01.txt`, [
        "rebase", F27, "--install", "kubernetes-node", "--install", "flannel", "-r",
      ]); // prettier-ignore
      expect(sb.calls()).to.deep.equal(["systemctl reboot"]);
    });
  });

  describe("v2017.10: one transaction at a time", () => {
    it("shows a running transaction in status and refuses another", () => {
      const sb = host(27);
      beginExternalTransaction(sb.hostDir, { method: "Upgrade", title: "upgrade" });
      golden(sb, "status-transaction-running", `${REF3} "status text" (State: transaction: <title>)`, [
        "status",
      ]);
      golden(sb, "status-json-transaction-running", `${REF3} "status --json" (transaction tuple)`, [
        "status",
        "--json",
      ]);
      golden(sb, "install-transaction-in-progress", `${REF3} "Concurrency"`, ["install", "etcd"]);
      endExternalTransaction(sb.hostDir);
      expect(sb.run("rpm-ostree", ["install", "etcd"]).status).to.equal(0);
    });
  });

  describe("v2018.7 on Fedora 27", () => {
    let sb: Sandbox;
    before(() => (sb = host(27, "2018.7")));

    it("prints the 2018 status line, ostree:// and the cached-update key", () => {
      golden(sb, "status-f27-2018", `${REF3} version matrix (2018.2 state line); sample "27.100"`, [
        "status",
      ]);
      golden(sb, "status-json-f27-2018", `${REF3} version matrix (cached-update, pinned, staged)`, [
        "status",
        "--json",
      ]);
    });

    it("layers etcd, then treats a repeat as unchanged with --idempotent --unchanged-exit-77", () => {
      golden(sb, "install-etcd-f27-2018", `${REF3} "install" output sequence`, ["install", "etcd"]);
      golden(
        sb,
        "install-etcd-idempotent-2018",
        `${REF3} version matrix (--idempotent, --unchanged-exit-77)`,
        ["install", "--idempotent", "--unchanged-exit-77", "etcd"],
      );
      golden(sb, "install-etcd-again-2018", `${REF3} "install"`, ["install", "etcd"]);
      golden(sb, "cancel-none-2018", `${REF3} version matrix (cancel)`, ["cancel"]);
    });
  });

  describe("v2018.7 on Fedora 26", () => {
    it("only warns without --allow-inactive for a package the base provides", () => {
      // Each on its own host: the warned install goes through (rpmostreed-transaction-types.c:988-996 at v2018.7).
      golden(
        host(26, "2018.7"),
        "install-etcd-f26-2018-inactive",
        `coreos/rpm-ostree v2018.7 src/daemon/rpmostreed-transaction-types.c:988-996 (deprecation warning only)`,
        ["install", "etcd"],
      );
      golden(
        host(26, "2018.7"),
        "install-etcd-f26-2018-allow-inactive",
        `${REF3} version matrix (--allow-inactive)`,
        ["install", "--allow-inactive", "etcd"],
      );
    });
  });
});
