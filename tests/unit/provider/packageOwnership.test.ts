import { expect } from "chai";
import { packageOwnership } from "../../../provider/impl/layeredPackageProvider";

// Which declared packages a LayeredPackage layered itself (delete uninstalls them) and which it adopted (already
// requested on the host when it first declared them: delete leaves them).
describe("LayeredPackage packageOwnership", () => {
  const rows: [
    string,
    string[],
    string[],
    { packages: string[]; adoptedPackages?: string[] } | undefined,
    { addedPackages: string[]; adoptedPackages: string[] },
  ][] = [
    [
      "a fresh host: everything is added",
      ["etcd", "flannel"],
      [],
      undefined,
      { addedPackages: ["etcd", "flannel"], adoptedPackages: [] },
    ],
    [
      "a package requested by hand before create is adopted",
      ["htop", "etcd"],
      ["htop"],
      undefined,
      { addedPackages: ["etcd"], adoptedPackages: ["htop"] },
    ],
    [
      "a package this resource added stays added, though the host now requests it",
      ["etcd", "htop"],
      ["etcd"],
      { packages: ["etcd"], adoptedPackages: [] },
      { addedPackages: ["etcd", "htop"], adoptedPackages: [] },
    ],
    [
      "an adopted package stays adopted across updates",
      ["htop", "etcd"],
      ["htop", "etcd"],
      { packages: ["htop", "etcd"], adoptedPackages: ["htop"] },
      { addedPackages: ["etcd"], adoptedPackages: ["htop"] },
    ],
    [
      "a package declared later that someone layered meanwhile is adopted",
      ["etcd", "htop"],
      ["etcd", "htop"],
      { packages: ["etcd"], adoptedPackages: [] },
      { addedPackages: ["etcd"], adoptedPackages: ["htop"] },
    ],
    [
      "a package dropped from the declaration is in neither list",
      ["etcd"],
      ["etcd", "htop"],
      { packages: ["etcd", "htop"], adoptedPackages: ["htop"] },
      { addedPackages: ["etcd"], adoptedPackages: [] },
    ],
  ];
  for (const [title, declared, requested, previous, expected] of rows) {
    it(title, () => expect(packageOwnership(declared, requested, previous)).to.deep.equal(expected));
  }
});
