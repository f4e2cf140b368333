import { expect } from "chai";
import {
  OSTREE_REMOTES_READ_SCRIPT,
  type OstreeRemoteDeclaration,
  type OstreeRemotesObservation,
  buildOstreeRemoteAddCommand,
  buildOstreeRemoteDeleteCommand,
  buildOstreeRemotesReadCommand,
  classifyOstreeRemoteOutcome,
  parseOstreeRemoteKeyFile,
  parseOstreeRemoteList,
  parseOstreeRemotesReadOutput,
  planOstreeRemote,
  validateOstreeRemoteInputs,
} from "../../../provider/atomic";
import { output } from "./fixtures";

const F27: OstreeRemoteDeclaration = {
  name: "fedora-atomic-27",
  url: "https://kojipkgs.fedoraproject.org/atomic/27",
  gpgVerify: true,
  gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
};

/** The read script's output for a host with these files (what `ostree remote list -u` and cat print). */
function readOutput(list: string, files: Record<string, string>): string {
  const blocks = Object.entries(files).map(([f, text]) => `@@file ${f}\n${text}\n@@file-end\n`);
  return `@@read 1\n@@list-begin\n${list}@@list-end\n${blocks.join("")}@@end\n`;
}

const F26_CONF =
  '[remote "fedora-atomic"]\nurl=https://kojipkgs.fedoraproject.org/atomic/26/\ngpg-verify=true\n' +
  "gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-26-primary\n";
/** What `ostree remote add --set=gpgkeypath=... fedora-atomic-27 URL` writes (impl_repo_remote_add: no gpg-verify key). */
const F27_CONF =
  '[remote "fedora-atomic-27"]\nurl=https://kojipkgs.fedoraproject.org/atomic/27\n' +
  "gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary\n";

