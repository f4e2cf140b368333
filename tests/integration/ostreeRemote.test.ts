import { expect } from "chai";
import type { ClusterHostEntry, SimCluster } from "../../sim";
import { rejection } from "../helpers/rejection";
import { checked, commandsOf, connectionOf, inHost, useSimCluster } from "../helpers/simFixture";

// OstreeRemote's provider called directly, as the dynamic provider host would, against simulated Fedora 26 hosts
// whose /ostree/repo and /etc/ostree/remotes.d are real (Debian's ostree CLI runs on them). What the host has is
// read back inside the host with the same CLI; what the provider ran, from commands.log.
const provider = require("../../provider/handlers").handler("OstreeRemote");

const F27 = {
  name: "fedora-atomic-27",
  url: "https://kojipkgs.fedoraproject.org/atomic/27",
  gpgKeyPath: "/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary",
};
const ADD =
  "ostree remote add --set=gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary fedora-atomic-27 " +
  "https://kojipkgs.fedoraproject.org/atomic/27";
const READ = /^sh -c '# atomic-host:ostree-remotes-read v1/;

describe("OstreeRemote provider against simulated Fedora 26 hosts (real ostree remotes)", function () {
  this.timeout(5 * 60_000);
  const fixture = useSimCluster("ostree-remote", { hosts: 1, release: 26 }, { captureProgress: true });
  const logged = fixture.progress;
  let sim: SimCluster;
  let host: ClusterHostEntry;
  before(() => {
    sim = fixture.sim;
    host = sim.hosts[0]!;
  });

  const remotes = async () => (await inHost(sim, host, "ostree remote list -u")).stdout;

  it("starts, as a real Fedora 26 host does, with only fedora-atomic (Fedora 26's URL)", async () => {
    expect(await remotes()).to.match(
      /^fedora-atomic\s+https:\/\/kojipkgs\.fedoraproject\.org\/atomic\/26\/\n$/,
    );
  });

  it("shows the guide's exact `ostree remote add` line at check, without connecting", async () => {
    sim.clearCommandsLog(host);
    const logins = sim.countAcceptedLogins(host);
    const inputs = await checked(provider, { connection: connectionOf(host), ...F27 });
    expect(inputs.commands).to.deep.equal([ADD]);
    expect(commandsOf(sim, host)).to.deep.equal([]);
    expect(sim.countAcceptedLogins(host)).to.equal(logins);
  });

  let created: { id: string; outs: any };
  it("adds it: one read, the add, one read back; ostree then lists it from /etc/ostree/remotes.d", async () => {
    sim.clearCommandsLog(host);
    created = await provider.create(await checked(provider, { connection: connectionOf(host), ...F27 }));
    const ran = commandsOf(sim, host);
    expect(ran).to.have.length(3);
    expect(ran[0]).to.match(READ);
    expect(ran[1]).to.equal(ADD);
    expect(ran[2]).to.match(READ);
    expect(created.outs).to.deep.include({
      adopted: false,
      file: "/etc/ostree/remotes.d/fedora-atomic-27.conf",
    });
    expect(await remotes()).to.include("fedora-atomic-27  https://kojipkgs.fedoraproject.org/atomic/27");
    const conf = await inHost(sim, host, "cat /etc/ostree/remotes.d/fedora-atomic-27.conf");
    expect(conf.stdout).to.include("gpgkeypath=/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-27-primary");
  });

  it("adopts the identical remote for a second resource: nothing runs but reads, and its delete leaves it", async () => {
    sim.clearCommandsLog(host);
    const adopted = await provider.create(
      await checked(provider, { connection: connectionOf(host), ...F27 }),
    );
    expect(adopted.outs.adopted).to.equal(true);
    expect(commandsOf(sim, host).every((c) => READ.test(c))).to.equal(true);
    expect(logged.join("\n")).to.include("already exists as declared: adopted (left in place on delete)");
    await provider.delete(adopted.id, adopted.outs);
    expect(await remotes()).to.include("fedora-atomic-27");
  });

  it("refuses a different remote of the same name, naming the difference, and changes nothing", async () => {
    const before = await inHost(sim, host, "cat /etc/ostree/remotes.d/fedora-atomic.conf");
    sim.clearCommandsLog(host);
    const err = await rejection(
      provider.create(
        await checked(provider, { connection: connectionOf(host), ...F27, name: "fedora-atomic" }),
      ),
    );
    expect(err.message).to.include(
      "OstreeRemote fedora-atomic refused: the host already has an ostree remote fedora-atomic " +
        "(/etc/ostree/remotes.d/fedora-atomic.conf) that differs: url is https://kojipkgs.fedoraproject.org/atomic/26/, " +
        "not https://kojipkgs.fedoraproject.org/atomic/27",
    );
    expect(err.message).to.include("set replace: true");
    expect(commandsOf(sim, host).every((c) => READ.test(c))).to.equal(true);
    expect((await inHost(sim, host, "cat /etc/ostree/remotes.d/fedora-atomic.conf")).stdout).to.equal(
      before.stdout,
    );
  });

  it("reads a URL changed by hand as drift", async () => {
    const r = await inHost(
      sim,
      host,
      "sed -i 's|^url=.*|url=https://mirror.example.com/atomic/27|' /etc/ostree/remotes.d/fedora-atomic-27.conf",
    );
    expect(r.exitCode, r.stderr).to.equal(0);
    const read = await provider.read(created.id, created.outs);
    expect(read.props.url).to.equal("https://mirror.example.com/atomic/27");
    const diff = await provider.diff(
      created.id,
      read.props,
      await checked(provider, { connection: connectionOf(host), ...F27 }),
    );
    expect(diff.changes).to.equal(true);
  });

  it("repairs it on update: the remote it added is its own to replace (delete, add)", async () => {
    sim.clearCommandsLog(host);
    const news = await checked(provider, { connection: connectionOf(host), ...F27 });
    const updated = await provider.update(
      created.id,
      { ...created.outs, url: "https://mirror.example.com/atomic/27" },
      news,
    );
    expect(commandsOf(sim, host).filter((c) => !READ.test(c))).to.deep.equal([
      "ostree remote delete fedora-atomic-27",
      ADD,
    ]);
    expect(updated.outs.url).to.equal(F27.url);
    expect(await remotes()).to.include("fedora-atomic-27  https://kojipkgs.fedoraproject.org/atomic/27");
    created = { id: created.id, outs: updated.outs };
  });

  it("deletes the remote it added once no deployment follows it", async () => {
    sim.clearCommandsLog(host);
    await provider.delete(created.id, created.outs);
    expect(commandsOf(sim, host)).to.deep.equal([
      "rpm-ostree status --json",
      "ostree remote delete fedora-atomic-27",
    ]);
    expect(await remotes()).to.not.include("fedora-atomic-27");
    // Gone already: delete is done.
    await provider.delete(created.id, created.outs);
  });

  it("keeps the remote on delete while a deployment's origin pulls from it, and says so", async () => {
    created = await provider.create(await checked(provider, { connection: connectionOf(host), ...F27 }));
    const rebase = await inHost(sim, host, "rpm-ostree rebase fedora-atomic-27:fedora/27/x86_64/atomic-host");
    expect(rebase.exitCode, rebase.stderr).to.equal(0);
    sim.clearCommandsLog(host);
    await provider.delete(created.id, created.outs);
    expect(commandsOf(sim, host)).to.deep.equal(["rpm-ostree status --json"]);
    expect(await remotes()).to.include("fedora-atomic-27");
    expect(logged.join("\n")).to.include(
      "ostree remote fedora-atomic-27 is kept: a deployment's origin pulls from it",
    );
    // Leave the host as it was for the next test.
    expect((await inHost(sim, host, "ostree remote delete fedora-atomic-27")).exitCode).to.equal(0);
  });

  it("replaces a different remote when told to", async () => {
    sim.clearCommandsLog(host);
    const r = await provider.create(
      await checked(provider, {
        connection: connectionOf(host),
        ...F27,
        name: "fedora-atomic",
        replace: true,
      }),
    );
    expect(commandsOf(sim, host).filter((c) => !READ.test(c))).to.deep.equal([
      "ostree remote delete fedora-atomic",
      ADD.replace(" fedora-atomic-27 ", " fedora-atomic "),
    ]);
    expect(r.outs.adopted).to.equal(false);
    expect(await remotes()).to.match(
      /^fedora-atomic\s+https:\/\/kojipkgs\.fedoraproject\.org\/atomic\/27\n$/,
    );
  });
});
