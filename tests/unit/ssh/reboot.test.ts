import { expect } from "chai";
import { parseBootId } from "../../../provider/ssh/reboot";

describe("ssh/reboot parseBootId", () => {
  it("reads the UUID the kernel prints, lower-cased and trimmed", () => {
    expect(parseBootId("DEA6BDA6-484F-4C0E-9483-503DB569DCE0\n")).to.equal(
      "dea6bda6-484f-4c0e-9483-503db569dce0",
    );
  });
  it("returns an error for anything else", () => {
    for (const text of [
      "",
      "cat: /proc/sys/kernel/random/boot_id: No such file",
      "dea6bda6-484f-4c0e-9483",
    ]) {
      expect(parseBootId(text)).to.be.instanceOf(Error);
    }
  });
});
