/** Assertions on promises that must reject, shared by the unit and integration tests. */
import { isRemoteError, type RemoteError } from "../../provider/ssh";

/** What `p` rejects with; fails the test when `p` resolves. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) throw new Error("expected a rejection, but it resolved");
  return err;
}

/** What `p` rejects with, which must be a {@link RemoteError}; fails the test otherwise. */
export async function remoteRejection(p: Promise<unknown>): Promise<RemoteError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRemoteError(err)) throw new Error(`expected a RemoteError, got ${String(err)}`);
  return err;
}
