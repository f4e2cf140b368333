import { expect } from "chai";
import * as net from "net";
import { closeAll, configurePool, exec, isRemoteError, resetPoolOptions } from "../../../provider/ssh";
import { clearSecretsForTesting } from "../../../provider/ssh/errors";

/** A port on 127.0.0.1 nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("ssh pool: a host found unreachable", () => {
  afterEach(async () => {
    await closeAll();
    resetPoolOptions();
    // Its password is registered for redaction in this process; later test files must not inherit it.
    clearSecretsForTesting();
  });

  it("fails the next operations at once, naming the earlier failure, while the memo lasts", async () => {
    configurePool({ unreachableMemoMs: 60_000, dialBackoffMs: () => 10 });
    const conn = {
      host: "127.0.0.1",
      port: await closedPort(),
      dialErrorLimit: 3,
      insecureIgnoreHostKey: true,
      password: "x",
    };
    const first = await exec(conn, ["true"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRemoteError(first, "connect")).to.equal(true);
    const second = await exec(conn, ["true"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRemoteError(second, "connect")).to.equal(true);
    expect((second as Error).message).to.match(
      /not dialled again: this host could not be reached \d+ s ago in this run/,
    );
  });

  it("dials again every time when the memo is off (the default outside a provider process)", async () => {
    const conn = {
      host: "127.0.0.1",
      port: await closedPort(),
      dialErrorLimit: 1,
      insecureIgnoreHostKey: true,
      password: "x",
    };
    for (let i = 0; i < 2; i++) {
      const err = await exec(conn, ["true"]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).not.to.include("not dialled again");
    }
  });
});
