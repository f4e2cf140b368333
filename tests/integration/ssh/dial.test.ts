import { expect } from "chai";
import * as net from "net";
import {
  closeAll,
  configurePool,
  exec,
  isRemoteError,
  resetPoolOptions,
  setSshLogger,
  type ConnectionArgs,
  type RemoteError,
} from "../../../provider/ssh";
import {
  makeClientKey,
  makeTempDir,
  removeDir,
  skipUnlessSshd,
  startSshd,
  type ClientKey,
  type TestSshd,
} from "../../helpers/sshd";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<RemoteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRemoteError(err)) throw new Error(`expected a RemoteError, got ${String(err)}`);
  return err;
}

describe("ssh transport against real sshd: dialing and retries", function () {
  let dir: string;
  let key: ClientKey;
  let sshd: TestSshd;
  let lines: string[];

  before(async function () {
    skipUnlessSshd(this);
    dir = makeTempDir("ssh-dial");
    key = makeClientKey(dir, "id");
    sshd = await startSshd({ authorizedKeys: [key.publicKey], password: "right-password" });
  });
  after(async () => {
    await closeAll();
    await sshd?.dispose();
    if (dir) removeDir(dir);
  });
  beforeEach(() => {
    lines = [];
    setSshLogger((l) => lines.push(l));
    configurePool({ dialBackoffMs: () => 50 });
  });
  afterEach(async () => {
    await closeAll();
    resetPoolOptions();
    setSshLogger(undefined);
  });

  const conn = (extra: Partial<ConnectionArgs> = {}): ConnectionArgs => ({
    host: "127.0.0.1",
    port: sshd.port,
    privateKey: key.privateKey,
    hostKey: sshd.hostKey,
    ...extra,
  });

  it("retries a refused connection up to dialErrorLimit attempts, then fails with kind connect", async () => {
    const stopped = await startSshd({ authorizedKeys: [key.publicKey] });
    await stopped.stop(); // a port where nothing listens
    try {
      const err = await rejection(
        exec(conn({ port: stopped.port, hostKey: stopped.hostKey, dialErrorLimit: 3 }), ["true"]),
      );
      expect(err.kind).to.equal("connect");
      expect(err.message).to.contain("ECONNREFUSED").and.contain(`root@127.0.0.1:${stopped.port}`);
      // A progress line per attempt (the provider prints them live), the reason in words.
      const label = `root@127.0.0.1:${stopped.port}`;
      expect(lines.filter((l) => l.includes(": dial attempt "))).to.deep.equal([
        `${label}: dial attempt 1/3 failed: connection refused; retrying in 50 ms`,
        `${label}: dial attempt 2/3 failed: connection refused; retrying in 50 ms`,
        `${label}: dial attempt 3/3 failed: connection refused; giving up`,
      ]);
    } finally {
      await stopped.dispose();
    }
  });

  it("connects once sshd starts listening while it retries", async () => {
    const late = await startSshd({ authorizedKeys: [key.publicKey] });
    await late.stop();
    try {
      const running = exec(conn({ port: late.port, hostKey: late.hostKey, dialErrorLimit: 100 }), [
        "echo",
        "up",
      ]);
      await sleep(400);
      await late.start();
      expect((await running).stdout).to.equal("up\n");
      expect(lines.some((l) => l.includes(": dial attempt 1/100 failed: connection refused"))).to.equal(true);
    } finally {
      await closeAll();
      await late.dispose();
    }
  });

  it("gives each attempt perDialTimeout seconds against a server that never speaks", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await rejection(exec(conn({ port, perDialTimeout: 1, dialErrorLimit: 2 }), ["true"]));
      expect(err.kind).to.equal("connect");
      expect(err.message).to.contain("no SSH session within 1 s");
      expect(accepted.length).to.equal(2);
    } finally {
      accepted.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it("never retries an authentication failure", async () => {
    const before = sshd.connectionsSeen();
    const err = await rejection(
      exec(conn({ privateKey: undefined, password: "wrong-password", dialErrorLimit: 10 }), ["true"]),
    );
    expect(err.kind).to.equal("auth");
    expect(sshd.connectionsSeen() - before).to.equal(1);
    expect(lines.filter((l) => l.includes(": dial attempt "))).to.deep.equal([]);
    expect(lines.join("\n")).not.to.contain("wrong-password");
  });

  it("never retries a host key failure", async () => {
    const before = sshd.connectionsSeen();
    const err = await rejection(
      exec(conn({ hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", dialErrorLimit: 10 }), [
        "true",
      ]),
    );
    expect(err.kind).to.equal("hostkey");
    expect(sshd.connectionsSeen() - before).to.equal(1);
  });

  it("shares one dial between concurrent first commands to a host", async () => {
    const before = sshd.acceptedLogins();
    await Promise.all(Array.from({ length: 12 }, () => exec(conn(), ["true"])));
    expect(sshd.acceptedLogins() - before).to.equal(1);
  });
});
