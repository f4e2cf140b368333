import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
  buildEtcdEndpointHealthCommand,
  buildEtcdEndpointStatusCommand,
  buildEtcdMemberListCommand,
  clusterEndpoints,
  decideClusterHealthy,
  decideMemberCaughtUp,
  decideMemberStop,
  memberIdHex,
  memberStates,
  parseEtcdEndpointHealth,
  parseEtcdEndpointStatus,
  parseEtcdMemberList,
  quorumOf,
  type EtcdClusterView,
} from "../../../provider/atomic/etcdClusterHealth";

// Real etcdctl 3.4 output from a 3-member cluster (see tests/fixtures/etcd/README.md).
const FIX = path.join(__dirname, "..", "..", "fixtures", "etcd");
const read = (f: string) => fs.readFileSync(path.join(FIX, f), "utf8");

const M1 = "10221683743416816908";
const M2 = "1846862532132435672";
const M3 = "18427253495743182404";

function view(statusFile: string, statusStderr: string, health: string): EtcdClusterView {
  const list = parseEtcdMemberList(read("member-list-3.json"));
  if (!list.ok) throw new Error(list.error);
  const st = parseEtcdEndpointStatus(read(statusFile), statusStderr);
  if (!st.ok) throw new Error(st.error);
  return { list: list.value, ...st.value, health: parseEtcdEndpointHealth(health) };
}

const healthyAll = [31379, 31381, 31383]
  .map((p) => `http://127.0.0.1:${p} is healthy: successfully committed proposal: took = 6ms`)
  .join("\n");
const allUp = () => view("endpoint-status-3.json", "", healthyAll);
const m3Down = () =>
  view(
    "endpoint-status-m3down.json",
    read("endpoint-status-m3down.stderr"),
    read("endpoint-health-m3down.txt"),
  );
const m2Down = () =>
  view(
    "endpoint-status-m2down.json",
    read("endpoint-status-m2down.stderr"),
    read("endpoint-health-m2down.stderr"),
  );