function observe(text: string): OstreeRemotesObservation {
  const r = parseOstreeRemotesReadOutput(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const f26Host = observe(
  readOutput("fedora-atomic  https://kojipkgs.fedoraproject.org/atomic/26/\n", {
    "/etc/ostree/remotes.d/fedora-atomic.conf": F26_CONF,
    "/ostree/repo/config": "[core]\nrepo_version=1\nmode=bare\n",
  }),
);

describe("ostree remote commands", () => {
  it("builds the upgrade guide's line exactly: --set=gpgkeypath=PATH NAME URL", () => {
    expect(buildOstreeRemoteAddCommand(F27)).to.deep.equal([
      "ostree",
      "remote",
      "add",
      "--set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
      "fedora-atomic-27",
      "https://kojipkgs.fedoraproject.org/atomic/27",
    ]);
  });

  it("spells GPG verification off as --no-gpg-verify, the only gpg flag ot-remote-builtin-add.c has", () => {
    expect(
      buildOstreeRemoteAddCommand({ name: "local", url: "file:///srv/repo", gpgVerify: false }),
    ).to.deep.equal(["ostree", "remote", "add", "--no-gpg-verify", "local", "file:///srv/repo"]);
  });

  it("refuses an operand that would be read as an option", () => {
    expect(() => buildOstreeRemoteDeleteCommand("--all")).to.throw(/remote name must not start with "-"/);
  });

  it("passes the repo and the remotes folder to the read script as arguments, never inside it", () => {
    const argv = buildOstreeRemotesReadCommand();
    expect(argv.slice(0, 3)).to.deep.equal(["sh", "-c", OSTREE_REMOTES_READ_SCRIPT]);
    expect(argv.slice(4)).to.deep.equal(["/ostree/repo", "/etc/ostree/remotes.d"]);
    expect(OSTREE_REMOTES_READ_SCRIPT).to.not.include("/etc/ostree");
  });
});

describe("parseOstreeRemoteList", () => {
  it("reads names alone and `-u` lines (name padded, two spaces, URL)", () => {
    expect(
      parseOstreeRemoteList(
        "fedora-atomic     https://kojipkgs.fedoraproject.org/atomic/26/\nfedora-atomic-27  https://kojipkgs.fedoraproject.org/atomic/27\n",
      ),
    ).to.deep.equal({
      ok: true,
      value: [
        { name: "fedora-atomic", url: "https://kojipkgs.fedoraproject.org/atomic/26/" },
        { name: "fedora-atomic-27", url: "https://kojipkgs.fedoraproject.org/atomic/27" },
      ],
    });
    expect(parseOstreeRemoteList("")).to.deep.equal({ ok: true, value: [] });
  });

  it("fails on a line that is not a remote", () => {
    expect(parseOstreeRemoteList("error: opening repo: No such file\n").ok).to.equal(false);
  });
});

describe("parseOstreeRemoteKeyFile", () => {
  it("reads every remote group of a repo config, skipping [core] and comments", () => {
    const r = parseOstreeRemoteKeyFile(
      '[core]\nrepo_version=1\n# a comment\n[remote "a"]\nurl=http://x/\ngpg-verify=false\n[remote "b"]\nmetalink=https://m/\n',
      "/ostree/repo/config",
    );
    expect(r.ok && r.value.map((x) => [x.name, x.url, x.gpgVerify, x.file])).to.deep.equal([
      ["a", "http://x/", false, "/ostree/repo/config"],
      ["b", "https://m/", true, "/ostree/repo/config"],
    ]);
  });

  it("fails on a line that is neither a group nor key=value", () => {
    expect(parseOstreeRemoteKeyFile('[remote "a"]\nurl\n').ok).to.equal(false);
  });
});

describe("parseOstreeRemotesReadOutput", () => {
  it("takes the remotes ostree lists, with their options from the file that defines them", () => {
    expect(f26Host.remotes).to.deep.equal([
      {
        name: "fedora-atomic",
        url: "https://kojipkgs.fedoraproject.org/atomic/26/",
        gpgVerify: true,
        gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-26-primary",
        file: "/etc/ostree/remotes.d/fedora-atomic.conf",
        options: {
          url: "https://kojipkgs.fedoraproject.org/atomic/26/",
          "gpg-verify": "true",
          gpgkeypath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-26-primary",
        },
      },
    ]);
    expect(f26Host.warnings).to.deep.equal([]);
  });

  it("ignores a file's remote that ostree does not list, and warns about a listed one no file defines", () => {
    const o = observe(
      readOutput("x  http://x/\n", { "/etc/ostree/remotes.d/y.conf": '[remote "y"]\nurl=http://y/\n' }),
    );
    expect(o.remotes.map((r) => r.name)).to.deep.equal(["x"]);
    expect(o.warnings[0]).to.match(/remote x is listed by ostree but defined in no file/);
  });

  it("fails when the script stopped early (ostree missing)", () => {
    expect(parseOstreeRemotesReadOutput("@@read 1\n@@list-begin\n").ok).to.equal(false);
  });
});

describe("planOstreeRemote", () => {
  const withF27 = observe(
    readOutput(
      "fedora-atomic  https://kojipkgs.fedoraproject.org/atomic/26/\nfedora-atomic-27  https://kojipkgs.fedoraproject.org/atomic/27\n",
      {
        "/etc/ostree/remotes.d/fedora-atomic.conf": F26_CONF,
        "/etc/ostree/remotes.d/fedora-atomic-27.conf": F27_CONF,
      },
    ),
  );

  it("adds the remote a Fedora 26 host lacks", () => {
    const p = planOstreeRemote(F27, { replace: false, owned: false }, f26Host);
    expect(p.kind).to.equal("add");
    expect(p.steps.map((s) => s.argv)).to.deep.equal([buildOstreeRemoteAddCommand(F27)]);
  });

  it("shows the add at preview, when the host was not read", () => {
    expect(planOstreeRemote(F27, { replace: false, owned: false }).steps.map((s) => s.kind)).to.deep.equal([
      "add",
    ]);
  });

  it("adopts an identical remote (a URL differing only by a trailing slash is the same) and runs nothing", () => {
    expect(planOstreeRemote(F27, { replace: false, owned: false }, withF27)).to.include({ kind: "adopt" });
    const slash = { ...F27, url: F27.url + "/" };
    expect(planOstreeRemote(slash, { replace: false, owned: false }, withF27).kind).to.equal("adopt");
    expect(planOstreeRemote(F27, { replace: false, owned: true }, withF27).kind).to.equal("none");
  });

  it("refuses a different remote of the same name, saying what differs and how to go on", () => {
    const p = planOstreeRemote({ ...F27, name: "fedora-atomic" }, { replace: false, owned: false }, f26Host);
    expect(p.kind).to.equal("blocked");
    expect(p.kind === "blocked" && p.reason).to.equal(
      "the host already has an ostree remote fedora-atomic (/etc/ostree/remotes.d/fedora-atomic.conf) that " +
        "differs: url is https://kojipkgs.fedoraproject.org/atomic/26/, not https://kojipkgs.fedoraproject.org/atomic/27; " +
        "gpgkeypath is /etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-26-primary, not /etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary. " +
        'Declare it as it is to adopt it, set replace: true to delete it and add the declared one, or run "ostree remote ' +
        'delete fedora-atomic" on the host',
    );
  });

  it("replaces it when told to: delete, then add", () => {
    const p = planOstreeRemote({ ...F27, name: "fedora-atomic" }, { replace: true, owned: false }, f26Host);
    expect(p.steps.map((s) => s.argv.slice(0, 3).join(" "))).to.deep.equal([
      "ostree remote delete",
      "ostree remote add",
    ]);
  });

  it("treats gpg-verify absent as true, and gpg-verify=false as a difference", () => {
    const off = observe(
      readOutput("fedora-atomic-27  https://kojipkgs.fedoraproject.org/atomic/27\n", {
        "/etc/ostree/remotes.d/fedora-atomic-27.conf": F27_CONF.replace(
          "gpgkeypath",
          "gpg-verify=false\ngpgkeypath",
        ),
      }),
    );
    const p = planOstreeRemote(F27, { replace: false, owned: false }, off);
    expect(p.kind === "blocked" && p.reason).to.match(/gpg-verify is false, not true/);
  });
});

describe("classifyOstreeRemoteOutcome", () => {
  it("tells an existing remote and a missing one from other failures (libostree's messages)", () => {
    expect(classifyOstreeRemoteOutcome(output(0))).to.deep.equal({ kind: "done" });
    expect(
      classifyOstreeRemoteOutcome(
        output(
          1,
          "",
          'error: Remote configuration for "fedora-atomic-27" already exists: /etc/ostree/remotes.d/fedora-atomic-27.conf\n',
        ),
      ).kind,
    ).to.equal("exists");
    expect(classifyOstreeRemoteOutcome(output(1, "", 'error: Remote "x" not found\n')).kind).to.equal(
      "notFound",
    );
    expect(classifyOstreeRemoteOutcome(output(1, "", "error: Permission denied\n")).kind).to.equal("failed");
  });
});

describe("validateOstreeRemoteInputs", () => {
  const conn = { host: "10.0.0.5", insecureIgnoreHostKey: true };
  const ok = { connection: conn, name: F27.name, url: F27.url, gpgKeyPath: F27.gpgKeyPath };

  it("accepts the guide's remote", () => expect(validateOstreeRemoteInputs(ok)).to.deep.equal([]));

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ["a name with a space", { name: "fedora atomic" }, "name", /name must be an ostree remote name/],
    ["a name starting with -", { name: "-x" }, "name", /name must be an ostree remote name/],
    ["no URL", { url: undefined }, "url", /url is required/],
    ["a URL with a quote", { url: "https://x/'a" }, "url", /url must be an http\(s\):\/\/ URL/],
    ["an ftp URL", { url: "ftp://x/" }, "url", /url must be/],
    ["a relative key path", { gpgKeyPath: "keys/f27" }, "gpgKeyPath", /must be an absolute path/],
    ["a key path with ..", { gpgKeyPath: "/etc/../x" }, "gpgKeyPath", /normalised/],
    ["gpgVerify as a string", { gpgVerify: "yes" }, "gpgVerify", /must be true or false/],
    ["replace as a number", { replace: 1 }, "replace", /must be true or false/],
    [
      "a key path with verification off",
      { gpgVerify: false },
      "gpgKeyPath",
      /only used when gpgVerify is true/,
    ],
  ];
  for (const [title, change, property, reason] of bad) {
    it(`refuses ${title}, naming ${property}`, () => {
      const f = validateOstreeRemoteInputs({ ...ok, ...change });
      expect(f.map((x) => x.property)).to.deep.equal([property]);
      expect(f[0]!.reason).to.match(reason);
    });
  }
});
