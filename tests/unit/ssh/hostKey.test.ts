import { expect } from "chai";
import {
  algorithmsForKeyType,
  buildHostKeyCheck,
  fingerprintSha256,
  knownHostsEntryMatches,
  knownHostsName,
  parseKnownHosts,
  parsePublicKeyLine,
  type HostKeyTarget,
  type PublicKey,
} from "../../../provider/ssh/hostKey";

// Generated with ssh-keygen; fingerprints as printed by `ssh-keygen -lf`.
const ED25519_LINE =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpz31wXahm65ysyaKH2nMomvT1PDZzPiQ41eTuwHiz8 fixture";
const ED25519_FP = "SHA256:a2QQ3NHEOIfALRJoa9ScptnGVS7VHOaTgMGxR/rs58w";
const RSA_LINE =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDPRLbw1RgnW7CIznym3eZW0jIAkCdS1bVcE9+OvZNvAwirR/D8JKpPx+5jTZlwtCwRuu5L7+bb2yGy2YyE32cK6KuzGhT4Cr75e61AM6t7mmZWPTXSxnQzJNLOF9b9NLPRi8EKb4zJ2eyfRxVsSN1C3EJVujh12puRs0H5kT41mQ== rsa";
const RSA_FP = "SHA256:xBZwrfooSjuGXyHS9shSoOb14EHG/M9uahEloU00/Vc";
// `ssh-keygen -H` of "[db1.example]:2222 <ed25519 key>".
const HASHED_LINE =
  "|1|fdEyKoRbuv7NdXCMzq2pvHJqSOI=|7XWWluEumJYxs2rTBB4uC3gQ2Ug= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpz31wXahm65ysyaKH2nMomvT1PDZzPiQ41eTuwHiz8";

function key(line: string): PublicKey {
  const k = parsePublicKeyLine(line);
  if (k instanceof Error) throw k;
  return k;
}

function target(policy: HostKeyTarget["hostKeyPolicy"], host = "db1.example", port = 22): HostKeyTarget {
  return { host, port, hostKeyPolicy: policy };
}

function check(t: HostKeyTarget) {
  const c = buildHostKeyCheck(t);
  if (c instanceof Error) throw c;
  return c;
}

