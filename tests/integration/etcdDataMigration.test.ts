import { expect } from "chai";
import * as fs from "fs";
import { SimCluster, etcdPost, type ClusterHostEntry } from "../../sim";
import { handler } from "../../provider/handlers";
import { closeAll } from "../../provider/ssh";
import { removeDir, skipUnlessSimAvailable, sleep, tempDir } from "./sim/support";
import { copyBlocked, holdLease, releaseLease } from "../helpers/copyPin";
import { sshdAnswers, until } from "../helpers/simFixture";

// EtcdDataMigration's provider called directly (check/create/read/update/delete), against simulated Fedora 26
// hosts laid out by kubernetes/contrib's ansible (/etc/etcd/etcd.conf: ETCD_DATA_DIR=/var/lib/etcd; the RPM unit
// runs the real etcd with its data in /var/lib/etcd/member), then the etcd system container started on the result.
// Every claim about the host is checked from inside it (sim.exec: no SSH, no commands.log line), never through
// the provider's own manifests.

const SRC = "/var/lib/etcd/member";
const DEST = "/var/lib/etcd/etcd.etcd";
const MEMBER = `${DEST}/member`;
const INSTALL_ETCD_CONTAINER =
  "atomic install --system --system-package=no --storage=ostree --name=etcd registry.fedoraproject.org/f27/etcd";

