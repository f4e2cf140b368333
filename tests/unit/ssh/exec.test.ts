import { expect } from "chai";
import { requireSuccess, type ExecResult } from "../../../provider/ssh/exec";
import { buildRemoteTimeoutArgv, planHostTimeout } from "../../../provider/ssh/hostTimeout";
import { OutputBuffer } from "../../../provider/ssh/outputBuffer";
import { RemoteError } from "../../../provider/ssh/errors";

function result(fields: Partial<ExecResult>): ExecResult {
  return {
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 1,
    host: "root@h:22",
    command: "false",
    ...fields,
  };
}

describe("ssh/exec (pure parts)", () => {
  describe("host-side bound", () => {
    const rows: [number, { termMs: number; killAfterMs: number; boundMs: number }][] = [
      // 30 min: SIGKILL 10 s (cap) after SIGTERM, 5 s (cap) before the client gives up.
      [1_800_000, { termMs: 1_785_000, killAfterMs: 10_000, boundMs: 1_795_000 }],
      // 2 min: 6 s grace, 2.4 s margin.
      [120_000, { termMs: 111_600, killAfterMs: 6000, boundMs: 117_600 }],
      // 3 s: floors of 0.5 s each.
      [3000, { termMs: 2000, killAfterMs: 500, boundMs: 2500 }],
    ];
    for (const [timeoutMs, plan] of rows) {
      it(`ends a ${timeoutMs} ms command on the host before the client gives up`, () => {
        expect(planHostTimeout(timeoutMs)).to.deep.equal(plan);
        expect(plan.boundMs).to.be.lessThan(timeoutMs);
      });
    }
    it("takes an explicit kill grace", () => {
      expect(planHostTimeout(1_800_000, 60_000)).to.deep.equal({
        termMs: 1_735_000,
        killAfterMs: 60_000,
        boundMs: 1_795_000,
      });
    });
    it("refuses a timeout too short to run anything", () => {
      expect(() => planHostTimeout(1000)).to.throw(RangeError, /too short/);
    });
    it("wraps argv in coreutils timeout, seconds to the millisecond", () => {
      expect(buildRemoteTimeoutArgv(111.6, ["cp", "-a", "a", "b"], 6)).to.deep.equal([
        "timeout",
        "--kill-after",
        "6s",
        "111.6s",
        "cp",
        "-a",
        "a",
        "b",
      ]);
      expect(buildRemoteTimeoutArgv(1 / 3, ["true"], 0.5)).to.deep.equal([
        "timeout",
        "--kill-after",
        "0.5s",
        "0.333s",
        "true",
      ]);
    });
  });

  describe("requireSuccess", () => {
    it("returns a successful result unchanged", () => {
      const r = result({});
      expect(requireSuccess(r)).to.equal(r);
    });
    it("throws kind command with the exit code and the tail of stderr", () => {
      const stderr = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n") + "\n";
      try {
        requireSuccess(result({ exitCode: 2, stderr, command: "rpm-ostree install etcd" }));
        expect.fail("should throw");
      } catch (err) {
        expect(err).to.be.instanceOf(RemoteError);
        const e = err as RemoteError;
        expect(e).to.include({
          kind: "command",
          exitCode: 2,
          signal: null,
          host: "root@h:22",
          command: "rpm-ostree install etcd",
        });
        expect(e.stderrTail.split("\n")).to.have.length(20);
        expect(e.stderrTail).to.match(/line 29$/);
        expect(e.message).to.contain("[command] root@h:22: the command exited with code 2");
        expect(e.message).to.contain("  command: rpm-ostree install etcd");
      }
    });
    it("reports a signal, and quotes stdout when stderr is empty", () => {
      expect(() => requireSuccess(result({ exitCode: null, signal: "SIGKILL" }))).to.throw(
        RemoteError,
        /was killed by SIGKILL/,
      );
      expect(() => requireSuccess(result({ exitCode: 1, stdout: "nope\n" }))).to.throw(
        RemoteError,
        /stderr was empty, stdout ended with: nope/,
      );
    });
    it("gives the caller's hint, or says to check what the command changed", () => {
      expect(() => requireSuccess(result({ exitCode: 1 }), "Run `rpm-ostree status` on it.")).to.throw(
        RemoteError,
        /next: Run `rpm-ostree status` on it\./,
      );
      expect(() => requireSuccess(result({ exitCode: 1 }))).to.throw(RemoteError, /check what it changed/);
    });
  });

  describe("OutputBuffer", () => {
    it("keeps everything up to the cap", () => {
      const b = new OutputBuffer(10);
      b.push(Buffer.from("hello"));
      b.push(Buffer.from("world"));
      expect(b.text()).to.equal("helloworld");
      expect(b.truncated).to.equal(false);
    });
    it("keeps the most recent bytes beyond the cap", () => {
      const b = new OutputBuffer(8);
      for (const part of ["abc", "defgh", "ijklmnop", "qr"]) b.push(Buffer.from(part));
      expect(b.text()).to.equal("klmnopqr");
      expect(b.truncated).to.equal(true);
    });
  });
});
