import { expect } from "chai";
import {
  DISPLAY_LINE_MAX,
  buildAtomicInstallCommand,
  formatPlanLines,
  unwrapPlanLines,
  wrapDisplayWords,
} from "../../../provider/atomic";
import { quoteCommand } from "../../../provider/ssh";

const quote = quoteCommand;
const bytes = (s: string) => Buffer.byteLength(s, "utf8");

// The engine cuts every line of a string property after 150 bytes in `pulumi preview --diff` (pulumi/pulumi
// v3.248.0 pkg/backend/display/object_diff.go, truncatePropertyString): no display line may be longer.
describe("plan display lines (whole in the engine's diff display)", () => {
  const controllerManager = buildAtomicInstallCommand({
    name: "kube-controller-manager",
    image: "registry.fedoraproject.org/f27/kubernetes-controller-manager",
    values: { KUBE_MASTER: "--master=http://master1.example.com:8080" },
  });

  it("splits a command longer than a line between arguments, and joins back to the exact line", () => {
    const whole = quoteCommand(controllerManager);
    expect(bytes(whole)).to.be.greaterThan(DISPLAY_LINE_MAX);
    const lines = formatPlanLines([{ argv: controllerManager }], { quote });
    expect(lines.length).to.equal(2);
    for (const l of lines) expect(bytes(l)).to.be.at.most(DISPLAY_LINE_MAX);
    expect(lines[1]).to.equal("    registry.fedoraproject.org/f27/kubernetes-controller-manager");
    expect(unwrapPlanLines(lines)).to.deep.equal([{ line: whole }]);
  });

  it("keeps a command that fits on one line as it is", () => {
    expect(formatPlanLines([{ argv: ["systemctl", "start", "etcd.service"] }], { quote })).to.deep.equal([
      "systemctl start etcd.service",
    ]);
  });

  it("cuts an argument longer than a line inside it, marked so it joins back without a space", () => {
    const value = "x".repeat(400);
    const argv = ["atomic", "containers", "update", `--set=BIG=${value}`, "etcd"];
    const lines = formatPlanLines([{ argv }], { quote });
    for (const l of lines) expect(bytes(l)).to.be.at.most(DISPLAY_LINE_MAX);
    expect(lines.some((l) => l.startsWith("   +"))).to.equal(true);
    expect(unwrapPlanLines(lines)).to.deep.equal([{ line: quoteCommand(argv) }]);
  });

  it("never cuts inside a UTF-8 character", () => {
    const lines = wrapDisplayWords(["echo", "é".repeat(200)], 20);
    for (const l of lines) expect(bytes(l)).to.be.at.most(20);
    expect(lines.join("")).not.to.include("\uFFFD");
  });

  it("shows a step's condition after it, and unwraps it apart from the command", () => {
    const lines = formatPlanLines(
      [{ argv: ["systemctl", "stop", "etcd.service"], condition: "etcd.service is active" }],
      { quote },
    );
    expect(lines).to.deep.equal(["systemctl stop etcd.service # only if etcd.service is active"]);
    expect(unwrapPlanLines(lines)).to.deep.equal([
      { line: "systemctl stop etcd.service", condition: "etcd.service is active" },
    ]);
  });

  it("unwraps several commands in order", () => {
    const steps = [
      { argv: controllerManager },
      { argv: ["systemctl", "start", "kube-controller-manager.service"] },
    ];
    expect(unwrapPlanLines(formatPlanLines(steps, { quote })).map((c) => c.line)).to.deep.equal(
      steps.map((s) => quoteCommand(s.argv)),
    );
  });
});