describe("EtcdDataMigration against the simulator's real etcd", function () {
  this.timeout(6 * 60_000);
  const p = handler("EtcdDataMigration");
  let dir: string;
  let sim: SimCluster;
  const figures: string[] = [];
  let quiet: string | undefined;

  before(async function () {
    skipUnlessSimAvailable(this);
    quiet = process.env.PULUMI_ATOMIC_HOST_QUIET;
    process.env.PULUMI_ATOMIC_HOST_QUIET = "true";
    dir = tempDir("etcdmig");
    const t0 = Date.now();
    sim = await SimCluster.start({ dir, hosts: 4, release: 26, layout: "contrib" });
    figures.push(`4 hosts up in ${Date.now() - t0} ms`);
  });

  after(async () => {
    closeAll();
    await sim?.stop();
    if (dir) removeDir(dir);
    if (quiet === undefined) delete process.env.PULUMI_ATOMIC_HOST_QUIET;
    else process.env.PULUMI_ATOMIC_HOST_QUIET = quiet;
    for (const f of figures) console.log(`      ${f}`);
  });

  // ------------------------------------------------------------------------------------------------------------
  // Helpers

  const entry = (name: string): ClusterHostEntry => sim.host(name);
  const connectionOf = (name: string) => {
    const h = entry(name);
    return {
      host: h.host,
      port: h.port,
      privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
      hostKey: h.hostKey,
    };
  };

  /** `check` first, as the engine does; the checked inputs are what create/update receive. */
  async function checked(name: string, extra: Record<string, unknown> = {}) {
    const r = await p.check({}, { connection: connectionOf(name), ...extra });
    expect(r.failures).to.deep.equal([]);
    return r.inputs;
  }

  /** create, returning the error instead of throwing it. */
  async function createFails(inputs: Record<string, unknown>): Promise<Error> {
    const outcome = await p.create(inputs).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(outcome, "create should have failed").to.be.instanceOf(Error);
    return outcome!;
  }

  /**
   * Runs a command inside the host (sim.exec: no SSH, no commands.log line). It reads its stdin to the end first:
   * sim.exec writes to the child's stdin right after spawning it, with no error handler, so a command that is over
   * before that write (a loaded machine) surfaces as an uncaught EPIPE.
   */
  const inHost = (name: string, command: string) => sim.exec(name, `cat >/dev/null; ${command}`);

  async function sh(name: string, command: string): Promise<string> {
    const r = await inHost(name, command);
    expect(r.exitCode, `${command}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  async function exists(name: string, path: string): Promise<boolean> {
    return (await inHost(name, `test -e ${path}`)).exitCode === 0;
  }

  /** Names in DEST matching a pattern (`.member.tmp-*`, `member.backup-*`), sorted. */
  async function inDest(name: string, pattern: string): Promise<string[]> {
    const out = await sh(name, `cd ${DEST} && for f in ${pattern}; do [ -e "$f" ] && echo "$f"; done; true`);
    return out.split("\n").filter((l) => l !== "");
  }

  /**
   * A directory tree as `find` and `sha256sum` see it, from inside the host: every entry's type and path, every
   * file's size and sha256, and with `meta` also every entry's mode, size, mtime and ctime. ctime moves on any
   * chmod, chown, rename or write, so equal `meta` listings mean the tree was not touched. Without `meta` it is
   * what a copy must reproduce (modes are reset below DEST by the container's tmpfiles `Z` line; directory sizes
   * depend on the filesystem, and DEST may be a tmpfs). `exclude`: a find -path pattern to leave out;
   * `regexExclude`: a find -regex (emacs syntax) to leave out.
   */
  async function listing(
    name: string,
    path: string,
    opts: { meta?: boolean; exclude?: string; regexExclude?: string } = {},
  ): Promise<string> {
    const not =
      `! -path '${opts.exclude ?? "./-"}'` + (opts.regexExclude ? ` ! -regex '${opts.regexExclude}'` : "");
    const entries = opts.meta
      ? `find . ${not} -printf '%y %m %s %T@ %C@ %P\\n'`
      : `find . -mindepth 1 ${not} \\( -type f -printf 'f %s %P\\n' \\) -o ${not} -printf '%y %P\\n'`;
    return sh(
      name,
      `cd ${path} && export LC_ALL=C && ${entries} | sort && ` +
        `find . -type f ${not} -print0 | sort -z | xargs -0 -r sha256sum`,
    );
  }
  const fullListing = (name: string, path: string) => listing(name, path, { meta: true });
  /**
   * The listing of a tree a running etcd owns, once etcd has stopped writing to it (two listings half a second
   * apart agree): etcd commits its database in batches shortly after a write.
   */
  async function settledListing(name: string, path: string, opts: Parameters<typeof listing>[2] = {}) {
    let last = "";
    for (;;) {
      const now = await listing(name, path, opts);
      if (now === last) return now;
      last = now;
      await sleep(500);
    }
  }
  const contentListing = (name: string, path: string, exclude?: string) => listing(name, path, { exclude });
  /**
   * What etcd itself changes in its member directory when it stops (find -regex): it removes its preallocated
   * next WAL segment (wal/0.tmp) and commits snap/db as it closes. Trees a running etcd owns are compared without
   * them across a stop; trees whose etcd was stopped first (hosts 2-4) are compared whole, ctimes included.
   */
  const SHUTDOWN_WRITES = "\\./wal/.*\\.tmp\\|\\./snap/db";

  /** Number of files and their bytes, from a content listing. */
  function totals(listing: string): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (const m of listing.matchAll(/^f (\d+) /gm)) {
      files++;
      bytes += Number(m[1]);
    }
    return { files, bytes };
  }

  /** The keys etcd serves, once it serves (the container's unit is Type=simple: active before etcd listens). */
  async function etcdKeys(name: string): Promise<Map<string, string>> {
    let keys: Map<string, string> | undefined;
    await until(
      `etcd on ${name} to serve`,
      async () => {
        keys = await sim.etcdGetAll(name).catch(() => undefined);
        return keys !== undefined;
      },
      60_000,
    );
    return keys!;
  }

  /** Member and cluster ID, from etcd's v3 gateway (uint64s arrive as decimal strings). */
  async function identity(name: string): Promise<{ member: string; cluster: string; members: number }> {
    const r = await etcdPost<{ header: { member_id: string; cluster_id: string }; members: unknown[] }>(
      entry(name).etcdClientPort,
      "/v3/cluster/member/list",
      {},
    );
    return { member: r.header.member_id, cluster: r.header.cluster_id, members: r.members.length };
  }

  async function unitState(name: string): Promise<{ active: string; pid: string }> {
    const active = (await inHost(name, "systemctl is-active etcd")).stdout.trim();
    const pid = (await sh(name, "systemctl show etcd -p MainPID --value")).trim();
    return { active, pid };
  }

  const commandsOf = (name: string) => sim.readCommandsLog(name).map((e) => e.command);
  /** Commands that could write: the copy (`cp -a`), rename, backup, discard, a stop. */
  const writers = (cmds: string[]) =>
    cmds.filter((c) =>
      /atomic-host:etcd-(migrate|copy|commit|backup|discard)|\bcp -a\b|^systemctl (stop|start|restart)|^mkdir /.test(
        c,
      ),
    );

  /** Resolves once the host's sshd answers with its banner again. */
  async function sshdBack(name: string): Promise<void> {
    await until(`sshd on ${name}`, () => sshdAnswers(entry(name)), 60_000);
  }

  // ------------------------------------------------------------------------------------------------------------
  // host1: the migration guide, end to end

  describe("on a contrib host whose running etcd holds 10,000 keys (host1)", () => {
    let seeded: Map<string, string>;
    let before: { member: string; cluster: string; members: number };
    let inputs: Record<string, unknown>;
    let created: { id: string; outs: Record<string, any> };
    let sourceAfter: string;

    it("migrates the data so that the etcd system container serves all 10,000 keys under the same member ID", async () => {
      seeded = await sim.seedEtcd("host1", 10_000);
      expect(seeded.size).to.equal(10_000);
      before = await identity("host1");
      expect(before.members).to.equal(1);
      expect(await unitState("host1")).to.have.property("active", "active");
      // etcd is running, and the migration stops it: "before" is what its own shutdown does not write.
      const settled = () => listing("host1", SRC, { regexExclude: SHUTDOWN_WRITES });
      const stableBefore = await settledListing("host1", SRC, { regexExclude: SHUTDOWN_WRITES });
      const dbBefore = (await sh("host1", `stat -c '%s' ${SRC}/snap/db`)).trim();

      sim.clearCommandsLog("host1");
      inputs = await checked("host1");
      const t0 = Date.now();
      created = await p.create(inputs);
      const ms = Date.now() - t0;

      // The provider stopped the RPM etcd, then copied, verified and renamed: one host-side script, which
      // rolls back (and starts etcd again) on any failure before the rename.
      expect(await unitState("host1")).to.have.property("active", "inactive");
      const ran = commandsOf("host1");
      const migrate = writers(ran).filter((c) => !c.startsWith("mkdir ")); // DEST was created first
      expect(migrate, ran.join("\n---\n")).to.have.length(1);
      expect(migrate[0]).to.match(/^sh -c '# atomic-host:etcd-migrate v1\n/);
      // It ran under the host's own bound (coreutils timeout), so it cannot outlive the provider's wait.
      const sent = sim.readCommandsLog("host1").find((e) => e.command === migrate[0])!;
      expect(sent.sent).to.match(/^timeout --kill-after \S+ \S+ sh -c '# atomic-host:etcd-migrate v1\n/);

      // The source: there, with the same files and contents, but for what etcd's own shutdown wrote.
      expect(await settled()).to.equal(stableBefore);
      expect((await sh("host1", `stat -c '%s' ${SRC}/snap/db`)).trim()).to.equal(dbBefore);
      expect(await sh("host1", `ls ${SRC}/wal`)).to.equal("0000000000000000-0000000000000000.wal\n");
      sourceAfter = await fullListing("host1", SRC);

      // The destination: the same tree, modes and contents, at DEST/member, and nothing else in DEST.
      const srcContent = await contentListing("host1", SRC);
      expect(await contentListing("host1", MEMBER)).to.equal(srcContent);
      expect(
        await sh("host1", `stat -c '%a' ${MEMBER} ${MEMBER}/wal ${MEMBER}/snap ${MEMBER}/snap/db`),
      ).to.equal(await sh("host1", `stat -c '%a' ${SRC} ${SRC}/wal ${SRC}/snap ${SRC}/snap/db`));
      expect(await sh("host1", `ls -A ${DEST}`)).to.equal("member\n");

      // Outputs.
      const { outs } = created;
      expect(created.id).to.equal(`127.0.0.1:${entry("host1").port}:${MEMBER}`);
      expect({ files: outs.files, bytes: outs.bytes }).to.deep.equal(totals(srcContent));
      expect(outs.manifestSha256).to.match(/^[0-9a-f]{64}$/);
      expect(outs.destinationManifestSha256).to.equal(outs.manifestSha256);
      expect(outs.migratedAt).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Math.abs(Date.parse(outs.migratedAt) - Date.now())).to.be.lessThan(10 * 60_000);
      expect(outs).to.include({ source: SRC, destination: DEST, service: "etcd", conflict: "fail" });
      expect(outs).not.to.have.property("backupPath");
      figures.push(
        `host1: migrated ${outs.files} files, ${outs.bytes} bytes (10,000 keys) in ${ms} ms ` +
          `(stop, copy, verify, rename; ${ran.length} SSH commands)`,
      );

      // The guide's next steps: install the etcd system container and start it.
      await sh("host1", INSTALL_ETCD_CONTAINER);
      await sh("host1", "systemctl start etcd");
      const keys = await etcdKeys("host1");
      expect(keys.size).to.equal(10_000);
      for (const [k, v] of seeded) if (keys.get(k) !== v) expect(keys.get(k), k).to.equal(v);
      expect(await identity("host1")).to.deep.equal(before);
      // It runs from the copy: the container's etcd has the copy open, not the source.
      const pid = (await unitState("host1")).pid;
      const open = await sh("host1", `ls -l /proc/${pid}/fd | grep -o '/var/lib/etcd/[^ ]*' | sort -u`);
      expect(open).to.match(new RegExp(`^${MEMBER}/`, "m"));
      expect(open).not.to.match(new RegExp(`^${SRC}/`, "m"));
      // ... and the source stayed as it was.
      expect(await fullListing("host1", SRC)).to.equal(sourceAfter);
    });

    it("adopts the destination on a second create while the container runs on it: no copy, no stop, same keys", async () => {
      // What is right here: DEST/member is no longer identical to the source (the container's etcd has appended to
      // it since it started), but its WAL still begins with every byte of the source's: it is this migration, in
      // use. Copying again would rewind the cluster; refusing would fail a resource whose work is done. So create
      // adopts it and leaves etcd alone, whatever `conflict` says.
      const unitBefore = await unitState("host1");
      expect(unitBefore.active).to.equal("active");
      sim.clearCommandsLog("host1");
      const again = await p.create(inputs);
      expect(writers(commandsOf("host1")), commandsOf("host1").join("\n---\n")).to.deep.equal([]);
      expect(commandsOf("host1").some((c) => /(^|[\s;&|!])cp\s/.test(c))).to.equal(false);
      expect(await unitState("host1")).to.deep.equal(unitBefore);
      expect(again.id).to.equal(created.id);
      expect(again.outs.manifestSha256).to.equal(created.outs.manifestSha256);
      expect(again.outs.destinationManifestSha256).to.match(/^[0-9a-f]{64}$/);
      expect(again.outs.destinationManifestSha256).not.to.equal(again.outs.manifestSha256);

      // An update to conflict "backup" (it changes in place) must not turn that into "stop etcd and replace its data".
      sim.clearCommandsLog("host1");
      const updated = await p.update(created.id, created.outs, { ...inputs, conflict: "backup" });
      expect(writers(commandsOf("host1"))).to.deep.equal([]);
      expect(updated.outs).not.to.have.property("backupPath");
      expect(await inDest("host1", "member.backup-*")).to.deep.equal([]);
      expect(await unitState("host1")).to.deep.equal(unitBefore);

      const keys = await sim.etcdGetAll("host1");
      expect(keys.size).to.equal(10_000);
      expect(await identity("host1")).to.deep.equal(before);
      expect(await fullListing("host1", SRC)).to.equal(sourceAfter);
    });

    it("reads the destination as present, and gone once removed by hand; delete leaves both copies in place", async () => {
      sim.clearCommandsLog("host1");
      const read = await p.read(created.id, created.outs);
      expect(read.id).to.equal(created.id);
      expect(read.props.destinationManifestSha256).to.match(/^[0-9a-f]{64}$/);
      // etcd writes to its data: the drift shows, and nothing "fixes" it.
      expect(read.props.destinationManifestSha256).not.to.equal(created.outs.manifestSha256);
      expect(read.props.manifestSha256).to.equal(created.outs.manifestSha256);
      expect(writers(commandsOf("host1"))).to.deep.equal([]);

      const unit = await unitState("host1");
      const destBefore = await settledListing("host1", MEMBER);
      sim.clearCommandsLog("host1");
      await p.delete(created.id, read.props);
      // Only reads: the unit's state, for the line that says etcd is left as it is and how to run it again.
      expect(commandsOf("host1")).to.deep.equal([
        "systemctl is-active etcd.service",
        "systemctl is-enabled etcd.service",
      ]);
      expect(await fullListing("host1", SRC)).to.equal(sourceAfter);
      expect(await exists("host1", `${MEMBER}/wal`)).to.equal(true);
      expect(await unitState("host1")).to.deep.equal(unit);
      expect((await sim.etcdGetAll("host1")).size).to.equal(10_000);
      // The container's etcd is idle: nothing wrote there meanwhile, delete included.
      expect(await contentListing("host1", MEMBER)).to.equal(destBefore);

      await sh("host1", `systemctl stop etcd && rm -rf ${MEMBER}`);
      const gone = await p.read(created.id, read.props);
      expect(gone.id).to.equal("");
      expect(await fullListing("host1", SRC)).to.equal(sourceAfter);
    });
  });

  // ------------------------------------------------------------------------------------------------------------
  // host2: an interrupted copy

  describe("when the connection dies half-way through the copy (host2)", () => {
    let inputs: Record<string, unknown>;
    let sourceBefore: string;

    it("fails clearly, keeps the source, and the next create discards the leftover and completes", async () => {
      await sim.seedEtcd("host2", 10_000);
      // etcd stopped by the operator first (the guide's first step): the lease below needs the WAL closed.
      await sh("host2", "systemctl stop etcd");
      sourceBefore = await fullListing("host2", SRC);
      const wal = (await sh("host2", `ls ${SRC}/wal/*.wal | head -n 1`)).trim();
      await holdLease(sim, "host2", wal);

      inputs = await checked("host2");
      sim.clearCommandsLog("host2");
      const attempt = p.create(inputs).then(
        () => undefined,
        (e: Error) => e,
      );
      await copyBlocked(sim, "host2"); // cp is inside the copy, blocked opening the WAL
      const partial = await inDest("host2", ".member.tmp-*");
      expect(partial).to.have.length(1);
      await sim.killSshd("host2", { restartAfterMs: 500 });
      // The script carries on without its session (sshd does not kill a session's processes when it dies); once cp
      // can go on, its next progress line finds no reader, and it rolls back instead of committing. The provider
      // reconnects and reads the outcome the script recorded, so the error says what happened on the host.
      await sshdBack("host2");
      await releaseLease(sim, "host2");
      const err = await attempt;
      expect(err, "create should have failed").to.be.instanceOf(Error);
      expect(err!.message).to.match(
        /^\[connection\] root@127\.0\.0\.1:\d+: the connection was lost during the migration; on the host, EtcdDataMigration failed at the verify step \(its client went away/,
      );
      expect(err!.message).to.contain(
        "etcd.service was left stopped, as it was before the migration (inactive)",
      );
      expect(err!.message).to.contain(
        "The source was never modified. Run pulumi up again once the host answers",
      );
      expect(err!.message).to.contain("<etcd-migrate script>"); // the script, not 80 lines of shell
      const script = sim
        .readCommandsLog("host2")
        .find((e) => e.command.includes("atomic-host:etcd-migrate"))!;
      figures.push(
        `host2: the orphaned migration ended with ${JSON.stringify({ exitCode: script.exitCode, signal: script.signal })}`,
      );
      expect(await exists("host2", MEMBER)).to.equal(false);
      expect(await inDest("host2", ".member.tmp-*")).to.deep.equal([]); // rolled back: its copy removed
      expect(await fullListing("host2", SRC)).to.equal(sourceBefore);

      // A copy left by a script that was SIGKILLed (no rollback possible) is discarded by the next create.
      const leftoverId = "f00dcafe0001";
      await sh(
        "host2",
        `mkdir ${DEST}/.member.tmp-${leftoverId} && echo partial > ${DEST}/.member.tmp-${leftoverId}/x`,
      );
      sim.clearCommandsLog("host2");
      const done = await p.create(inputs);
      const ran = commandsOf("host2");
      expect(
        ran.some((c) => c.includes("atomic-host:etcd-discard") && c.endsWith(` ${leftoverId}`)),
      ).to.equal(true);
      expect(ran.filter((c) => c.includes("atomic-host:etcd-migrate"))).to.have.length(1);
      expect(await inDest("host2", ".member.tmp-*")).to.deep.equal([]);
      const srcContent = await contentListing("host2", SRC);
      expect(await contentListing("host2", MEMBER)).to.equal(srcContent);
      expect(await fullListing("host2", SRC)).to.equal(sourceBefore);
      expect({ files: done.outs.files, bytes: done.outs.bytes }).to.deep.equal(totals(srcContent));
      expect(done.outs.manifestSha256).to.match(/^[0-9a-f]{64}$/);
    });

    it("copies nothing and stops nothing on a second create when the destination is identical", async () => {
      const destBefore = await fullListing("host2", MEMBER);
      sim.clearCommandsLog("host2");
      const again = await p.create(inputs);
      const ran = commandsOf("host2");
      expect(writers(ran), ran.join("\n---\n")).to.deep.equal([]);
      expect(ran.some((c) => /(^|[\s;&|!])cp\s/.test(c))).to.equal(false);
      expect(ran.some((c) => c.startsWith("systemctl stop"))).to.equal(false);
      expect(await fullListing("host2", MEMBER)).to.equal(destBefore);
      expect(await fullListing("host2", SRC)).to.equal(sourceBefore);
      expect(again.outs.destinationManifestSha256).to.equal(again.outs.manifestSha256);
    });
  });

  // ------------------------------------------------------------------------------------------------------------
  // host3: no space at the destination

  describe("when the destination's filesystem has no room (host3)", () => {
    it("refuses before stopping etcd when the filesystem is too small for the source", async () => {
      await sim.seedEtcd("host3", 10_000);
      await sim.fillDisk("host3", DEST, 8 * 1024 * 1024);
      sim.clearCommandsLog("host3");
      const err = await createFails(await checked("host3"));
      expect(err.message).to.match(
        /EtcdDataMigration refused: the copy needs \d+ KiB but only \d+ KiB are free on \/var\/lib\/etcd\/etcd\.etcd's filesystem/,
      );
      expect(writers(commandsOf("host3"))).to.deep.equal([]);
      expect(await unitState("host3")).to.have.property("active", "active");
      expect(await sh("host3", `ls -A ${DEST}`)).to.equal("");
      await sim.clearDisk("host3", DEST);
    });

    it("fails with 'No space left on device' when the disk fills during the copy, leaving nothing; completes once there is room", async () => {
      await sh("host3", "systemctl stop etcd");
      const sourceBefore = await fullListing("host3", SRC);
      // Room for the copy when it is checked (80 MiB for ~62 MiB)...
      await sim.fillDisk("host3", DEST, 80 * 1024 * 1024);
      const wal = (await sh("host3", `ls ${SRC}/wal/*.wal | head -n 1`)).trim();
      await holdLease(sim, "host3", wal);
      const inputs = await checked("host3");
      sim.clearCommandsLog("host3");
      const attempt = p.create(inputs).then(
        () => undefined,
        (e: Error) => e,
      );
      // ...then, with cp half-way (blocked opening the 64 MB WAL), another writer takes all but 4 MiB of it.
      await copyBlocked(sim, "host3");
      await sh(
        "host3",
        `avail=$(df -Pk ${DEST} | awk 'NR==2 {print $4}'); head -c $(( (avail - 4096) * 1024 )) /dev/zero > ${DEST}/other-writer`,
      );
      await releaseLease(sim, "host3");
      const err = await attempt;
      expect(err, "create should have failed").to.be.instanceOf(Error);
      expect(err!.message).to.contain(
        "EtcdDataMigration failed at the copy step (cp -a failed) and rolled back",
      );
      expect(err!.message).to.contain("No space left on device");
      expect(err!.message).to.contain("the copy was removed");
      expect(await sh("host3", `ls -A ${DEST}`)).to.equal("other-writer\n"); // no member/, no .member.tmp-*
      expect(await fullListing("host3", SRC)).to.equal(sourceBefore);

      await sim.clearDisk("host3", DEST);
      const done = await p.create(inputs);
      const srcContent = await contentListing("host3", SRC);
      expect(await contentListing("host3", MEMBER)).to.equal(srcContent);
      expect({ files: done.outs.files, bytes: done.outs.bytes }).to.deep.equal(totals(srcContent));
      expect(await fullListing("host3", SRC)).to.equal(sourceBefore);
    });
  });

  // ------------------------------------------------------------------------------------------------------------
  // host4: bad inputs, then a destination that holds another cluster

  describe("input checks and a destination holding another cluster (host4)", () => {
    it("rejects bad paths in check, naming the property, without opening any SSH connection", async () => {
      const logins = sim.countAcceptedLogins("host4");
      sim.clearCommandsLog("host4");
      const rows: [string, Record<string, string>, string][] = [
        ["a relative source", { source: "var/lib/etcd/member" }, "source"],
        ["a relative destination", { destination: "var/lib/etcd/etcd.etcd" }, "destination"],
        ["..", { source: "/var/lib/etcd/../etcd/member" }, "source"],
        [".. in the destination", { destination: "/var/lib/etcd/etcd.etcd/.." }, "destination"],
        [";", { source: "/var/lib/etcd/member;reboot" }, "source"],
        ["$()", { destination: "/var/lib/$(reboot)/etcd.etcd" }, "destination"],
        ["backticks", { source: "/var/lib/`reboot`/member" }, "source"],
        ["a newline", { destination: "/var/lib/etcd/etcd.etcd\n/etc" }, "destination"],
        ["a space", { source: "/var/lib/etcd/my member" }, "source"],
        ["a leading -", { source: "-rf" }, "source"],
        ["a leading - in the destination", { destination: "--help" }, "destination"],
        ["a destination inside the source", { source: SRC, destination: `${SRC}/x` }, "destination"],
        ["a source inside the destination", { source: `${DEST}/member`, destination: DEST }, "source"],
        ["equal paths", { source: DEST, destination: DEST }, "destination"],
        ["a service name with a space", { service: "etcd; reboot" }, "service"],
        ["an unknown conflict policy", { conflict: "overwrite" }, "conflict"],
      ];
      for (const [what, extra, property] of rows) {
        const r = await p.check({}, { connection: connectionOf("host4"), ...extra });
        const named = r.failures.filter((f: { property: string }) => f.property === property);
        expect(named, `${what}: ${JSON.stringify(r.failures)}`).to.have.length.greaterThan(0);
        expect(named[0].reason, what).to.contain(property);
        expect(r.inputs.commands, what).to.equal(undefined);
      }
      expect(commandsOf("host4")).to.deep.equal([]);
      expect(sim.countAcceptedLogins("host4")).to.equal(logins);
    });

    it("refuses a different member directory with conflict 'fail', changing nothing; 'backup' moves it aside and migrates", async () => {
      const seeded = await sim.seedEtcd("host4", 10_000);
      const original = await identity("host4");
      await sh("host4", "systemctl stop etcd");
      const sourceBefore = await fullListing("host4", SRC);
      // The container installed and started before the data was copied: etcd found no member/ and made a new,
      // empty cluster there. Someone even wrote to it.
      await sh("host4", INSTALL_ETCD_CONTAINER);
      await sh("host4", "systemctl start etcd");
      expect((await etcdKeys("host4")).size).to.equal(0);
      await etcdPost(entry("host4").etcdClientPort, "/v3/kv/put", {
        key: Buffer.from("/new-cluster/marker").toString("base64"),
        value: Buffer.from("written to the wrong cluster").toString("base64"),
      });
      const newCluster = await identity("host4");
      figures.push(
        `host4: original member/cluster ${original.member}/${original.cluster}, new ${newCluster.member}/${newCluster.cluster}`,
      );
      const unit = await unitState("host4");
      expect(unit.active).to.equal("active");
      const destBefore = await settledListing("host4", MEMBER, { meta: true });
      const destContentBefore = await listing("host4", MEMBER, { regexExclude: SHUTDOWN_WRITES });
      const destDbSize = (await sh("host4", `stat -c '%s' ${MEMBER}/snap/db`)).trim();

      const inputs = await checked("host4");
      sim.clearCommandsLog("host4");
      const err = await createFails(inputs);
      expect(err.message).to.contain(
        `EtcdDataMigration refused: ${MEMBER} already exists and differs from ${SRC} (`,
      );
      expect(err.message).to.match(/changed: snap\/db: size \d+ -> \d+/);
      expect(err.message).to.contain('set conflict: "backup" to move it aside');
      expect(writers(commandsOf("host4"))).to.deep.equal([]);
      expect(await unitState("host4")).to.deep.equal(unit);
      expect(await fullListing("host4", MEMBER)).to.equal(destBefore);
      expect(await fullListing("host4", SRC)).to.equal(sourceBefore);
      expect(await sh("host4", `ls -A ${DEST}`)).to.equal("member\n");

      sim.clearCommandsLog("host4");
      const done = await p.create(await checked("host4", { conflict: "backup" }));
      expect(done.outs.backupPath).to.match(/^\/var\/lib\/etcd\/etcd\.etcd\/member\.backup-\d{8}T\d{6}Z$/);
      expect(await inDest("host4", "member.backup-*")).to.deep.equal([done.outs.backupPath.split("/").pop()]);
      // The new cluster's data, whole (but for what its etcd wrote as the migration stopped it), where the output
      // says; the source's in its place.
      const backup = done.outs.backupPath as string;
      expect(await listing("host4", backup, { regexExclude: SHUTDOWN_WRITES })).to.equal(destContentBefore);
      expect((await sh("host4", `stat -c '%s' ${backup}/snap/db`)).trim()).to.equal(destDbSize);
      const srcContent = await contentListing("host4", SRC);
      expect(await contentListing("host4", MEMBER)).to.equal(srcContent);
      expect(await fullListing("host4", SRC)).to.equal(sourceBefore);
      expect(done.outs.destinationManifestSha256).to.equal(done.outs.manifestSha256);
      // To move the data a running etcd uses, it had to stop it first.
      const ran = commandsOf("host4");
      // (the script stops it, then moves DEST/member aside: its last argument is the backup's timestamp)
      const migrate = ran.filter((c) => c.includes("atomic-host:etcd-migrate"));
      expect(migrate).to.have.length(1);
      expect(migrate[0]).to.match(/ etcd\.service \d{8}T\d{6}Z$/);
      expect(await unitState("host4")).to.have.property("active", "inactive");

      await sh("host4", "systemctl start etcd");
      const keys = await etcdKeys("host4");
      expect(keys.size).to.equal(10_000);
      for (const [k, v] of seeded) if (keys.get(k) !== v) expect(keys.get(k), k).to.equal(v);
      expect(keys.has("/new-cluster/marker")).to.equal(false);
      expect(await identity("host4")).to.deep.equal(original);
    });
  });
});
