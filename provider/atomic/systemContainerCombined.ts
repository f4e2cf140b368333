/**
 * A SystemContainer apply in fewer round trips: the read before a create and the pull a create starts with in one
 * command, and the last step of a plan and the read that verifies it in one command. Each part's output comes
 * back separately, so every step is still judged on its own exit status and words, exactly as when it ran alone.
 *
 * - {@link buildReadThenPullCommand}: the read script, then `atomic pull` only when the read shows nothing of the
 *   container on the host: no NAME path, no NAME.0/NAME.1 checkout, no /etc unit file, the unit not active. On
 *   such a host the create planner's first step is that very pull (planSystemContainerCreate: neither adopted,
 *   repaired, blocked, nor preceded by a stop), so the pull is not speculative. Pulling only fetches into the
 *   host's OSTree repository; it changes no deployment and no unit.
 * - {@link buildStepThenReadCommand}: the step, then the read script, whatever the step's exit status.
 *
 * The markers sit on lines of their own; the step's output is what precedes the first marker, less the one newline
 * the script adds before it (so output without a final newline comes back without one).
 */
import { assertOperand, ok, type ParseResult } from "./result";
import {
  ATOMIC_CHECKOUT_ROOT,
  SYSTEM_CONTAINER_READ_SCRIPT,
  parseSystemContainerReadOutput,
  type SystemContainerObservation,
} from "./systemContainerCommands";

/** What one step of a combined command did: its own exit status and output. */
export interface StepPart {
  /** The step's exit status; null when the combined command ended before the step did (its status is unknown). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

const READ_TAIL = "printf '@@end\\n'\nexit 0\n";
if (!SYSTEM_CONTAINER_READ_SCRIPT.endsWith(READ_TAIL)) {
  throw new Error("SYSTEM_CONTAINER_READ_SCRIPT must end with printf '@@end\\n' and exit 0");
}
/** The read script without its final `exit 0`: its variables (`link`, `active`...) stay set for what follows. */
const READ_BODY = SYSTEM_CONTAINER_READ_SCRIPT.slice(0, -"exit 0\n".length);

export const PULL_BEGIN = "@@pull-begin";
export const PULL_EXIT = "@@pull-exit";
export const STEP_EXIT = "@@step-exit";
export const STEP_END = "@@step-end";

/**
 * `sh -c SCRIPT atomic-host-read ROOT NAME PULL_ARGV...`: the read script's output; then, when nothing of NAME
 * is on the host, `@@pull-begin` on both streams, the pull's own output, and `@@pull-exit STATUS` on stdout.
 */
export const READ_THEN_PULL_SCRIPT = `${READ_BODY.replace(
  "# atomic-host:system-container-read v1",
  "# atomic-host:system-container-read-then-pull v1",
)}shift 2
if [ ! -e "$link" ] && [ ! -L "$link" ] && [ ! -d "$root/$name.0" ] && [ ! -d "$root/$name.1" ] &&
  [ ! -e "/etc/systemd/system/$name.service" ] && [ "$active" != active ]; then
  printf '${PULL_BEGIN}\\n'
  printf '${PULL_BEGIN}\\n' >&2
  "$@"
  rc=$?
  printf '\\n${PULL_EXIT} %s\\n' "$rc"
fi
exit 0
`;

/**
 * `sh -c SCRIPT atomic-host-step ROOT NAME STEP_ARGV...`: the step's output, `@@step-exit STATUS` on stdout and
 * `@@step-end` on stderr, then the read script's output.
 */
export const STEP_THEN_READ_SCRIPT = `# atomic-host:step-then-read v1
root=$1
name=$2
shift 2
"$@"
rc=$?
printf '\\n${STEP_EXIT} %s\\n' "$rc"
printf '\\n${STEP_END}\\n' >&2
set -- "$root" "$name"
${SYSTEM_CONTAINER_READ_SCRIPT}`;

/** `sh -c SCRIPT ARG0 ROOT NAME ARGV...`: paths, the name and the step arrive only as positional parameters. */
function combined(
  script: string,
  arg0: string,
  name: string,
  argv: readonly string[],
  root: string,
): string[] {
  return [
    "sh",
    "-c",
    script,
    arg0,
    assertOperand(root, "checkout root"),
    assertOperand(name, "container name"),
    ...argv,
  ];
}

export function buildReadThenPullCommand(
  name: string,
  pullArgv: readonly string[],
  root: string = ATOMIC_CHECKOUT_ROOT,
): string[] {
  return combined(READ_THEN_PULL_SCRIPT, "atomic-host-read", name, pullArgv, root);
}

export function buildStepThenReadCommand(
  name: string,
  stepArgv: readonly string[],
  root: string = ATOMIC_CHECKOUT_ROOT,
): string[] {
  return combined(STEP_THEN_READ_SCRIPT, "atomic-host-step", name, stepArgv, root);
}

/** Output of {@link buildReadThenPullCommand}: what the read found, and the pull's part when it ran. */
export function parseReadThenPull(
  stdout: string,
  stderr: string,
): ParseResult<{ observed: SystemContainerObservation; pull?: StepPart }> {
  const begin = stdout.indexOf(`\n${PULL_BEGIN}\n`);
  const observed = parseSystemContainerReadOutput(begin < 0 ? stdout : stdout.slice(0, begin + 1));
  if (!observed.ok) return observed;
  if (begin < 0) return ok({ observed: observed.value });
  const rest = stdout.slice(begin + PULL_BEGIN.length + 2);
  // The exit line is the last thing the script prints: search from the end, past anything the pull printed.
  const m = new RegExp(`\\n${PULL_EXIT} (\\d+)\\n$`).exec(rest);
  const errBegin = stderr.indexOf(`${PULL_BEGIN}\n`);
  const pullStderr = errBegin < 0 ? stderr : stderr.slice(errBegin + PULL_BEGIN.length + 1);
  if (!m) {
    // The command ended inside the pull (killed, or its connection lost): the pull's status is unknown.
    return ok({ observed: observed.value, pull: { exitCode: null, stdout: rest, stderr: pullStderr } });
  }
  return ok({
    observed: observed.value,
    pull: { exitCode: Number(m[1]), stdout: rest.slice(0, m.index), stderr: pullStderr },
  });
}

/**
 * Output of {@link buildStepThenReadCommand}: the step's part, and what the read found after it (absent when the
 * command ended before the read finished, or its output cannot be parsed: the caller reads again).
 */
export function parseStepThenRead(
  stdout: string,
  stderr: string,
): { step: StepPart; observed?: SystemContainerObservation; readProblem?: string } {
  // The last exit line followed by the read's first line: anything the step printed comes before it.
  const exits = [...stdout.matchAll(new RegExp(`\\n${STEP_EXIT} (\\d+)\\n(?=@@read 1\\n)`, "g"))];
  const m = exits.at(-1);
  const end = stderr.lastIndexOf(`\n${STEP_END}\n`);
  const stepStderr = end < 0 ? stderr : stderr.slice(0, end);
  if (!m || m.index === undefined) {
    return {
      step: { exitCode: null, stdout, stderr: stepStderr },
      readProblem: "the command ended before the step's exit status was printed",
    };
  }
  const step = { exitCode: Number(m[1]), stdout: stdout.slice(0, m.index), stderr: stepStderr };
  const read = parseSystemContainerReadOutput(stdout.slice(m.index + m[0].length));
  return read.ok ? { step, observed: read.value } : { step, readProblem: read.error };
}
