/**
 * EtcdDataMigration's copy: the one host-side migrate script (ETCD_MIGRATE_SCRIPT) run under its host-side time
 * bound, and what its outcome means, read back from the host when the connection was lost meanwhile.
 */
import { randomBytes } from "crypto";
import {
  buildEtcdMigrateCommand,
  buildManifestCommand,
  buildMigrateResultCommand,
  formatCommandForDisplay,
  parseEtcdMigrateOutput,
  parseManifestOutput,
  parseMigrateResult,
  type EtcdMigrateOutcome,
  type EtcdRestartOutcome,
  type ManifestEntry,
} from "../atomic";
import {
  RemoteError,
  connectionLabel,
  exec,
  forgetUnreachable,
  isRemoteError,
  planHostTimeout,
  quoteCommand,
  readBootId,
  releaseHostHold,
  sleep,
  type Connection,
} from "../ssh";
import { PartialFailure, TIMEOUTS, execAndParse, progress, runStep, toolFailure } from "./common";

/** Where the migration copies from and to, with the unit it stops and the conflict policy. */
export type Spec = { source: string; destination: string; unit: string; conflict: "fail" | "backup" };

/** DIR's manifest: every entry below it, with a sha256 for each file. */
export async function manifest(conn: Connection, dir: string): Promise<ManifestEntry[]> {
  const argv = buildManifestCommand(dir);
  return execAndParse(conn, argv, parseManifestOutput, {
    timeoutMs: TIMEOUTS.longMs,
    hint: `Could not list ${dir}.`,
  });
}

/** How long the migration script may run: a copy of up to etcd's 8 GiB quota on a slow disk. */
const MIGRATE_TIMEOUT_MS = TIMEOUTS.longMs;
/** Between the host's SIGTERM and SIGKILL of the script: its rollback (remove the copy, restart etcd) runs here. */
const MIGRATE_KILL_AFTER_MS = 60_000;
const OUTCOME_POLL_MS = 1000;

const REASON_TEXT: Record<string, string> = {
  "stop-failed": "systemctl stop failed",
  "member-missing": "DEST/member disappeared before it could be moved aside",
  "backup-exists": "a backup with the same timestamp already exists",
  "backup-failed": "moving DEST/member aside failed",
  "copy-failed": "cp -a failed",
  "source-unreadable": "the source could not be listed",
  "copy-unreadable": "the copy could not be listed",
  "odd-names": "the source has entries with names an etcd member directory never has",
  "verify-mismatch": "the copy does not match the source",
  "member-exists": "DEST/member appeared meanwhile",
  "rename-failed": "mv -T of the verified copy failed",
  "client-gone": "its client went away (connection lost or the CLI cancelled), so it did not commit",
  interrupted: "the host-side time limit stopped it",
};

/**
 * Runs the migration script (stop, [backup], copy, verify, rename: see ETCD_MIGRATE_SCRIPT) and returns the
 * source's manifest. When the connection is lost or times out, the script carries on and decides on the host
 * (it rolls back and restarts etcd when its client is gone); this waits for the outcome it records, reconnecting,
 * until the script's host-side bound has passed, so the error says what is true on the host.
 */
