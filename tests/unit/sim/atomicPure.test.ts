/**
 * Table tests for the pure parts of the `atomic` stand-in: argparse emulation (checked against CPython's
 * argparse), Python's json.dumps and string.Template, and the listing renderers.
 */
import { expect } from "chai";
import { parseArgs, ParserSpec } from "../../../sim/tools/atomic/argparse";
import { parseAtomicCommandLine } from "../../../sim/tools/atomic/cli";
import { convertSize, ljust, renderContainersList } from "../../../sim/tools/atomic/format";
import { decodeOstreeRef, defaultSystemName, encodeOstreeRef } from "../../../sim/tools/atomic/imageStore";
import { PyFloat, pyJsonDumps } from "../../../sim/tools/atomic/pyjson";
import { substituteTemplate, templatePlaceholders } from "../../../sim/tools/atomic/pyTemplate";
import { amendValues, splitSetArgs } from "../../../sim/tools/atomic/systemContainers";

const INSTALL: ParserSpec = {
  prog: "atomic install",
  options: [
    { flags: ["-n", "--name"], dest: "name", action: "store" },
    { flags: ["--system"], dest: "system", action: "store_true" },
    { flags: ["--system-package"], dest: "system_package", action: "store", default: "auto" },
    { flags: ["--storage"], dest: "storage", action: "store" },
    { flags: ["--set"], dest: "setvalues", action: "append" },
  ],
  positionals: [
    { dest: "image", nargs: "one" },
    { dest: "args", nargs: "remainder" },
  ],
};

