/**
 * Host-key verification: parsing OpenSSH public key lines and `known_hosts` content, fingerprints, and the
 * decision whether a server's key is acceptable. Pure: no I/O; parsers return errors instead of throwing.
 *
 * The dialer calls {@link buildHostKeyCheck} before connecting and hands `verify` to ssh2's `hostVerifier`,
 * which runs during key exchange: a refused key ends the connection before authentication, so neither a
 * credential nor a command is ever sent to an impostor.
 */
import { createHash, createHmac } from "crypto";
import type { HostKeyPolicy } from "./connection";

/** A public key: its type name and its wire-format blob (what the server sends during key exchange). */
export interface PublicKey {
  /** Key type, e.g. `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`. */
  type: string;
  /** The SSH wire-format key blob (the base64-decoded middle field of an OpenSSH public key line). */
  blob: Buffer;
}

/**
 * Host-key algorithms ssh2 can verify, in its order of preference. An RSA key can sign with three of them.
 */
const SUPPORTED_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
  "ssh-dss",
];

/** The SSH host-key algorithms that can produce signatures for a key of `type`. */
export function algorithmsForKeyType(type: string): string[] {
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return SUPPORTED_ALGORITHMS.includes(type) ? [type] : [];
}

/** OpenSSH's SHA-256 fingerprint of a key blob: `SHA256:` + unpadded base64, as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The key type named at the start of a wire-format key blob, or `undefined` if the blob is malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** Formats a key as an OpenSSH public key line (`type base64`), the form `hostKey` accepts. */
export function formatPublicKeyLine(key: PublicKey): string {
  return `${key.type} ${key.blob.toString("base64")}`;
}

/**
 * Parses an OpenSSH public key line: `[options] type base64 [comment]` (the `.pub` file, `authorized_keys` and
 * `ssh-keyscan` forms). Returns an `Error` (not thrown) when no key is found or the blob does not match its type.
 */
export function parsePublicKeyLine(line: string): PublicKey | Error {
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const key = decodeKey(tokens[i], tokens[i + 1]);
    if (key) return key;
  }
  return new Error(
    "not an OpenSSH public key line (expected `type base64 [comment]`, e.g. `ssh-ed25519 AAAA…`)",
  );
}

