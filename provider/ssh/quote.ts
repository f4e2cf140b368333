/**
 * The one place where an argv array becomes a shell command line.
 *
 * sshd runs every command as `$SHELL -c "<line>"` with the user's login shell (bash on Fedora), so each argument
 * is wrapped in POSIX single quotes, inside which no character is special. A single quote itself is written as
 * `'\''` (close, escaped quote, reopen). Words made only of characters no POSIX shell treats specially are left
 * bare so that command lines in logs and errors stay readable. The login shell must be POSIX-like (sh, bash,
 * dash, zsh, ksh); csh and fish parse quotes differently.
 */

/**
 * Characters that are literal in any position of a word in sh and bash. `=` is excluded (a first word
 * `A=b` is an assignment), as are `~` (tilde expansion), `{` `}` (brace expansion) and `!` (history).
 */
const BARE_WORD = /^[A-Za-z0-9_/.,:@%+-]+$/;

/**
 * After the command word, `=` is literal too (`--storage=ostree`), and reserved words are plain arguments, but
 * a leading `=` is kept quoted (zsh expands `=cmd`).
 */
const BARE_ARGUMENT = /^[A-Za-z0-9_/.,:@%+-][A-Za-z0-9_/.,:@%+=-]*$/;

/** Words the shell parses as syntax when they appear as the command word. */
const RESERVED_WORDS = new Set([
  "!",
  "case",
  "coproc",
  "do",
  "done",
  "elif",
  "else",
  "esac",
  "fi",
  "for",
  "function",
  "if",
  "in",
  "select",
  "then",
  "time",
  "until",
  "while",
  "[[",
  "]]",
  "{",
  "}",
]);

/**
 * Quotes one argument so that a POSIX shell passes it to the program byte for byte as a single argument.
 *
 * @throws TypeError if `arg` contains a NUL byte, which no C string (and so no argument) can carry.
 */
export function quoteArg(arg: string, position = 0): string {
  if (arg.includes("\0")) {
    throw new TypeError(
      `argument ${position} of the command contains a NUL byte (\\0), which no program argument can carry: ` +
        "remove it, or pass binary data on stdin",
    );
  }
  if (position === 0 ? BARE_WORD.test(arg) && !RESERVED_WORDS.has(arg) : BARE_ARGUMENT.test(arg)) return arg;
  return "'" + arg.replace(/'/g, "'\\''") + "'";
}

/**
 * Turns an argv array into one shell command line, quoting every argument with {@link quoteArg}.
 *
 * @throws TypeError if `argv` is empty or any argument contains a NUL byte (the message names the argument's
 *   position, never its value, which may be a secret).
 */
export function quoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError("a command needs at least one argument (the program to run)");
  return argv.map((arg, i) => quoteArg(arg, i)).join(" ");
}
