import { expect } from "chai";
import * as net from "net";
import { SimCluster } from "../../../sim";
import { closed, removeDir, skipUnlessSimAvailable, ssh2Connect, ssh2Exec, tempDir } from "./support";

const LATENCY_MS = 40;

describe("atomic-host-sim: latency relay", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: SimCluster;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("latency");
    cluster = await SimCluster.start({
      dir,
      hosts: 1,
      release: 27,
      etcdHosts: 0,
      latencyMs: LATENCY_MS,
      rebootDownMs: 500,
    });
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("publishes the relay's port and puts sshd behind it", function () {
    const sim = cluster.simFile();
    expect(sim.hosts[0].sshPort).to.equal(cluster.host("host1").port);
    expect(sim.hosts[0].sshdPort).to.not.equal(sim.hosts[0].sshPort);
  });

  it("adds the latency to each direction: a command on an open connection costs a round trip", async function () {
    const h = cluster.host("host1");
    const sock = net.connect({ host: h.host, port: h.port });
    sock.setNoDelay(true);
    const conn = await ssh2Connect(h, { sock });
    try {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) times.push((await ssh2Exec(conn, "true")).ms);
      const best = Math.min(...times);
      console.log(`      exec true over a ${LATENCY_MS} ms relay: ${times.join(", ")} ms`);
      expect(best).to.be.greaterThanOrEqual(2 * LATENCY_MS);
      expect(best).to.be.lessThan(2 * LATENCY_MS + 400);
    } finally {
      conn.end();
    }
  });

  it("drops relayed connections when the host reboots, and relays again once it is back", async function () {
    const h = cluster.host("host1");
    const conn = await ssh2Connect(h);
    const dropped = closed(conn);
    const boots = (await cluster.hostStatus(h)).boots;
    await cluster.reboot(h, { wait: false });
    await dropped;
    for (let i = 0; i < 200; i++) {
      const st = await cluster.hostStatus(h);
      if (st.state === "up" && st.boots > boots) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const again = await ssh2Connect(h);
    const r = await ssh2Exec(again, "hostname");
    again.end();
    expect(r.stdout).to.equal("host1\n");
  });
});
