/**
 * The stand-in `atomic` and `rpm-ostree` over REAL SSH, checked against the golden files
 * (tests/fixtures/golden/{atomic,rpm-ostree}/<case>.txt, each citing its source).
 *
 * tests/unit/sim/{atomic,rpmOstree}Golden.test.ts run the tools as local processes in an `$ATOMIC_SIM_ROOT`
 * sandbox with a fake systemctl. Here every golden's `# command:` line is sent verbatim through the system OpenSSH
 * client (key auth, `StrictHostKeyChecking=yes` against the host key from cluster.json) to a simulated host: the
 * host's sshd, its exec wrapper, its mount namespace, its real systemctl/systemd-tmpfiles stand-ins and its
 * supervisor are all in the path. Exit status, stdout and stderr must equal the golden byte for byte.
 *
 * Environment: the goldens were recorded with `ATOMIC_SIM_CLOCK=2017-11-20T10:11:12Z TZ=UTC LANG=en_US.UTF-8`
 * (toolHarness.ts); the tools read the clock from `$ATOMIC_SIM_CLOCK` (sim/tools/atomic/hostEnv.ts, shared by
 * rpm-ostree) and Node honours `$TZ`, so each command runs as `env <those three> <command>` on the host (a golden
 * command's own `LANG=C` comes later and wins). sshd passes no client environment (no AcceptEnv).
 *
 * Normalisation: none. The golden README allows replacing only the sandbox prefix (`$ATOMIC_SIM_ROOT`); on a live
 * host the tools run with real Fedora paths and no prefix, so there is nothing to replace.
 *
 * State: each group of cases gets a host prepared as its unit-test sandbox is (toolHarness.ts / the golden tests),
 * by `cluster.exec` inside the host or by running the prerequisite commands over SSH, then runs the cases in the
 * unit test's order. Hosts: one Fedora 26 / rpm-ostree 2017.10 cluster (six hosts, etcd only where a case needs
 * it), then one-host clusters for Fedora 27 / 2017.10, Fedora 27 / 2018.7 and Fedora 26 / 2018.7 (release and
 * rpm-ostree version are per cluster). One cluster is up at a time.
 *
 * Every golden case is reproduced on a live host; none is left out. Cases whose state needed more than the
 * golden's own prerequisite commands, and how it was made:
 *  - atomic/install-etcd-fresh-host, install-already-present, containers-rollback-no-previous: a host without
 *    etcd (`etcdHosts`), so /etc/etcd/etcd.conf does not exist, as in the empty sandbox.
 *  - atomic install-kube-* / install-flanneld: the contrib sandbox's pre-existing /etc/kubernetes/{config,apiserver}
 *    and /etc/sysconfig/flanneld are written into the host (the simulated F26 /etc has neither folder).
 *  - atomic containers-list-none-running: the contrib host's RPM etcd is stopped first (`systemctl stop etcd`, as
 *    the migration guide does), since the sandbox's units all start inactive.
 *  - atomic/containers-list-running: `systemctl start etcd` (the system container's real etcd), flannel's network
 *    config written into it (`etcdctl set /atomic.io/network/config`; flanneld is ready only with it) and
 *    `systemctl start flanneld`, then flanneld's process is killed so systemd reports it failed.
 *  - atomic/pull-etcd-ostree-new-digest: a new etcd digest is published in the cluster's registry (`publishImage`).
 *  - atomic/install-unit-file-exists: /etc/systemd/system/etcd.service written into the host first.
 *  - rpm-ostree/status-booted-f27: the host really reboots (`cluster.reboot`) into the pending deployment.
 *  - rpm-ostree/rebase-f27-node-reboot: `-r` really reboots the host; the command's output and exit status reach
 *    the client first (`shutdownDelayMs`).
 *  - rpm-ostree/rebase-f27-*, status-f26-after-failed-rebase: the guide's `ostree remote add` (the host's real
 *    ostree CLI) before the rebases that need it; the gpgkeypath case moves the 27 key away and back.
 *  - rpm-ostree/status-transaction-running, status-json-transaction-running, install-transaction-in-progress: the
 *    golden's "another transaction" is a real `rpm-ostree upgrade` started over SSH and held open by
 *    `holdTransaction` (the first transaction of a fresh host, so its D-Bus sender is `:1.52` as in the golden).
 *
 * Build first (`npx tsc -p tsconfig.json`): the hosts run the tools from bin/.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import type { ClusterHostEntry, ClusterOptions, HostStatus } from "../../../sim";
import { CONTRIB_NETWORK_CONFIG, SimCluster } from "../../../sim";
import { publishImage } from "../../../sim/catalog";
import { GOLDEN_DIR, parseGolden } from "../../unit/sim/toolHarness";
import type { RunResult } from "./support";
import { knownHostsFile, removeDir, skipUnlessSimAvailable, sleep, sshRun, tempDir } from "./support";

/** The environment the goldens were recorded in (toolHarness.ts `makeSandbox`). */
const GOLDEN_ENV = "env ATOMIC_SIM_CLOCK=2017-11-20T10:11:12Z TZ=UTC LANG=en_US.UTF-8";

