/**
 * Validation of a resource's `connection` (and its proxy's): the fields that reach the host indirectly, and the
 * types of the credentials, whose values never appear in a reason.
 */
import { isIP } from "node:net";
import { isPlainObject } from "./result";
import { isUnknown } from "./unknown";
import {
  failure,
  isAbsent,
  kindOf,
  optionalString,
  requiredString,
  shown,
  type CheckFailure,
} from "./validateHelpers";

const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const POSIX_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/**
 * The connection's `host`, `port` and `user` (and its proxy's). They reach the host indirectly: the host and
 * user appear in logs, error messages and lock names, and the user becomes the remote login.
 * - host: an IPv4/IPv6 address or a DNS name of letters, digits and `-` per label (at most 253 characters);
 * - port: a whole number from 1 to 65535;
 * - user: a POSIX portable user name, `^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`.
 * Credentials (password, keys, passphrase) are not validated here and never appear in a reason.
 */
export function validateConnection(value: unknown, property = "connection"): CheckFailure[] {
  if (isUnknown(value)) return [];
  if (isAbsent(value))
    return failure(property, `${property} is required: { host, port?, user?, privateKey?, ... }`);
  if (!isPlainObject(value)) {
    // Reported at `.host`, not at the connection itself: the engine prints the program's value of the named
    // property next to the reason, and the resources pass the connection as a secret, so a failure naming
    // "connection" printed it in plaintext ("property connection value {&{{ssh://root:pw@node1}}} has a
    // problem"). For "connection.host" it prints nothing, and host is indeed what is missing.
    return failure(
      `${property}.host`,
      `${property} must be an object { host, port?, user?, ... }; got ${kindOf(value)}`,
    );
  }
  const failures: CheckFailure[] = [];
  const hostForm = 'a host name or an IP address, e.g. "node1.example.com" or "192.0.2.10"';
  failures.push(
    ...requiredString(value.host, `${property}.host`, hostForm, (host) =>
      isIP(host) !== 0 || (host.length <= 253 && HOSTNAME.test(host))
        ? undefined
        : `${property}.host must be ${hostForm}; got ${shown(host)}`,
    ),
  );
  const port = value.port;
  if (!isAbsent(port) && !isUnknown(port)) {
    if (!(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) {
      failures.push({
        property: `${property}.port`,
        reason: `${property}.port must be a whole number from 1 to 65535 (default 22); got ${shown(port)}`,
      });
    }
  }
  const userForm =
    'a POSIX user name (letters, digits, "_", "." and "-", not starting with "-", at most 32 characters), e.g. "root"';
  failures.push(
    ...optionalString(value.user, `${property}.user`, userForm, (user) =>
      POSIX_USER.test(user) ? undefined : `${property}.user must be ${userForm}; got ${shown(user)}`,
    ),
  );
  failures.push(...validateConnectionOptions(value, property));
  if (!isAbsent(value.proxy)) failures.push(...validateConnection(value.proxy, `${property}.proxy`));
  return failures;
}

/** The connection fields that must be strings; the first three are credentials. */
const CONNECTION_STRING_FIELDS = [
  "password",
  "privateKey",
  "privateKeyPassword",
  "agentSocketPath",
  "hostKey",
  "hostKeySource",
  "knownHosts",
] as const;

/**
 * The types of the credential and option fields. Without this a number given as `password` passed `check` and
 * failed at `up` inside the SSH layer with a TypeError ("value.trim is not a function") instead of naming the
 * field; and a `dialErrorLimit` of "3" was only refused once the connection was dialled. A reason here gives the
 * kind of the value, never the value: these fields hold credentials.
 */
function validateConnectionOptions(value: Record<string, unknown>, property: string): CheckFailure[] {
  const failures: CheckFailure[] = [];
  for (const field of CONNECTION_STRING_FIELDS) {
    const v = value[field];
    if (isAbsent(v) || isUnknown(v) || typeof v === "string") continue;
    failures.push({
      property: `${property}.${field}`,
      reason: `${property}.${field} must be a string; got ${kindOf(v)}`,
    });
  }
  const flag = value.insecureIgnoreHostKey;
  if (!isAbsent(flag) && !isUnknown(flag) && typeof flag !== "boolean") {
    failures.push({
      property: `${property}.insecureIgnoreHostKey`,
      reason: `${property}.insecureIgnoreHostKey must be true or false; got ${kindOf(flag)}`,
    });
  }
  const limit = value.dialErrorLimit;
  if (!isAbsent(limit) && !isUnknown(limit) && !(Number.isInteger(limit) && (limit as number) >= -1)) {
    failures.push({
      property: `${property}.dialErrorLimit`,
      reason: `${property}.dialErrorLimit must be a whole number of attempts, or -1 for no limit (default 10); got ${shown(limit)}`,
    });
  }
  const perDial = value.perDialTimeout;
  if (
    !isAbsent(perDial) &&
    !isUnknown(perDial) &&
    !(typeof perDial === "number" && Number.isFinite(perDial) && perDial >= 0)
  ) {
    failures.push({
      property: `${property}.perDialTimeout`,
      reason: `${property}.perDialTimeout must be a number of seconds >= 0, 0 for no limit (default 15); got ${shown(perDial)}`,
    });
  }
  return failures;
}