describe("etcd cluster health (pure)", () => {
  describe("commands", () => {
    const table: [string, string[], string[]][] = [
      [
        "member list through the host's default endpoint",
        buildEtcdMemberListCommand(),
        [
          "env",
          "ETCDCTL_API=3",
          "etcdctl",
          "--dial-timeout=2s",
          "--command-timeout=4s",
          "member",
          "list",
          "-w",
          "json",
        ],
      ],
      [
        "endpoint status of every client URL",
        buildEtcdEndpointStatusCommand(["http://a:2379", "http://b:2379"]),
        [
          "env",
          "ETCDCTL_API=3",
          "etcdctl",
          "--dial-timeout=2s",
          "--command-timeout=4s",
          "--endpoints=http://a:2379,http://b:2379",
          "endpoint",
          "status",
          "-w",
          "json",
        ],
      ],
      [
        "endpoint health as text (3.1 has no -w json for it)",
        buildEtcdEndpointHealthCommand(["http://a:2379"]),
        [
          "env",
          "ETCDCTL_API=3",
          "etcdctl",
          "--dial-timeout=2s",
          "--command-timeout=4s",
          "--endpoints=http://a:2379",
          "endpoint",
          "health",
        ],
      ],
    ];
    for (const [what, got, want] of table) it(`builds ${what}`, () => expect(got).to.deep.equal(want));
  });

  describe("parsers on real etcdctl output", () => {
    it("keeps every digit of uint64 member IDs that JSON numbers would round", () => {
      const r = parseEtcdMemberList(read("member-list-3.json"));
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value.members.map((m) => [m.name, m.id, m.idHex])).to.deep.equal([
        ["m2", M2, "19a15fb018bb76d8"],
        ["m1", M1, "8ddab73534be950c"],
        ["m3", M3, "ffbac16c2fd8f644"],
      ]);
      expect(r.value.answeredBy).to.equal(M1);
      expect(clusterEndpoints(r.value)).to.deep.equal([
        "http://127.0.0.1:31381",
        "http://127.0.0.1:31379",
        "http://127.0.0.1:31383",
      ]);
    });

    it("hex IDs match etcdctl's table output", () => {
      expect(memberIdHex(M1)).to.equal("8ddab73534be950c");
    });

    it("reads endpoint status with raft indexes and the leader", () => {
      const r = parseEtcdEndpointStatus(read("endpoint-status-3.json"), "");
      expect(r.ok && r.value.statuses.map((s) => [s.memberId, s.leader, s.raftIndex])).to.deep.equal([
        [M1, M2, 8],
        [M2, M2, 8],
        [M3, M2, 8],
      ]);
    });

    it("reads the statuses that answered and the endpoints that did not, when etcdctl exits 1", () => {
      const r = parseEtcdEndpointStatus(
        read("endpoint-status-m3down.json"),
        read("endpoint-status-m3down.stderr"),
      );
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      expect(r.value.statuses.map((s) => s.memberId)).to.deep.equal([M1, M2]);
      expect(r.value.unreachable).to.deep.equal([
        { endpoint: "http://127.0.0.1:31383", error: "context deadline exceeded" },
      ]);
    });

    it("fails to parse output with neither statuses nor failures", () => {
      const r = parseEtcdEndpointStatus("", "Error: dial tcp: connection refused");
      expect(r.ok).to.equal(false);
    });

    it("fails to parse a member list that is not JSON", () => {
      expect(parseEtcdMemberList("Error: context deadline exceeded").ok).to.equal(false);
    });

    it("reads endpoint health text from stdout and stderr", () => {
      expect(parseEtcdEndpointHealth(read("endpoint-health-m3down.txt"))).to.deep.equal([
        { endpoint: "http://127.0.0.1:31381", healthy: true },
        { endpoint: "http://127.0.0.1:31379", healthy: true },
        {
          endpoint: "http://127.0.0.1:31383",
          healthy: false,
          error: "failed to commit proposal: context deadline exceeded",
        },
      ]);
    });
  });

  describe("decisions", () => {
    it("quorum is a majority", () => {
      expect([1, 2, 3, 4, 5].map(quorumOf)).to.deep.equal([1, 2, 2, 3, 3]);
    });

    it("lets a member of a healthy 3-member cluster stop", () => {
      expect(decideMemberStop(allUp(), M1)).to.deep.equal({ ok: true });
    });

    it("refuses to stop m1 while m3 is down, naming m3 and listing every member", () => {
      const d = decideMemberStop(m3Down(), M1);
      expect(d.ok).to.equal(false);
      if (d.ok) return;
      expect(d.reason).to.match(/^member m3 \(does not answer: context deadline exceeded\) is not healthy/);
      expect(d.reason).to.include("stopping m1 too would leave 1 of 3 members (a quorum is 2)");
      expect(d.reason).to.include(
        "m2 19a15fb018bb76d8 http://127.0.0.1:31381: healthy, raft index 8, leader",
      );
      expect(d.reason).to.include("m3 ffbac16c2fd8f644 http://127.0.0.1:31383: does not answer");
    });

    it("refuses after a leader change too (m2, the old leader, down)", () => {
      const d = decideMemberStop(m2Down(), M3);
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.reason).to.match(/^member m2 /);
    });

    it("lets the down member itself be migrated when the others keep a quorum", () => {
      expect(decideMemberStop(m3Down(), M3).ok).to.equal(true);
    });

    it("refuses a two-member cluster: the other alone is no quorum", () => {
      const v = allUp();
      v.list.members = v.list.members.filter((m) => m.id !== M3);
      const d = decideMemberStop(v, M1);
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.reason).to.match(/^without m1 1 of 2 members remain, below a quorum of 2/);
    });

    it("lets a one-member cluster stop, saying it will be unavailable", () => {
      const v = allUp();
      v.list.members = v.list.members.filter((m) => m.id === M1);
      expect(decideMemberStop(v, M1)).to.deep.include({ ok: true });
    });

    it("a member that answers without a leader is not healthy", () => {
      const v = allUp();
      v.statuses = v.statuses.map((s) => (s.memberId === M3 ? { ...s, leader: "0" } : s));
      expect(memberStates(v).find((s) => s.member.id === M3)!.problem).to.equal("answers but has no leader");
    });

    it("a rejoined member within the lag is caught up; behind by more is not", () => {
      expect(decideMemberCaughtUp(allUp(), M3, 0)).to.deep.equal({ ok: true, lag: 0 });
      const v = allUp();
      v.statuses = v.statuses.map((s) => (s.memberId === M3 ? { ...s, raftIndex: 2 } : s));
      const d = decideMemberCaughtUp(v, M3, 5);
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.reason).to.match(/^m3 is 6 raft entries behind the leader \(at most 5\)/);
    });

    it("a member that is down has not rejoined", () => {
      const d = decideMemberCaughtUp(m3Down(), M3, 50);
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.reason).to.match(/^m3 does not answer/);
    });

    it("the cluster gate passes with every member healthy and names the sick ones otherwise", () => {
      expect(decideClusterHealthy(allUp()).ok).to.equal(true);
      const d = decideClusterHealthy(m3Down());
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.reason).to.match(/^m3 not healthy:/);
    });
  });
});
