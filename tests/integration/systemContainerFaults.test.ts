import { expect } from "chai";
import { PartialFailure } from "../../provider/impl/common";
import type { ClusterHostEntry, InstallPausePoint, SimCluster } from "../../sim";
import { rejection } from "../helpers/rejection";
import { checked, commandsOf, connectionOf, toolsOf, useSimCluster } from "../helpers/simFixture";

// SystemContainer's provider, over real SSH, against a Fedora 27 host (atomic 1.20.1) whose `atomic install` meets
// real faults:
// - a full disk: a small tmpfs over /var/lib/containers/atomic, filled to the last byte. atomic 1.20.1 keeps the
//   checkout there (its `_canonicalize_location` moves it to /ostree/deploy/... only when that is the same folder,
//   V1.12.1 Atomic/syscontainers.py:683-706), so libostree's copy into NAME.0 fails with ENOSPC and `_checkout`
//   removes the new checkout, the unit file and the tmpfiles conf before re-raising (:538-556);
// - the `atomic` client killed (SIGKILL; the SIGTERM of the host-side `timeout` bound ends Python the same way,
//   without running any `except`) at three points of `_do_checkout` (:709-970), the simulator's `pauseAt` fault
//   holding it there: (a) after the rootfs checkout, (b) after the unit file and the tmpfiles conf, before the
//   NAME symlink, (c) after the symlink, before daemon-reload, `systemd-tmpfiles --create` and `enable`.
// After each, the next apply (the engine calls update with the partial state a failed create saved) converges.
const provider = require("../../provider/handlers").handler("SystemContainer");

const IMAGE = "registry.fedoraproject.org/f27/etcd";
const NAME = "etcd";
const CHECKOUTS = "/var/lib/containers/atomic";
const PULL = `atomic pull --storage=ostree ${IMAGE}`;
const INSTALL = `atomic install --system --system-package=no --storage=ostree --name=${NAME} ${IMAGE}`;

