import { expect } from "chai";
import { clearSecretsForTesting, redact } from "../../../provider/ssh/errors";
import { connectionLabel, resolveConnection, setDefaultCredentials } from "../../../provider/ssh/connection";

describe("ssh/connection", () => {
  let savedSock: string | undefined;
  beforeEach(() => {
    savedSock = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    setDefaultCredentials({});
  });
  afterEach(() => {
    if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedSock;
    setDefaultCredentials({});
    clearSecretsForTesting();
  });

  it("applies @pulumi/command's defaults: port 22, user root, 10 dial errors, 15 s per dial", () => {
    const rc = resolveConnection({ host: "10.0.0.5" });
    expect(rc).to.include({
      host: "10.0.0.5",
      port: 22,
      user: "root",
      label: "root@10.0.0.5:22",
      dialErrorLimit: 10,
      perDialTimeoutMs: 15000,
    });
    expect(rc.hostKeyPolicy).to.deep.equal({
      hostKey: undefined,
      knownHosts: undefined,
      insecureIgnoreHostKey: false,
    });
  });

  it("reads dialErrorLimit -1 as unlimited and perDialTimeout 0 as no limit", () => {
    const rc = resolveConnection({ host: "h", dialErrorLimit: -1, perDialTimeout: 0 });
    expect(rc.dialErrorLimit).to.equal(Infinity);
    expect(rc.perDialTimeoutMs).to.equal(0);
  });

  it("uses explicit credentials over the provider defaults, without mixing them", () => {
    setDefaultCredentials({ privateKey: "DEFAULT KEY", password: "default-pw", user: "core" });
    const rc = resolveConnection({ host: "h", password: "explicit-pw" });
    expect(rc.auth).to.deep.equal({
      privateKey: undefined,
      privateKeyPassword: undefined,
      password: "explicit-pw",
      agentSocketPath: undefined,
    });
    expect(rc.user).to.equal("core");
  });

  it("falls back to the provider defaults, then to the agent at SSH_AUTH_SOCK", () => {
    process.env.SSH_AUTH_SOCK = "/run/agent.sock";
    setDefaultCredentials({
      privateKey: "DEFAULT KEY",
      privateKeyPassword: "pp",
      knownHosts: "h ssh-ed25519 AAAA",
    });
    const rc = resolveConnection({ host: "h" });
    expect(rc.auth).to.deep.equal({
      privateKey: "DEFAULT KEY",
      privateKeyPassword: "pp",
      password: undefined,
      agentSocketPath: "/run/agent.sock",
    });
    expect(rc.hostKeyPolicy.knownHosts).to.equal("h ssh-ed25519 AAAA");
    expect(resolveConnection({ host: "h", agentSocketPath: "/mine.sock" }).auth.agentSocketPath).to.equal(
      "/mine.sock",
    );
  });

  it("registers every credential it sees for redaction", () => {
    resolveConnection({ host: "h", password: "pw-from-connection", privateKeyPassword: "passphrase-1" });
    expect(redact("pw-from-connection passphrase-1")).to.equal("[redacted] [redacted]");
  });

  it("gives the proxy its own credentials, inheriting knownHosts but never insecureIgnoreHostKey", () => {
    const rc = resolveConnection({
      host: "10.0.1.5",
      knownHosts: "kh",
      insecureIgnoreHostKey: true,
      proxy: { host: "bastion", port: 2222, user: "jump" },
    });
    expect(rc.proxy).to.include({ label: "jump@bastion:2222" });
    expect(rc.proxy?.hostKeyPolicy).to.deep.equal({
      hostKey: undefined,
      knownHosts: "kh",
      insecureIgnoreHostKey: false,
    });
  });

  describe("pool key", () => {
    it("names user@host:port and never contains a secret", () => {
      const rc = resolveConnection({ host: "h", password: "hunter2-secret" });
      expect(rc.poolKey).to.match(/^root@h:22#[0-9a-f]{16}$/);
      expect(rc.poolKey).not.to.contain("hunter2");
    });
    it("is equal for equal connections and differs when credentials, host key policy or proxy differ", () => {
      const base = { host: "h", password: "a" };
      const key = (c: object) => resolveConnection({ ...base, ...c }).poolKey;
      expect(key({})).to.equal(key({}));
      expect(key({ dialErrorLimit: 1, perDialTimeout: 3 })).to.equal(key({})); // tuning is not identity
      expect(key({ password: "b" })).not.to.equal(key({}));
      expect(key({ hostKey: "SHA256:x" })).not.to.equal(key({}));
      expect(key({ proxy: { host: "b" } })).not.to.equal(key({}));
      expect(key({ user: "core" })).not.to.equal(key({}));
    });
  });

  describe("validation", () => {
    const rows: Array<[object, RegExp]> = [
      [{ host: "" }, /connection\.host must be a non-empty host name/],
      [{ host: "h", port: 0 }, /connection\.port must be an integer from 1 to 65535 \(got 0\)/],
      [{ host: "h", port: 22.5 }, /connection\.port/],
      [
        { host: "h", dialErrorLimit: -2 },
        /connection\.dialErrorLimit must be a whole number of attempts, or -1 for no limit/,
      ],
      [{ host: "h", perDialTimeout: -1 }, /connection\.perDialTimeout must be a number of seconds >= 0/],
      [{ host: "h", proxy: { host: " " } }, /connection\.proxy\.host must be a non-empty/],
    ];
    for (const [conn, message] of rows) {
      it(`rejects ${JSON.stringify(conn)}`, () => {
        expect(() => resolveConnection(conn as never)).to.throw(TypeError, message);
      });
    }
  });

  it("labels a connection without resolving it", () => {
    expect(connectionLabel({ host: "h", port: 2222 })).to.equal("root@h:2222");
  });
});
