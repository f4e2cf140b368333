import { expect } from "chai";
import { parseClusterSpec } from "../../../provider/components/clusterSpec";

const good = {
  method: "systemContainers",
  hosts: [
    { name: "etcd1", host: "127.0.0.1", port: 2201, roles: ["etcd"] },
    { name: "master1", host: "127.0.0.1", port: 2202, roles: ["master"] },
  ],
};

describe("parseClusterSpec", () => {
  it("accepts a well-formed cluster and returns it typed", () => {
    const { spec, errors } = parseClusterSpec(good);
    expect(errors).to.deep.equal([]);
    expect(spec!.hosts.map((h) => h.name)).to.deep.equal(["etcd1", "master1"]);
  });

  const cases: Array<[string, unknown, string]> = [
    ["a missing object", undefined, "cluster: must be an object with `method` and `hosts`"],
    [
      "an unknown method",
      { ...good, method: "ansible" },
      `cluster.method: must be "systemContainers" or "packageLayering"`,
    ],
    ["no hosts", { ...good, hosts: [] }, "cluster.hosts: must be a non-empty list"],
    [
      "a host without roles",
      { ...good, hosts: [{ name: "a", host: "h", roles: [] }] },
      "cluster.hosts[0].roles: must be a non-empty list",
    ],
    [
      "an unknown role",
      { ...good, hosts: [{ name: "a", host: "h", roles: ["db"] }] },
      "cluster.hosts[0].roles",
    ],
    [
      "a port out of range",
      { ...good, hosts: [{ ...good.hosts[0], port: 70000 }, good.hosts[1]] },
      "cluster.hosts[0].port: must be a whole number from 1 to 65535",
    ],
    [
      "a host with shell characters",
      { ...good, hosts: [{ ...good.hosts[0], host: "h;rm -rf /" }, good.hosts[1]] },
      "cluster.hosts[0].host: must be a host name or IP address",
    ],
    [
      "an option-like host",
      { ...good, hosts: [{ ...good.hosts[0], host: "-oProxyCommand=x" }, good.hosts[1]] },
      "cluster.hosts[0].host",
    ],
    [
      "a duplicate name",
      { ...good, hosts: [good.hosts[0], { ...good.hosts[1], name: "etcd1" }] },
      `cluster.hosts[1].name: duplicates another host's name "etcd1"`,
    ],
    [
      "the same address twice",
      { ...good, hosts: [good.hosts[0], { ...good.hosts[1], port: 2201 }] },
      "127.0.0.1:2201 is listed twice",
    ],
    ["no master", { ...good, hosts: [good.hosts[0]] }, "cluster.hosts: no host has the role master"],
    ["no etcd", { ...good, hosts: [good.hosts[1]] }, "cluster.hosts: no host has the role etcd"],
    [
      "a bad reboot policy",
      { ...good, reboot: "sometimes" },
      `cluster.reboot: must be "ifNeeded", "always" or "never"`,
    ],
    [
      "a zero maxUnavailable",
      { ...good, maxUnavailable: 0 },
      "cluster.maxUnavailable: must be a whole number from 1 to 1000",
    ],
    [
      "a bad etcd conflict",
      { ...good, etcd: { conflict: "merge" } },
      `cluster.etcd.conflict: must be "fail" or "backup"`,
    ],
    [
      "an ostreeRemote URL with a quote",
      { ...good, method: "packageLayering", ostreeRemote: { url: "https://x/'y" } },
      "cluster.ostreeRemote.url: url must be an http(s):// URL or a file:/// path",
    ],
    [
      "a relative ostreeRemote key path",
      { ...good, method: "packageLayering", ostreeRemote: { gpgKeyPath: "key" } },
      "cluster.ostreeRemote.gpgKeyPath: gpgKeyPath must be an absolute path",
    ],
    [
      "an unknown ostreeRemote key",
      { ...good, method: "packageLayering", ostreeRemote: { uri: "https://x/" } },
      "cluster.ostreeRemote.uri: is not a known key",
    ],
    [
      "ostreeRemote.gpgVerify as a string",
      { ...good, method: "packageLayering", ostreeRemote: { gpgVerify: "no" } },
      "cluster.ostreeRemote.gpgVerify: must be true or false",
    ],
    [
      "another remote without its URL",
      { ...good, method: "packageLayering", rebase: "mine:fedora/27/x86_64/atomic-host", ostreeRemote: {} },
      'cluster.ostreeRemote.url: is required: rebase pulls from the remote "mine"',
    ],
  ];
  it("accepts an ostreeRemote overriding the URL and key path", () => {
    const { spec, errors } = parseClusterSpec({
      ...good,
      method: "packageLayering",
      ostreeRemote: { url: "https://mirror.example.com/atomic/27", gpgKeyPath: "/etc/pki/rpm-gpg/k" },
    });
    expect(errors).to.deep.equal([]);
    expect(spec!.ostreeRemote).to.deep.equal({
      url: "https://mirror.example.com/atomic/27",
      gpgKeyPath: "/etc/pki/rpm-gpg/k",
    });
  });
  for (const [what, raw, message] of cases) {
    it(`rejects ${what}`, () => {
      const { spec, errors } = parseClusterSpec(raw);
      expect(spec).to.equal(undefined);
      expect(errors.join("\n")).to.include(message);
    });
  }
});
