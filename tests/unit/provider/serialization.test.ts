import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { makeDynamicProvider } from "../../../provider/dynamicProvider";

// What Pulumi's dynamic-provider host does with `__provider`: serialize the provider object, then load the text
// with require-from-string in the provider process and call its methods.
async function roundTrip(kind: Parameters<typeof makeDynamicProvider>[0]) {
  const provider = makeDynamicProvider(kind);
  const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
  const requireFromString = require("require-from-string");
  return { text, loaded: requireFromString(text).handler() as pulumi.dynamic.ResourceProvider };
}

describe("the serialized provider", () => {
  for (const kind of [
    "SystemContainer",
    "LayeredPackage",
    "EtcdDataMigration",
    "OstreeRemote",
    "HealthGate",
  ] as const) {
    it(`${kind}: captures no client, config or secret, and runs check after a round trip`, async () => {
      const { text, loaded } = await roundTrip(kind);
      // Stored twice in every resource's state: kept small (2.1 KB; seven `async` methods made it 2.9 KB).
      expect(text.length).to.be.lessThan(2300);
      expect(text).to.include('require("pulumi-atomic-host/provider/handlers")');
      expect(text).not.to.match(/ssh2|privateKey\s*:/);
      const result = await loaded.check!({}, { connection: { host: "bad host;" } } as any);
      expect(result.failures!.map((f) => f.property)).to.include("connection.host");
    });
  }
});