export async function runMigration(
  conn: Connection,
  spec: Spec,
  backupStamp: string | undefined,
): Promise<ManifestEntry[]> {
  const tempId = randomBytes(6).toString("hex");
  const argv = buildEtcdMigrateCommand({ ...spec, tempId, backupTimestamp: backupStamp });
  // The outcome file is in /run: a reboot ends the script and empties /run, so a new boot id ends the wait.
  const bootId = await readBootId(conn, { timeoutMs: TIMEOUTS.readMs });
  const started = Date.now();
  let outcome: EtcdMigrateOutcome;
  let lost: RemoteError | undefined;
  let ended: string | undefined;
  try {
    const out = await runStep(conn, { argv, why: "migrate" }, MIGRATE_TIMEOUT_MS, {
      killAfterMs: MIGRATE_KILL_AFTER_MS,
    });
    ended = out.signal ? `signal ${out.signal}` : `exit status ${out.exitCode}`;
    outcome = parseEtcdMigrateOutput({ exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr });
  } catch (err) {
    if (!isRemoteError(err, "connection", "timeout")) throw err;
    lost = err;
    outcome = { kind: "unknown", stderr: err.stderrTail };
  }
  if (outcome.kind === "unknown" && ended !== undefined) {
    // Its exit status came back, so the script has ended without printing an outcome (killed: SIGKILL runs no
    // trap): what it recorded on the host is all there will ever be. Read it once; do not wait for more.
    const recorded = await awaitOutcome(conn, tempId, Date.now(), bootId);
    outcome = (recorded !== "rebooted" ? recorded : undefined) ?? {
      kind: "unknown",
      stderr: [`the script ended (${ended}) before recording an outcome, so it was killed`, outcome.stderr]
        .filter((x) => x)
        .join("; "),
    };
  } else if (outcome.kind === "unknown") {
    progress(conn, "the migration's outcome did not come back over SSH; reading it from the host");
    const deadline = started + planHostTimeout(MIGRATE_TIMEOUT_MS, MIGRATE_KILL_AFTER_MS).boundMs + 5000;
    const recorded = await awaitOutcome(conn, tempId, deadline, bootId);
    // The script has ended: nobody needs to wait for its host-side bound any more.
    if (recorded) releaseHostHold(conn);
    outcome =
      recorded === "rebooted"
        ? {
            kind: "unknown",
            stderr:
              "the host rebooted during the migration, which ended the script before it recorded an outcome; " +
              `${spec.unit} starts at boot on the source data if it is enabled`,
          }
        : (recorded ?? outcome);
  }
  const display = formatCommandForDisplay(argv, { quote: quoteCommand });
  const kind = lost?.kind ?? "command";
  const lostNote = lost
    ? `${lost.kind === "timeout" ? "no answer in time" : "the connection was lost"} during the migration; on the host, `
    : "";
  switch (outcome.kind) {
    case "done":
      if (lost) progress(conn, "the connection was lost, but the migration completed on the host");
      return outcome.source ?? (await manifest(conn, spec.source));
    case "refused":
      throw toolFailure(
        conn,
        argv,
        `the migration refused to start: ${outcome.message}`,
        "Nothing was changed and etcd was not stopped; fix the cause and run pulumi up again.",
      );
    case "rolledBack": {
      const what = [
        REASON_TEXT[outcome.reason] ?? outcome.reason,
        ...(outcome.differences && outcome.differences.length > 0 ? [outcome.differences.join("; ")] : []),
      ].join(": ");
      const restart = restartSentence(outcome.restart, spec);
      const backupPath = backupStamp ? `${spec.destination}/member.backup-${backupStamp}` : undefined;
      const summary =
        `${lostNote}EtcdDataMigration failed at the ${outcome.step} step (${what}) and rolled back: the copy was ` +
        `removed${backupPath && !outcome.backupKept ? `, ${spec.destination}/member was moved back` : ""}, and ${restart}`;
      const error = new RemoteError({
        kind,
        host: connectionLabel(conn),
        summary,
        command: display,
        stderrTail: outcome.stderr,
        hint:
          outcome.restart.kind === "restartFailed"
            ? `ETCD IS NOT RUNNING. On the host run: systemctl start ${spec.unit}; then run pulumi up again.`
            : outcome.reason === "client-gone" || outcome.reason === "interrupted"
              ? "The source was never modified. Run pulumi up again once the host answers: the copy is redone from scratch."
              : outcome.reason === "verify-mismatch"
                ? "Was something else writing to the source? Run pulumi up again: the copy is redone from scratch."
                : "The source was never modified. Fix the cause (free space, permissions) and run pulumi up again: the copy is redone from scratch.",
      });
      if (backupPath && outcome.backupKept) {
        throw new PartialFailure(
          `${error.message}\nThe previous ${spec.destination}/member is at ${backupPath}.`,
          "",
          {
            backupPath,
          },
        );
      }
      throw error;
    }
    case "unknown":
      throw new RemoteError({
        kind: lost?.kind ?? "command",
        host: connectionLabel(conn),
        summary:
          `${lostNote}the migration's outcome could not be learned (${outcome.stderr || "no outcome recorded"}). ` +
          `${spec.unit} MAY BE STOPPED`,
        command: display,
        hint:
          `On the host check \`systemctl is-active ${spec.unit}\`; if it is not active, run: systemctl start ${spec.unit} ` +
          `(its data in ${spec.source} is untouched). Then run pulumi up again: it discards any partial copy ` +
          `(${spec.destination}/.member.tmp-*) and migrates from scratch.`,
      });
  }
}

function restartSentence(r: EtcdRestartOutcome, spec: Spec): string {
  switch (r.kind) {
    case "restarted":
      return `${spec.unit} was started again on the source data (${spec.source}, never modified) and is active`;
    case "restartFailed":
      return `${spec.unit} COULD NOT BE STARTED AGAIN (it is ${r.state}): etcd is down on this host`;
    case "notRunning":
      return `${spec.unit} was left stopped, as it was before the migration (${r.state || "inactive"})`;
  }
}

/**
 * Polls the migration's outcome file until it appears or `deadline` passes, reconnecting as needed; "rebooted"
 * when the host's boot id is no longer `bootId` (the script died with the old boot, and /run with its file).
 */
async function awaitOutcome(
  conn: Connection,
  tempId: string,
  deadline: number,
  bootId: string,
): Promise<EtcdMigrateOutcome | "rebooted" | undefined> {
  for (;;) {
    forgetUnreachable(conn); // the host is expected back: dial it again, not the memo of its last failure
    try {
      const out = await exec(conn, buildMigrateResultCommand(tempId), { timeoutMs: TIMEOUTS.readMs });
      const parsed = out.exitCode === 0 ? parseMigrateResult(out.stdout) : undefined;
      if (parsed) return parsed;
      if ((await readBootId(conn, { timeoutMs: TIMEOUTS.readMs })) !== bootId) return "rebooted";
    } catch (err) {
      if (!isRemoteError(err, "connect", "connection", "timeout")) throw err;
    }
    if (Date.now() > deadline) return undefined;
    await sleep(OUTCOME_POLL_MS);
  }
}
