import { expect } from "chai";
import fc from "fast-check";
import { exec } from "../../../provider/ssh";
import { useSshd } from "../../helpers/sshd";

/** Prints the number of arguments, then the first one as hex, as the remote side received them. */
const PROBE = `printf '%s:' "$#"; printf %s "$1" | od -An -tx1 | tr -d ' \\n'`;

describe("ssh transport against real sshd: argv quoting", function () {
  const ssh = useSshd("quote");

  it("delivers any string byte for byte as one argument, over one pooled connection (property, 150 cases)", async () => {
    const logins = ssh.sshd.acceptedLogins();
    const nasty = fc.constantFrom(
      "'",
      '"',
      "$(id)",
      "`id`",
      "\n",
      " ",
      "\t",
      "\\",
      "-n",
      "--",
      "é",
      "ü",
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
      "${x}",
      "%s",
    );
    const arg = fc
      .oneof(
        fc.string({ unit: "binary" }),
        fc.array(nasty, { maxLength: 8 }).map((p) => p.join("")),
        fc.string(),
      )
      .filter((s) => !s.includes("\0"));
    await fc.assert(
      fc.asyncProperty(arg, async (value) => {
        const r = await exec(ssh.conn, ["sh", "-c", PROBE, "sh", value]);
        expect(r.exitCode).to.equal(0);
        expect(r.stdout).to.equal(`1:${Buffer.from(value, "utf8").toString("hex")}`);
      }),
      { numRuns: 150 },
    );
    // printf itself, with a leading dash and a format-looking argument, as a program argument.
    expect((await exec(ssh.conn, ["printf", "%s|", "-n", "%d", "a b"])).stdout).to.equal("-n|%d|a b|");
    expect(ssh.sshd.acceptedLogins() - logins).to.equal(1);
  });

  it("rejects NUL with a clear error and sends nothing", async () => {
    const ran = ssh.sshd.commands().length;
    let caught: unknown;
    await exec(ssh.conn, ["printf", "%s", "a\0b"]).catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.equal(
      "argument 2 of the command contains a NUL byte (\\0), which no program argument can carry: remove it, or pass binary data on stdin",
    );
    expect(ssh.sshd.commands().length).to.equal(ran);
  });
});
