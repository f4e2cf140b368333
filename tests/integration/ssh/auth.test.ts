import { expect } from "chai";
import { closeAll, exec, setDefaultCredentials, setSshLogger } from "../../../provider/ssh";
import {
  makeClientKey,
  makeTempDir,
  removeDir,
  skipUnlessSshd,
  startAgent,
  startSshd,
  type ClientKey,
  type TestSshd,
} from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

const PASSWORD = "s3cret-Pa55word";
const PASSPHRASE = "correct horse battery";

describe("ssh transport against real sshd: authentication", function () {
  let dir: string;
  let key: ClientKey;
  let encrypted: ClientKey;
  let sshd: TestSshd;
  let savedSock: string | undefined;

  before(async function () {
    skipUnlessSshd(this);
    dir = makeTempDir("ssh-auth");
    key = makeClientKey(dir, "id");
    encrypted = makeClientKey(dir, "id_enc", { passphrase: PASSPHRASE });
    sshd = await startSshd({ authorizedKeys: [key.publicKey, encrypted.publicKey], password: PASSWORD });
    savedSock = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
  });
  after(async () => {
    await closeAll();
    await sshd?.dispose();
    if (dir) removeDir(dir);
    if (savedSock !== undefined) process.env.SSH_AUTH_SOCK = savedSock;
  });
  afterEach(async () => {
    await closeAll();
    setDefaultCredentials({});
    setSshLogger(undefined);
  });

  const target = () => ({ host: "127.0.0.1", port: sshd.port, hostKey: sshd.hostKey });

  it("logs in with a private key", async () => {
    const before = sshd.countLog(/Accepted publickey for root/);
    const r = await exec({ ...target(), privateKey: key.privateKey }, ["id", "-u"]);
    expect(r).to.include({ exitCode: 0, stdout: "0\n" });
    expect(sshd.countLog(/Accepted publickey for root/)).to.equal(before + 1);
  });

  it("logs in with an encrypted private key and its passphrase", async () => {
    const r = await exec({ ...target(), privateKey: encrypted.privateKey, privateKeyPassword: PASSPHRASE }, [
      "true",
    ]);
    expect(r.exitCode).to.equal(0);
  });

  it("refuses a wrong passphrase as kind auth without connecting", async () => {
    const before = sshd.connectionsSeen();
    const err = await remoteRejection(
      exec({ ...target(), privateKey: encrypted.privateKey, privateKeyPassword: "wrong" }, ["true"]),
    );
    expect(err.kind).to.equal("auth");
    expect(err.message)
      .to.contain("connection.privateKey could not be used")
      .and.contain("privateKeyPassword");
    expect(sshd.connectionsSeen()).to.equal(before);
  });

  it("logs in with a password", async () => {
    const before = sshd.countLog(/Accepted password for root/);
    const r = await exec({ ...target(), password: PASSWORD }, ["id", "-u"]);
    expect(r.stdout).to.equal("0\n");
    expect(sshd.countLog(/Accepted password for root/)).to.equal(before + 1);
  });

  it("refuses a wrong password as kind auth after one connection, with no secret in the error or the logs", async () => {
    const lines: string[] = [];
    setSshLogger((l) => lines.push(l));
    const before = sshd.connectionsSeen();
    const wrong = "wr0ng-Pa55word-123";
    const err = await remoteRejection(exec({ ...target(), password: wrong, dialErrorLimit: 5 }, ["true"]));
    expect(err.kind).to.equal("auth");
    expect(err.host).to.equal(`root@127.0.0.1:${sshd.port}`);
    expect(err.message).to.contain("authentication as root failed").and.contain("password");
    expect(sshd.connectionsSeen()).to.equal(before + 1); // never retried
    const everything = [err.message, err.stack ?? "", JSON.stringify(err), ...lines].join("\n");
    expect(everything).not.to.contain(wrong);
    expect(everything).not.to.contain(PASSWORD);
  });

  it("logs in through an ssh-agent given by agentSocketPath", async () => {
    const agent = await startAgent(dir, [key.path]);
    try {
      const before = sshd.countLog(/Accepted publickey for root/);
      const r = await exec({ ...target(), agentSocketPath: agent.socket }, ["id", "-u"]);
      expect(r.stdout).to.equal("0\n");
      expect(sshd.countLog(/Accepted publickey for root/)).to.equal(before + 1);
    } finally {
      await closeAll();
      await agent.stop();
    }
  });

  it("says so when the only credential, the ssh-agent, cannot be reached", async () => {
    const err = await remoteRejection(
      exec({ ...target(), agentSocketPath: `${dir}/no-agent.sock` }, ["true"]),
    );
    expect(err.kind).to.equal("auth");
    expect(err.message).to.contain("ssh-agent: Failed to connect to agent");
  });

  it("uses the provider's default credentials when the connection names none", async () => {
    setDefaultCredentials({ privateKey: encrypted.privateKey, privateKeyPassword: PASSPHRASE });
    const r = await exec(target(), ["echo", "defaults"]);
    expect(r.stdout).to.equal("defaults\n");
  });

  it("fails with kind auth, before connecting, when there is no credential at all", async () => {
    const before = sshd.connectionsSeen();
    const err = await remoteRejection(exec(target(), ["true"]));
    expect(err.kind).to.equal("auth");
    expect(err.message).to.contain("no credentials");
    expect(sshd.connectionsSeen()).to.equal(before);
  });
});
