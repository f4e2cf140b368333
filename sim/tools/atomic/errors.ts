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

/**
 * Python 3's OSError as `str()` shows it: `[Errno N] strerror`, then `: 'filename'` when the call named a file.
 * atomic's entry script catches it with ValueError (IOError is OSError in Python 3, `atomic`:194-198 at V1.12.1 and
 * v1.19.1): the text on stderr, exit 1. A write that fails on a file already open names no file.
 */
export class PyOSError extends Error {
  constructor(
    readonly errno: number,
    readonly strerror: string,
    readonly filename?: string,
  ) {
    super(`[Errno ${errno}] ${strerror}${filename === undefined ? "" : `: '${filename}'`}`);
  }
}

/**
 * A GLib.Error raised through PyGObject (libostree's checkout), whose `str()` is `"%s: %s (%d)" % (domain, message,
 * code)` (pygobject gi/_error.py, GError.__str__). atomic's entry script prints it from its `except Exception`
 * (`atomic`:211-213 at V1.12.1), exit 1.
 */
export class GLibError extends Error {
  constructor(
    readonly domain: string,
    readonly glibMessage: string,
    readonly code: number,
  ) {
    super(`${domain}: ${glibMessage} (${code})`);
  }
}

/** errno values (Linux) and GIO codes (`g_io_error_from_errno`) of the failures the simulator produces for real. */
const ERRNOS: Record<string, { errno: number; strerror: string; gio: number }> = {
  ENOSPC: { errno: 28, strerror: "No space left on device", gio: 12 /* G_IO_ERROR_NO_SPACE */ },
};

/** The Node error's errno as Python would see it, or undefined for an error the simulator does not translate. */
export function errnoOf(e: unknown): { errno: number; strerror: string; gio: number } | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? ERRNOS[code] : undefined;
}
