import { expect } from "chai";
import { etcdPost, type SimCluster } from "../../sim";
import { handler } from "../../provider/handlers";
import { connectionOf, useSimCluster } from "../helpers/simFixture";

// A 3-member etcd cluster in the simulator (--etcd-cluster: contrib's etcd.conf for an etcd group of three hosts,
// Debian's real etcd), and what EtcdDataMigration and HealthGate do on a member of it, through the provider
// handlers over real SSH. Host state is read from inside the hosts (sim.exec: no SSH, no commands.log line).

const INSTALL_ETCD_CONTAINER =
  "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd";

describe("a 3-member etcd cluster in the simulator", function () {
  this.timeout(8 * 60_000);
  const migration = handler("EtcdDataMigration");
  const gate = handler("HealthGate");
  const fixture = useSimCluster(
    "etcdcl",
    { hosts: ["e1", "e2", "e3"], release: 26, layout: "contrib", etcdCluster: true },
    { quiet: true },
  );
  let sim: SimCluster;
  const ids = new Map<string, string>();

  before(async () => {
    sim = fixture.sim;
    await sim.seedEtcd("e1", 300);
  });

  async function sh(name: string, command: string): Promise<string> {
    const r = await sim.exec(name, command);
    expect(r.exitCode, `${name}: ${command}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  /** name → member ID, as the cluster reports them through `host`. */
  async function memberIds(host: string): Promise<Map<string, string>> {
    const raw = await sh(host, "ETCDCTL_API=3 etcdctl member list -w json");
    const json = JSON.parse(raw.replace(/"ID":(\d+)/g, '"ID":"$1"'));
    return new Map(json.members.map((m: { name: string; ID: string }) => [m.name, m.ID]));
  }

  /**
   * One put through `host`. Like etcd's own client (clientv3 retries a request that failed with gRPC Unavailable,
   * code 14), it tries again while the cluster answers "unavailable": right after a member loses power, a put can
   * time out with "possibly due to previous leader failure" until the survivors agree on the leader. Any other
   * error, or still unavailable after 15 s, fails the test.
   */
  async function put(host: string, key: string): Promise<void> {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await etcdPost(sim.host(host).etcdClientPort, "/v3/kv/put", { key: b64(key), value: b64("v") });
        return;
      } catch (err) {
        const unavailable = /HTTP 503 .*"code":14/.test((err as Error).message);
        if (!unavailable || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  it("is one cluster: every host's etcd.conf names it and lists the three peers", async () => {
    const conf = await sh("e2", "cat /etc/etcd/etcd.conf");
    expect(conf).to.match(/^ETCD_NAME=e2$/m);
    expect(conf).to.match(/^ETCD_DATA_DIR=\/var\/lib\/etcd$/m);
    expect(conf).to.match(
      /^ETCD_INITIAL_CLUSTER=e1=http:\/\/127\.0\.0\.1:\d+,e2=http:\/\/127\.0\.0\.1:\d+,e3=http/m,
    );
    for (const [n, id] of await memberIds("e1")) ids.set(n, id);
    expect([...ids.keys()].sort()).to.deep.equal(["e1", "e2", "e3"]);
    expect(await memberIds("e3")).to.deep.equal(ids);
    // Seeded once through e1, readable through e3: one keyspace.
    const keys = await sim.etcdGetAll("e3");
    expect([...keys.keys()].filter((k) => k.startsWith("/registry/sim-seed/"))).to.have.length(300);
  });

  it("keeps serving while one member is powered off, which rejoins with its own ID", async () => {
    await sim.kill("e3");
    await put("e1", "/live/while-e3-down");
    await sim.startHost("e3");
    expect(await memberIds("e3")).to.deep.equal(ids);
    const keys = await sim.etcdGetAll("e3");
    expect(keys.get("/live/while-e3-down")).to.equal("v");
  });

  it("refuses to migrate e1 while e3 is down, before stopping anything, naming e3", async () => {
    await sim.kill("e3");
    try {
      sim.clearCommandsLog("e1");
      const checked = await migration.check({}, { connection: connectionOf(sim.host("e1")) });
      expect(checked.failures).to.deep.equal([]);
      // The quorum check before the stop, shown as the conditional step the planner gives it.
      expect(checked.inputs.commands.join("\n")).to.include(
        "member list -w json # only if etcd.service is a member of a multi-member cluster",
      );
      const err: Error = await migration.create(checked.inputs).then(
        () => {
          throw new Error("create should have failed");
        },
        (e: Error) => e,
      );
      expect(err.message).to.include(
        "EtcdDataMigration refused before stopping anything: member e3 (does not answer",
      );
      expect(err.message).to.include("stopping e1 too would leave 1 of 3 members (a quorum is 2)");
      expect(err.message).to.match(/e2 [0-9a-f]{16} http:\/\/127\.0\.0\.1:\d+: healthy/);
      const ran = sim.readCommandsLog("e1").map((e) => e.command);
      expect(ran.some((c) => c.includes("systemctl") && c.includes("stop"))).to.equal(false);
      expect((await sim.exec("e1", "systemctl is-active etcd")).stdout.trim()).to.equal("active");
      // Nothing copied: the destination (created empty, as the container's tmpfiles would) holds no member/.
      expect(await sh("e1", "ls -A /var/lib/etcd/etcd.etcd")).to.equal("");
    } finally {
      await sim.startHost("e3");
    }
  });

  it("migrates e1 with the others serving; the container rejoins as the same member and the gate sees it", async () => {
    const checked = await migration.check({}, { connection: connectionOf(sim.host("e1")) });
    const outs = (await migration.create(checked.inputs)).outs;
    expect(outs.memberId).to.equal(ids.get("e1"));
    expect(outs.memberName).to.equal("e1");
    // e1 is stopped now; the others keep the cluster writable.
    expect((await sim.exec("e1", "systemctl is-active etcd")).stdout.trim()).to.not.equal("active");
    await put("e2", "/live/while-e1-migrates");
    await sh("e1", INSTALL_ETCD_CONTAINER);
    await sh("e1", "systemctl start etcd");
    const g = await gate.check(
      {},
      {
        connection: connectionOf(sim.host("e1")),
        checks: [
          { kind: "unitActive", name: "etcd active", unit: "etcd" },
          { kind: "etcdMember", name: "etcd member rejoined", memberId: outs.memberId },
          { kind: "etcdCluster", name: "etcd cluster healthy" },
        ],
        triggers: [outs.migratedAt],
      },
    );
    expect(g.failures).to.deep.equal([]);
    expect(g.inputs.commands[1]).to.match(
      /^etcd member rejoined: this host's etcd member healthy with the member ID/,
    );
    const passed = (await gate.create(g.inputs)).outs;
    expect(passed.results.map((r: { name: string }) => r.name)).to.deep.equal([
      "etcd active",
      "etcd member rejoined",
      "etcd cluster healthy",
    ]);
    expect(await memberIds("e2")).to.deep.equal(ids);
    const keys = await sim.etcdGetAll("e1");
    expect(keys.get("/live/while-e1-migrates")).to.equal("v");
  });

  it("a gate waiting for a member that never comes back fails with the check, the host and the member table", async () => {
    const g = await gate.check(
      {},
      {
        connection: connectionOf(sim.host("e2")),
        checks: [{ kind: "etcdCluster", name: "etcd cluster healthy", timeoutSeconds: 4 }],
      },
    );
    await sim.kill("e3");
    try {
      const err: Error = await gate.create(g.inputs).then(
        () => {
          throw new Error("the gate should have failed");
        },
        (e: Error) => e,
      );
      expect(err.message).to.include(
        'health gate failed: check "etcd cluster healthy" did not pass within 4 s',
      );
      expect(err.message).to.include(`127.0.0.1:${sim.host("e2").port}`);
      expect(err.message).to.match(/e3 not healthy:/);
    } finally {
      await sim.startHost("e3");
    }
  });
});