const ETCD = "registry.fedoraproject.org/f27/etcd";

/** The upgrade guide's first step, with the host's real ostree CLI (real-outputs/ostree-remote-add-01.txt). */
const GUIDE_REMOTE_ADD =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";
const F27_KEY = "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary";

interface GoldenCase {
  name: string;
  file: string;
  command: string;
  exit: number;
  stdout: string;
  stderr: string;
}

function readGoldenCase(name: string): GoldenCase {
  const file = path.join(GOLDEN_DIR, `${name}.txt`);
  const g = parseGolden(fs.readFileSync(file, "utf8"));
  const field = (key: string) => g.header.find((h) => h.startsWith(`${key}: `))?.slice(key.length + 2);
  const command = field("command");
  if (field("case") !== name) throw new Error(`${file}: header says case ${field("case")}, expected ${name}`);
  if (!command) throw new Error(`${file}: no '# command:' header`);
  if (!field("source")) throw new Error(`${file}: no '# source:' header`);
  return { name, file: path.relative(path.resolve(GOLDEN_DIR, "../../.."), file), command, ...g };
}

interface Live {
  dir: string;
  cluster: SimCluster;
  knownHosts: string;
}

/** A cluster for the enclosing describe: started in its `before`, stopped in its `after`. */
function useCluster(tag: string, opts: Omit<ClusterOptions, "dir">): Live {
  const live = {} as Live;
  before(async function () {
    skipUnlessSimAvailable(this);
    live.dir = tempDir(`golden-${tag}`);
    live.cluster = await SimCluster.start({ dir: live.dir, ...opts });
    live.knownHosts = knownHostsFile(live.dir, live.cluster.hosts);
  });
  after(async function () {
    if (live.cluster) await live.cluster.stop();
    if (live.dir) removeDir(live.dir);
  });
  return live;
}

/** Runs a golden case's command on `host` over real SSH and compares exit status, stdout and stderr. */
async function expectGolden(live: Live, host: string, name: string): Promise<RunResult> {
  const g = readGoldenCase(name);
  const h: ClusterHostEntry = live.cluster.host(host);
  const command = `${GOLDEN_ENV} ${g.command}`;
  const r = await sshRun(h, command, { knownHosts: live.knownHosts, timeoutMs: 60_000 });
  expect(r.signal, `${name}: ssh was killed`).to.equal(null);
  expect(
    { exit: r.code, stdout: r.stdout, stderr: r.stderr },
    `${g.file} over SSH on ${host}: \`${g.command}\``,
  ).to.deep.equal({ exit: g.exit, stdout: g.stdout, stderr: g.stderr });
  // The host's sshd ran it (its exec wrapper logged the command and the same exit status).
  const logged = live.cluster.readCommandsLog(host).filter((e) => e.command === command);
  expect(logged.at(-1), `${name}: commands.log of ${host}`).to.include({ exitCode: g.exit });
  return r;
}

