import { expect } from "chai";
import {
  atomicFailureAdvice,
  classifyInstallOutcome,
  classifyPullOutcome,
  classifyRollbackOutcome,
  classifyRpmOstreeOutcome,
  classifyUpdateOutcome,
  etcdLeftStoppedMessage,
  registryOf,
  rpmOstreeFailureAdvice,
  type AtomicFailure,
} from "../../../provider/atomic";
import { fixture, output } from "./fixtures";

// A failed command's `next:` line: advice for its class of failure, not the tool's words again (those are the
// error's stderr lines).
const image = "registry.fedoraproject.org/f27/etcd";
const ctx = { name: "etcd", image, step: "install" };

describe("advice for a failed atomic command", () => {
  const rows: Array<[string, AtomicFailure | { kind: string }, string[]]> = [
    [
      "an image the registry does not have",
      classifyPullOutcome(
        output(
          1,
          "",
          'time="2017-11-20T10:11:12Z" level=fatal msg="Error initializing source docker://registry.fedoraproject.org/f27/etcd:latest: Error reading manifest latest in registry.fedoraproject.org/f27/etcd: manifest unknown: manifest unknown"\n',
        ),
      ),
      ["check the image name and tag, and the registry (registry.fedoraproject.org;", `no image "${image}"`],
    ],
    [
      "a hand-made unit file in the way",
      classifyInstallOutcome(output(1, "", fixture("atomic-install-unit-exists.stderr")), "etcd", image),
      ["/etc/systemd/system/etcd.service", "move it aside"],
    ],
    [
      "a container removed by hand",
      classifyUpdateOutcome(output(1, "", fixture("atomic-containers-update-missing.stderr"))),
      ["not installed on the host any more", "pulumi refresh"],
    ],
    [
      "nothing to roll back to",
      classifyRollbackOutcome(
        output(
          1,
          fixture("atomic-containers-rollback-none.stdout"),
          fixture("atomic-containers-rollback-none.stderr"),
        ),
      ),
      ["no previous deployment to roll back to"],
    ],
    [
      "not root",
      classifyInstallOutcome(output(1, "", "Only root can use --system\n"), "etcd", image),
      ["as root only", "atomic-host:user"],
    ],
    [
      "a full disk under the checkout (libostree's copy)",
      classifyInstallOutcome(
        output(
          1,
          "Extracting to /var/lib/containers/atomic/etcd.0\n",
          "g-io-error-quark: regfile copy: No space left on device (12)\n",
        ),
        "etcd",
        image,
      ),
      ["ran out of disk space", "df -h /var/lib/containers/atomic /ostree/repo"],
    ],
    [
      "a full disk (Python's OSError)",
      classifyUpdateOutcome(
        output(
          1,
          "Extracting to /var/lib/containers/atomic/etcd.1\n",
          "[Errno 28] No space left on device\n",
        ),
      ),
      ["ran out of disk space", "df -h"],
    ],
    [
      "atomic killed by a signal",
      classifyInstallOutcome(
        {
          ...output(1, "Extracting to /var/lib/containers/atomic/etcd.0\n", ""),
          exitCode: null,
          signal: "SIGKILL",
        },
        "etcd",
        image,
      ),
      ["atomic was killed before it finished", "next pulumi up reads the host and repairs"],
    ],
    [
      "atomic killed by SIGTERM, as a shell reports it (128+15)",
      classifyInstallOutcome(
        output(143, "Extracting to /var/lib/containers/atomic/etcd.0\n", ""),
        "etcd",
        image,
      ),
      ["atomic was killed before it finished"],
    ],
    [
      "anything else",
      classifyInstallOutcome(
        output(1, "", "Invalid configuration file.  Only readonly images are supported\n"),
        "etcd",
        image,
      ),
      ["atomic could not install etcd", "run the command on the host"],
    ],
  ];
  for (const [what, outcome, words] of rows) {
    it(`advises on ${what}`, () => {
      expect(outcome.kind).to.equal("failed");
      const failure = outcome as AtomicFailure;
      const advice = atomicFailureAdvice(failure.failure, ctx);
      for (const w of words) expect(advice).to.contain(w);
      // Not a copy of what the tool said.
      const said = failure.message.trim().split("\n").pop()!;
      expect(advice).not.to.contain(said);
    });
  }
});

