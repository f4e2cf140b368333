import { expect } from "chai";
import { SimCluster } from "../../../sim";
import { knownHostsFile, removeDir, skipUnlessSimAvailable, sleep, sshRun, tempDir } from "./support";

/** What `atomic install --system --name=etcd f27/etcd` leaves on a host (fedora-atomic-tools.md §1, §4), by hand. */
const CONTAINER_CONFIG = {
  ociVersion: "1.0.0",
  process: {
    args: ["/usr/bin/etcd-env.sh", "/usr/bin/etcd"],
    env: [
      "NAME=etcd",
      "ETCD_NAME=",
      "ETCD_DATA_DIR=",
      "ETCD_LISTEN_CLIENT_URLS=",
      "ETCD_ADVERTISE_CLIENT_URLS=",
      "ETCD_LISTEN_PEER_URLS=",
      "ETCD_INITIAL_CLUSTER_STATE=new",
      "PATH=/usr/bin:/bin",
    ],
    cwd: "/",
  },
  root: { path: "rootfs", readonly: true },
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    {
      type: "bind",
      source: "/var/lib/etcd/etcd.etcd",
      destination: "/var/lib/etcd",
      options: ["rbind", "rw"],
    },
    { type: "bind", source: "/run/etcd", destination: "/var/run/etcd", options: ["rbind", "rw"] },
    { type: "bind", source: "/etc/resolv.conf", destination: "/etc/resolv.conf", options: ["ro", "rbind"] },
    { type: "bind", source: "/etc/etcd", destination: "/etc/etcd/", options: ["rbind", "ro"] },
  ],
};

const CONTAINER_UNIT = `[Unit]
Description=Etcd Server
After=network.target

[Service]
ExecStart=/bin/runc --systemd-cgroup run 'etcd'
ExecStop=/bin/runc --systemd-cgroup kill 'etcd'
Restart=on-failure
WorkingDirectory=/var/lib/containers/atomic/etcd.0
RuntimeDirectory=etcd

[Install]
WantedBy=multi-user.target
`;

const TMPFILES = `d    /var/lib/etcd/etcd.etcd   0700 0 0 - -
Z    /var/lib/etcd/etcd.etcd   0700 0 0 - -
d    /run/etcd   - - - - -
`;

/** Installs the etcd system container's files inside a host (not started, as atomic leaves it). */
async function installEtcdContainer(cluster: SimCluster, host: string): Promise<void> {
  const script = [
    "set -e",
    "mkdir -p /var/lib/containers/atomic/etcd.0/rootfs /etc/tmpfiles.d",
    "ln -sfn /var/lib/containers/atomic/etcd.0 /var/lib/containers/atomic/etcd",
    `cat > /var/lib/containers/atomic/etcd.0/config.json <<'EOF'\n${JSON.stringify(CONTAINER_CONFIG, null, 2)}\nEOF`,
    `cat > /etc/systemd/system/etcd.service <<'EOF'\n${CONTAINER_UNIT}EOF`,
    `cat > /etc/tmpfiles.d/etcd.conf <<'EOF'\n${TMPFILES}EOF`,
  ].join("\n");
  const r = await cluster.exec(host, script);
  expect(r.exitCode, r.stderr).to.equal(0);
}