describe("atomic argparse emulation", () => {
  // Expected values produced by CPython 3 argparse with the same parser.
  const ok: Array<[string[], Record<string, unknown>]> = [
    [
      ["--system", "img", "--name", "x"],
      { name: undefined, system: true, image: "img", args: ["--name", "x"] },
    ],
    [["--system", "--name=x", "img"], { name: "x", system: true, image: "img", args: [] }],
    [["img", "--system"], { system: false, image: "img", args: ["--system"] }],
    [["--stor", "ostree", "img"], { storage: "ostree", image: "img" }],
    [["-nfoo", "img"], { name: "foo", image: "img" }],
    [["--set", "A=1", "--set=B=2", "img"], { setvalues: ["A=1", "B=2"], image: "img" }],
    [["--system-package", "no", "img"], { system_package: "no" }],
    [["--", "--weird"], { image: "--weird" }],
  ];
  for (const [argv, want] of ok) {
    it(`parses ${argv.join(" ")}`, () => {
      const r = parseArgs(INSTALL, argv);
      expect(r.ok).to.equal(true);
      if (r.ok) for (const [k, v] of Object.entries(want)) expect(r.values[k], k).to.deep.equal(v);
    });
  }

  const bad: Array<[string[], string]> = [
    [[], "the following arguments are required: image, args"],
    [["--system"], "the following arguments are required: image, args"],
    [["--s", "img"], "ambiguous option: --s could match --system, --system-package, --storage, --set"],
    [["--sys", "img"], "ambiguous option: --sys could match --system, --system-package"],
    [["--name"], "argument -n/--name: expected one argument"],
    [["--system=yes", "img"], "argument --system: ignored explicit argument 'yes'"],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(" ") || "(nothing)"}: ${message}`, () => {
      expect(parseArgs(INSTALL, argv)).to.deep.equal({ ok: false, prog: "atomic install", message });
    });
  }

  it("reports unknown options as unrecognized arguments from the top-level parser", () => {
    expect(parseAtomicCommandLine(["install", "--bogus", "img"])).to.deep.equal({
      ok: false,
      prog: "atomic",
      message: "unrecognized arguments: --bogus",
    });
  });

  it("maps the guide's commands to typed commands", () => {
    const r = parseAtomicCommandLine([
      "install",
      "--system",
      "--system-package=no",
      "--storage=ostree",
      "--name",
      "etcd",
      "registry.fedoraproject.org/f27/etcd",
    ]);
    expect(r.ok && r.command).to.deep.include({ verb: "install" });
    if (r.ok && r.command.verb === "install") {
      expect(r.command.args).to.include({
        name: "etcd",
        system: true,
        systemPackage: "no",
        storage: "ostree",
      });
    }
    const u = parseAtomicCommandLine(["containers", "update", "--rebase", "x:1", "--set", "A=B", "etcd"]);
    expect(u.ok && u.command).to.deep.equal({
      verb: "containers update",
      container: "etcd",
      rebase: "x:1",
      setValues: ["A=B"],
    });
  });
});

describe("Python json.dumps emulation", () => {
  const cases: Array<[unknown, object, string]> = [
    [{ a: 1, b: [true, null] }, {}, '{"a": 1, "b": [true, null]}'],
    [{ a: [], b: {} }, { indent: 4 }, '{\n    "a": [],\n    "b": {}\n}'],
    [[{ x: "é" }], { indent: 4, separators: [",", ": "] }, '[\n    {\n        "x": "\\u00e9"\n    }\n]'],
    [new PyFloat(2), {}, "2.0"],
    ['tab\tquote"', {}, '"tab\\tquote\\""'],
  ];
  for (const [value, opts, want] of cases) {
    it(`dumps ${JSON.stringify(value)} as Python does`, () => {
      expect(pyJsonDumps(value as never, opts)).to.equal(want);
    });
  }
});

describe("Python string.Template emulation", () => {
  it("substitutes $x and ${x}, keeps $$ as $", () => {
    expect(substituteTemplate("a=$A b=${B}c $$D", { A: 1, B: "x" })).to.equal("a=1 b=xc $D");
  });
  it("throws KeyError for a missing value and names the placeholders", () => {
    expect(() => substituteTemplate("$NOPE", {})).to.throw("'NOPE'");
    expect(templatePlaceholders("${A} $B $$C ${A}")).to.deep.equal(["A", "B"]);
  });
  it("reports an invalid placeholder with Python 3.6's line and column (Fedora 27's python3)", () => {
    // 3.6 counts the column over the line *before* a placeholder at a line start (3.11 says "line 2, col 1").
    expect(() => substituteTemplate("ok\n$ x", {})).to.throw("Invalid placeholder in string: line 1, col 3");
    expect(() => substituteTemplate("a $ x", {})).to.throw("Invalid placeholder in string: line 1, col 2");
  });
});

describe("atomic value and name helpers", () => {
  it("splits --set at the first =", () => {
    expect(splitSetArgs(["A=b=c", "E="])).to.deep.equal({ A: "b=c", E: "" });
    expect(() => splitSetArgs(["A"])).to.throw("Invalid value 'A'.  Expected form NAME=VALUE");
  });

  it("lets --set values win over built-ins and manifest defaults, and forces DESTDIR/NAME/EXEC_*", () => {
    const v = amendValues(
      { RUN_DIRECTORY: "/srv/run", ETCD_NAME: "n1", NAME: "ignored" },
      {
        manifestDefaults: { ETCD_NAME: "", CONF_DIRECTORY: "/etc" },
        name: "etcd",
        image: "i",
        imageId: "id",
        destination: "/d",
        uuid: "u",
      },
    );
    expect(v).to.include({
      RUN_DIRECTORY: "/srv/run",
      PIDFILE: "/srv/run/container-etcd.pid",
      ETCD_NAME: "n1",
      NAME: "etcd",
      DESTDIR: "/d",
    });
    expect(Object.keys(v).slice(0, 3)).to.deep.equal(["RUN_DIRECTORY", "ETCD_NAME", "NAME"]);
    expect(v.EXEC_START).to.equal("/bin/runc --systemd-cgroup run 'etcd'");
  });

  const names: Array<[string, string]> = [
    ["registry.fedoraproject.org/f27/etcd", "etcd"],
    ["registry.fedoraproject.org/f27/etcd:latest", "etcd"],
    ["registry.fedoraproject.org/f27/etcd:3.2", "etcd-3.2"],
    ["localhost:5000/etcd", "etcd"],
  ];
  for (const [image, name] of names) {
    it(`names a container from ${image}: ${name}`, () => expect(defaultSystemName(image)).to.equal(name));
  }

  it("encodes image refs as ostree branches the way atomic does", () => {
    const enc = encodeOstreeRef("registry.fedoraproject.org/f27/etcd");
    expect(enc).to.equal("registry.fedoraproject.org_2Ff27_2Fetcd_3Alatest");
    expect(decodeOstreeRef(enc)).to.equal("registry.fedoraproject.org/f27/etcd:latest");
  });
});

describe("atomic listing renderers", () => {
  it("pads like Python str.format and never truncates while padding", () => {
    expect(ljust("ab", 4)).to.equal("ab  ");
    expect(ljust("abcdef", 4)).to.equal("abcdef");
  });

  it("converts sizes like images.py convert_size", () => {
    expect(convertSize(277_400_000)).to.equal("277.4 MB");
    expect(convertSize(258_000_000)).to.equal("258.0 MB");
    expect(convertSize(0)).to.equal("0B");
  });

  it("prints nothing at all without -a when no container runs, even with --json", () => {
    const row = {
      id: "etcd", imageId: "x", imageName: "i", name: "etcd", command: "c", created: 0, state: "inactive" as const,
      backend: "ostree", runtime: "runc", running: false,
    }; // prettier-ignore
    expect(
      renderContainersList([row], { all: false, json: true, heading: true, truncate: true, quiet: false }),
    ).to.deep.equal([]);
    expect(
      renderContainersList([row], { all: true, json: false, heading: false, truncate: true, quiet: true }),
    ).to.deep.equal(["etcd"]);
  });
});
