import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { EtcdDataMigration, LayeredPackage, OstreeRemote, SystemContainer } from "../../../provider";

interface Seen {
  type: string;
  props: Record<string, unknown>;
  secretOutputs: string[];
}

/** Constructs `make()` under mocks and returns what was registered: type, properties, secret outputs. */
async function registered(make: (opts: pulumi.CustomResourceOptions) => unknown): Promise<Seen> {
  await pulumi.runtime.setMocks(
    { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs },
    "proj",
    "stack",
    true,
  );
  let seen: Seen | undefined;
  make({
    transformations: [
      (args) => {
        seen = {
          type: args.type,
          props: args.props,
          secretOutputs: (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [],
        };
        return undefined;
      },
    ],
  });
  await new Promise((r) => setTimeout(r, 20));
  return seen!;
}

const connection = { host: "10.0.0.5", password: "pw" };

describe("every resource on one host (HostResource)", () => {
  const cases: [string, (opts: pulumi.CustomResourceOptions) => unknown][] = [
    ["SystemContainer", (o) => new SystemContainer("r", { connection, name: "etcd", image: "r.io/a/b" }, o)],
    ["LayeredPackage", (o) => new LayeredPackage("r", { connection, packages: ["etcd"] }, o)],
    ["EtcdDataMigration", (o) => new EtcdDataMigration("r", { connection }, o)],
    [
      "OstreeRemote",
      (o) => new OstreeRemote("r", { connection, name: "f27", url: "https://a.example/27" }, o),
    ],
  ];
  for (const [kind, make] of cases) {
    it(`${kind}: is atomic-host:${kind}, its connection a secret input and output, host and commands computed`, async () => {
      const seen = await registered(make);
      expect(seen.type).to.equal(`pulumi-nodejs:dynamic/atomic-host:${kind}`);
      expect(seen.secretOutputs).to.include("connection");
      expect(await pulumi.isSecret(pulumi.output(seen.props.connection))).to.equal(true);
      expect(seen.props).to.have.property("host", undefined);
      expect(seen.props).to.have.property("commands", undefined);
    });
  }
});
