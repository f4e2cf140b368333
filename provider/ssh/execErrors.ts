/** The errors a command's run over SSH ends in when it ends without an exit status (see `exec.ts`). */
import { RemoteError, messageOf, tailLines } from "./errors";
import type { HostTimeoutPlan } from "./hostTimeout";
import type { Lease } from "./pool";

export function isChannelOpenFailure(err: unknown): boolean {
  return err instanceof Error && /Channel open failure/i.test(err.message);
}

export function channelError(err: unknown, lease: Lease, command: string): RemoteError {
  if (isChannelOpenFailure(err)) {
    return new RemoteError({
      kind: "connection",
      host: lease.label,
      command,
      summary: `the server kept refusing to open a channel (${messageOf(err)}); the command did not run`,
      hint: "the host's sshd MaxSessions may be lower than the pool's maxChannels (8); lower maxChannels or raise MaxSessions",
    });
  }
  if (lease.gone || /No response from server|Not connected/i.test(messageOf(err))) {
    return connectionLost(lease, command, "", "while the command was being started");
  }
  return new RemoteError({
    kind: "command",
    host: lease.label,
    command,
    summary: `sshd refused to run the command: ${messageOf(err)}`,
    hint: "check the host's sshd configuration (ForceCommand, PermitRootLogin, the user's shell)",
  });
}

export function connectionLost(
  lease: Lease,
  command: string,
  stderr: string,
  when = "while the command was running",
): RemoteError {
  return new RemoteError({
    kind: "connection",
    host: lease.label,
    command,
    summary: `the connection to the host was lost ${when}; the command may or may not have completed`,
    stderrTail: tailLines(stderr),
    hint: "check whether the host rebooted or sshd restarted, and inspect the host's state before retrying",
  });
}

export function timeoutError(
  lease: Lease,
  command: string,
  timeoutMs: number,
  stderr: string,
  bound: HostTimeoutPlan | undefined,
): RemoteError {
  if (bound) {
    return new RemoteError({
      kind: "timeout",
      host: lease.label,
      command,
      summary:
        `no exit status within ${timeoutMs} ms, nor after the host's own limit (SIGTERM at ${bound.termMs / 1000} s, ` +
        `SIGKILL ${bound.killAfterMs / 1000} s later) should have stopped it: the connection stalled, or the host's ` +
        "timeout was itself killed; other work on this host waits out one more host limit",
      stderrTail: tailLines(stderr),
      hint: "check the host and the network; the command may have partly run, so check the host before retrying",
    });
  }
  return new RemoteError({
    kind: "timeout",
    host: lease.label,
    command,
    summary:
      `the command did not finish within ${timeoutMs} ms; it was sent SIGTERM, then SIGKILL, and its channel was ` +
      "closed, but sshd does not deliver signals to root sessions, so it may still be running on the host",
    stderrTail: tailLines(stderr),
    hint:
      "if it is just slow, raise the timeout; it may have partly run or still be running, so check the host " +
      "before retrying (run it with hostTimeout to have the host enforce the limit)",
  });
}