function decodeKey(type: string, base64: string): PublicKey | undefined {
  if (!/^[a-z0-9@.-]+$/.test(type) || !/^[A-Za-z0-9+/]+={0,3}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, "base64");
  return keyTypeOfBlob(blob) === type ? { type, blob } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// known_hosts

/** One usable line of a `known_hosts` file. */
export interface KnownHostEntry {
  /** `@revoked` or `@cert-authority`, else `undefined`. */
  marker?: "@revoked" | "@cert-authority";
  /** The host patterns field as written (comma-separated patterns, or one `|1|salt|hash`). */
  hosts: string;
  key: PublicKey;
}

/** Parses `known_hosts` content. Comment, blank and malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(content: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of content.split(/\r?\n/)) {
    const entry = parseKnownHostsLine(raw);
    if (entry) entries.push(entry);
  }
  return entries;
}

function parseKnownHostsLine(raw: string): KnownHostEntry | undefined {
  const line = raw.trim();
  if (!line || line.startsWith("#")) return undefined;
  const tokens = line.split(/\s+/);
  let marker: KnownHostEntry["marker"];
  if (tokens[0].startsWith("@")) {
    const m = tokens.shift();
    if (m !== "@revoked" && m !== "@cert-authority") return undefined;
    marker = m;
  }
  if (tokens.length < 3) return undefined;
  const key = decodeKey(tokens[1], tokens[2]);
  return key ? { marker, hosts: tokens[0], key } : undefined;
}

/** The name OpenSSH looks up for a host: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** True when an entry's host field matches `name` (see {@link knownHostsName}). */
export function knownHostsEntryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith("|1|")) return hashedHostMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(",")) {
    const negated = pattern.startsWith("!");
    if (!globMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as written by `ssh-keygen -H` / `HashKnownHosts yes`. */
function hashedHostMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return mac === hash;
}

/** OpenSSH host patterns: `*` and `?` wildcards, case-insensitive. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

// ---------------------------------------------------------------------------------------------------------------
// The decision

/** Whether a server's host key is accepted; when not, the words for the error. */
export type HostKeyVerdict = { ok: true } | { ok: false; summary: string; hint: string };

/** What the dialer needs to verify one hop's host key. */
export interface HostKeyCheck {
  /**
   * Host-key algorithms to offer (ssh2 `algorithms.serverHostKey`), restricted to the pinned key types so a
   * server holding several keys presents the pinned one; `undefined` to offer ssh2's defaults.
   */
  serverHostKeyAlgorithms?: string[];
  /** Decides on the key blob the server presented. */
  verify(blob: Buffer): HostKeyVerdict;
}

/** Where the host lives, for lookups and messages. */
export interface HostKeyTarget {
  host: string;
  port: number;
  hostKeyPolicy: HostKeyPolicy;
}

/**
 * Builds the host-key check for one hop: `hostKey` when set, else `knownHosts`, else refuse (unless
 * `insecureIgnoreHostKey`). Returns an `Error` when `hostKey` is neither a public key line nor a fingerprint.
 */
export function buildHostKeyCheck(target: HostKeyTarget): HostKeyCheck | Error {
  const { hostKey, knownHosts, insecureIgnoreHostKey } = target.hostKeyPolicy;
  if (hostKey !== undefined) return pinnedKeyCheck(hostKey, target);
  if (knownHosts !== undefined) return knownHostsCheck(parseKnownHosts(knownHosts), target);
  if (insecureIgnoreHostKey) return { verify: () => ({ ok: true }) };
  return { verify: (blob) => ({ ok: false, ...unpinnedWords(blob, target) }) };
}

/** The setting a pinned key came from: its stack configuration path when known, else `connection.hostKey`. */
export function hostKeySetting(policy: Pick<HostKeyPolicy, "hostKeySource">): string {
  return policy.hostKeySource ?? "connection.hostKey";
}

function pinnedKeyCheck(hostKey: string, target: HostKeyTarget): HostKeyCheck | Error {
  const setting = hostKeySetting(target.hostKeyPolicy);
  const trimmed = hostKey.trim();
  if (/^SHA256:/i.test(trimmed)) {
    const expected = "SHA256:" + trimmed.slice(7).replace(/=+$/, "");
    return { verify: (blob) => compareFingerprint(blob, expected, target) };
  }
  const pinned = parsePublicKeyLine(trimmed);
  if (pinned instanceof Error) {
    return new Error(
      `${setting} is neither an OpenSSH public key line nor a SHA256: fingerprint: ${pinned.message}`,
    );
  }
  const algorithms = algorithmsForKeyType(pinned.type);
  if (algorithms.length === 0)
    return new Error(`${setting} has a key type ssh2 cannot verify: ${pinned.type}`);
  return {
    serverHostKeyAlgorithms: algorithms,
    verify: (blob) => compareFingerprint(blob, fingerprintSha256(pinned.blob), target),
  };
}

function compareFingerprint(blob: Buffer, expected: string, target: HostKeyTarget): HostKeyVerdict {
  const offered = fingerprintSha256(blob);
  if (offered === expected) return { ok: true };
  return {
    ok: false,
    summary:
      `host key mismatch: the server presented ${describeKey(blob)} but ${hostKeySetting(target.hostKeyPolicy)} pins ${expected}; ` +
      "the connection was refused before any credential or command was sent",
    hint: changedKeyHint(blob, target),
  };
}

function knownHostsCheck(entries: KnownHostEntry[], target: HostKeyTarget): HostKeyCheck {
  const name = knownHostsName(target.host, target.port);
  const forHost = entries.filter(
    (e) => e.marker !== "@cert-authority" && knownHostsEntryMatches(e.hosts, name),
  );
  const revoked = forHost.filter((e) => e.marker === "@revoked").map((e) => fingerprintSha256(e.key.blob));
  const trusted = forHost.filter((e) => e.marker === undefined);
  const algorithms = orderedUnion(trusted.map((e) => algorithmsForKeyType(e.key.type)));
  return {
    serverHostKeyAlgorithms: algorithms.length > 0 ? algorithms : undefined,
    verify: (blob) => knownHostsVerdict(blob, name, trusted, revoked, target),
  };
}

function knownHostsVerdict(
  blob: Buffer,
  name: string,
  trusted: KnownHostEntry[],
  revoked: string[],
  target: HostKeyTarget,
): HostKeyVerdict {
  const offered = fingerprintSha256(blob);
  if (revoked.includes(offered)) {
    return {
      ok: false,
      summary: `the server presented ${describeKey(blob)}, which knownHosts marks @revoked`,
      hint: changedKeyHint(blob, target),
    };
  }
  const expected = trusted.map((e) => fingerprintSha256(e.key.blob));
  if (expected.includes(offered)) return { ok: true };
  if (expected.length === 0) {
    const words = unpinnedWords(blob, target);
    return { ok: false, summary: `knownHosts has no entry for ${name}; ${words.summary}`, hint: words.hint };
  }
  return {
    ok: false,
    summary:
      `host key mismatch: the server presented ${describeKey(blob)} but knownHosts lists ${expected.join(", ")} ` +
      `for ${name}; the connection was refused before any credential or command was sent`,
    hint: changedKeyHint(blob, target),
  };
}

function unpinnedWords(blob: Buffer, target: HostKeyTarget): { summary: string; hint: string } {
  const type = keyTypeOfBlob(blob) ?? "unknown";
  const line = formatPublicKeyLine({ type, blob });
  const file = hostKeyFile(type);
  return {
    summary:
      `no host key is pinned, so the server's identity cannot be verified (it presented ${describeKey(blob)}); ` +
      "the connection was refused before any credential or command was sent",
    hint:
      `check that fingerprint out of band (on the host's console: ssh-keygen -lf ${file}), then set ` +
      `connection.hostKey to "${line}" (or to "${fingerprintSha256(blob)}"), or pass known_hosts content as ` +
      `connection.knownHosts (ssh-keyscan -p ${target.port} ${target.host}); insecureIgnoreHostKey: true turns ` +
      "verification off and is unsafe",
  };
}

/** Where sshd keeps the public host key of a type (Fedora's and Debian's default paths). */
function hostKeyFile(type: string): string {
  return `/etc/ssh/ssh_host_${type.replace(/^ssh-/, "").replace(/^ecdsa-sha2-nistp\d+$/, "ecdsa")}_key.pub`;
}

function changedKeyHint(blob: Buffer, target: HostKeyTarget): string {
  return (
    "if the host was reinstalled and its new key is genuine, check the new fingerprint on the host's console " +
    `(ssh-keygen -lf ${hostKeyFile(keyTypeOfBlob(blob) ?? "ed25519")}) and update ${target.hostKeyPolicy.hostKeySource ?? "connection.hostKey/knownHosts"} for ` +
    `${knownHostsName(target.host, target.port)}; otherwise treat this as a possible man-in-the-middle and stop`
  );
}

function describeKey(blob: Buffer): string {
  return `${keyTypeOfBlob(blob) ?? "a"} key ${fingerprintSha256(blob)}`;
}

function orderedUnion(lists: string[][]): string[] {
  const wanted = new Set(lists.flat());
  return SUPPORTED_ALGORITHMS.filter((a) => wanted.has(a));
}
