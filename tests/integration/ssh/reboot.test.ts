import { expect } from "chai";
import { closeAll, readBootId, setSshLogger, waitForReboot, type Connection } from "../../../provider/ssh";
import { waitFor, useSshd } from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

const BOOT_A = "11111111-2222-4333-8444-555555555555";
const BOOT_B = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

/**
 * A "reboot" here is honest and simple: sshd and every session are killed (connections drop), the boot id file
 * bind-mounted over /proc/sys/kernel/random/boot_id changes, and after a pause sshd starts again on the same
 * port with the same host key.
 */
describe("ssh transport against real sshd: reboot detection", function () {
  const ssh = useSshd("reboot", { bootId: BOOT_A });
  let conn: Connection;
  before(() => {
    conn = { ...ssh.conn, perDialTimeout: 2 };
  });
  beforeEach(async () => {
    await ssh.sshd.stop();
    ssh.sshd.setBootId(BOOT_A);
    await ssh.sshd.start();
  });
  afterEach(() => closeAll());

  it("reads the boot id the host's kernel reports", async () => {
    expect(await readBootId(conn)).to.equal(BOOT_A);
  });

  it("returns the new boot id once the host went down and came back with another", async () => {
    const previousBootId = await readBootId(conn);
    const lines: string[] = [];
    setSshLogger((l) => lines.push(l));
    try {
      const polls = () => ssh.sshd.commands().filter((c) => c.includes("boot_id")).length;
      const before = polls();
      const waiting = waitForReboot(conn, { previousBootId, timeoutMs: 40_000, pollMs: 200 });
      // The host is still up with the old boot id for a few polls...
      await waitFor("two polls that still see the old boot id", () => polls() >= before + 2, 20_000);
      await ssh.sshd.stop();
      ssh.sshd.setBootId(BOOT_B);
      // ...then down: the waiter's pooled connection sees the host go away (later polls are refused).
      await waitFor(
        "the waiter to see the host go down",
        () => lines.some((l) => / lost \(/.test(l)),
        20_000,
      );
      await ssh.sshd.start();
      expect(await waiting).to.equal(BOOT_B);
    } finally {
      setSshLogger(undefined);
    }
  });

  it("fails with kind timeout when the host does not come back, saying it was unreachable", async () => {
    await readBootId(conn); // a pooled connection that the "reboot" drops
    await ssh.sshd.stop();
    const err = await remoteRejection(
      waitForReboot(conn, { previousBootId: BOOT_A, timeoutMs: 2000, pollMs: 200 }),
    );
    expect(err.kind).to.equal("timeout");
    expect(err.host).to.equal(`root@127.0.0.1:${ssh.sshd.port}`);
    expect(err.message)
      .to.contain("did not come back with a new boot id within 2 s")
      .and.contain("unreachable at every attempt");
  });

  it("fails with kind timeout when the host never reboots, saying the boot id did not change", async () => {
    await readBootId(conn); // connected already, so a slow first dial on a busy machine cannot eat the deadline
    const err = await remoteRejection(
      waitForReboot(conn, { previousBootId: BOOT_A, timeoutMs: 4000, pollMs: 200 }),
    );
    expect(err.kind).to.equal("timeout");
    expect(err.message).to.contain(`still reported the old boot id ${BOOT_A}`);
  });

  it("says the host answered with its old boot id and then went away, when it never came back", async () => {
    const previousBootId = await readBootId(conn);
    const polls = () => ssh.sshd.commands().filter((c) => c.includes("boot_id")).length;
    const before = polls();
    const waiting = remoteRejection(waitForReboot(conn, { previousBootId, timeoutMs: 8000, pollMs: 200 }));
    // Polls run one after the other: once the second has reached sshd, the first has seen the old boot id.
    await waitFor("a poll that still sees the old boot id", () => polls() >= before + 2, 6000);
    await ssh.sshd.stop();
    const err = await waiting;
    expect(err.kind).to.equal("timeout");
    expect(err.message).to.contain(`still reported the old boot id ${BOOT_A}, then became unreachable`);
  });

  it("gives up at once when the host comes back with another host key", async () => {
    const err = await remoteRejection(
      waitForReboot(
        { ...conn, hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { previousBootId: BOOT_A, timeoutMs: 30_000 },
      ),
    );
    expect(err.kind).to.equal("hostkey");
  });
});
