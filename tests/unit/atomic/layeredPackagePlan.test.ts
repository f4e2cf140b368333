import { expect } from "chai";
import {
  type Deployment,
  type LayeredPackagePlan,
  type RpmOstreeStatus,
  UNREAD_HOST,
  decideReboot,
  parseRpmOstreeStatus,
  planLayeredPackage,
  planLayeringTransaction,
  recordOfStatus,
  rpmOstreeCapabilities,
} from "../../../provider/atomic";
import { fixture } from "./fixtures";

function status(name: string): RpmOstreeStatus {
  const r = parseRpmOstreeStatus(fixture(name));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const F27 = "fedora-atomic-27:fedora/27/x86_64/atomic-host";
const MASTER = ["kubernetes-master", "flannel", "etcd"];
const v2017 = rpmOstreeCapabilities({ year: 2017, release: 10 });
const v2018 = rpmOstreeCapabilities({ year: 2018, release: 7 });
/** F27 booted with the master packages (after the migration). */
const migrated = status("rpm-ostree-status-2017.10-booted.json");
/** Booted F26, nothing layered. */
const f26: RpmOstreeStatus = {
  deployments: [status("rpm-ostree-status-2017.10-pending.json").deployments[1]!],
  transaction: null,
};

function lines(plan: LayeredPackagePlan): string[] {
  return plan.steps.map((s) => s.argv.join(" "));
}

/** The host after `rpm-ostree uninstall PKG` by hand: a pending deployment without it. */
function uninstalledByHand(s: RpmOstreeStatus, pkg: string): RpmOstreeStatus {
  const booted = s.deployments.find((d) => d.booted)!;
  const pending: Deployment = {
    ...booted,
    booted: false,
    requestedPackages: booted.requestedPackages.filter((p) => p !== pkg),
    packages: booted.packages.filter((p) => p !== pkg),
  };
  return { deployments: [pending, booted], transaction: null };
}

/** The host rebased by hand to another refspec (pending). */
function rebasedByHand(s: RpmOstreeStatus, origin: string): RpmOstreeStatus {
  const booted = s.deployments.find((d) => d.booted)!;
  return { deployments: [{ ...booted, booted: false, origin }, booted], transaction: null };
}

describe("planLayeredPackage (the preview of a LayeredPackage)", () => {
  it("plans a create as the migration guide's one rebase transaction, then the reboot", () => {
    const plan = planLayeredPackage({ packages: MASTER, rebase: F27 }, UNREAD_HOST, "ifNeeded");
    expect(lines(plan)).to.deep.equal([
      `rpm-ostree rebase ${F27} --install=kubernetes-master --install=flannel --install=etcd`,
      "systemctl reboot",
    ]);
    expect(plan.after?.booted).to.deep.include({ origin: F27, requested: MASTER });
  });

  it('shows no reboot with reboot: "never", and records the change as pending', () => {
    const plan = planLayeredPackage({ packages: MASTER, rebase: F27 }, UNREAD_HOST, "never");
    expect(lines(plan)).to.deep.equal([
      `rpm-ostree rebase ${F27} --install=kubernetes-master --install=flannel --install=etcd`,
    ]);
    expect(plan.after?.pending?.requested).to.deep.equal(MASTER);
  });

  it("runs nothing on a host that matches the record", () => {
    const record = recordOfStatus(migrated, v2017)!;
    expect(
      lines(planLayeredPackage({ packages: MASTER, rebase: F27, managed: MASTER }, record, "ifNeeded")),
    ).to.deep.equal([]);
  });

  it("uses the flags the recorded rpm-ostree accepts, as the apply does", () => {
    const record = recordOfStatus(f26, v2018)!;
    const decl = { packages: ["etcd"] };
    const plan = planLayeredPackage(decl, record, "ifNeeded");
    const apply = planLayeringTransaction(decl, f26, v2018);
    expect(apply.kind === "run" && apply.argv.join(" ")).to.equal(
      "rpm-ostree install --idempotent --allow-inactive etcd",
    );
    expect(lines(plan)).to.deep.equal([
      "rpm-ostree install --idempotent --allow-inactive etcd",
      "systemctl reboot",
    ]);
  });

  // Drift a refresh records; the apply plans on the same status it reads. The reboot decision of the apply is
  // made on the status after its transaction, which the preview simulates.
  const drift: [string, RpmOstreeStatus, string[]][] = [
    ["nothing changed", migrated, []],
    [
      "a package uninstalled by hand (pending)",
      uninstalledByHand(migrated, "etcd"),
      ["rpm-ostree install etcd", "systemctl reboot"],
    ],
    [
      "rebased by hand to another base (pending)",
      rebasedByHand(migrated, "fedora-atomic:fedora/26/x86_64/atomic-host"),
      [`rpm-ostree rebase ${F27}`, "systemctl reboot"],
    ],
  ];
  for (const [title, host, expected] of drift) {
    it(`${title}: ${expected.join("; ") || "nothing"}`, () => {
      const decl = { packages: MASTER, rebase: F27, managed: MASTER };
      const preview = planLayeredPackage(decl, recordOfStatus(host, v2017)!, "ifNeeded");
      expect(lines(preview)).to.deep.equal(expected);
      const tx = planLayeringTransaction(decl, host, v2017);
      expect(tx.kind === "run" ? [tx.argv.join(" ")] : []).to.deep.equal(expected.slice(0, 1));
      if (tx.kind === "run") {
        // What rpm-ostree stages: the booted deployment with the declaration (the migrated fixture) as pending.
        const booted = migrated.deployments.find((d) => d.booted)!;
        const after = {
          deployments: [{ ...booted, booted: false }, host.deployments.find((d) => d.booted)!],
          transaction: null,
        };
        expect(decideReboot("ifNeeded", after, decl, true).reboot).to.equal(
          expected.includes("systemctl reboot"),
        );
      }
    });
  }

  it("records nothing for a status without a booted deployment (the apply then fails on the host)", () => {
    expect(recordOfStatus({ deployments: [], transaction: null }, v2017)).to.equal(undefined);
  });
});
