import { expect } from "chai";
import { execFileSync } from "child_process";
import fc from "fast-check";
import { quoteArg, quoteCommand } from "../../../provider/ssh/quote";

/** Runs a command line with the local /bin/sh and returns the arguments the program received, hex-encoded. */
function argsSeenBySh(line: string): string[] {
  const script = `set -- ${line}\nfor a in "$@"; do printf '%s' "$a" | od -An -tx1 | tr -d ' \\n'; echo; done`;
  return execFileSync("/bin/sh", ["-c", script], { encoding: "utf8" }).split("\n").slice(0, -1);
}

describe("ssh/quote", () => {
  const table: Array<[string, string]> = [
    ["rpm-ostree", "rpm-ostree"],
    ["/usr/bin/atomic", "/usr/bin/atomic"],
    ["--json", "--json"],
    ["a,b:c@d%e+f", "a,b:c@d%e+f"],
    ["", "''"],
    ["two words", "'two words'"],
    ["it's", "'it'\\''s'"],
    ["$(reboot)", "'$(reboot)'"],
    ["`id`", "'`id`'"],
    ["a\nb", "'a\nb'"],
    ["--opt=value", "'--opt=value'"],
    ["~root", "'~root'"],
    ["{a,b}", "'{a,b}'"],
    ["*", "'*'"],
    ["if", "'if'"],
    ["time", "'time'"],
    ["é", "'é'"],
  ];
  for (const [arg, quoted] of table) {
    it(`quotes ${JSON.stringify(arg)} as ${quoted}`, () => {
      expect(quoteArg(arg)).to.equal(quoted);
    });
  }

  it("joins argv with spaces", () => {
    expect(quoteCommand(["systemctl", "is-active", "etcd container"])).to.equal(
      "systemctl is-active 'etcd container'",
    );
  });

  it("rejects a NUL byte naming the argument's position, not its value", () => {
    expect(() => quoteCommand(["echo", "s3cret\0x"])).to.throw(
      TypeError,
      /argument 1 of the command contains a NUL byte/,
    );
    try {
      quoteCommand(["echo", "s3cret\0x"]);
    } catch (err) {
      expect((err as Error).message).not.to.contain("s3cret");
    }
  });

  it("rejects an empty argv", () => {
    expect(() => quoteCommand([])).to.throw(TypeError, /at least one argument/);
  });

  it("hands any string without NUL to a local POSIX sh as exactly that one argument (property)", () => {
    const nasty = fc.constantFrom(
      "'",
      '"',
      "$(",
      ")",
      "`",
      "\n",
      " ",
      "\t",
      "\\",
      "-",
      "é",
      "😀",
      "!",
      "*",
      "~",
      "{a,b}",
      "=",
      "#",
      ";",
      "&",
      "|",
      ">",
      "<",
      "$HOME",
      "if",
    );
    const arg = fc
      .oneof(
        fc.string({ unit: "binary" }),
        fc.array(nasty).map((parts) => parts.join("")),
        fc.string(),
      )
      .filter((s) => !s.includes("\0"));
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 4 }), (args) => {
        const seen = argsSeenBySh(quoteCommand(args));
        expect(seen).to.deep.equal(args.map((a) => Buffer.from(a, "utf8").toString("hex")));
      }),
      { numRuns: 150 },
    );
  });
});