describe("advice for a failed rpm-ostree transaction", () => {
  it("names the repositories when a package is not found", () => {
    const o = classifyRpmOstreeOutcome(output(1, "", fixture("rpm-ostree-install-no-match.stderr")));
    expect(o.kind).to.equal("packageNotFound");
    expect(rpmOstreeFailureAdvice(o.kind)).to.contain("/etc/yum.repos.d");
  });
  it("says how to clear a stuck transaction", () => {
    const o = classifyRpmOstreeOutcome(output(1, "", fixture("rpm-ostree-transaction-in-progress.stderr")));
    expect(rpmOstreeFailureAdvice(o.kind)).to.contain("rpm-ostree cancel");
  });
  it("says where to free space when the repo's filesystem is full", () => {
    const o = classifyRpmOstreeOutcome(
      output(1, "", "error: min-free-space-percent '3%' would be exceeded, 0 bytes available\n"),
    );
    expect(o.kind).to.equal("noSpace");
    expect(rpmOstreeFailureAdvice(o.kind)).to.contain("df -h /sysroot").and.contain("pulumi up again");
  });
  it("sends to the daemon's journal when rpm-ostreed went away mid-transaction", () => {
    const o = classifyRpmOstreeOutcome(output(1, "", "error: Bus owner changed, aborting.\n"));
    expect(o.kind).to.equal("daemonGone");
    expect(rpmOstreeFailureAdvice(o.kind))
      .to.contain("journalctl -u rpm-ostreed")
      .and.contain("pulumi up again");
  });
  it("points at status, space and the daemon's journal otherwise", () => {
    const o = classifyRpmOstreeOutcome(output(1, "", "error: Writing rpmdb: Input/output error\n"));
    expect(o.kind).to.equal("failed");
    expect(rpmOstreeFailureAdvice(o.kind)).to.contain("journalctl -u rpm-ostreed").and.not.contain("rpmdb");
  });
});

describe("registryOf", () => {
  const rows: Array<[string, string]> = [
    ["registry.fedoraproject.org/f27/etcd", "registry.fedoraproject.org"],
    ["localhost:5000/etcd:v1", "localhost:5000"],
    ["localhost/etcd", "localhost"],
    ["library/etcd", "docker.io"],
    ["etcd", "docker.io"],
  ];
  for (const [ref, registry] of rows)
    it(`${ref} -> ${registry}`, () => expect(registryOf(ref)).to.equal(registry));
});

describe("the line destroy prints for the etcd data migration", () => {
  const spec = {
    source: "/var/lib/etcd/member",
    destination: "/var/lib/etcd/etcd.etcd",
    unit: "etcd.service",
  };
  it("says etcd is left stopped and disabled, why, and how to run it again", () => {
    const line = etcdLeftStoppedMessage(spec, { active: "inactive", enabled: "disabled" });
    expect(line).to.match(/^etcd\.service is left stopped and disabled \(inactive, disabled\): /);
    expect(line).to.contain("would rewind the cluster");
    expect(line).to.contain(
      '"pulumi up" installs the etcd container again on /var/lib/etcd/etcd.etcd/member',
    );
    expect(line).to.contain('"systemctl enable --now etcd.service"');
  });
  it("warns when etcd is running anyway", () => {
    const line = etcdLeftStoppedMessage(spec, { active: "active", enabled: "enabled" });
    expect(line).to.match(/^warning: etcd\.service is active \(enabled\)/);
    expect(line).to.contain("ETCD_DATA_DIR");
  });
  it("still explains when the host could not be read", () => {
    expect(etcdLeftStoppedMessage(spec, undefined)).to.match(/^etcd\.service is left stopped and disabled: /);
  });
});
