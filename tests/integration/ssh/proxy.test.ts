import { expect } from "chai";
import { closeAll, exec, type Connection } from "../../../provider/ssh";
import {
  makeClientKey,
  makeTempDir,
  removeDir,
  skipUnlessSshd,
  startSshd,
  waitFor,
  type ClientKey,
  type TestSshd,
} from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

describe("ssh transport against real sshd: jump host (proxy)", function () {
  let dir: string;
  let key: ClientKey;
  let bastion: TestSshd;
  let target: TestSshd;
  let noForwarding: TestSshd;

  before(async function () {
    skipUnlessSshd(this);
    dir = makeTempDir("ssh-proxy");
    key = makeClientKey(dir, "id");
    bastion = await startSshd({ authorizedKeys: [key.publicKey], allowTcpForwarding: true });
    target = await startSshd({ authorizedKeys: [key.publicKey] });
    noForwarding = await startSshd({ authorizedKeys: [key.publicKey], allowTcpForwarding: false });
  });
  after(async () => {
    await closeAll();
    for (const s of [bastion, target, noForwarding]) await s?.dispose();
    if (dir) removeDir(dir);
  });
  afterEach(() => closeAll());

  const through = (jump: TestSshd, extra: Partial<Connection> = {}): Connection => ({
    host: "127.0.0.1",
    port: target.port,
    privateKey: key.privateKey,
    hostKey: target.hostKey,
    proxy: { host: "127.0.0.1", port: jump.port, privateKey: key.privateKey, hostKey: jump.hostKey },
    ...extra,
  });

  it("runs commands on the target through the jump host, over one connection to each", async () => {
    const [bastionLogins, targetLogins, bastionRan] = [
      bastion.acceptedLogins(),
      target.acceptedLogins(),
      bastion.commands().length,
    ];
    for (let i = 0; i < 5; i++) {
      // $SSH_CONNECTION shows which sshd ran the command: the target's port is the last field.
      const r = await exec(through(bastion), ["sh", "-c", 'echo "$SSH_CONNECTION"']);
      expect(r.stdout.trim().split(" ")[3]).to.equal(String(target.port));
    }
    expect(bastion.acceptedLogins() - bastionLogins).to.equal(1);
    expect(target.acceptedLogins() - targetLogins).to.equal(1);
    expect(bastion.commands().slice(bastionRan)).to.deep.equal([]); // the jump host only forwarded
  });

  it("shares one jump host connection between the targets behind it (one bastion connection per run)", async () => {
    const [b0, t0, n0] = [bastion.acceptedLogins(), target.acceptedLogins(), noForwarding.acceptedLogins()];
    const second = through(bastion, { port: noForwarding.port, hostKey: noForwarding.hostKey });
    const runs = await Promise.all([
      exec(through(bastion), ["sh", "-c", 'echo "$SSH_CONNECTION"']),
      exec(second, ["sh", "-c", 'echo "$SSH_CONNECTION"']),
      exec(through(bastion), ["true"]),
      exec(second, ["true"]),
    ]);
    expect(runs.slice(0, 2).map((r) => r.stdout.trim().split(" ")[3])).to.deep.equal([
      String(target.port),
      String(noForwarding.port),
    ]);
    expect(target.acceptedLogins() - t0).to.equal(1);
    expect(noForwarding.acceptedLogins() - n0).to.equal(1);
    expect(bastion.acceptedLogins() - b0).to.equal(1);
  });

  it("closes both connections on closeAll", async () => {
    const disconnected = (s: TestSshd) => s.countLog(/Disconnected from user root/);
    const [b0, t0] = [disconnected(bastion), disconnected(target)];
    await exec(through(bastion), ["true"]);
    await closeAll();
    await waitFor(
      "both sshds to log the disconnect",
      () => disconnected(bastion) > b0 && disconnected(target) > t0,
    );
  });

  it("verifies the jump host's key too", async () => {
    const conn = through(bastion);
    conn.proxy = { ...conn.proxy!, hostKey: target.hostKey };
    const err = await remoteRejection(exec(conn, ["true"]));
    expect(err.kind).to.equal("hostkey");
    expect(err.host).to.equal(`root@127.0.0.1:${bastion.port}`);
  });

  it("reports a jump host that refuses forwarding as kind connect, naming AllowTcpForwarding, without retrying", async () => {
    const before = noForwarding.connectionsSeen();
    const err = await remoteRejection(exec(through(noForwarding, { dialErrorLimit: 5 }), ["true"]));
    expect(err.kind).to.equal("connect");
    expect(err.message)
      .to.contain(`the jump host root@127.0.0.1:${noForwarding.port} refused`)
      .and.contain("AllowTcpForwarding");
    expect(noForwarding.connectionsSeen() - before).to.equal(1);
    await waitFor(
      "the jump host connection to close",
      () => noForwarding.countLog(/Disconnected from user root/) >= 1,
    );
  });
});
