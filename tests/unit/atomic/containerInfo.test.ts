import { expect } from "chai";
import {
  findContainerByExactName,
  parseContainerInfo,
  parseContainersListJson,
} from "../../../provider/atomic";
import { fixture } from "./fixtures";

describe("parseContainerInfo", () => {
  it("reads image, digest, creation time, values and installed files from atomic's info file (ref §1)", () => {
    const r = parseContainerInfo(fixture("atomic-info-etcd.json"));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.image).to.equal("registry.fedoraproject.org/f27/etcd");
    expect(r.value.revision).to.equal("3f1c4bd8f5a2e7c9d0b6a1e2f3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6");
    expect(r.value.ostreeCommit).to.equal("9a0c3b1f2e4d5c6b7a8998877665544332211000ffeeddccbbaa998877665544");
    expect(r.value.created).to.equal(1510757000);
    expect(r.value.installedFiles).to.deep.equal(["/etc/etcd/etcd.conf", "/usr/local/bin/etcdctl"]);
    expect(r.value.systemPackage).to.equal("no");
    expect(r.value.hasContainerService).to.equal(true);
    expect(r.value.rpmInstalled).to.equal(undefined);
    expect(r.value.values.ETCD_NAME).to.equal("node1");
    expect(r.value.values.DESTDIR).to.equal("/var/lib/containers/atomic/etcd.0");
  });

  it("turns the numeric HOST_UID and HOST_GID into strings", () => {
    const r = parseContainerInfo(fixture("atomic-info-etcd.json"));
    expect(r.ok && [r.value.values.HOST_UID, r.value.values.HOST_GID]).to.deep.equal(["0", "0"]);
  });

  it("drops a sha256: prefix from the revision", () => {
    const r = parseContainerInfo(JSON.stringify({ image: "r.io/a/b", revision: "sha256:" + "a".repeat(64) }));
    expect(r.ok && r.value.revision).to.equal("a".repeat(64));
  });

  const bad: [string, string, string][] = [
    ["not JSON", "{", "atomic's info file is not valid JSON"],
    ["a list", "[]", "atomic's info file is not a JSON object"],
    ["no image", '{"revision":"x"}', 'atomic\'s info file has no "image" string'],
  ];
  for (const [title, text, message] of bad) {
    it(`returns an error for ${title}`, () => {
      const r = parseContainerInfo(text);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.contain(message);
    });
  }
});

describe("parseContainersListJson", () => {
  it("reads every row of atomic containers list --json (ref §2)", () => {
    const r = parseContainersListJson(fixture("atomic-containers-list.json"));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.value.map((e) => e.id)).to.deep.equal(["etcd", "etcd-backup", "ETCD2"]);
    expect(r.value[0]).to.deep.equal({
      id: "etcd",
      name: "etcd",
      imageId: "3f1c4bd8f5a2e7c9d0b6a1e2f3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6",
      imageName: "registry.fedoraproject.org/f27/etcd",
      command: "/usr/bin/etcd-env.sh /usr/bin/etcd",
      created: "2017-11-15 14:43:20",
      state: "running",
      backend: "ostree",
      runtime: "runc",
      vulnerable: false,
      running: true,
    });
  });

  it("reads empty output as no containers", () => {
    expect(parseContainersListJson("")).to.deep.equal({ ok: true, value: [] });
    expect(parseContainersListJson("[]\n")).to.deep.equal({ ok: true, value: [] });
  });

  it("uses the id as the name when an older atomic omits name", () => {
    const r = parseContainersListJson('[{"id":"etcd","backend":"ostree"}]');
    expect(r.ok && r.value[0]!.name).to.equal("etcd");
  });

  it("returns an error for a table instead of JSON", () => {
    const r = parseContainersListJson("   CONTAINER ID IMAGE\n   etcd  registry");
    expect(r.ok).to.equal(false);
  });
});

describe("findContainerByExactName", () => {
  const r = parseContainersListJson(fixture("atomic-containers-list.json"));
  const entries = r.ok ? r.value : [];
  it("picks the exact name out of the substring filter's matches", () => {
    expect(findContainerByExactName(entries, "etcd")?.id).to.equal("etcd");
    expect(findContainerByExactName(entries, "etcd-backup")?.state).to.equal("inactive");
  });
  it("is case-sensitive, unlike atomic's filter", () => {
    expect(findContainerByExactName(entries, "etcd2")).to.equal(undefined);
  });
  it("ignores rows of the docker backend", () => {
    expect(findContainerByExactName([{ ...entries[0]!, backend: "docker" }], "etcd")).to.equal(undefined);
  });
});
