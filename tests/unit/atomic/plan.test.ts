import { expect } from "chai";
import {
  buildAtomicInstallCommand,
  buildEtcdInspectCommand,
  displayArgv,
  formatCommandForDisplay,
  formatPlanLines,
  planSystemContainerCreate,
} from "../../../provider/atomic";

/** A POSIX single-quote quoter standing in for the SSH layer's quoteCommand (which the provider passes). */
const quote = (argv: readonly string[]) =>
  argv.map((a) => (/^[A-Za-z0-9_/.,:@%+=-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'")).join(" ");

describe("plan display", () => {
  it("shows the install command as the migration guide writes it", () => {
    const argv = buildAtomicInstallCommand({ name: "etcd", image: "registry.fedoraproject.org/f27/etcd" });
    expect(formatCommandForDisplay(argv, { quote })).to.equal(
      "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd",
    );
  });

  it("quotes a value with a space through the caller's quoter", () => {
    const argv = buildAtomicInstallCommand({
      name: "etcd",
      image: "r.io/a/etcd",
      values: { ETCD_NAME: "node 1" },
    });
    expect(formatCommandForDisplay(argv, { quote })).to.contain("'--set=ETCD_NAME=node 1'");
  });

  it("abbreviates an embedded script and keeps its parameters", () => {
    const argv = buildEtcdInspectCommand({
      source: "/var/lib/etcd/member",
      destination: "/var/lib/etcd/etcd.etcd",
      unit: "etcd.service",
    });
    expect(formatCommandForDisplay(argv, { quote })).to.equal(
      "sh -c '<etcd-inspect script>' atomic-host-etcd /var/lib/etcd/member /var/lib/etcd/etcd.etcd etcd.service",
    );
  });

  it("masks secret values wherever they appear in an argument", () => {
    const argv = buildAtomicInstallCommand({
      name: "etcd",
      image: "r.io/a/etcd",
      values: { ETCD_PASSWORD: "s3cret", ETCD_NAME: "n" },
    });
    const shown = displayArgv(argv, ["s3cret", ""]);
    expect(shown).to.include("--set=ETCD_PASSWORD=[secret]");
    expect(shown.join(" ")).not.to.contain("s3cret");
  });

  it("lists a plan's steps in order, with reasons when asked", () => {
    const plan = planSystemContainerCreate({ name: "etcd", image: "registry.fedoraproject.org/f27/etcd" });
    expect(formatPlanLines(plan.steps, { quote })).to.deep.equal([
      "systemctl stop etcd.service # only if etcd.service is active",
      "atomic pull --storage=ostree registry.fedoraproject.org/f27/etcd",
      "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd",
      "systemctl start etcd.service",
    ]);
    expect(formatPlanLines(plan.steps.slice(3), { quote, withReasons: true })).to.deep.equal([
      "systemctl start etcd.service # running is true and the unit is not active (atomic install and update never start a stopped unit)",
    ]);
  });
});
