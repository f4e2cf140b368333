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
        line: "sh -c '<etcd-discard script>' atomic-host-etcd /var/lib/etcd/etcd.etcd '<id>'",
        condition: "/var/lib/etcd/etcd.etcd holds a .member.tmp-<id> of an interrupted attempt",
      },
      {
        line: "env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=4s member list -w json",
        condition: "etcd.service is a member of a multi-member cluster",
      },
      {
        line: "sh -c '<etcd-migrate script>' atomic-host-etcd /var/lib/etcd/member /var/lib/etcd/etcd.etcd '<id>' etcd.service none",
      },
    ]);
  });

  it('shows both forms of the script with conflict: "backup", each with its condition', () => {
    const steps = planEtcdMigration({ ...spec, conflict: "backup" }, undefined).steps;
    expect(steps.map((s) => s.kind)).to.deep.equal(["mkdir", "discard", "quorum", "migrate", "migrate"]);
    expect(steps[3]!.condition).to.equal("/var/lib/etcd/etcd.etcd/member does not exist");
    expect(steps[4]!.condition).to.equal(
      "/var/lib/etcd/etcd.etcd/member exists and differs from /var/lib/etcd/member",
    );
    expect(steps[4]!.argv.at(-1)).to.equal("<UTC>");
  });

  it("plans nothing for a migration the state has (the apply adopts DEST/member)", () => {
    expect(planEtcdMigration(spec, { migrated: true }).steps).to.deep.equal([]);
  });
});
