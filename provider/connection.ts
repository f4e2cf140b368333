import type * as pulumi from "@pulumi/pulumi";
import type { Connection, ProxyConnection } from "./ssh";

/**
 * How to reach a host over SSH, as a resource takes it: the SSH layer's {@link Connection}, each field a
 * `pulumi.Input` (see that type for every field's meaning and default). Field names and meanings are those of
 * `@pulumi/command`'s `remote.ConnectionArgs`, so one connection object serves both packages; `knownHosts`,
 * `insecureIgnoreHostKey` and `hostKeySource` are ours.
 *
 * Changing `host` or `port` replaces the resource (it is another host). Credentials may be left out here and set
 * once per stack instead (`pulumi config set --secret atomic-host:privateKey < key`), or come from ssh-agent
 * (`SSH_AUTH_SOCK`). Whatever is given, this package stores the connection in state as a secret and never
 * prints a password, key or passphrase.
 */
export type ConnectionArgs = InputFields<Omit<Connection, "proxy">> & {
  /** A jump host, reached first; the target is dialled through it. Same fields, one hop. */
  proxy?: pulumi.Input<ProxyConnectionArgs>;
};

/** The arguments every resource on one host takes. */
export interface HostArgs {
  /** How to reach the host. Stored as a secret. Changing `host` or `port` replaces the resource. */
  connection: pulumi.Input<ConnectionArgs>;
  /**
   * A name for the host in progress lines and in the preview, e.g. "master1" (the components pass the cluster's
   * host name). Default: the `host` output (`address:port`). Changing it runs nothing.
   */
  hostName?: pulumi.Input<string>;
}

/** A jump host: the fields of {@link ConnectionArgs} without a further proxy. */
export type ProxyConnectionArgs = InputFields<ProxyConnection>;

/** `T` with each field a `pulumi.Input` (optional fields stay optional). */
type InputFields<T> = { [K in keyof T]: pulumi.Input<NonNullable<T[K]>> };

/** The resolved, plain form a provider receives: the SSH layer's own connection type. */
export type { Connection } from "./ssh";
