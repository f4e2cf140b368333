import { expect } from "chai";
import {
  HEALTH_GATE_DIFF,
  buildHealthCheckCommand,
  describeHealthCheck,
  judgeHealthCheck,
  validateHealthChecks,
  type HealthCheck,
} from "../../../provider/atomic/healthGate";
import { diffProperties } from "../../../provider/atomic/diff";

const out = (exitCode: number | null, stdout: string, stderr = "") => ({ exitCode, stdout, stderr });

describe("HealthGate (pure)", () => {
  describe("one-command checks", () => {
    const table: [string, HealthCheck, ReturnType<typeof out>, boolean, string][] = [
      [
        "a unit that is active",
        { kind: "unitActive", name: "u", unit: "flanneld" },
        out(0, "active\n"),
        true,
        "active",
      ],
      [
        "a unit that failed",
        { kind: "unitActive", name: "u", unit: "flanneld" },
        out(3, "failed\n"),
        false,
        "flanneld is failed",
      ],
      [
        "a lease file with a subnet",
        { kind: "flannelLease", name: "l" },
        out(
          0,
          "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.42.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n",
        ),
        true,
        "FLANNEL_SUBNET=10.1.42.1/24",
      ],
      [
        "no lease file",
        { kind: "flannelLease", name: "l", path: "/run/flanneld/subnet.env" },
        out(1, "", "cat: /run/flanneld/subnet.env: No such file or directory\n"),
        false,
        "flanneld holds no lease: /run/flanneld/subnet.env is missing (cat: /run/flanneld/subnet.env: No such file or directory)",
      ],
      [
        "a lease file without a subnet",
        { kind: "flannelLease", name: "l" },
        out(0, "FLANNEL_NETWORK=10.1.0.0/16\n"),
        false,
        "/run/flannel/subnet.env has no FLANNEL_SUBNET: FLANNEL_NETWORK=10.1.0.0/16",
      ],
      [
        "a user command that exits 0",
        { kind: "command", name: "c", command: "true" },
        out(0, "ok\n"),
        true,
        "ok",
      ],
      [
        "a user command that exits 1",
        { kind: "command", name: "c", command: "false" },
        out(1, "", "nope\n"),
        false,
        "exit 1: nope",
      ],
    ];
    for (const [what, check, o, passes, said] of table) {
      it(`${passes ? "passes" : "fails"} ${what}`, () => {
        const r = judgeHealthCheck(check, o);
        expect(r).to.deep.equal(passes ? { ok: true, value: said } : { ok: false, error: said });
      });
    }

    it("builds argv for each one-command kind", () => {
      expect(buildHealthCheckCommand({ kind: "unitActive", name: "u", unit: "kubelet" })).to.deep.equal([
        "systemctl",
        "is-active",
        "--",
        "kubelet",
      ]);
      expect(buildHealthCheckCommand({ kind: "flannelLease", name: "l" })).to.deep.equal([
        "cat",
        "--",
        "/run/flannel/subnet.env",
      ]);
      expect(buildHealthCheckCommand({ kind: "command", name: "c", command: "x | y" })).to.deep.equal([
        "sh",
        "-c",
        "x | y",
      ]);
      expect(buildHealthCheckCommand({ kind: "etcdCluster", name: "e" })).to.equal(undefined);
    });
  });

  it("says at preview what each check runs and for how long it retries", () => {
    expect(
      describeHealthCheck({ kind: "command", name: "api", command: "curl -sf x", timeoutSeconds: 30 }),
    ).to.equal("api: sh -c curl -sf x (retried for up to 30 s)");
    expect(describeHealthCheck({ kind: "etcdMember", name: "m", memberId: "1" })).to.equal(
      "m: this host's etcd member healthy with the member ID it had before the migration, raft index within 50 of the leader's (retried for up to 120 s)",
    );
  });

  describe("validation", () => {
    const table: [string, unknown, string][] = [
      ["no checks", [], "checks"],
      ["an unknown kind", [{ kind: "ping", name: "p" }], "checks[0].kind"],
      ["a unit name with a space", [{ kind: "unitActive", name: "u", unit: "a b" }], "checks[0].unit"],
      ["a relative lease path", [{ kind: "flannelLease", name: "l", path: "run/x" }], "checks[0].path"],
      ["an empty command", [{ kind: "command", name: "c", command: " " }], "checks[0].command"],
      [
        "a hex member ID",
        [{ kind: "etcdMember", name: "m", memberId: "8ddab73534be950c" }],
        "checks[0].memberId",
      ],
      ["a timeout of 0", [{ kind: "etcdCluster", name: "e", timeoutSeconds: 0 }], "checks[0].timeoutSeconds"],
      [
        "two checks of one name",
        [
          { kind: "etcdCluster", name: "e" },
          { kind: "etcdCluster", name: "e" },
        ],
        "checks[1].name",
      ],
    ];
    for (const [what, checks, property] of table) {
      it(`rejects ${what}, naming ${property}`, () => {
        expect(validateHealthChecks(checks).map((f) => f.property)).to.deep.equal([property]);
      });
    }
    it("accepts every kind", () => {
      expect(
        validateHealthChecks([
          { kind: "unitActive", name: "a", unit: "kube-proxy.service" },
          { kind: "flannelLease", name: "b", path: "/run/flanneld/subnet.env" },
          { kind: "etcdCluster", name: "c" },
          { kind: "etcdMember", name: "d", memberId: "10221683743416816908", maxRaftLag: 10 },
          { kind: "command", name: "e", command: "true", timeoutSeconds: 5 },
        ]),
      ).to.deep.equal([]);
    });
  });

  describe("diff", () => {
    const base = {
      connection: { host: "h", port: 22 },
      checks: [{ kind: "etcdCluster", name: "e" }],
      triggers: ["a"],
    };
    const table: [string, Record<string, unknown>, boolean][] = [
      ["nothing changed (a converged second up)", {}, false],
      ["triggers (the gated batch changed)", { triggers: ["b"] }, true],
      ["checks", { checks: [{ kind: "etcdCluster", name: "f" }] }, true],
      ["the host", { connection: { host: "h2", port: 22 } }, true],
    ];
    for (const [what, change, changes] of table) {
      it(`${changes ? "re-runs, in place," : "does nothing"} when ${what}`, () => {
        const d = diffProperties(HEALTH_GATE_DIFF, base, { ...base, ...change });
        expect([d.changes, d.replaces]).to.deep.equal([changes, []]);
      });
    }
  });
});