/** Setup or inspection inside a host (no SSH, no commands.log line); fails on a non-zero exit. */
async function inHost(live: Live, host: string, command: string): Promise<string> {
  const r = await live.cluster.exec(host, command);
  if (r.exitCode !== 0)
    throw new Error(`${host}: \`${command}\` exited ${r.exitCode ?? r.signal}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Polls `check` until it holds. The give-up point is only a hang guard (so a stuck host cannot keep mocha's event
 * loop busy after the test timed out), far beyond anything the cases need; nothing here measures time.
 */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const giveUp = Date.now() + 100_000;
  for (;;) {
    if (await check()) return;
    if (Date.now() > giveUp) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until the host has booted again after `before` (state up, boot count higher). */
async function bootedAgain(live: Live, host: string, before: HostStatus): Promise<HostStatus> {
  let st = before;
  await until(`${host} to boot again`, async () => {
    try {
      st = await live.cluster.hostStatus(host);
    } catch {
      return false;
    }
    return st.state === "up" && st.boots > before.boots;
  });
  return st;
}

/** One `it` per golden case, run in order on `host`, each after its optional setup. */
function goldenCases(
  live: Live,
  host: string,
  cases: Array<string | [string, () => Promise<void>]>,
  after?: Partial<Record<string, (r: RunResult) => Promise<void>>>,
): void {
  for (const c of cases) {
    const [name, setup] = typeof c === "string" ? [c, undefined] : c;
    it(name, async function () {
      if (setup) await setup();
      const r = await expectGolden(live, host, name);
      await after?.[name]?.(r);
    });
  }
}

describe("golden outputs of atomic and rpm-ostree over real SSH", function () {
  this.timeout(120_000);

  describe("Fedora 26 hosts, rpm-ostree 2017.10", () => {
    const live = useCluster("f26", {
      hosts: ["fresh", "errors", "badset", "contrib", "f26", "master", "node"],
      release: 26,
      layout: "contrib",
      rpmOstreeVersion: "2017.10",
      // etcd (the kubernetes/contrib layout: /etc/etcd/etcd.conf, RPM unit enabled and running) only where the
      // contrib sandbox had it; the others are as bare as an empty sandbox.
      etcdHosts: ["contrib"],
      rebootDownMs: 300,
      // rpm-ostree -r: its exit status and output must reach the client before the host goes down.
      shutdownDelayMs: 1000,
    });

    describe("atomic on a fresh host (no /etc/etcd/etcd.conf)", () => {
      goldenCases(live, "fresh", [
        "atomic/install-etcd-fresh-host",
        "atomic/install-already-present",
        "atomic/containers-rollback-no-previous",
      ]);
    });

    describe("atomic errors on a host with nothing installed", () => {
      // A bad --set fails only after the etcd image is pulled (Atomic/syscontainers.py:399,408 at V1.12.1): on its
      // own host, so install-unit-file-exists on "errors" still pulls first.
      goldenCases(live, "badset", ["atomic/install-invalid-set"]);
      goldenCases(
        live,
        "errors",
        [
          "atomic/install-invalid-system-package",
          "atomic/install-system-docker-storage",
          "atomic/install-set-without-system",
          "atomic/install-unknown-image",
          "atomic/install-missing-image",
          "atomic/install-unrecognized-option",
          "atomic/containers-update-not-installed",
          "atomic/uninstall-unknown",
          "atomic/uninstall-unknown-storage",
          "atomic/pull-unknown-ostree",
          "atomic/pull-unknown-docker",
          "atomic/containers-list-bad-filter",
          [
            "atomic/install-unit-file-exists",
            async () => {
              await inHost(
                live,
                "errors",
                "mkdir -p /etc/systemd/system && printf '[Service]\\nExecStart=/usr/bin/etcd\\n' > /etc/systemd/system/etcd.service",
              );
            },
          ],
        ],
        {
          "atomic/install-unit-file-exists": async () => {
            // atomic removed what it had started to create and left the existing unit alone.
            expect(await inHost(live, "errors", "ls /var/lib/containers/atomic/ 2>/dev/null; true")).to.equal(
              "",
            );
            expect(await inHost(live, "errors", "cat /etc/systemd/system/etcd.service")).to.contain(
              "/usr/bin/etcd",
            );
          },
        },
      );
    });

    describe("atomic: the migration guide on a kubernetes/contrib Fedora 26 host", () => {
      before(async function () {
        // The contrib sandbox's RPM-era configuration (toolHarness contribHost); /etc/etcd/etcd.conf is the host's.
        await inHost(
          live,
          "contrib",
          [
            "set -e",
            "test -f /etc/etcd/etcd.conf",
            "mkdir -p /etc/kubernetes /etc/sysconfig",
            `printf '%s\\n' 'KUBE_MASTER="--master=http://10.0.0.1:8080"' > /etc/kubernetes/config`,
            `printf '%s\\n' 'KUBE_API_ADDRESS="--insecure-bind-address=0.0.0.0"' > /etc/kubernetes/apiserver`,
            `printf '%s\\n' 'FLANNEL_ETCD_ENDPOINTS="http://10.0.0.1:2379"' > /etc/sysconfig/flanneld`,
            // The guide stops the RPM etcd before installing its container (the sandbox's units start inactive).
            "systemctl stop etcd",
          ].join("\n"),
        );
      });

      const startEtcdAndFailFlanneld = async () => {
        // flanneld starts only once its etcd holds the network config (sim/tools/flannel.ts): the etcd system
        // container starts from an empty data dir here, so the config is written into it first, as on a cluster.
        // The etcd system container's unit is Type=simple, so its start returns before etcd serves (as under
        // systemd): the config is written once etcd takes it, not straight after the start (that raced in CI).
        await inHost(live, "contrib", "systemctl start etcd");
        const setConfig = `etcdctl set /atomic.io/network/config '${CONTRIB_NETWORK_CONFIG}' >/dev/null`;
        await until("etcd to take the network config", async () => {
          return (await live.cluster.exec("contrib", setConfig)).exitCode === 0;
        });
        await inHost(live, "contrib", "systemctl start flanneld");
        const pid = (await inHost(live, "contrib", "systemctl show -p MainPID --value flanneld")).trim();
        expect(Number(pid), "flanneld's MainPID").to.be.greaterThan(0);
        await inHost(live, "contrib", `kill -KILL ${pid}`);
        await until("flanneld to fail", async () => {
          const r = await live.cluster.exec("contrib", "systemctl is-active flanneld");
          return r.stdout.trim() === "failed";
        });
        expect((await live.cluster.exec("contrib", "systemctl is-active etcd")).stdout).to.equal("active\n");
      };

      goldenCases(
        live,
        "contrib",
        [
          "atomic/install-etcd-contrib-host",
          "atomic/install-kube-apiserver",
          "atomic/install-kube-controller-manager",
          "atomic/install-kube-scheduler",
          "atomic/install-flanneld",
          "atomic/containers-list-none-running",
          "atomic/containers-list-all",
          ["atomic/containers-list-running", startEtcdAndFailFlanneld],
          "atomic/containers-list-json",
          "atomic/containers-list-quiet",
          "atomic/containers-list-no-trunc",
          "atomic/containers-list-filter",
          "atomic/images-list",
          "atomic/images-list-json",
          "atomic/info-etcd",
          "atomic/containers-update-latest",
          "atomic/pull-etcd-docker-default",
          "atomic/containers-update-after-docker-pull",
          "atomic/pull-flannel-label-switch",
          [
            "atomic/pull-etcd-ostree-new-digest",
            async () => {
              // A rebuilt etcd image pushed to the registry (the cluster's registry.json).
              publishImage(live.cluster.dir, `${ETCD}:latest`);
            },
          ],
          "atomic/containers-update-new-image",
          "atomic/containers-rollback",
          "atomic/uninstall-etcd",
          "atomic/uninstall-etcd-again",
        ],
        {
          "atomic/install-etcd-contrib-host": async () => {
            expect(await inHost(live, "contrib", "cat /etc/etcd/etcd.conf")).to.contain(
              "ETCD_DATA_DIR=/var/lib/etcd\n",
            );
          },
          "atomic/containers-update-new-image": async () => {
            expect(await inHost(live, "contrib", "readlink /var/lib/containers/atomic/etcd")).to.match(
              /etcd\.1\n$/,
            );
            expect((await live.cluster.exec("contrib", "systemctl is-active etcd")).stdout).to.equal(
              "active\n",
            );
          },
          "atomic/containers-rollback": async () => {
            expect(await inHost(live, "contrib", "readlink /var/lib/containers/atomic/etcd")).to.match(
              /etcd\.0\n$/,
            );
          },
          "atomic/uninstall-etcd": async () => {
            const left = await inHost(
              live,
              "contrib",
              "for f in /var/lib/containers/atomic/etcd.0 /var/lib/containers/atomic/etcd.1 " +
                "/etc/systemd/system/etcd.service /usr/local/bin/etcdctl /etc/etcd/etcd.conf; do " +
                'test -e "$f" && echo "$f"; done; true',
            );
            // Not created by atomic on this host (not in installed-files): /etc/etcd/etcd.conf stays.
            expect(left).to.equal("/etc/etcd/etcd.conf\n");
          },
        },
      );
    });

    describe("rpm-ostree on a fresh Fedora 26 host", () => {
      goldenCases(live, "f26", [
        "rpm-ostree/status-f26",
        "rpm-ostree/status-f26-lang-c",
        "rpm-ostree/status-json-f26",
        "rpm-ostree/rollback-none",
        "rpm-ostree/upgrade-none",
        "rpm-ostree/upgrade-none-exit-77",
        "rpm-ostree/install-idempotent-2017",
        "rpm-ostree/install-allow-inactive-2017",
        "rpm-ostree/cancel-2017",
        "rpm-ostree/install-etcd-inactive-f26",
        "rpm-ostree/status-f26-inactive-verbose",
        "rpm-ostree/install-etcd-already-requested",
        "rpm-ostree/rebase-install-already-requested",
        "rpm-ostree/uninstall-not-requested",
        "rpm-ostree/install-unknown-package",
        "rpm-ostree/install-no-package",
      ]);
    });

    describe("rpm-ostree: the guide's rebase with --install on a Fedora 26 master, then a real reboot", () => {
      goldenCases(live, "master", [
        "rpm-ostree/rebase-f27-remote-not-found",
        "rpm-ostree/rebase-f27-ref-not-on-f26-remote",
        "rpm-ostree/rebase-same-refspec",
        "rpm-ostree/status-f26-after-failed-rebase",
        [
          "rpm-ostree/rebase-f27-gpgkeypath-missing",
          async () => {
            await inHost(live, "master", `${GUIDE_REMOTE_ADD} && mv ${F27_KEY} /root/f27-key`);
          },
        ],
        [
          "rpm-ostree/rebase-f27-master",
          async () => {
            await inHost(live, "master", `mv /root/f27-key ${F27_KEY}`);
          },
        ],
        "rpm-ostree/status-pending-f27",
        "rpm-ostree/status-json-pending-f27",
        [
          "rpm-ostree/status-booted-f27",
          async () => {
            await live.cluster.reboot("master");
          },
        ],
        "rpm-ostree/rollback-to-f26",
      ]);
    });

    describe("rpm-ostree: rebase -r on a Fedora 26 worker reboots it", () => {
      let before: HostStatus;
      goldenCases(
        live,
        "node",
        [
          [
            "rpm-ostree/rebase-f27-node-reboot",
            async () => {
              await inHost(live, "node", GUIDE_REMOTE_ADD);
              before = await live.cluster.hostStatus("node");
            },
          ],
        ],
        {
          "rpm-ostree/rebase-f27-node-reboot": async () => {
            // The reboot really happened, into the new deployment.
            await bootedAgain(live, "node", before);
            const booted = JSON.parse(
              await inHost(live, "node", "rpm-ostree status --json"),
            ).deployments.find((d: { booted: boolean }) => d.booted);
            expect(booted.origin).to.equal("fedora-atomic-27:fedora/27/x86_64/atomic-host");
            expect(booted["requested-packages"]).to.deep.equal(["flannel", "kubernetes-node"]);
          },
        },
      );
    });
  });

  describe("Fedora 27 host, rpm-ostree 2017.10", () => {
    const live = useCluster("f27", { hosts: ["f27"], release: 27, rpmOstreeVersion: "2017.10" });

    describe("one transaction at a time: another client's upgrade is in progress", () => {
      let held: Promise<RunResult> | undefined;

      before(async function () {
        // Another client's transaction: a real `rpm-ostree upgrade` over SSH, held open by the fault.
        live.cluster.holdTransaction("f27", true);
        held = sshRun(live.cluster.host("f27"), `${GOLDEN_ENV} rpm-ostree upgrade`, {
          knownHosts: live.knownHosts,
          timeoutMs: 110_000,
        });
        await until("the upgrade transaction to start", async () => {
          const r = await live.cluster.exec("f27", "rpm-ostree status --json");
          return r.exitCode === 0 && JSON.parse(r.stdout).transaction !== null;
        });
      });

      after(async () => {
        if (!held) return;
        live.cluster.holdTransaction("f27", false);
        await held;
      });

      goldenCases(live, "f27", [
        "rpm-ostree/status-transaction-running",
        "rpm-ostree/status-json-transaction-running",
        "rpm-ostree/install-transaction-in-progress",
      ]);

      it("(not a golden case) the held upgrade finishes once released; the host is idle again", async () => {
        live.cluster.holdTransaction("f27", false);
        const r = await held!;
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).to.deep.equal({
          code: 0,
          stdout: "No upgrade available.\n",
          stderr: "",
        });
        expect(JSON.parse(await inHost(live, "f27", "rpm-ostree status --json")).transaction).to.equal(null);
      });
    });
  });

  describe("Fedora 27 host, rpm-ostree 2018.7", () => {
    const live = useCluster("f27n", { hosts: ["f27new"], release: 27, rpmOstreeVersion: "2018.7" });
    goldenCases(live, "f27new", [
      "rpm-ostree/status-f27-2018",
      "rpm-ostree/status-json-f27-2018",
      "rpm-ostree/install-etcd-f27-2018",
      "rpm-ostree/install-etcd-idempotent-2018",
      "rpm-ostree/install-etcd-again-2018",
      "rpm-ostree/cancel-none-2018",
    ]);
  });

  describe("Fedora 26 host, rpm-ostree 2018.7", () => {
    const live = useCluster("f26n", {
      hosts: ["f26new", "f26allow"],
      release: 26,
      rpmOstreeVersion: "2018.7",
      etcdHosts: 0,
    });
    // One host each: without --allow-inactive v2018.7 only warns and layers the request
    // (rpmostreed-transaction-types.c:988-996), so a second install on the same host would be "already requested".
    goldenCases(live, "f26new", ["rpm-ostree/install-etcd-f26-2018-inactive"]);
    goldenCases(live, "f26allow", ["rpm-ostree/install-etcd-f26-2018-allow-inactive"]);
  });

  describe("coverage", () => {
    it("every golden file is run over SSH above", () => {
      const src = fs.readFileSync(__filename, "utf8");
      const missing: string[] = [];
      for (const tool of ["atomic", "rpm-ostree"]) {
        for (const f of fs.readdirSync(path.join(GOLDEN_DIR, tool))) {
          const name = `${tool}/${f.replace(/\.txt$/, "")}`;
          if (!src.includes(`"${name}"`)) missing.push(name);
        }
      }
      expect(missing).to.deep.equal([]);
    });
  });
});
