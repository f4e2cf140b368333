import { expect } from "chai";
import {
  type LayeringDeclaration,
  type LayeringPlan,
  type RpmOstreeOutcome,
  type RpmOstreeStatus,
  buildRpmOstreeStatusCommand,
  classifyRpmOstreeOutcome,
  decideReboot,
  parseRpmOstreeStatus,
  planLayeringTransaction,
  rpmOstreeCapabilities,
  verifyBooted,
} from "../../../provider/atomic";
import { fixture, output } from "./fixtures";

function status(name: string): RpmOstreeStatus {
  const r = parseRpmOstreeStatus(fixture(name));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const v2017 = rpmOstreeCapabilities({ year: 2017, release: 10 });
const v2018 = rpmOstreeCapabilities({ year: 2018, release: 7 });
/** Booted F26, nothing layered: where the migration starts. */
const f26: RpmOstreeStatus = (() => {
  const s = status("rpm-ostree-status-2017.10-pending.json");
  return { deployments: [s.deployments[1]!], transaction: null };
})();
/** F27 pending with etcd, flannel and kubernetes-master requested. */
const pending = status("rpm-ostree-status-2017.10-pending.json");
const booted = status("rpm-ostree-status-2017.10-booted.json");

function argv(plan: LayeringPlan): string | undefined {
  return plan.kind === "run" ? plan.argv.join(" ") : undefined;
}

describe("planLayeringTransaction", () => {
  const rows: [
    string,
    LayeringDeclaration,
    RpmOstreeStatus,
    ReturnType<typeof rpmOstreeCapabilities>,
    string | undefined,
  ][] = [
    [
      "rebases and layers in one transaction, like the migration guide (without -r)",
      { packages: ["kubernetes-master", "flannel", "etcd"], rebase: F27 },
      f26,
      v2017,
      `rpm-ostree rebase ${F27} --install=kubernetes-master --install=flannel --install=etcd`,
    ],
    [
      "builds on the pending deployment: nothing to do when it already has everything",
      { packages: ["etcd", "flannel", "kubernetes-master"], rebase: F27 },
      pending,
      v2017,
      undefined,
    ],
    [
      "installs only what the default deployment does not request, without --idempotent on 2017.10",
      { packages: ["etcd", "flannel", "kubernetes-master", "cockpit"] },
      booted,
      v2017,
      "rpm-ostree install cockpit",
    ],
    [
      "adds --idempotent and --allow-inactive on 2018.7",
      { packages: ["etcd", "cockpit"] },
      booted,
      v2018,
      "rpm-ostree install --idempotent --allow-inactive cockpit",
    ],
    [
      "uninstalls only packages this resource managed and no longer declares",
      { packages: ["etcd"], managed: ["etcd", "flannel"] },
      booted,
      v2017,
      "rpm-ostree uninstall flannel",
    ],
    [
      "never removes a package someone else layered",
      { packages: ["etcd"], managed: ["etcd"] },
      booted,
      v2017,
      undefined,
    ],
    [
      "does not uninstall a managed package that is no longer requested",
      { packages: ["etcd"], managed: ["etcd", "vim-enhanced"] },
      booted,
      v2017,
      undefined,
    ],
    [
      "installs and uninstalls in one transaction",
      { packages: ["etcd", "cockpit"], managed: ["etcd", "flannel"] },
      booted,
      v2017,
      "rpm-ostree install cockpit --uninstall=flannel",
    ],
    [
      "rebases with removals in the same transaction",
      {
        packages: ["etcd"],
        managed: ["etcd", "flannel"],
        rebase: "fedora-atomic-27:fedora/27/x86_64/testing/atomic-host",
      },
      booted,
      v2017,
      "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/testing/atomic-host --uninstall=flannel",
    ],
    [
      "compares only the ref when the declared refspec has no remote",
      { packages: ["etcd"], rebase: "fedora/27/x86_64/atomic-host" },
      booted,
      v2017,
      undefined,
    ],
  ];
  for (const [title, declaration, s, caps, expected] of rows) {
    it(title, () => {
      const plan = planLayeringTransaction(declaration, s, caps);
      expect(argv(plan)).to.equal(expected);
      if (expected === undefined) expect(plan.kind).to.equal("none");
      if (plan.kind === "run") expect(plan.argv).not.to.include("-r");
    });
  }

  it("says why it runs", () => {
    const plan = planLayeringTransaction({ packages: ["etcd"], rebase: F27 }, f26, v2017);
    expect(plan.kind === "run" && plan.why).to.equal(
      `origin fedora-atomic:fedora/26/x86_64/atomic-host is not ${F27}; not requested yet: etcd`,
    );
  });

  it("waits while another transaction runs", () => {
    const plan = planLayeringTransaction(
      { packages: ["etcd"] },
      status("rpm-ostree-status-2017.10-transaction.json"),
      v2017,
    );
    expect(plan).to.deep.equal({
      kind: "busy",
      transaction: ["PkgChange", ":1.52", "/org/projectatomic/rpmostree1/fedora_atomic"],
    });
  });

  it("is blocked when there is no deployment", () => {
    expect(
      planLayeringTransaction({ packages: ["etcd"] }, { deployments: [], transaction: null }, v2017).kind,
    ).to.equal("blocked");
  });
});

describe("verifyBooted", () => {
  const declared = { packages: ["etcd", "flannel", "kubernetes-master"], rebase: F27 };
  it("reports the packages and origin missing while the change is only pending", () => {
    expect(verifyBooted(pending, declared)).to.deep.equal({
      ok: false,
      missing: ["etcd", "flannel", "kubernetes-master"],
      inactive: [],
      origin: { expected: F27, actual: "fedora-atomic:fedora/26/x86_64/atomic-host" },
    });
  });
  it("is satisfied after the reboot", () => {
    expect(verifyBooted(booted, declared)).to.deep.equal({ ok: true, missing: [], inactive: [] });
  });
  it("counts a request the base provides (inactive) as available, and lists it", () => {
    const r = verifyBooted(status("rpm-ostree-status-2019-pretty.json"), { packages: ["etcd", "flannel"] });
    expect(r).to.deep.equal({ ok: true, missing: [], inactive: ["etcd"] });
  });
});

describe("decideReboot", () => {
  const declared = { packages: ["etcd", "flannel", "kubernetes-master"], rebase: F27 };
  const rows: [string, "ifNeeded" | "always" | "never", RpmOstreeStatus, boolean, boolean][] = [
    ["ifNeeded reboots into a pending deployment that has the declaration", "ifNeeded", pending, true, true],
    ["ifNeeded does not reboot when nothing is pending", "ifNeeded", booted, false, false],
    [
      "ifNeeded does not reboot when the pending deployment lacks the declaration",
      "ifNeeded",
      pending,
      false,
      false,
    ],
    ["never does not reboot even with a pending deployment", "never", pending, true, false],
    ["always reboots when a deployment is pending", "always", pending, false, true],
    ["always does not reboot with nothing pending and nothing run", "always", booted, false, false],
  ];
  for (const [title, policy, s, useDeclared, reboot] of rows) {
    it(title, () => {
      const d = useDeclared ? declared : { packages: ["cockpit"] };
      expect(decideReboot(policy, s, d, false).reboot).to.equal(reboot);
    });
  }
});

describe("classifyRpmOstreeOutcome", () => {
  const rows: [string, ReturnType<typeof output>, RpmOstreeOutcome][] = [
    [
      "a completed install (ref §3 output sequence)",
      output(0, fixture("rpm-ostree-install-etcd.stdout")),
      { kind: "changed" },
    ],
    ["exit 77 (--unchanged-exit-77)", output(77), { kind: "unchanged" }],
    ["a rebase to the same target", output(0, "No change.\n"), { kind: "unchanged" }],
    [
      "an already requested package (rpm-ostree #1467)",
      output(1, "", fixture("rpm-ostree-install-already-requested.stderr")),
      {
        kind: "alreadyRequested",
        packages: ["etcd"],
        message: "error: Package/capability 'etcd' is already requested",
      },
    ],
    [
      "an uninstall of a package not requested",
      output(1, "", fixture("rpm-ostree-uninstall-not-requested.stderr")),
      {
        kind: "notRequested",
        packages: ["x"],
        message: "error: Package/capability 'x' is not currently requested",
      },
    ],
    [
      "a concurrent transaction",
      output(1, "", fixture("rpm-ostree-transaction-in-progress.stderr")),
      { kind: "busy", message: "error: System transaction in progress" },
    ],
    [
      "an unknown package (2017: libdnf)",
      output(1, "", fixture("rpm-ostree-install-no-match.stderr")),
      { kind: "packageNotFound", packages: ["foo"], message: "error: No package matches 'foo'" },
    ],
    [
      "an unknown package (2018.8+)",
      output(1, "", "error: Packages not found: foo, bar\n"),
      { kind: "packageNotFound", packages: ["foo", "bar"], message: "error: Packages not found: foo, bar" },
    ],
    [
      "a flag this release lacks",
      output(1, "", "error: Unknown option --idempotent\n"),
      { kind: "unknownOption", message: "error: Unknown option --idempotent" },
    ],
    [
      "rpm-ostreed killed mid-transaction (rpmostree-dbus-helpers.c on_owner_changed)",
      output(1, "", "error: Bus owner changed, aborting.\n"),
      { kind: "daemonGone", message: "error: Bus owner changed, aborting." },
    ],
    [
      "a full repo filesystem (libostree's min-free-space check, coreos/rpm-ostree#958)",
      output(1, "", "error: min-free-space-percent '3%' would be exceeded, 89.2 MB available\n"),
      {
        kind: "noSpace",
        message: "error: min-free-space-percent '3%' would be exceeded, 89.2 MB available",
      },
    ],
    [
      "a write that met ENOSPC (ostreedev/ostree#1648)",
      output(1, "", "error: Installing kernel: regfile copy: No space left on device\n"),
      { kind: "noSpace", message: "error: Installing kernel: regfile copy: No space left on device" },
    ],
    [
      "a dropped connection",
      output(null, "Writing OSTree commit... done\n"),
      { kind: "interrupted", message: "Writing OSTree commit... done" },
    ],
  ];
  for (const [title, out, expected] of rows) {
    it(`classifies ${title}`, () => expect(classifyRpmOstreeOutcome(out)).to.deep.equal(expected));
  }
});

describe("small rpm-ostree helpers", () => {
  it("builds the status command", () =>
    expect(buildRpmOstreeStatusCommand()).to.deep.equal(["rpm-ostree", "status", "--json"]));
});
