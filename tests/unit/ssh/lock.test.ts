import { expect } from "chai";
import { activeHostLocks, withHostLock } from "../../../provider/ssh/lock";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("ssh/lock withHostLock", () => {
  it("runs work on one host one at a time, in arrival order", async () => {
    const events: string[] = [];
    let inside = 0;
    const job = (name: string, ms: number) =>
      withHostLock({ host: "a", port: 22 }, async () => {
        inside++;
        expect(inside).to.equal(1);
        events.push(`start ${name}`);
        await tick(ms);
        events.push(`end ${name}`);
        inside--;
        return name;
      });
    const results = await Promise.all([job("1", 15), job("2", 1), job("3", 5)]);
    expect(results).to.deep.equal(["1", "2", "3"]);
    expect(events).to.deep.equal(["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
    expect(activeHostLocks()).to.equal(0);
  });

  it("is one lock for one host however it is named (localhost, 127.0.0.1, LocalHost)", async () => {
    let inside = 0;
    let peak = 0;
    const job = (host: string) =>
      withHostLock({ host, port: 22 }, async () => {
        peak = Math.max(peak, ++inside);
        await tick(10);
        inside--;
      });
    await Promise.all([job("localhost"), job("127.0.0.1"), job("LocalHost")]);
    expect(peak).to.equal(1);
  });

  it("lets different hosts and ports proceed in parallel", async () => {
    let concurrent = 0;
    let peak = 0;
    const job = (conn: { host: string; port?: number }) =>
      withHostLock(conn, async () => {
        peak = Math.max(peak, ++concurrent);
        await tick(20);
        concurrent--;
      });
    await Promise.all([job({ host: "a" }), job({ host: "b" }), job({ host: "a", port: 2222 })]);
    expect(peak).to.equal(3);
  });

  it("treats port 22 and an unset port as the same host, and host names case-insensitively", async () => {
    const order: number[] = [];
    await Promise.all([
      withHostLock({ host: "A.example" }, async () => {
        await tick(15);
        order.push(1);
      }),
      withHostLock({ host: "a.example", port: 22 }, async () => {
        order.push(2);
      }),
    ]);
    expect(order).to.deep.equal([1, 2]);
  });

  it("releases the lock when the work throws", async () => {
    const failing = withHostLock({ host: "c" }, async () => {
      throw new Error("boom");
    });
    const err = await failing.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal("boom");
    expect(await withHostLock({ host: "c" }, async () => "next")).to.equal("next");
    expect(activeHostLocks()).to.equal(0);
  });
});
