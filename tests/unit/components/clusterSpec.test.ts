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
    [
      "a misspelt role, naming it and its place in the list",
      { ...good, hosts: [{ ...good.hosts[0], roles: ["etcd", "etdc"] }, good.hosts[1]] },
      `cluster.hosts[0].roles[1]: "etdc" is not one of etcd, master, worker`,
    ],
    [
      "roles given as one string",
      { ...good, hosts: [{ ...good.hosts[0], roles: "etcd" }, good.hosts[1]] },
      `cluster.hosts[0].roles: must be a list, e.g. ["etcd"], not a single string`,
    ],
    [
      "a port given as a string",
      { ...good, hosts: [{ ...good.hosts[0], port: "2222" }, good.hosts[1]] },
      `cluster.hosts[0].port: "2222" is a string; write the number without quotes (port: 2222)`,
    ],
    [
      "a port that is not a number at all",
      { ...good, hosts: [{ ...good.hosts[0], port: "ssh" }, good.hosts[1]] },
      `cluster.hosts[0].port: "ssh" is not a port`,
    ],
    [
      "a placeholder left as the host key",
      {
        ...good,
        hosts: [{ ...good.hosts[0], hostKey: "SHA256:REPLACE_WITH_THE_HOSTS_FINGERPRINT" }, good.hosts[1]],
      },
      `cluster.hosts[0].hostKey: "SHA256:REPLACE_WITH_THE_"... is neither an OpenSSH public key line`,
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
  ];
  it("accepts host keys as ssh-keyscan lines and as SHA256 fingerprints", () => {
    const hostKeys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG6xn1zQ0zZ8q0nE3hM4m3bVY0D0lW2vYy0hW9r8zJ3k",
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= root@etcd1",
      "SHA256:a2QQ3NHEOIfALRJoa9ScptnGVS7VHOaTgMGxR/rs58w",
    ];
    for (const hostKey of hostKeys) {
      const { errors } = parseClusterSpec({ ...good, hosts: [{ ...good.hosts[0], hostKey }, good.hosts[1]] });
      expect(errors, hostKey).to.deep.equal([]);
    }
  });

  for (const [what, raw, message] of cases) {
    it(`rejects ${what}`, () => {
      const { spec, errors } = parseClusterSpec(raw);
      expect(spec).to.equal(undefined);
      expect(errors.join("\n")).to.include(message);
    });
  }
});
