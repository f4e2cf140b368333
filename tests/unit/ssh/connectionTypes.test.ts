/**
 * Proves at compile time that a `@pulumi/command` connection can be passed where ours is expected, so users can
 * share one connection object between `command.remote.Command` and our resources.
 *
 * The real check is `npx tsc -p tests/tsconfig.json --noEmit` (mocha transpiles without type checking): if a
 * field is renamed, retyped or made required on our side, the `Assert<...>` aliases below stop compiling.
 */
import { expect } from "chai";
import type { types } from "@pulumi/command";
import type { Unwrap } from "@pulumi/pulumi";
import { resolveConnection, type Connection, type ProxyConnection } from "../../../provider/ssh";

/** `@pulumi/command`'s plain connection (what an `Input<ConnectionArgs>` resolves to). */
type CommandConnection = types.output.remote.Connection;
type CommandProxyConnection = types.output.remote.ProxyConnection;
/** The input form, unwrapped. */
type CommandConnectionArgs = Unwrap<types.input.remote.ConnectionArgs>;

type Assert<T extends true> = T;
type IsAssignable<A, B> = [A] extends [B] ? true : false;
/** True when every field of `Theirs` exists in `Ours` and accepts `Theirs`' values. */
type FieldsAccepted<Theirs, Ours> = false extends {
  [K in keyof Theirs]-?: K extends keyof Ours ? IsAssignable<Theirs[K], Ours[K]> : false;
}[keyof Theirs]
  ? false
  : true;
/** Our fields that `@pulumi/command` does not have. */
type OurAdditions = "knownHosts" | "insecureIgnoreHostKey" | "hostKeySource";

// A value typed as @pulumi/command's connection is assignable to ours, in both its output and unwrapped-input forms.
export type _plainIsAssignable = Assert<IsAssignable<CommandConnection, Connection>>;
export type _unwrappedInputIsAssignable = Assert<IsAssignable<CommandConnectionArgs, Connection>>;
export type _proxyIsAssignable = Assert<IsAssignable<CommandProxyConnection, ProxyConnection>>;
// Field by field (structural assignability alone would ignore a field we dropped or renamed).
export type _everyFieldAccepted = Assert<FieldsAccepted<CommandConnection, Connection>>;
export type _everyProxyFieldAccepted = Assert<FieldsAccepted<CommandProxyConnection, ProxyConnection>>;
// Apart from our three additions, we have no field they lack, and our fields' values are valid for them.
export type _noOtherFields = Assert<
  IsAssignable<Exclude<keyof Connection, OurAdditions>, keyof CommandConnection>
>;
export type _sameMeaning = Assert<
  IsAssignable<
    Omit<Connection, OurAdditions | "proxy"> & { proxy?: Omit<ProxyConnection, OurAdditions> },
    CommandConnection
  >
>;
// The checks can fail: an object without `host` is not a connection.
// @ts-expect-error host is required
export type _checksAreNotVacuous = Assert<IsAssignable<Omit<CommandConnection, "host">, Connection>>;

describe("ssh/connection types", () => {
  it("accepts a @pulumi/command connection value as is", () => {
    const theirs: CommandConnection = {
      host: "10.0.0.5",
      port: 2222,
      user: "core",
      password: "pw",
      dialErrorLimit: 3,
      perDialTimeout: 5,
      hostKey: "SHA256:abc",
      proxy: { host: "bastion", user: "jump" },
    };
    const ours: Connection = theirs;
    const rc = resolveConnection(ours);
    expect(rc.label).to.equal("core@10.0.0.5:2222");
    expect(rc.proxy?.label).to.equal("jump@bastion:22");
  });
});
