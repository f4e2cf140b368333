import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandOutput } from "../../../provider/atomic";

/** The text of a golden file in tests/fixtures/atomic (provenance in that folder's README.md). */
export function fixture(name: string): string {
  return readFileSync(join(__dirname, "..", "..", "fixtures", "atomic", name), "utf8");
}

/** A finished command's output, from fixture files or literal text. */
export function output(exitCode: number | null, stdout = "", stderr = ""): CommandOutput {
  return { exitCode, stdout, stderr };
}

/**
 * Runs an argv locally (no shell in between, as sshd's `sh -c` would get it after quoting). Used to prove that
 * the remote scripts really do what their parsers expect, on this machine's GNU coreutils/findutils.
 */
export function runLocally(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CommandOutput {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env });
  if (r.error) throw r.error;
  return { exitCode: r.status, stdout: r.stdout, stderr: r.stderr };
}
