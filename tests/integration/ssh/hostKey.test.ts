import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { closeAll, exec } from "../../../provider/ssh";
import {
  makeClientKey,
  makeTempDir,
  removeDir,
  skipUnlessSshd,
  startSshd,
  type ClientKey,
  type TestSshd,
} from "../../helpers/sshd";
import { remoteRejection } from "../../helpers/rejection";

describe("ssh transport against real sshd: host keys", function () {
  let dir: string;
  let key: ClientKey;
  let other: ClientKey;
  let sshd: TestSshd;
  let rsaHostKey: string;

  before(async function () {
    skipUnlessSshd(this);
    dir = makeTempDir("ssh-hostkey");
    key = makeClientKey(dir, "id");
    other = makeClientKey(dir, "not_the_host_key");
    // A second host key of another type, as real hosts have.
    const rsaFile = path.join(dir, "host_rsa");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsaFile]);
    rsaHostKey = fs.readFileSync(`${rsaFile}.pub`, "utf8").trim();
    sshd = await startSshd({ authorizedKeys: [key.publicKey], extraConfig: [`HostKey ${rsaFile}`] });
  });
  after(async () => {
    await closeAll();
    await sshd?.dispose();
    if (dir) removeDir(dir);
  });
  afterEach(() => closeAll());

  const conn = () => ({ host: "127.0.0.1", port: sshd.port, privateKey: key.privateKey });

  it("accepts the server's key pinned as a public key line", async () => {
    expect((await exec({ ...conn(), hostKey: sshd.hostKey }, ["true"])).exitCode).to.equal(0);
  });

  it("accepts the server's key pinned as a SHA256 fingerprint", async () => {
    expect(sshd.hostKeyFingerprint).to.match(/^SHA256:/);
    expect((await exec({ ...conn(), hostKey: sshd.hostKeyFingerprint }, ["true"])).exitCode).to.equal(0);
  });

  it("asks the server for the pinned key's type when it holds several keys", async () => {
    expect((await exec({ ...conn(), hostKey: rsaHostKey }, ["true"])).exitCode).to.equal(0);
  });

  it("accepts the server's key found in knownHosts under [host]:port", async () => {
    const knownHosts = `# test\n[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`;
    expect((await exec({ ...conn(), knownHosts }, ["true"])).exitCode).to.equal(0);
  });

  it("refuses a mismatching key before anything is sent, naming host:port and both fingerprints", async () => {
    const accepted = sshd.acceptedLogins();
    const ran = sshd.commands().length;
    const err = await remoteRejection(
      exec({ ...conn(), hostKey: other.publicKey }, ["touch", path.join(dir, "pwned")]),
    );
    expect(err.kind).to.equal("hostkey");
    expect(err.message).to.contain(`127.0.0.1:${sshd.port}`);
    expect(err.message).to.contain(sshd.hostKeyFingerprint);
    expect(err.message).to.contain(
      execFileSync("ssh-keygen", ["-lf", `${other.path}.pub`], { encoding: "utf8" }).split(" ")[1],
    );
    expect(err.command).to.equal(undefined);
    expect(sshd.commands().slice(ran)).to.deep.equal([]);
    expect(sshd.acceptedLogins()).to.equal(accepted);
    expect(fs.existsSync(path.join(dir, "pwned"))).to.equal(false);
  });

  it("refuses a host knownHosts does not list, with the key to pin", async () => {
    const ran = sshd.commands().length;
    const err = await remoteRejection(
      exec({ ...conn(), knownHosts: `otherhost ${sshd.hostKey}\n` }, ["true"]),
    );
    expect(err.kind).to.equal("hostkey");
    expect(err.message).to.contain(`knownHosts has no entry for [127.0.0.1]:${sshd.port}`);
    expect(sshd.commands().slice(ran)).to.deep.equal([]);
  });

  it("refuses to connect when no host key is pinned, saying how to pin the one offered", async () => {
    const ran = sshd.commands().length;
    const err = await remoteRejection(exec(conn(), ["true"]));
    expect(err.kind).to.equal("hostkey");
    expect(err.message).to.contain("no host key is pinned").and.contain(sshd.hostKeyFingerprint);
    expect(err.message).to.contain(
      `connection.hostKey to "${sshd.hostKey.split(" ").slice(0, 2).join(" ")}"`,
    );
    expect(err.message).to.contain("insecureIgnoreHostKey");
    expect(sshd.commands().slice(ran)).to.deep.equal([]);
  });

  it("connects without verification only when insecureIgnoreHostKey is true", async () => {
    const ran = sshd.commands().length;
    const r = await exec({ ...conn(), insecureIgnoreHostKey: true }, ["echo", "trusting"]);
    expect(r.stdout).to.equal("trusting\n");
    expect(sshd.commands().slice(ran)).to.deep.equal(["echo trusting"]);
  });
});
