import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { rejection } from "../helpers/rejection";
import { checked, connectionOf, useSimCluster } from "../helpers/simFixture";

// A HealthGate's checks run at once, each polling on its own, so a gate costs the round trips of its slowest check,
// not the sum of all; the gate still passes only when every check has, and fails naming the first one (in declared
// order) that did not.
const gate = require("../../provider/handlers").handler("HealthGate");

describe("HealthGate: checks at once", function () {
  this.timeout(3 * 60_000);
  const fixture = useSimCluster(
    "health-gate",
    { hosts: ["node1"], release: 27, etcdHosts: [] },
    { captureProgress: "HEALTH_GATE_TEST_VERBOSE" },
  );
  let sim: SimCluster;
  let node: ClusterHostEntry;
  before(() => {
    sim = fixture.sim;
    node = sim.host("node1");
  });

  it("runs the checks side by side: each one's command starts before the other's has ended", async () => {
    sim.clearCommandsLog(node);
    const r = await gate.create(
      await checked(gate, {
        connection: connectionOf(node),
        checks: [
          { kind: "command", name: "first", command: "sleep 1; echo one" },
          { kind: "command", name: "second", command: "sleep 1; echo two" },
        ],
      }),
    );
    expect(r.outs.results.map((x: { name: string }) => x.name)).to.deep.equal(["first", "second"]);
    const log = sim.readCommandsLog(node);
    expect(log).to.have.length(2);
    const [a, b] = log.map((e) => ({ start: Date.parse(e.time), end: Date.parse(e.time) + e.durationMs }));
    expect(b!.start, "the second check began before the first had ended").to.be.lessThan(a!.end);
    expect(a!.start).to.be.lessThan(b!.end);
  });

  it("fails naming the first check in declared order that never passed, once every check has ended", async () => {
    sim.clearCommandsLog(node);
    const err = await rejection(
      gate.create(
        await checked(gate, {
          connection: connectionOf(node),
          checks: [
            { kind: "command", name: "passes", command: "true" },
            { kind: "command", name: "never-a", command: "exit 1", timeoutSeconds: 2 },
            { kind: "command", name: "never-b", command: "exit 2", timeoutSeconds: 1 },
          ],
        }),
      ),
    );
    expect(err.message).to.include('check "never-a" did not pass within 2 s');
    const ended = Date.now();
    // No poll of the gate goes on after it failed.
    await new Promise((r) => setTimeout(r, 1500));
    expect(sim.readCommandsLog(node).filter((e) => Date.parse(e.time) > ended)).to.deep.equal([]);
  });
});
