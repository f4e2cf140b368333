/**
 * The only I/O a stand-in tool does besides files: print lines and run other host tools (`systemctl`,
 * `systemd-tmpfiles`). Kept behind an interface so command logic can be driven by tests with a recording fake.
 *
 * Output goes straight to fds 1 and 2 with writeSync, so lines interleave with the output of children that inherit
 * those fds exactly as they do under Python's `util.write_out` + `subprocess.check_call`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";

export interface RunResult {
  /** Exit status; 127 when the program is not on PATH. */
  status: number;
  /** Captured stdout (only with `capture`). */
  stdout: string;
}

export interface ToolIo {
  /** Write `text` and a newline to stdout. */
  out(text: string): void;
  /** Write `text` verbatim to stdout. */
  outRaw(text: string): void;
  /** Write `text` verbatim to stderr (callers add newlines). */
  errRaw(text: string): void;
  /**
   * Run a program found on PATH. `capture` mirrors Python's `check_output(cmd, stderr=DEVNULL)`: stdout is
   * returned, stderr discarded. Without it the child inherits stdout/stderr (`check_call`).
   */
  run(argv: string[], opts: { capture: boolean }): RunResult;
}

export function processToolIo(env: NodeJS.ProcessEnv): ToolIo {
  return {
    out: (text) => fs.writeSync(1, text + "\n"),
    outRaw: (text) => fs.writeSync(1, text),
    errRaw: (text) => fs.writeSync(2, text),
    run: (argv, { capture }) => {
      const r = spawnSync(argv[0], argv.slice(1), {
        env,
        stdio: capture ? ["ignore", "pipe", "ignore"] : ["ignore", "inherit", "inherit"],
        encoding: "utf8",
      });
      if (r.error) return { status: 127, stdout: "" };
      return { status: r.status ?? 128 + 9, stdout: typeof r.stdout === "string" ? r.stdout : "" };
    },
  };
}
