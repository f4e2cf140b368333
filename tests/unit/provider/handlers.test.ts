import { expect } from "chai";
import { handlingErrors, type EngineHandler } from "../../../provider/handlers";
import { PartialFailure } from "../../../provider/impl/common";
import { rejection } from "../../helpers/rejection";

/** A handler whose create and update fail with `err`, and whose other methods are never called here. */
function failingWith(err: Error): EngineHandler {
  const never = () => Promise.reject(new Error("not called in this test"));
  return {
    configure: never,
    check: never,
    diff: never,
    read: never,
    delete: never,
    create: () => Promise.reject(err),
    update: () => Promise.reject(err),
  };
}

describe("the handlers' one place for errors", () => {
  it("names the resource's provider in the state a PartialFailure of create or update carries", async () => {
    const partial = () => new PartialFailure("the host was changed, then failed", "host:22/etcd", { a: 1 });
    const created = await rejection(
      handlingErrors(failingWith(partial())).create({ name: "etcd", __provider: "serialized" }),
    );
    expect(created).to.be.instanceOf(PartialFailure);
    expect((created as PartialFailure).properties).to.deep.equal({ a: 1, __provider: "serialized" });
    const updated = await rejection(
      handlingErrors(failingWith(partial())).update(
        "host:22/etcd",
        { __provider: "old" },
        { __provider: "new" },
      ),
    );
    expect((updated as PartialFailure).properties.__provider).to.equal("new");
  });

  it("keeps a provider the PartialFailure already names, and passes every other error through as it is", async () => {
    const named = new PartialFailure("failed", "id", { __provider: "own" });
    const err = await rejection(handlingErrors(failingWith(named)).create({ __provider: "other" }));
    expect((err as PartialFailure).properties.__provider).to.equal("own");
    const plain = new TypeError("source must be a non-empty string");
    expect(await rejection(handlingErrors(failingWith(plain)).create({ __provider: "p" }))).to.equal(plain);
  });
});
