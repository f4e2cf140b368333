import type * as pulumi from "@pulumi/pulumi";

/**
 * How to reach a host over SSH. Field names and meanings are those of `@pulumi/command`'s
 * `remote.ConnectionArgs`, so one connection object serves both packages; the last three fields are ours.
 *
 * Credentials may be left out here and set once per stack instead (`pulumi config set --secret
 * atomic-host:privateKey < key`), or come from ssh-agent (`SSH_AUTH_SOCK`). Whatever is given, this package
 * stores the connection in state as a secret and never prints a password, key or passphrase.
 */
export interface ConnectionArgs {
  /** Host name or IP address to connect to. Changing it replaces the resource (it is another host). */
  host: pulumi.Input<string>;
  /** SSH port. Default 22. */
  port?: pulumi.Input<number>;
  /** User to log in as. Default "root" (atomic and rpm-ostree need root). */
  user?: pulumi.Input<string>;
  /** Password for password or keyboard-interactive authentication. */
  password?: pulumi.Input<string>;
  /** Private key in OpenSSH or PEM form (the key itself, not a path). */
  privateKey?: pulumi.Input<string>;
  /** Passphrase of an encrypted `privateKey`. */
  privateKeyPassword?: pulumi.Input<string>;
  /** ssh-agent socket. Default `$SSH_AUTH_SOCK`. */
  agentSocketPath?: pulumi.Input<string>;
  /** Dial attempts before giving up (socket, DNS and timeout errors only). Default 10; -1 means unlimited. */
  dialErrorLimit?: pulumi.Input<number>;
  /** Seconds each dial may take. Default 15; 0 means no limit. */
  perDialTimeout?: pulumi.Input<number>;
  /**
   * The host's public key as an OpenSSH line (`ssh-ed25519 AAAA...`) or its `SHA256:` fingerprint. Without it,
   * `knownHosts` must list the host, or `insecureIgnoreHostKey` must be set.
   */
  hostKey?: pulumi.Input<string>;
  /**
   * Where `hostKey` was configured, e.g. "my-cluster:cluster.hosts[0].hostKey": host-key errors name it instead of
   * `connection.hostKey`. AtomicCluster sets it for hosts read from stack configuration. Not a credential; changing
   * it runs nothing.
   */
  hostKeySource?: pulumi.Input<string>;
  /** A jump host, reached first; the target is dialled through it. Same fields, one hop. */
  proxy?: pulumi.Input<ProxyConnectionArgs>;
  /** known_hosts content (not a path) used to verify the host key when `hostKey` is not given. */
  knownHosts?: pulumi.Input<string>;
  /** Skip host-key verification. Only for throwaway hosts: it lets anyone in the network path impersonate the host. */
  insecureIgnoreHostKey?: pulumi.Input<boolean>;
}

/** A jump host: the fields of {@link ConnectionArgs} without a further proxy. */
export interface ProxyConnectionArgs {
  host: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  user?: pulumi.Input<string>;
  password?: pulumi.Input<string>;
  privateKey?: pulumi.Input<string>;
  privateKeyPassword?: pulumi.Input<string>;
  agentSocketPath?: pulumi.Input<string>;
  dialErrorLimit?: pulumi.Input<number>;
  perDialTimeout?: pulumi.Input<number>;
  hostKey?: pulumi.Input<string>;
  knownHosts?: pulumi.Input<string>;
  insecureIgnoreHostKey?: pulumi.Input<boolean>;
}

/** The resolved, plain form a provider receives: the SSH layer's own connection type. */
export type { Connection } from "./ssh";