/** Polls etcd until it serves (a Type=simple unit's start returns before etcd is ready). */
async function etcdKeys(cluster: SimCluster, host: string, timeoutMs = 20_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await cluster.etcdGetAll(host);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

describe("atomic-host-sim: etcd on the hosts", function () {
  this.timeout(60_000);
  let contribDir: string;
  let rpmDir: string;
  let contrib: SimCluster;
  let rpm: SimCluster;
  let knownHosts: string;
  let seeded: Map<string, string>;

  before(async function () {
    skipUnlessSimAvailable(this);
    contribDir = tempDir("etcd-contrib");
    rpmDir = tempDir("etcd-rpm");
    [contrib, rpm] = await Promise.all([
      SimCluster.start({ dir: contribDir, hosts: 1, release: 26, layout: "contrib" }),
      SimCluster.start({ dir: rpmDir, hosts: 1, release: 26, layout: "rpm" }),
    ]);
    knownHosts = knownHostsFile(contribDir, contrib.hosts);
  });

  after(async function () {
    await Promise.all([contrib?.stop(), rpm?.stop()]);
    if (contribDir) removeDir(contribDir);
    if (rpmDir) removeDir(rpmDir);
  });

  it("serves 10,000 seeded keys from a contrib host, with the data in /var/lib/etcd/member", async function () {
    const t0 = Date.now();
    seeded = await contrib.seedEtcd("host1", 10_000);
    console.log(`      seeded 10,000 keys in ${Date.now() - t0} ms`);
    const all = await contrib.etcdGetAll("host1");
    expect(all.size).to.equal(10_000);
    for (const [k, v] of seeded) expect(all.get(k)).to.equal(v);
    const files = await contrib.exec(
      "host1",
      "ls /var/lib/etcd/member/wal | grep -c '\\.wal$'; ls /var/lib/etcd/member/snap",
    );
    expect(files.stdout).to.match(/^1\n.*db/s);
    const health = await sshRun(
      contrib.host("host1"),
      "etcdctl cluster-health; ETCDCTL_API=3 etcdctl get /registry/sim-seed/000042 --print-value-only",
      {
        knownHosts,
      },
    );
    expect(health.code, health.stderr).to.equal(0);
    expect(health.stdout).to.match(/cluster is healthy\n/);
    expect(health.stdout.trim().split("\n").pop()).to.equal(seeded.get("/registry/sim-seed/000042"));
  });

  it("keeps an rpm-layout host's data in /var/lib/etcd/default.etcd", async function () {
    await rpm.seedEtcd("host1", 10);
    const r = await rpm.exec("host1", "ls -d /var/lib/etcd/default.etcd/member/wal && ls /var/lib/etcd");
    expect(r.stdout).to.equal("/var/lib/etcd/default.etcd/member/wal\ndefault.etcd\n");
    expect((await rpm.etcdGetAll("host1")).size).to.equal(10);
  });

  it("`systemctl stop etcd` ends the process: is-active says inactive; start brings the same data back", async function () {
    const h = contrib.host("host1");
    const pid = (await sshRun(h, "systemctl show etcd -p MainPID --value", { knownHosts })).stdout.trim();
    expect(Number(pid)).to.be.greaterThan(0);
    const stop = await sshRun(h, "systemctl stop etcd; systemctl is-active etcd", { knownHosts });
    expect(stop.stdout).to.equal("inactive\n");
    expect(stop.code).to.equal(3);
    expect(await contrib.exec("host1", `test -e /proc/${pid}; echo $?`).then((r) => r.stdout)).to.equal(
      "1\n",
    );
    let refused: Error | undefined;
    await contrib.etcdGetAll("host1").catch((e: Error) => (refused = e));
    expect(refused?.message).to.match(/ECONNREFUSED/);
    const status = await sshRun(h, "systemctl status etcd", { knownHosts });
    expect(status.code).to.equal(3);
    expect(status.stdout).to.match(/Active: inactive \(dead\)/);

    const start = await sshRun(h, "systemctl start etcd && systemctl is-active etcd", { knownHosts });
    expect(start.stdout).to.equal("active\n"); // Type=notify: start returns once etcd serves
    expect((await contrib.etcdGetAll("host1")).size).to.equal(10_000);
  });

  it("runs the etcd system container with contrib's data dir mapped to /var/lib/etcd/etcd.etcd", async function () {
    const h = contrib.host("host1");
    const disable = await sshRun(h, "systemctl disable --now etcd", { knownHosts });
    expect(disable.stderr).to.equal("Removed /etc/systemd/system/multi-user.target.wants/etcd.service.\n");
    await installEtcdContainer(contrib, "host1");
    const prepare = await sshRun(
      h,
      "systemd-tmpfiles --create /etc/tmpfiles.d/etcd.conf && stat -c %a /var/lib/etcd/etcd.etcd",
      {
        knownHosts,
      },
    );
    expect(prepare.stdout).to.equal("700\n");

    // A destination that fills up: the copy fails with ENOSPC (etcd preallocates 64 MB WAL segments).
    await contrib.fillDisk("host1", "/var/lib/etcd/etcd.etcd", 1024 * 1024);
    const full = await sshRun(h, "cp -r /var/lib/etcd/member /var/lib/etcd/etcd.etcd/", { knownHosts });
    expect(full.code).to.equal(1);
    expect(full.stderr).to.match(/No space left on device/);
    await contrib.clearDisk("host1", "/var/lib/etcd/etcd.etcd");

    const migrate = await sshRun(
      h,
      "cp -r /var/lib/etcd/member /var/lib/etcd/etcd.etcd/ && systemctl enable --now etcd && systemctl is-enabled etcd",
      { knownHosts },
    );
    expect(migrate.code, migrate.stderr).to.equal(0);
    expect(migrate.stderr).to.equal(
      "Created symlink /etc/systemd/system/multi-user.target.wants/etcd.service \u2192 /etc/systemd/system/etcd.service.\n",
    );
    const keys = await etcdKeys(contrib, "host1");
    expect(keys.size).to.equal(10_000);
    const unit = await contrib.exec("host1", "cat $ATOMIC_SIM_HOST_DIR/state/units/etcd.service.json");
    expect(JSON.parse(unit.stdout).dataDir).to.equal("/var/lib/etcd/etcd.etcd");
  });

  it("puts a fresh container's data in /var/lib/etcd/etcd.etcd/etcd.etcd when etcd.conf sets no data dir", async function () {
    const script = [
      "systemctl disable --now etcd >/dev/null 2>&1",
      "sed -i '/^ETCD_DATA_DIR=/d' /etc/etcd/etcd.conf",
    ].join("\n");
    await rpm.exec("host1", script);
    await installEtcdContainer(rpm, "host1");
    const r = await rpm.exec(
      "host1",
      "systemd-tmpfiles --create /etc/tmpfiles.d/etcd.conf && systemctl start etcd",
    );
    expect(r.exitCode, r.stderr).to.equal(0);
    expect((await etcdKeys(rpm, "host1")).size).to.equal(0); // a new, empty cluster
    const ls = await rpm.exec("host1", "ls -d /var/lib/etcd/etcd.etcd/etcd.etcd/member");
    expect(ls.stdout).to.equal("/var/lib/etcd/etcd.etcd/etcd.etcd/member\n");
  });

  it("fails a container start whose bind-mount source is missing, as runc does", async function () {
    const r = await rpm.exec(
      "host1",
      "systemctl stop etcd; rm -rf /var/lib/etcd/etcd.etcd; systemctl start etcd; echo start=$?; sleep 0.2; systemctl is-active etcd",
    );
    expect(r.stdout).to.equal("start=0\nfailed\n"); // Type=simple: start succeeds, the unit fails right after
    const log = await rpm.exec("host1", "tail -1 $ATOMIC_SIM_HOST_DIR/state/units/etcd.service.log");
    expect(log.stdout).to.match(/stat \/var\/lib\/etcd\/etcd\.etcd: no such file or directory/);
  });
});
