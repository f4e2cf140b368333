import { expect } from "chai";
import { formatPlanLines, planEtcdMigration, unwrapPlanLines } from "../../../provider/atomic";
import { quoteCommand } from "../../../provider/ssh";

const spec = {
  source: "/var/lib/etcd/member",
  destination: "/var/lib/etcd/etcd.etcd",
  unit: "etcd.service",
  conflict: "fail" as const,
};

describe("planEtcdMigration (the preview of an EtcdDataMigration)", () => {
  it("shows every step the apply runs, in its order, scripts named and their arguments whole", () => {
    const lines = formatPlanLines(planEtcdMigration(spec, undefined).steps, { quote: quoteCommand });
    expect(unwrapPlanLines(lines)).to.deep.equal([
      {
        line: "mkdir -p -m 0700 -- /var/lib/etcd/etcd.etcd",
        condition: "/var/lib/etcd/etcd.etcd does not exist",
      },
      {
        line: "env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=4s member list -w json",
        condition: "etcd.service is a member of a multi-member cluster",
      },
      { line: "systemctl stop etcd.service" },
      {
        line: "sh -c '<etcd-copy script>' atomic-host-etcd /var/lib/etcd/member /var/lib/etcd/etcd.etcd '<id>'",
      },
      {
        line: "sh -c '<etcd-verify script>' atomic-host-etcd /var/lib/etcd/member '/var/lib/etcd/etcd.etcd/.member.tmp-<id>'",
      },
      { line: "sh -c '<etcd-commit script>' atomic-host-etcd /var/lib/etcd/etcd.etcd '<id>'" },
    ]);
  });

  it('shows the move aside of a different DEST/member with conflict: "backup", as conditional', () => {
    const steps = planEtcdMigration({ ...spec, conflict: "backup" }, undefined).steps;
    expect(steps.map((s) => s.kind)).to.deep.equal(["mkdir", "quorum", "stop", "backup", "copy", "verify", "commit"]);
    expect(steps[3]!.condition).to.equal(
      "/var/lib/etcd/etcd.etcd/member exists and differs from /var/lib/etcd/member",
    );
    expect(formatPlanLines([{ argv: steps[3]!.argv }], { quote: quoteCommand })).to.deep.equal([
      "sh -c '<etcd-backup script>' atomic-host-etcd /var/lib/etcd/etcd.etcd '<UTC>'",
    ]);
  });

  it("plans nothing for a migration the state has (the apply adopts DEST/member)", () => {
    expect(planEtcdMigration(spec, { migrated: true }).steps).to.deep.equal([]);
  });
});
