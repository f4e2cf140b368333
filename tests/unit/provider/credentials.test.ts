import { expect } from "chai";
import { handler } from "../../../provider/handlers";
import { resetStackConfiguredForTesting } from "../../../provider/impl/common";
import { resetPoolOptions, setDefaultCredentials, setSshProgress } from "../../../provider/ssh";

// Preview (check) says when nothing to log in with is configured at all, naming the stack configuration keys;
// `up` could only fail at the first login. The port is one nothing listens on: check must not dial.
const connection = { host: "127.0.0.1", port: 1, insecureIgnoreHostKey: true };

function configureWith(config: Record<string, string>) {
  return handler("SystemContainer").configure({ config: { get: (k: string) => config[k] } });
}

describe("check without any credential source", () => {
  const agent = process.env.SSH_AUTH_SOCK;
  beforeEach(() => delete process.env.SSH_AUTH_SOCK);
  afterEach(() => {
    if (agent === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = agent;
    setDefaultCredentials({});
    setSshProgress(undefined);
    resetPoolOptions();
    resetStackConfiguredForTesting();
  });

  for (const kind of ["SystemContainer", "LayeredPackage", "EtcdDataMigration"] as const) {
    it(`fails ${kind === "EtcdDataMigration" ? "an" : "a"} ${kind} at preview, naming atomic-host:privateKey and the other keys`, async () => {
      await configureWith({});
      const news =
        kind === "SystemContainer"
          ? { connection, name: "etcd", image: "registry.fedoraproject.org/f27/etcd" }
          : kind === "LayeredPackage"
            ? { connection, packages: ["etcd"] }
            : { connection };
      const r = await handler(kind).check({}, news);
      expect(r.failures).to.have.length(1);
      expect(r.failures[0].property).to.equal("connection.privateKey");
      for (const key of [
        "atomic-host:privateKey",
        "atomic-host:password",
        "atomic-host:privateKeyPassword",
        "atomic-host:user",
      ])
        expect(r.failures[0].reason).to.contain(key);
      expect(r.failures[0].reason).to.contain("no credentials to log in to 127.0.0.1 with");
    });
  }

  const sources: Array<[string, Record<string, string>, Record<string, unknown>, string | undefined]> = [
    ["the stack secret atomic-host:privateKey", { "atomic-host:privateKey": "KEY" }, {}, undefined],
    ["the stack secret atomic-host:password", { "atomic-host:password": "pw" }, {}, undefined],
    ["a key in the connection", {}, { privateKey: "KEY" }, undefined],
    ["a password in the connection", {}, { password: "pw" }, undefined],
    ["an agent socket in the connection", {}, { agentSocketPath: "/run/agent.sock" }, undefined],
    ["SSH_AUTH_SOCK", {}, {}, "/run/agent.sock"],
  ];
  for (const [what, config, extra, sock] of sources) {
    it(`passes with ${what}`, async () => {
      await configureWith(config);
      if (sock) process.env.SSH_AUTH_SOCK = sock;
      const r = await handler("SystemContainer").check(
        {},
        {
          connection: { ...connection, ...extra },
          name: "etcd",
          image: "registry.fedoraproject.org/f27/etcd",
        },
      );
      expect(r.failures).to.deep.equal([]);
    });
  }

  it("says nothing when no stack was configured (a script calling the handlers)", async () => {
    const r = await handler("SystemContainer").check(
      {},
      { connection, name: "etcd", image: "registry.fedoraproject.org/f27/etcd" },
    );
    expect(r.failures).to.deep.equal([]);
  });
});
