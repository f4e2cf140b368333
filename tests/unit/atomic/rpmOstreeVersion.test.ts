import { expect } from "chai";
import { parseRpmOstreeVersion, rpmOstreeCapabilities } from "../../../provider/atomic";
import { fixture } from "./fixtures";

describe("parseRpmOstreeVersion", () => {
  it("reads the bare 2017.10 form", () => {
    expect(parseRpmOstreeVersion(fixture("rpm-ostree-version-2017.10.txt"))).to.deep.equal({
      ok: true,
      value: { version: "2017.10", year: 2017, release: 10, features: ["compose"] },
    });
  });

  it("reads the quoted form with a Git line", () => {
    expect(parseRpmOstreeVersion(fixture("rpm-ostree-version-2018.7.txt"))).to.deep.equal({
      ok: true,
      value: {
        version: "2018.7",
        year: 2018,
        release: 7,
        features: ["compose", "rojig"],
        git: "67860c5e2b56ba6dbbf6d2aa5b3e62e6e1c0ba29",
      },
    });
  });

  it("keeps 2018.10 as release 10, not the YAML float 2018.1", () => {
    const r = parseRpmOstreeVersion(fixture("rpm-ostree-version-2018.10.txt"));
    expect(r.ok && [r.value.version, r.value.release]).to.deep.equal(["2018.10", 10]);
  });

  it("returns an error for output that is not rpm-ostree's", () => {
    const r = parseRpmOstreeVersion("bash: rpm-ostree: command not found\n");
    expect(r.ok).to.equal(false);
  });
});

describe("rpmOstreeCapabilities", () => {
  const rows: [string, { year: number; release: number } | undefined, boolean, boolean, boolean][] = [
    // title, version, idempotent, allowInactive, cancel
    ["2017.10 (F27 GA)", { year: 2017, release: 10 }, false, false, false],
    ["2017.11", { year: 2017, release: 11 }, false, false, false],
    ["2018.1", { year: 2018, release: 1 }, false, false, true],
    ["2018.6", { year: 2018, release: 6 }, false, true, true],
    ["2018.7", { year: 2018, release: 7 }, true, true, true],
    [
      "2018.10 (after 2018.7, though 2018.10 < 2018.7 as a float)",
      { year: 2018, release: 10 },
      true,
      true,
      true,
    ],
    ["2019.6", { year: 2019, release: 6 }, true, true, true],
    ["an unknown version (treated as 2017.10)", undefined, false, false, false],
  ];
  for (const [title, version, idempotent, allowInactive, cancel] of rows) {
    it(`knows what ${title} supports`, () => {
      const c = rpmOstreeCapabilities(version);
      expect([c.idempotent, c.allowInactive, c.cancel]).to.deep.equal([idempotent, allowInactive, cancel]);
    });
  }
});
