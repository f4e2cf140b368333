import { expect } from "chai";
import {
  RefusalError,
  RemoteError,
  clearSecretsForTesting,
  formatRemoteError,
  isRemoteError,
  redact,
  registerIdentifier,
  registerSecret,
  tailLines,
} from "../../../provider/ssh/errors";

const KEY = [
  "-----BEGIN OPENSSH PRIVATE KEY-----",
  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
  "QyNTUxOQAAACB6c99cF2oZuucrMmih9pzKJr09Tw2cz4kONXk7sB4s/AAAAJgAAAAAAAAA",
  "-----END OPENSSH PRIVATE KEY-----",
  "",
].join("\n");

describe("ssh/errors", () => {
  beforeEach(() => clearSecretsForTesting());
  afterEach(() => clearSecretsForTesting());

  describe("redact", () => {
    it("removes every registered secret, longest first", () => {
      registerSecret("hunter2");
      registerSecret("hunter2-and-more");
      expect(redact("pw=hunter2-and-more / hunter2")).to.equal("pw=[redacted] / [redacted]");
    });
    it("removes a single line of a registered private key", () => {
      registerSecret(KEY);
      const line = KEY.split("\n")[1];
      expect(redact(`cannot parse: ${line}`)).to.equal("cannot parse: [redacted]");
      expect(redact("-----BEGIN OPENSSH PRIVATE KEY-----")).to.equal("-----BEGIN OPENSSH PRIVATE KEY-----");
    });
    it("never shows a short password such as root, wherever it stands outside a host identifier", () => {
      registerSecret("root");
      registerIdentifier("root@10.0.0.5:22");
      expect(redact("password=root; login as root")).to.equal("password=[redacted]; login as [redacted]");
      expect(redact("rootroot")).to.equal("[redacted][redacted]");
    });
    it("hides a short secret only where it stands alone, not inside a longer word", () => {
      registerSecret("x");
      registerSecret("root");
      expect(redact("systemctl start exited 1; a timeout was exceeded")).to.equal(
        "systemctl start exited 1; a timeout was exceeded",
      );
      expect(redact("mounted rootfs; password x; user:x@host; x")).to.equal(
        "mounted rootfs; password [redacted]; user:[redacted]@host; [redacted]",
      );
      // Long secrets are hidden wherever they occur, inside words too.
      registerSecret("hunter2-and-more");
      expect(redact("ahunter2-and-moreb")).to.equal("a[redacted]b");
    });
    it("leaves root@host whole when the password is root: it names the host, it hides nothing", () => {
      registerSecret("root");
      registerIdentifier("root@10.0.0.5:22");
      registerIdentifier("root@10.0.0.5");
      expect(redact("[connect] root@10.0.0.5:22: refused")).to.equal("[connect] root@10.0.0.5:22: refused");
      expect(redact("via the jump host root@10.0.0.5 (root)")).to.equal(
        "via the jump host root@10.0.0.5 ([redacted])",
      );
      const err = new RemoteError({
        kind: "auth",
        host: "root@10.0.0.5:22",
        summary: "password root refused",
      });
      expect(err.host).to.equal("root@10.0.0.5:22");
      expect(err.message).to.equal("[auth] root@10.0.0.5:22: password [redacted] refused");
    });
    it("still removes a secret that reaches outside a host identifier", () => {
      registerSecret("s3cret-root@10.0.0.5:22-tail");
      registerIdentifier("root@10.0.0.5:22");
      expect(redact("key s3cret-root@10.0.0.5:22-tail!")).to.equal("key [redacted]!");
    });
    it("ignores empty and undefined secrets", () => {
      registerSecret("");
      registerSecret(undefined);
      expect(redact("nothing to hide")).to.equal("nothing to hide");
    });
  });

  describe("RemoteError", () => {
    it("formats host, summary, command, stderr tail and next step into its message", () => {
      const err = new RemoteError({
        kind: "command",
        host: "root@10.0.0.5:22",
        summary: "the command exited with code 1",
        command: "rpm-ostree install etcd",
        exitCode: 1,
        stderrTail: "error: Packages not found: etcd",
        hint: "check the package name",
      });
      expect(err.message).to.equal(
        [
          "[command] root@10.0.0.5:22: the command exited with code 1",
          "  command: rpm-ostree install etcd",
          "  stderr (last lines):",
          "    error: Packages not found: etcd",
          "  next: check the package name",
        ].join("\n"),
      );
      expect(err).to.include({ kind: "command", exitCode: 1, signal: null, name: "RemoteError" });
      expect(isRemoteError(err, "command")).to.equal(true);
      expect(isRemoteError(err, "auth")).to.equal(false);
      expect(formatRemoteError({ kind: "auth", host: "h", summary: "s" })).to.equal("[auth] h: s");
    });

    it("has its own class for a refusal, of kind refused, read like every other RemoteError", () => {
      const err = new RefusalError({
        host: "master1 (root@10.0.0.5:22)",
        summary: "OstreeRemote fedora-atomic refused: the host already has one that differs",
        hint: "set replace: true",
      });
      expect(err.message).to.equal(
        [
          "[refused] master1 (root@10.0.0.5:22): OstreeRemote fedora-atomic refused: the host already has one that differs",
          "  next: set replace: true",
        ].join("\n"),
      );
      expect(err).to.be.instanceOf(RemoteError);
      expect(err).to.include({ kind: "refused", name: "RefusalError" });
      expect(isRemoteError(err, "refused")).to.equal(true);
      // Code that retries what could not happen (a lost connection, a timeout) never retries a refusal.
      expect(isRemoteError(err, "connect", "connection", "timeout")).to.equal(false);
      const other = new RemoteError({ kind: "command", host: "h", summary: "s" });
      expect(other).not.to.be.instanceOf(RefusalError);
    });

    it("never carries a registered secret in its message, stack or enumerable fields", () => {
      registerSecret("hunter2");
      registerSecret(KEY);
      const err = new RemoteError({
        kind: "command",
        host: "root@h:22",
        summary: "failed with hunter2",
        command: "sh -c 'echo hunter2 | chpasswd'",
        stderrTail: `bad key ${KEY}`,
        hint: "do not use hunter2",
      });
      const everything = [
        err.message,
        err.stack ?? "",
        JSON.stringify(err),
        ...Object.values(err).map(String),
      ].join("\n");
      expect(everything).not.to.contain("hunter2");
      for (const line of KEY.split("\n").filter((l) => l.length > 16 && !l.startsWith("-----"))) {
        expect(everything).not.to.contain(line);
      }
      expect(Object.keys(err).sort()).to.deep.equal([
        "command",
        "exitCode",
        "hint",
        "host",
        "kind",
        "signal",
        "stderrTail",
      ]);
    });
  });

  describe("tailLines", () => {
    it("keeps the last lines without trailing whitespace", () => {
      expect(tailLines("a\nb\nc\n\n", 2)).to.equal("b\nc");
      expect(tailLines("   \n")).to.equal("");
    });
    it("caps the number of characters, keeping the end", () => {
      expect(tailLines("x".repeat(10) + "END", 5, 5)).to.equal("…xxEND");
    });
  });
});
