/**
 * The exceptions atomic's entry script distinguishes (`atomic` main at V1.12.1/1.20.1, reference §1 "Exit codes"):
 * a ValueError prints its message on stderr and exits 1; a CalledProcessError prints an empty line on stderr and
 * exits with the child's return code; argparse errors exit 2.
 */

/** Python ValueError/IOError: `sys.stderr.write("%s\n" % e)`, exit 1. */
export class AtomicValueError extends Error {}

/** subprocess.CalledProcessError from `check_call`/`check_output`: stderr "\n", exit `returncode`. */
export class CalledProcessError extends Error {
  constructor(
    readonly returncode: number,
    readonly cmd: string[],
  ) {
    super(`Command '${cmd.join(" ")}' returned non-zero exit status ${returncode}`);
  }
}

/** An argparse error: `<prog>: <message>` + `Try '<prog> --help' for more information.`, exit 2. */
export class ArgparseError extends Error {
  constructor(
    readonly prog: string,
    message: string,
  ) {
    super(message);
  }
}
