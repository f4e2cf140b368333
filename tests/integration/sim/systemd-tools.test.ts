import { expect } from "chai";
import { SimCluster } from "../../../sim";
import { knownHostsFile, removeDir, skipUnlessSimAvailable, sshRun, tempDir } from "./support";

describe("atomic-host-sim: systemctl, systemd-tmpfiles and reboot stand-ins on a host", function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: SimCluster;
  let run: (command: string) => ReturnType<typeof sshRun>;

  before(async function () {
    skipUnlessSimAvailable(this);
    dir = tempDir("systemd");
    cluster = await SimCluster.start({ dir, hosts: 1, release: 26, layout: "contrib" });
    const knownHosts = knownHostsFile(dir, cluster.hosts);
    run = (command) => sshRun(cluster.host("host1"), command, { knownHosts });
  });

  after(async function () {
    if (cluster) await cluster.stop();
    if (dir) removeDir(dir);
  });

  it("says what systemd says about a unit that does not exist", async function () {
    const cases: [string, number, string, string][] = [
      ["systemctl start nope", 5, "", "Failed to start nope.service: Unit nope.service not found.\n"],
      ["systemctl stop nope", 5, "", "Failed to stop nope.service: Unit nope.service not loaded.\n"],
      ["systemctl restart nope", 5, "", "Failed to restart nope.service: Unit nope.service not found.\n"],
      ["systemctl is-active nope", 3, "inactive\n", ""],
      [
        "systemctl is-enabled nope",
        1,
        "",
        "Failed to get unit file state for nope.service: No such file or directory\n",
      ],
      ["systemctl enable nope", 1, "", "Failed to enable unit: Unit file nope.service does not exist.\n"],
      ["systemctl status nope", 4, "", "Unit nope.service could not be found.\n"],
    ];
    for (const [command, code, stdout, stderr] of cases) {
      const r = await run(command);
      expect([r.code, r.stdout, r.stderr], command).to.deep.equal([code, stdout, stderr]);
    }
  });

  it("enables, starts, stops and disables a unit that runs a placeholder process", async function () {
    // kube-scheduler ships with the F26 base; EnvironmentFile= lines are optional ("-"), so it can start.
    const enable = await run("systemctl enable kube-scheduler");
    expect(enable.stderr).to.equal(
      "Created symlink /etc/systemd/system/multi-user.target.wants/kube-scheduler.service \u2192 " +
        "/usr/lib/systemd/system/kube-scheduler.service.\n",
    );
    expect((await run("systemctl is-enabled kube-scheduler")).stdout).to.equal("enabled\n");
    expect((await run("systemctl enable kube-scheduler")).stderr).to.equal(""); // already enabled: nothing to say
    const start = await run("systemctl start kube-scheduler && systemctl is-active kube-scheduler");
    expect([start.code, start.stdout]).to.deep.equal([0, "active\n"]);
    const pid = Number((await run("systemctl show kube-scheduler -p MainPID --value")).stdout);
    expect(pid).to.be.greaterThan(0);
    const stop = await run(
      `systemctl stop kube-scheduler; systemctl is-active kube-scheduler; test -e /proc/${pid}; echo $?`,
    );
    expect(stop.stdout).to.equal("inactive\n1\n");
    const disable = await run("systemctl disable kube-scheduler; systemctl is-enabled kube-scheduler");
    expect(disable.stderr).to.equal(
      "Removed /etc/systemd/system/multi-user.target.wants/kube-scheduler.service.\n",
    );
    expect([disable.code, disable.stdout]).to.deep.equal([1, "disabled\n"]);
  });

  it("fails a start whose EnvironmentFile= is missing, and reports a unit whose process died as failed", async function () {
    const flannel = await run(
      // A Fedora 26 host has flannel's /etc/sysconfig/flanneld; remove it to start the unit without it.
      "rm -f /etc/sysconfig/flanneld; systemctl start flanneld; echo $?; systemctl is-active flanneld; systemctl is-failed flanneld",
    );
    expect(flannel.stdout).to.equal("1\nfailed\nfailed\n");
    expect(flannel.stderr).to.match(/^Job for flanneld\.service failed because of unavailable resources/);
    const died = await run(
      "systemctl start kube-proxy && kill -9 $(systemctl show kube-proxy -p MainPID --value) && sleep 0.2 && systemctl is-active kube-proxy",
    );
    expect(died.stdout).to.equal("failed\n");
  });

  it("starts the enabled units at boot, and nothing else", async function () {
    await run("systemctl enable kube-scheduler 2>/dev/null");
    await cluster.reboot("host1");
    const r = await run("systemctl is-active etcd kube-scheduler kube-proxy");
    expect(r.stdout).to.equal("active\nactive\ninactive\n");
  });

  it("creates and removes what tmpfiles lines say", async function () {
    const conf =
      "d /var/lib/tmpf/a 0750 root root - -\\nD /run/tmpf - - - - -\\nr /var/lib/tmpf/gone - - - - -\\n";
    const r = await run(
      [
        `printf '${conf}' > /etc/tmpfiles.d/tmpf.conf`,
        "systemd-tmpfiles --create /etc/tmpfiles.d/tmpf.conf",
        "stat -c %a /var/lib/tmpf/a",
        "touch /run/tmpf/x /var/lib/tmpf/gone",
        "systemd-tmpfiles --remove /etc/tmpfiles.d/tmpf.conf",
        "ls -A /run/tmpf | wc -l",
        "test -e /var/lib/tmpf/gone; echo gone=$?",
        "test -d /var/lib/tmpf/a && echo kept",
      ].join(" && "),
    );
    expect(r.stdout, r.stderr).to.equal("750\n0\ngone=1\nkept\n");
    const missing = await run("systemd-tmpfiles --create /etc/tmpfiles.d/none.conf");
    expect(missing.code).to.equal(1);
  });

  it("`reboot` reboots the host", async function () {
    const before = cluster.bootId("host1");
    const boots = (await cluster.hostStatus("host1")).boots;
    const r = await run("reboot");
    expect([0, 255]).to.include(r.code);
    for (let i = 0; i < 200; i++) {
      const st = await cluster.hostStatus("host1");
      if (st.state === "up" && st.boots > boots) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(cluster.bootId("host1")).to.not.equal(before);
  });
});
