/**
 * What LayeredPackage reads and waits for on a host: `rpm-ostree status` and its version, a transaction another
 * tool runs, a reboot, and the ostree remote a rebase pulls from.
 */
import {
  buildOstreeRemoteListCommand,
  buildRebootCommand,
  buildRpmOstreeStatusCommand,
  buildRpmOstreeVersionCommand,
  parseOstreeRemoteList,
  parseRpmOstreeStatus,
  parseRpmOstreeVersion,
  rpmOstreeCapabilities,
  splitRefspec,
  type RpmOstreeCapabilities,
  type RpmOstreeStatus,
} from "../atomic";
import {
  RemoteError,
  exec,
  isRemoteError,
  readBootId,
  sleep,
  waitForReboot,
  type Connection,
  type RefusalError,
} from "../ssh";
import { TIMEOUTS, execAndParse, hostId, progress, refusal } from "./common";

/** How long to wait for a transaction another tool runs before giving up. */
const TRANSACTION_WAIT_MS = 10 * 60_000;
const TRANSACTION_POLL_MS = 2_000;

/** `rpm-ostree status --json`, parsed. */
export async function readStatus(conn: Connection): Promise<RpmOstreeStatus> {
  const argv = buildRpmOstreeStatusCommand();
  return execAndParse(conn, argv, parseRpmOstreeStatus, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "Is this an rpm-ostree (Fedora Atomic) host? Run `rpm-ostree status` on it.",
  });
}

/** What the host's rpm-ostree supports, from `rpm-ostree --version`. */
export async function readCapabilities(conn: Connection): Promise<RpmOstreeCapabilities> {
  const out = await exec(conn, buildRpmOstreeVersionCommand(), { timeoutMs: TIMEOUTS.readMs });
  const parsed = out.exitCode === 0 ? parseRpmOstreeVersion(out.stdout) : undefined;
  // An unreadable version is treated as the oldest Fedora 27 build: no newer flags are used.
  return rpmOstreeCapabilities(parsed?.ok ? parsed.value : undefined);
}

/** Reads the status, waiting (with a deadline) while another transaction runs on the host. */
export async function idleStatus(conn: Connection): Promise<RpmOstreeStatus> {
  const deadline = Date.now() + TRANSACTION_WAIT_MS;
  let status = await readStatus(conn);
  let said = false;
  while (status.transaction !== null) {
    if (Date.now() > deadline) {
      throw new RemoteError({
        kind: "timeout",
        host: hostId(conn),
        summary: `an rpm-ostree transaction (${status.transaction.join(" ")}) was still running after ${TRANSACTION_WAIT_MS / 1000} s`,
        hint: "Check `rpm-ostree status` on the host; cancel a stuck transaction (`rpm-ostree cancel` on 2018.1+, or restart rpm-ostreed) and run `pulumi up` again.",
      });
    }
    if (!said)
      progress(conn, `waiting for a running rpm-ostree transaction (${status.transaction[0]}) to finish`);
    said = true;
    await sleep(TRANSACTION_POLL_MS);
    status = await readStatus(conn);
  }
  return status;
}

/** Reboots the host and waits for it to come back with a new boot id. Returns the new boot id. */
export async function rebootAndWait(
  conn: Connection,
  timeoutSeconds: number,
  reason: string,
): Promise<string> {
  const previousBootId = await readBootId(conn);
  progress(conn, `rebooting (${reason}); waiting up to ${timeoutSeconds} s for it to come back`);
  try {
    // Under the host's bound too: a reboot request that hangs (a stuck shutdown job) is not left behind.
    await exec(conn, buildRebootCommand(), { timeoutMs: 60_000, hostTimeout: true });
  } catch (err) {
    // The connection drops while systemd takes the host down: that is the reboot working.
    if (!isRemoteError(err, "connection", "timeout", "connect")) throw err;
  }
  const started = Date.now();
  const bootId = await waitForReboot(conn, { previousBootId, timeoutMs: timeoutSeconds * 1000 });
  progress(conn, `back after ${Math.round((Date.now() - started) / 1000)} s with a new boot id`);
  return bootId;
}

/** The upgrade guide's `ostree remote add` for a remote, as the error for a missing one suggests it. */
function remoteAddHint(remote: string): string {
  return remote === "fedora-atomic-27"
    ? `"ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 https://kojipkgs.fedoraproject.org/atomic/27"`
    : `"ostree remote add --set=gpgkeypath=KEYFILE ${remote} URL"`;
}

/** The error for a rebase to a remote the host lacks: names the remote, what the host has, and the fix. */
export function missingRemoteError(
  conn: Connection,
  refspec: string,
  remote: string,
  has?: string[],
): RefusalError {
  const hasList = has === undefined ? "" : ` (it has: ${has.join(", ") || "none"})`;
  return refusal(
    conn,
    `LayeredPackage refused before any rpm-ostree transaction: the rebase to ${refspec} pulls ` +
      `from the ostree remote "${remote}", which this host does not have${hasList}.`,
    `Declare an OstreeRemote named "${remote}" that this LayeredPackage dependsOn (MasterNode, WorkerNode and ` +
      `AtomicCluster with method "packageLayering" declare it), or run ${remoteAddHint(remote)} on the host.`,
  );
}

/**
 * Fails, before any transaction, when `refspec` names a remote the host's repo lacks: rpm-ostree would only
 * fail inside the transaction, after downloading metadata (libostree: `Remote "NAME" not found`).
 */
export async function requireRemote(conn: Connection, refspec: string): Promise<void> {
  const remote = splitRefspec(refspec).remote;
  if (remote === undefined) return;
  const argv = buildOstreeRemoteListCommand();
  const listed = await execAndParse(conn, argv, parseOstreeRemoteList, {
    timeoutMs: TIMEOUTS.readMs,
    hint: "Is this an ostree (Fedora Atomic) host? Run `ostree remote list` on it.",
  });
  const names = listed.map((r) => r.name);
  if (!names.includes(remote)) throw missingRemoteError(conn, refspec, remote, names);
}
