/**
 * The simulator runtime's pure pieces, table by table, plus the tool stand-ins run outside any host
 * ($ATOMIC_SIM_ROOT mode), which is how the stand-in Fedora tools' own tests call them.
 */
import { expect } from "chai";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { etcdHostSet, hostNames, hostPorts, roleUnits, validateClusterDir } from "../../../sim/cluster";
import { upOptions } from "../../../sim/cli";
import { renderEtcdConf, sshFingerprint, withRootPasswordHash } from "../../../sim/host";
import { parseCommandsLog } from "../../../sim/tools/exec-wrapper";
import type { SystemdContext } from "../../../sim/tools/systemctl";
import {
  containerToHostPath,
  mapEtcdUrls,
  normalizeUnitName,
  orderByAfter,
  parseEnvironmentFile,
  parseSystemctlArgs,
  parseUnitFile,
  planEtcdForContainer,
  splitQuoted,
  unitFromSections,
} from "../../../sim/tools/systemctl";
import { parseTmpfiles } from "../../../sim/tools/systemd-tmpfiles";
import { removeDir, runProcess, tempDir } from "./support";

const HOST = { etcdClientPort: 31002, etcdPeerPort: 31003 };

describe("atomic-host-sim runtime logic", function () {
  describe("mapEtcdUrls", function () {
    const rows: [string, string][] = [
      ["http://localhost:2379", "http://127.0.0.1:31002"],
      ["http://0.0.0.0:2379,http://10.0.0.5:2380", "http://127.0.0.1:31002,http://127.0.0.1:31003"],
      ["https://etcd.example:4001", "https://127.0.0.1:4001"],
      ["http://127.0.0.1:31002", "http://127.0.0.1:31002"],
    ];
    for (const [input, expected] of rows) {
      it(`maps ${input} to ${expected}`, function () {
        expect(mapEtcdUrls(input, HOST)).to.equal(expected);
      });
    }
  });

  describe("containerToHostPath (the etcd image's mounts)", function () {
    const config = {
      mounts: [
        { destination: "/proc", type: "proc", source: "proc" },
        {
          destination: "/var/lib/etcd",
          type: "bind",
          source: "/var/lib/etcd/etcd.etcd",
          options: ["rbind", "rw"],
        },
        { destination: "/etc/etcd/", type: "bind", source: "/etc/etcd", options: ["rbind", "ro"] },
      ],
    };
    const rows: [string, string][] = [
      ["/var/lib/etcd", "/var/lib/etcd/etcd.etcd"],
      ["/var/lib/etcd/etcd.etcd", "/var/lib/etcd/etcd.etcd/etcd.etcd"],
      ["/etc/etcd/etcd.conf", "/etc/etcd/etcd.conf"],
      ["/var/lib/etcdx", "/var/lib/containers/atomic/etcd.0/rootfs/var/lib/etcdx"],
      ["/usr/bin/etcd", "/var/lib/containers/atomic/etcd.0/rootfs/usr/bin/etcd"],
    ];
    for (const [inside, host] of rows) {
      it(`puts container ${inside} at host ${host}`, function () {
        expect(containerToHostPath(config, "/var/lib/containers/atomic/etcd.0", inside)).to.equal(host);
      });
    }
  });

  describe("planEtcdForContainer (etcd-env.sh)", function () {
    let root: string;
    const config = {
      process: {
        args: ["/usr/bin/etcd-env.sh", "/usr/bin/etcd"],
        env: ["NAME=etcd", "ETCD_NAME=", "ETCD_DATA_DIR=", "ETCD_LISTEN_CLIENT_URLS="],
      },
      mounts: [
        { destination: "/var/lib/etcd", type: "bind", source: "/var/lib/etcd/etcd.etcd" },
        { destination: "/etc/etcd/", type: "bind", source: "/etc/etcd" },
      ],
    };
    const ctx = (): SystemdContext =>
      ({
        root,
        host: {
          ...HOST,
          name: "host1",
          release: 27,
          layout: "contrib",
          rpmOstreeVersion: "2017.10",
          reachable: true,
        },
        hostname: "host1",
      }) as unknown as SystemdContext;
    const plan = (conf: string | null) => {
      fs.rmSync(path.join(root, "etc"), { recursive: true, force: true });
      if (conf !== null) {
        fs.mkdirSync(path.join(root, "etc/etcd"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/etcd/etcd.conf"), conf);
      }
      const p = planEtcdForContainer(ctx(), config, "/var/lib/containers/atomic/etcd.0");
      if (p.kind !== "etcd") throw new Error(`expected an etcd plan, got ${p.kind}`);
      return p;
    };
    before(() => (root = tempDir("logic")));
    after(() => removeDir(root));

    it("keeps contrib's ETCD_DATA_DIR=/var/lib/etcd, which is host /var/lib/etcd/etcd.etcd", function () {
      const p = plan(renderEtcdConf("contrib", HOST.etcdClientPort, HOST.etcdPeerPort));
      expect(p.dataDir).to.equal(`${root}/var/lib/etcd/etcd.etcd`);
      expect(p.env.ETCD_NAME).to.equal("default");
      expect(p.env.ETCD_LISTEN_CLIENT_URLS).to.equal("http://127.0.0.1:31002");
      expect(p.clientPort).to.equal(31002);
    });
    it("uses /var/lib/etcd/${NAME}.etcd inside the container when the conf sets no data dir", function () {
      const p = plan('ETCD_LISTEN_CLIENT_URLS="http://localhost:2379"\n#ETCD_NAME=default\n');
      expect(p.dataDir).to.equal(`${root}/var/lib/etcd/etcd.etcd/etcd.etcd`);
      expect(p.env.ETCD_NAME).to.equal("host1"); // ${ETCD_NAME:-$HOSTNAME}
      expect(p.env.ETCD_INITIAL_CLUSTER).to.equal("host1=http://127.0.0.1:31003");
    });
    it("ignores conf variables the container does not export (source without export)", function () {
      const p = plan("ETCD_QUOTA_BACKEND_BYTES=1\n");
      expect(p.env).to.not.have.property("ETCD_QUOTA_BACKEND_BYTES");
    });
  });

  describe("unit files", function () {
    it("parses sections, repeated keys, quotes and continuations", function () {
      const s = parseUnitFile(
        "[Unit]\nDescription=Etcd Server\nAfter=network.target\nAfter=etcd.service\n# c\n[Service]\n" +
          'Environment="A=b c" D=e\nExecStart=/usr/bin/x \\\n  --flag\nEnvironmentFile=-/etc/x\n[Install]\nWantedBy=multi-user.target\n',
      );
      const u = unitFromSections("x.service", "/etc/systemd/system/x.service", s);
      expect(u.description).to.equal("Etcd Server");
      expect(u.after).to.deep.equal(["network.target", "etcd.service"]);
      expect(u.environment).to.deep.equal({ A: "b c", D: "e" });
      expect(u.execStart).to.equal("/usr/bin/x    --flag");
      expect(u.environmentFiles).to.deep.equal([{ path: "/etc/x", optional: true }]);
      expect(u.wantedBy).to.deep.equal(["multi-user.target"]);
      expect(u.type).to.equal("simple");
    });
    it("orders units after the ones they name in After=", function () {
      const mk = (name: string, after: string[]) => unitFromSections(name, name, { Unit: { After: after } });
      const order = orderByAfter([
        mk("kube-apiserver.service", ["etcd.service"]),
        mk("flanneld.service", ["etcd.service"]),
        mk("etcd.service", []),
      ]);
      expect(order.map((u) => u.name)).to.deep.equal([
        "etcd.service",
        "kube-apiserver.service",
        "flanneld.service",
      ]);
    });
    it("splits quoted words and names units as systemctl does", function () {
      expect(splitQuoted(`/bin/runc --systemd-cgroup run 'etcd'`)).to.deep.equal([
        "/bin/runc",
        "--systemd-cgroup",
        "run",
        "etcd",
      ]);
      expect(normalizeUnitName("etcd")).to.equal("etcd.service");
      expect(normalizeUnitName("multi-user.target")).to.equal("multi-user.target");
    });
    it("reads environment files like systemd", function () {
      expect(parseEnvironmentFile("# x\nA=1\nB=\"two words\"\n export C='3'\nbad line\n")).to.deep.equal({
        A: "1",
        B: "two words",
        C: "3",
      });
    });
    it("parses systemctl command lines", function () {
      expect(parseSystemctlArgs(["--no-pager", "disable", "--now", "etcd"])).to.include({
        verb: "disable",
        now: true,
      });
      expect(parseSystemctlArgs(["show", "etcd", "-p", "MainPID", "--value"]).properties).to.deep.equal([
        "MainPID",
      ]);
    });
  });

  describe("tmpfiles lines", function () {
    it("parses atomic's etcd tmpfiles", function () {
      expect(
        parseTmpfiles("d    /var/lib/etcd/etcd.etcd   0700 0 0 - -\nd    /run/etcd   - - - - -\n# c\n"),
      ).to.deep.equal([
        {
          type: "d",
          path: "/var/lib/etcd/etcd.etcd",
          mode: 0o700,
          user: "0",
          group: "0",
          argument: undefined,
        },
        {
          type: "d",
          path: "/run/etcd",
          mode: undefined,
          user: undefined,
          group: undefined,
          argument: undefined,
        },
      ]);
    });
  });

  describe("cluster options", function () {
    it("validates host names, etcd hosts, ports and folders with messages that name the field", function () {
      expect(hostNames(2)).to.deep.equal(["host1", "host2"]);
      expect(() => hostNames(["Bad_Name"])).to.throw("hosts: 'Bad_Name' is not a valid host name");
      expect(() => hostNames(["a", "a"])).to.throw("hosts: names must be unique");
      expect([...etcdHostSet(["a", "b", "c"], 2)]).to.deep.equal(["a", "b"]);
      expect(() => etcdHostSet(["a"], ["z"])).to.throw("etcdHosts: no host named 'z'");
      expect(hostPorts(30000, 2, 0)).to.deep.equal({
        sshPort: 30008,
        sshdPort: 30008,
        etcdClientPort: 30010,
        etcdPeerPort: 30011,
      });
      expect(hostPorts(30000, 0, 25).sshdPort).to.equal(30001);
      expect(() => validateClusterDir("/root/sim")).to.throw("dir: /root/sim is under /root");
      expect(() => validateClusterDir("relative")).to.throw("dir: must be an absolute path");
    });

    it("maps kubernetes/contrib roles to the F26 image's units, and refuses what no such cluster has", function () {
      const units = roleUnits(["e", "m", "w"], { m: "master", w: "node" }, 26, "contrib");
      expect(units.get("m")).to.deep.equal([
        "flanneld.service",
        "kube-apiserver.service",
        "kube-controller-manager.service",
        "kube-scheduler.service",
      ]);
      expect(units.get("w")).to.deep.equal(["flanneld.service", "kubelet.service", "kube-proxy.service"]);
      expect(units.has("e")).to.equal(false);
      expect(() => roleUnits(["m"], { x: "node" }, 26, "contrib")).to.throw("roles: no host named 'x'");
      expect(() => roleUnits(["m"], { m: "node" }, 27, "contrib")).to.throw("Fedora 27's image has no");
      expect(() => roleUnits(["m"], { m: "node" }, 26, "rpm")).to.throw("layout rpm");
      const opts = upOptions({ dir: "/tmp/x", hosts: "2", roles: "a=master,b=node" });
      expect(opts.roles).to.deep.equal({ a: "master", b: "node" });
      expect(() => upOptions({ dir: "/tmp/x", hosts: "1", roles: "a=etcd" })).to.throw(
        "--roles: 'a=etcd' is not NAME=master or NAME=node",
      );
    });
  });

  describe("keys and logs", function () {
    it("computes the fingerprint ssh-keygen prints", function () {
      const dir = tempDir("fp");
      try {
        childProcess.execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
        const pub = fs.readFileSync(path.join(dir, "k.pub"), "utf8");
        const keygen = childProcess.execFileSync("ssh-keygen", ["-l", "-f", path.join(dir, "k.pub")], {
          encoding: "utf8",
        });
        expect(keygen.split(" ")[1]).to.equal(sshFingerprint(pub));
      } finally {
        removeDir(dir);
      }
    });
    it("sets root's hash in a shadow file and nothing else", function () {
      expect(withRootPasswordHash("root:*:1:0:::\nbin:*:1:::\n", "$6$x$y")).to.equal(
        "root:$6$x$y:1:0:::\nbin:*:1:::\n",
      );
    });
    it("skips a torn last line in commands.log", function () {
      expect(
        parseCommandsLog('{"time":"t","command":"a","exitCode":0,"durationMs":1}\n{"time":"t","comm'),
      ).to.have.length(1);
    });
    it("reads a command sent under coreutils timeout as the command and its host-side bound", function () {
      const [bounded, plain, unbounded] = parseCommandsLog(
        [
          '{"time":"t","command":"timeout --kill-after 0.5s 3.25s sh -c \'sleep 1\'","exitCode":124,"durationMs":1}',
          '{"time":"t","command":"atomic pull x","exitCode":0,"durationMs":1}',
          '{"time":"t","command":"timeout 3s sleep 1","exitCode":0,"durationMs":1}',
        ].join("\n"),
      );
      expect(bounded).to.include({
        sent: "timeout --kill-after 0.5s 3.25s sh -c 'sleep 1'",
        command: "sh -c 'sleep 1'",
      });
      expect(bounded!.hostBound).to.deep.equal({ termSeconds: 3.25, killAfterSeconds: 0.5 });
      expect(plain).to.include({ sent: "atomic pull x", command: "atomic pull x" });
      expect(plain!.hostBound).to.equal(undefined);
      // Only the exact form a client writes is split; anything else is a command of its own.
      expect(unbounded).to.include({ command: "timeout 3s sleep 1" });
    });
  });

  describe("systemctl outside a host ($ATOMIC_SIM_ROOT)", function () {
    let root: string;
    const bin = path.resolve(__dirname, "../../../bin/sim/tools/systemctl.js");
    const systemctl = (...args: string[]) =>
      runProcess(process.execPath, [bin, ...args], {
        env: {
          PATH: process.env.PATH,
          ATOMIC_SIM_ROOT: root,
          ATOMIC_SIM_HOST_DIR: path.join(root, "hostdir"),
        },
      });
    before(function () {
      root = tempDir("root");
      fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
      fs.mkdirSync(path.join(root, "hostdir/state"), { recursive: true });
      fs.writeFileSync(
        path.join(root, "etc/systemd/system/demo.service"),
        "[Unit]\nDescription=Demo\n[Service]\nExecStart=/usr/bin/demo\n[Install]\nWantedBy=multi-user.target\n",
      );
    });
    after(() => removeDir(root));

    it("enables, starts, stops and disables with real processes and no supervisor", async function () {
      const enable = await systemctl("enable", "--now", "demo");
      expect(enable.code, enable.stderr).to.equal(0);
      expect(
        fs.readlinkSync(path.join(root, "etc/systemd/system/multi-user.target.wants/demo.service")),
      ).to.equal("/etc/systemd/system/demo.service");
      expect((await systemctl("is-active", "demo")).stdout).to.equal("active\n");
      const pid = Number((await systemctl("show", "demo", "-p", "MainPID", "--value")).stdout);
      expect(pid).to.be.greaterThan(0);
      const disable = await systemctl("disable", "--now", "demo");
      expect(disable.code, disable.stderr).to.equal(0);
      expect((await systemctl("is-active", "demo")).stdout).to.equal("inactive\n");
      expect((await systemctl("is-enabled", "demo")).stdout).to.equal("disabled\n");
    });
  });
});