describe("ssh/hostKey", () => {
  describe("parsePublicKeyLine", () => {
    it("reads type and blob from a .pub line", () => {
      const k = key(ED25519_LINE);
      expect(k.type).to.equal("ssh-ed25519");
      expect(k.blob.length).to.equal(51);
    });
    it("skips authorized_keys options before the key", () => {
      expect(key(`from="10.0.0.0/8",no-pty ${ED25519_LINE}`).type).to.equal("ssh-ed25519");
    });
    it("accepts an ssh-keyscan line that starts with the host name", () => {
      expect(key(`[db1.example]:2222 ${RSA_LINE}`).type).to.equal("ssh-rsa");
    });
    it("returns an error (not a throw) for text that is not a key", () => {
      expect(parsePublicKeyLine("hello world")).to.be.instanceOf(Error);
      expect(
        parsePublicKeyLine("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHpz31wXahm65ysyaKH2nMomvT1PDZzPiQ41eTuwHiz8"),
      ).to.be.instanceOf(Error);
    });
  });

  describe("fingerprintSha256", () => {
    for (const [line, fp] of [
      [ED25519_LINE, ED25519_FP],
      [RSA_LINE, RSA_FP],
    ]) {
      it(`matches ssh-keygen -lf for ${line.split(" ")[0]}`, () => {
        expect(fingerprintSha256(key(line).blob)).to.equal(fp);
      });
    }
  });

  describe("algorithmsForKeyType", () => {
    it("lets an RSA key sign with rsa-sha2-512, rsa-sha2-256 and ssh-rsa", () => {
      expect(algorithmsForKeyType("ssh-rsa")).to.deep.equal(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    });
    it("maps other types to themselves and unknown types to nothing", () => {
      expect(algorithmsForKeyType("ssh-ed25519")).to.deep.equal(["ssh-ed25519"]);
      expect(algorithmsForKeyType("sk-ssh-ed25519@openssh.com")).to.deep.equal([]);
    });
  });

  describe("known_hosts matching", () => {
    const rows: Array<[string, string, number, boolean]> = [
      ["db1.example", "db1.example", 22, true],
      ["db1.example", "db1.example", 2222, false],
      ["[db1.example]:2222", "db1.example", 2222, true],
      ["[db1.example]:2222", "db1.example", 22, false],
      ["DB1.Example", "db1.example", 22, true],
      ["web,db1.example", "db1.example", 22, true],
      ["*.example", "db1.example", 22, true],
      ["*.example,!db1.example", "db1.example", 22, false],
      ["db?.example", "db1.example", 22, true],
      ["db1.example.org", "db1.example", 22, false],
      [HASHED_LINE.split(" ")[0], "db1.example", 2222, true],
      [HASHED_LINE.split(" ")[0], "db2.example", 2222, false],
    ];
    for (const [hosts, host, port, expected] of rows) {
      it(`${expected ? "matches" : "does not match"} ${host}:${port} against "${hosts.slice(0, 30)}"`, () => {
        expect(knownHostsEntryMatches(hosts, knownHostsName(host, port))).to.equal(expected);
      });
    }
    it("skips comments, blank, malformed and unknown-marker lines", () => {
      const entries = parseKnownHosts(
        ["# comment", "", "garbage", "@bogus host " + ED25519_LINE, `db1 ${ED25519_LINE}`].join("\n"),
      );
      expect(entries.map((e) => e.hosts)).to.deep.equal(["db1"]);
    });
  });

  describe("buildHostKeyCheck", () => {
    const ed = key(ED25519_LINE);
    const rsa = key(RSA_LINE);

    it("accepts the pinned public key and restricts the offered algorithms to its type", () => {
      const c = check(target({ hostKey: ED25519_LINE, insecureIgnoreHostKey: false }));
      expect(c.serverHostKeyAlgorithms).to.deep.equal(["ssh-ed25519"]);
      expect(c.verify(ed.blob)).to.deep.equal({ ok: true });
    });
    it("refuses another key, naming both fingerprints", () => {
      const v = check(target({ hostKey: ED25519_LINE, insecureIgnoreHostKey: false })).verify(rsa.blob);
      expect(v.ok).to.equal(false);
      if (v.ok) return;
      expect(v.summary).to.contain(RSA_FP).and.contain(ED25519_FP).and.contain("mismatch");
      expect(v.hint).to.contain("db1.example").and.contain("man-in-the-middle");
    });
    it("names the stack configuration path a pinned key came from, in the reason and the advice", () => {
      const source = "my-cluster:cluster.hosts[2].hostKey";
      const v = check(
        target({ hostKey: ED25519_LINE, hostKeySource: source, insecureIgnoreHostKey: false }),
      ).verify(rsa.blob);
      expect(v.ok).to.equal(false);
      if (v.ok) return;
      expect(v.summary).to.contain(`but ${source} pins ${ED25519_FP}`);
      expect(v.hint).to.contain(`update ${source} for db1.example`);
      const bad = buildHostKeyCheck(
        target({ hostKey: "ssh-ed25519 !!!", hostKeySource: source, insecureIgnoreHostKey: false }),
      );
      expect(bad).to.be.instanceOf(Error);
      expect((bad as Error).message).to.match(new RegExp(`^${source.replace(/[[\].]/g, "\\$&")} is neither`));
    });
    it("accepts a SHA256: fingerprint pin (with or without padding) and does not restrict algorithms", () => {
      for (const pin of [ED25519_FP, `${ED25519_FP}=`]) {
        const c = check(target({ hostKey: pin, insecureIgnoreHostKey: false }));
        expect(c.serverHostKeyAlgorithms).to.equal(undefined);
        expect(c.verify(ed.blob).ok).to.equal(true);
        expect(c.verify(rsa.blob).ok).to.equal(false);
      }
    });
    it("returns an error for a hostKey that is neither a key line nor a fingerprint", () => {
      const c = buildHostKeyCheck(target({ hostKey: "not a key", insecureIgnoreHostKey: false }));
      expect(c).to.be.instanceOf(Error);
      expect((c as Error).message).to.contain("connection.hostKey");
    });
    it("uses knownHosts entries for [host]:port, offering only their key types", () => {
      const c = check(
        target(
          { knownHosts: `${HASHED_LINE}\nother ${RSA_LINE}\n`, insecureIgnoreHostKey: false },
          "db1.example",
          2222,
        ),
      );
      expect(c.serverHostKeyAlgorithms).to.deep.equal(["ssh-ed25519"]);
      expect(c.verify(ed.blob).ok).to.equal(true);
      const v = c.verify(rsa.blob);
      expect(v.ok).to.equal(false);
      if (!v.ok)
        expect(v.summary).to.contain(ED25519_FP).and.contain(RSA_FP).and.contain("[db1.example]:2222");
    });
    it("refuses a host knownHosts has no entry for, offering the key to pin", () => {
      const v = check(target({ knownHosts: `other ${RSA_LINE}`, insecureIgnoreHostKey: false })).verify(
        ed.blob,
      );
      expect(v.ok).to.equal(false);
      if (!v.ok) {
        expect(v.summary).to.contain("knownHosts has no entry for db1.example");
        expect(v.hint).to.contain(`"ssh-ed25519 ${ED25519_LINE.split(" ")[1]}"`);
      }
    });
    it("refuses a key marked @revoked even when it is also listed", () => {
      const kh = `@revoked db1.example ${ED25519_LINE}\ndb1.example ${ED25519_LINE}`;
      const v = check(target({ knownHosts: kh, insecureIgnoreHostKey: false })).verify(ed.blob);
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.summary).to.contain("@revoked");
    });
    it("refuses when nothing is pinned, saying how to pin the offered key", () => {
      const v = check(target({ insecureIgnoreHostKey: false })).verify(ed.blob);
      expect(v.ok).to.equal(false);
      if (v.ok) return;
      expect(v.summary).to.contain("no host key is pinned").and.contain(ED25519_FP);
      expect(v.hint)
        .to.contain("connection.hostKey")
        .and.contain("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub");
      expect(v.hint).to.contain("ssh-keyscan -p 22 db1.example");
    });
    it("accepts anything only when insecureIgnoreHostKey is true", () => {
      expect(check(target({ insecureIgnoreHostKey: true })).verify(rsa.blob).ok).to.equal(true);
    });
  });
});