describe("SystemContainer: atomic on a full disk (install, containers update), and atomic killed mid-install", function () {
  this.timeout(10 * 60_000);
  const fixture = useSimCluster(
    "sc-faults",
    { hosts: ["f27"], release: 27, etcdHosts: 0 },
    { captureProgress: "SYSTEM_CONTAINER_TEST_VERBOSE" },
  );
  let sim: SimCluster;
  let node: ClusterHostEntry;
  before(() => {
    sim = fixture.sim;
    node = sim.host("f27");
  });
  /** The container as the last case left it installed (id and outputs), for the update case. */
  let installed: { id: string; outs: any } | undefined;

  const inHost = async (command: string) => {
    const r = await sim.exec(node, command);
    return r.stdout;
  };
  /** The container's inputs, checked: `values` (and the old state `olds`) over the host, NAME and IMAGE. */
  const inputs = (olds?: Record<string, unknown>, values?: Record<string, string>) =>
    checked(provider, { connection: connectionOf(node), name: NAME, image: IMAGE, values }, olds);

  /** What is on the host for the container, one fact a line. */
  async function hostState(): Promise<string[]> {
    const out = await inHost(
      [
        `cd ${CHECKOUTS} 2>/dev/null && for f in ${NAME}*; do`,
        `  if [ -L "$f" ]; then echo "symlink $f"; elif [ -d "$f" ]; then echo "checkout $f: $(ls "$f" | tr '\\n' ' ')"; fi`,
        "done",
        `for f in /etc/systemd/system/${NAME}.service /etc/tmpfiles.d/${NAME}.conf /etc/etcd/etcd.conf /usr/local/bin/etcdctl /var/lib/etcd/${NAME}.etcd; do`,
        '  [ -e "$f" ] && echo "file $f"',
        "done",
        `echo "enabled $(systemctl is-enabled ${NAME} 2>/dev/null)"`,
        `echo "active $(systemctl is-active ${NAME} 2>/dev/null)"`,
        "exit 0",
      ].join("\n"),
    );
    return out.trim().split("\n");
  }

  /** Uninstalls the container and removes whatever a fault left, so each case starts from a host without it. */
  async function clean(): Promise<void> {
    await inHost(
      `atomic uninstall ${NAME} >/dev/null 2>&1; systemctl disable --now ${NAME} >/dev/null 2>&1; ` +
        `rm -rf ${CHECKOUTS}/${NAME} ${CHECKOUTS}/${NAME}.0 ${CHECKOUTS}/${NAME}.1 /etc/systemd/system/${NAME}.service ` +
        `/etc/tmpfiles.d/${NAME}.conf /etc/etcd/etcd.conf /usr/local/bin/etcdctl /var/lib/etcd; exit 0`,
    );
    expect(await hostState()).to.deep.equal(["enabled ", "active inactive"]);
  }

  /** The next `up` after a failed create: the engine saved the partial state, and calls update with it. */
  async function nextUp(err: unknown) {
    expect(err).to.be.instanceOf(PartialFailure);
    const partial = (err as PartialFailure).properties as Record<string, unknown>;
    return provider.update((err as PartialFailure).id, partial, await inputs(partial));
  }

  /**
   * What `pulumi preview --refresh` shows after the fault: read (refresh) hands back what it found as the inputs,
   * and check plans from them with the apply's planner.
   */
  async function previewAfterRefresh(err: PartialFailure): Promise<string[]> {
    const read = await provider.read(err.id, err.properties);
    expect(read.id).to.equal(err.id);
    expect(read.inputs, "refresh reports the fault's leftovers as drift").to.not.equal(undefined);
    return (await inputs(read.inputs)).commands;
  }

  /** Converged: installed from the declared image, enabled, active, listed; a read finds no drift. */
  async function expectConverged(id: string, outs: any): Promise<void> {
    expect(outs.unitState).to.equal("active");
    expect(outs.image).to.equal(IMAGE);
    const state = await hostState();
    expect(state).to.include.members([
      `symlink ${NAME}`,
      `file /etc/systemd/system/${NAME}.service`,
      `file /etc/tmpfiles.d/${NAME}.conf`,
      `file /var/lib/etcd/${NAME}.etcd`,
      "enabled enabled",
      "active active",
    ]);
    const list = JSON.parse(await inHost(`atomic containers list --all --json --no-trunc`));
    expect(list.map((c: any) => [c.id, c.image_name, c.state])).to.deep.equal([[NAME, IMAGE, "running"]]);
    // The container owns the files it put on the host, as after a clean install (atomic uninstall removes them).
    const info = JSON.parse(await inHost(`cat ${CHECKOUTS}/${NAME}/info`));
    expect(info["installed-files"]).to.deep.equal(["/etc/etcd/etcd.conf", "/usr/local/bin/etcdctl"]);
    const read = await provider.read(id, outs);
    expect(read.id).to.equal(id);
    expect(read.inputs, "a read after convergence finds no drift").to.equal(undefined);
  }

  describe("disk full during atomic install", () => {
    let err: any;

    it("fails naming the host and quoting 'No space left on device'; atomic removed its partial checkout", async () => {
      await sim.fillDisk(node, CHECKOUTS, 64 * 1024);
      // The rest of the tmpfs, to the last byte: `dd` stops at ENOSPC.
      await inHost(`dd if=/dev/zero of=${CHECKOUTS}/.sim-filler bs=4096 2>/dev/null; exit 0`);
      expect((await inHost(`df --output=avail -B1 ${CHECKOUTS} | tail -1`)).trim()).to.equal("0");
      sim.clearCommandsLog(node);
      err = await rejection(provider.create(await inputs()));
      if (process.env.SYSTEM_CONTAINER_TEST_VERBOSE) fixture.print(err.message);
      expect(err.message).to.include(`${node.host}:${node.port}`);
      expect(err.message).to.include("No space left on device");
      expect(err.message).to.include("g-io-error-quark: regfile copy: No space left on device (12)");
      expect(err.message).to.match(new RegExp(`command: timeout .* ${INSTALL}\n`));
      expect(err.message).to.include(`df -h ${CHECKOUTS} /ostree/repo`);
      expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([PULL, INSTALL]);
      // `_checkout`'s cleanup: no checkout, no unit file, no tmpfiles conf; nothing else was written.
      expect(await hostState()).to.deep.equal(["enabled ", "active inactive"]);
      expect((await inHost(`ls -A ${CHECKOUTS}`)).trim()).to.equal(".sim-filler");
    });

    it("installs and starts it on the next up once there is room; a further read finds no drift", async () => {
      await sim.clearDisk(node, CHECKOUTS);
      sim.clearCommandsLog(node);
      const r = await nextUp(err);
      expect(
        toolsOf(sim, node).filter((c) => /^(atomic|systemctl (start|enable)|systemd-tmpfiles)/.test(c)),
      ).to.deep.equal([PULL, INSTALL, `systemctl start ${NAME}.service`]);
      await expectConverged(err.id, r.outs);
    });
  });

  /**
   * Creates the container with `atomic install` paused at `point`, kills the paused client with `signal`, and
   * returns the create's error with the host state the kill left.
   */
  async function createKilledAt(
    point: InstallPausePoint,
    signal: "SIGKILL" | "SIGTERM" = "SIGKILL",
  ): Promise<{ err: any; left: string[] }> {
    await clean();
    sim.pauseAtomicInstall(node, point);
    sim.clearCommandsLog(node);
    try {
      const creating = rejection(provider.create(await inputs()));
      const paused = await sim.waitForAtomicPause(node);
      expect(paused.point).to.equal(point);
      process.kill(paused.pid, signal);
      const err = await creating;
      return { err, left: await hostState() };
    } finally {
      sim.pauseAtomicInstall(node, null);
    }
  }

  function expectKilledError(err: any, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): void {
    if (process.env.SYSTEM_CONTAINER_TEST_VERBOSE) fixture.print(err.message);
    expect(err.message).to.include(`${node.host}:${node.port}`);
    expect(err.message).to.include(`the command was killed by ${signal}`);
    expect(err.message).to.include("atomic was killed before it finished");
    expect(err.message).to.match(new RegExp(`command: timeout .* ${INSTALL}\n`));
  }

  describe("atomic killed mid-install", () => {
    it("(a) after the rootfs checkout: a partial NAME.0 only; the next up removes it and installs", async () => {
      const { err, left } = await createKilledAt("install:after-checkout");
      expectKilledError(err);
      expect(left).to.deep.equal([`checkout ${NAME}.0: rootfs `, "enabled ", "active inactive"]);
      const preview = await previewAfterRefresh(err);
      expect(preview[0]).to.equal(
        `sh -c '<container-repair script>' atomic-host-repair ${CHECKOUTS} ${NAME}`,
      );
      expect(preview.slice(1)).to.deep.equal([PULL, INSTALL, `systemctl start ${NAME}.service`]);
      sim.clearCommandsLog(node);
      const r = await nextUp(err);
      expect(
        toolsOf(sim, node).filter((c) => /^(atomic|systemctl (start|enable)|systemd-tmpfiles)/.test(c)),
      ).to.deep.equal([PULL, INSTALL, `systemctl start ${NAME}.service`]);
      await expectConverged(err.id, r.outs);
    });

    it("(b) after the unit file and the tmpfiles conf, before the symlink (SIGTERM): the next up removes the leftovers, the files atomic put on the host included, and installs", async () => {
      // SIGTERM, what the host-side `timeout` bound sends first: Python's default action ends the process at once.
      const { err, left } = await createKilledAt("install:after-unit", "SIGTERM");
      expectKilledError(err, "SIGTERM");
      expect(left).to.deep.equal([
        `checkout ${NAME}.0: config.json ${NAME}.service info rootfs tmpfiles-${NAME}.conf `,
        `file /etc/systemd/system/${NAME}.service`,
        `file /etc/tmpfiles.d/${NAME}.conf`,
        "file /etc/etcd/etcd.conf",
        "file /usr/local/bin/etcdctl",
        "enabled disabled",
        "active inactive",
      ]);
      const preview = await previewAfterRefresh(err);
      expect(preview[0]).to.equal(
        `sh -c '<container-repair script>' atomic-host-repair ${CHECKOUTS} ${NAME} /etc/etcd/etcd.conf /usr/local/bin/etcdctl`,
      );
      expect(preview.slice(1)).to.deep.equal([PULL, INSTALL, `systemctl start ${NAME}.service`]);
      // What a plain retry of atomic would say: the unit file is in the way.
      expect((await sim.exec(node, INSTALL)).stderr).to.equal(
        `The file /etc/systemd/system/${NAME}.service already exists.\n`,
      );
      sim.clearCommandsLog(node);
      const r = await nextUp(err);
      const ran = commandsOf(sim, node);
      expect(
        ran.some((c) => c.startsWith("sh -c '# atomic-host:container-repair v1")),
        ran.join("\n"),
      ).to.equal(true);
      expect(
        toolsOf(sim, node).filter((c) => /^(atomic|systemctl (start|enable)|systemd-tmpfiles)/.test(c)),
      ).to.deep.equal([PULL, INSTALL, `systemctl start ${NAME}.service`]);
      await expectConverged(err.id, r.outs);
    });

    it("(c) after the symlink, before enable and tmpfiles: the next up creates the tmpfiles directories, enables and starts it", async () => {
      const { err, left } = await createKilledAt("install:after-symlink");
      expectKilledError(err);
      expect(left).to.deep.equal([
        `symlink ${NAME}`,
        `checkout ${NAME}.0: config.json ${NAME}.service info rootfs tmpfiles-${NAME}.conf `,
        `file /etc/systemd/system/${NAME}.service`,
        `file /etc/tmpfiles.d/${NAME}.conf`,
        "file /etc/etcd/etcd.conf",
        "file /usr/local/bin/etcdctl",
        "enabled disabled",
        "active inactive",
      ]);
      expect((await sim.exec(node, INSTALL)).stdout).to.include(`${NAME} already present\n`);
      expect(await previewAfterRefresh(err)).to.deep.equal([
        `systemd-tmpfiles --create /etc/tmpfiles.d/${NAME}.conf`,
        `systemctl enable ${NAME}.service`,
        `systemctl start ${NAME}.service`,
      ]);
      sim.clearCommandsLog(node);
      const r = await nextUp(err);
      expect(
        toolsOf(sim, node).filter((c) => /^(atomic|systemctl (start|enable)|systemd-tmpfiles)/.test(c)),
      ).to.deep.equal([
        `systemd-tmpfiles --create /etc/tmpfiles.d/${NAME}.conf`,
        `systemctl enable ${NAME}.service`,
        `systemctl start ${NAME}.service`,
      ]);
      await expectConverged(err.id, r.outs);
      installed = { id: err.id, outs: r.outs };
    });
  });

  describe("disk full during atomic containers update", () => {
    const UPDATE = `atomic containers update --set=SIM_TEST_MARK=2 ${NAME}`;
    let err: any;

    it("fails quoting 'No space left on device'; the container stays on its deployment and running", async () => {
      expect(installed, "the previous case installed the container").to.not.equal(undefined);
      // The tmpfs holds a copy of what is there (the symlink and NAME.0), then the filler takes the rest.
      await sim.fillDisk(node, CHECKOUTS, 1024 * 1024);
      await inHost(`dd if=/dev/zero of=${CHECKOUTS}/.sim-filler bs=4096 2>/dev/null; exit 0`);
      sim.clearCommandsLog(node);
      const { id, outs } = installed!;
      err = await rejection(provider.update(id, outs, await inputs(outs, { SIM_TEST_MARK: "2" })));
      expect(err.message).to.include(`${node.host}:${node.port}`);
      expect(err.message).to.include("g-io-error-quark: regfile copy: No space left on device (12)");
      // The plan's last step ran with the read after it, in one command: the error names the step's own.
      expect(err.message).to.include(`command: ${UPDATE}\n`);
      expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([UPDATE]);
      // An update is not cleaned up (V1.12.1 syscontainers.py:543, `not upgrade`): the partial NAME.1 stays; the
      // failure came before the stop (:859-861), so the unit still runs the deployment it had.
      expect(await hostState()).to.deep.equal([
        `symlink ${NAME}`,
        `checkout ${NAME}.0: config.json ${NAME}.service info rootfs tmpfiles-${NAME}.conf `,
        `checkout ${NAME}.1: rootfs `,
        `file /etc/systemd/system/${NAME}.service`,
        `file /etc/tmpfiles.d/${NAME}.conf`,
        "file /etc/etcd/etcd.conf",
        "file /usr/local/bin/etcdctl",
        `file /var/lib/etcd/${NAME}.etcd`,
        "enabled enabled",
        "active active",
      ]);
      expect(await inHost(`readlink ${CHECKOUTS}/${NAME}`)).to.match(/\/etcd\.0\n$/);
      expect(err).to.not.be.instanceOf(PartialFailure);
    });

    it("updates over the partial checkout on the next up once there is room; a further read finds no drift", async () => {
      // Room again on the same filesystem (the partial NAME.1 stays where atomic left it).
      await inHost(`rm -f ${CHECKOUTS}/.sim-filler`);
      sim.clearCommandsLog(node);
      const { id, outs } = installed!;
      const r = await provider.update(id, outs, await inputs(outs, { SIM_TEST_MARK: "2" }));
      expect(toolsOf(sim, node).filter((c) => c.startsWith("atomic "))).to.deep.equal([UPDATE]);
      expect(r.outs.values).to.deep.equal({ SIM_TEST_MARK: "2" });
      expect(r.outs.deployment).to.equal(1);
      expect(await inHost(`readlink ${CHECKOUTS}/${NAME}`)).to.match(/\/etcd\.1\n$/);
      await expectConverged(id, r.outs);
      // The tmpfs now holds the deployment in use; the host is stopped with it (no clearDisk: that would bring back
      // what was underneath, the deployment before this update).
    });
  });
});
