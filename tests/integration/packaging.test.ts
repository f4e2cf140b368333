import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "../helpers/pulumi";

// The package as npm produces it: `prepare` builds it (so an install from a git URL, a folder or a tarball works
// from source) and refuses to let `npm pack` produce a package whose entry points are missing; `files` ships the
// compiled code with its types, the example programs with their stack configurations, README and CHANGELOG.

/** The repository's tracked files, copied into a fresh folder (a clone without node_modules and bin/). */
function cleanCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pah-pack-"));
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO, encoding: "utf8" })
    .split("\0")
    .filter(Boolean);
  for (const f of files) {
    if (!fs.existsSync(path.join(REPO, f))) continue;
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  }
  return dir;
}

function npmPack(cwd: string) {
  return spawnSync("npm", ["pack", "--pack-destination", cwd], { cwd, encoding: "utf8" });
}

describe("the npm package", function () {
  this.timeout(5 * 60_000);
  const copies: string[] = [];
  after(() => copies.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("ships the compiled entry points with types, the examples' stack configurations, README and CHANGELOG", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json"], {
      cwd: REPO,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const files = (JSON.parse(out)[0].files as { path: string }[]).map((f) => f.path);
    for (const f of [
      "bin/provider/index.js",
      "bin/provider/index.d.ts",
      "bin/provider/handlers.js",
      "bin/provider/components/status.d.ts",
      "bin/sim/cli.js",
      "bin/sim/index.js",
      "examples/system-containers/Pulumi.example.yaml",
      "examples/system-containers/index.ts",
      "examples/package-layering/Pulumi.example.yaml",
      "README.md",
      "CHANGELOG.md",
      "package.json",
    ])
      expect(files, f).to.include(f);
    expect(files.filter((f) => /^(tests|scripts|provider)\//.test(f) || f.endsWith(".tgz"))).to.deep.equal(
      [],
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
    expect(pkg.scripts.prepare).to.equal("bash scripts/build");
    expect(pkg.exports["."].types).to.equal("./bin/provider/index.d.ts");
  });

  it("refuses to pack a clone that cannot be built, producing no tarball", () => {
    const dir = cleanCopy();
    copies.push(dir);
    const r = npmPack(dir);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain("build: cannot compile: TypeScript is not installed here (run npm ci first)");
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tgz"))).to.deep.equal([]);
  });

  it("refuses to pack a build that lacks an entry point", () => {
    const dir = cleanCopy();
    copies.push(dir);
    // A build that looks current but lost the file the serialized provider requires in the provider process.
    for (const f of [
      "bin/provider/index.js",
      "bin/provider/index.d.ts",
      "bin/sim/cli.js",
      "bin/sim/index.js",
    ]) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), "");
    }
    const later = new Date(Date.now() + 60_000);
    fs.writeFileSync(path.join(dir, "bin", ".build-stamp"), "");
    fs.utimesSync(path.join(dir, "bin", ".build-stamp"), later, later);
    const r = npmPack(dir);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain(
      "build: missing entry points bin/provider/handlers.js: the package would not load",
    );
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tgz"))).to.deep.equal([]);
  });
});
