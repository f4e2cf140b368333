import { expect } from "chai";
import {
  clusterSpecWarnings,
  effectiveMaxUnavailable,
  parseClusterSpec,
  type ClusterHostSpec,
} from "../../../provider/components/clusterSpec";

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
      "healthChecks that are not by role",
      { ...good, healthChecks: [{ name: "x", command: "true" }] },
      "cluster.healthChecks: must be an object by role: { etcd?, master?, worker? }",
    ],
    [
      "healthChecks for an unknown role",
      { ...good, healthChecks: { db: [] } },
      `cluster.healthChecks.db: is not a role: use "etcd", "master" or "worker"`,
    ],
    [
      "a health check without a command",
      { ...good, healthChecks: { worker: [{ name: "kubelet" }] } },
      "cluster.healthChecks.worker[0].command: must be a non-empty shell command of at most 4096 characters",
    ],
    [
      "two health checks of one name",
      {
        ...good,
        healthChecks: {
          master: [
            { name: "api", command: "true" },
            { name: "api", command: "false" },
          ],
        },
      },
      `cluster.healthChecks.master[1].name: duplicates another check's name "api"`,
    ],
    [
      "a health check timeout of zero",
      { ...good, healthChecks: { etcd: [{ name: "x", command: "true", timeoutSeconds: 0 }] } },
      "cluster.healthChecks.etcd[0].timeoutSeconds: must be a whole number from 1 to 3600",
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

  it("accepts health checks by role", () => {
    const { spec, errors } = parseClusterSpec({
      ...good,
      healthChecks: {
        worker: [
          { name: "kubelet healthz", command: "curl -sf localhost:10248/healthz", timeoutSeconds: 30 },
        ],
      },
    });
    expect(errors).to.deep.equal([]);
    expect(spec!.healthChecks!.worker![0].name).to.equal("kubelet healthz");
  });
});

describe("cluster settings that are allowed but said", () => {
  const hosts = (etcd: number, workers: number): ClusterHostSpec[] => [
    ...Array.from({ length: etcd }, (_, i) => ({
      name: `e${i}`,
      host: `10.0.0.${i + 1}`,
      roles: ["etcd" as const],
    })),
    { name: "m", host: "10.0.1.1", roles: ["master"] },
    ...Array.from({ length: workers }, (_, i) => ({
      name: `w${i}`,
      host: `10.0.2.${i + 1}`,
      roles: ["worker" as const],
    })),
  ];
  const table: [string, number, number, number | undefined, string[]][] = [
    ["3 members, maxUnavailable 1", 3, 2, 1, []],
    ["1 member", 1, 2, undefined, []],
    [
      "4 members",
      4,
      2,
      undefined,
      [
        "cluster.hosts: 4 etcd members tolerate 1 member(s) down, no more than 3 would; an odd count (3, 5) is usual",
      ],
    ],
    [
      "maxUnavailable 5 for 2 workers",
      3,
      2,
      5,
      ["cluster.maxUnavailable: 5 is more than the 2 worker(s): using 2 (every worker in one batch)"],
    ],
  ];
  for (const [what, etcd, workers, max, warnings] of table) {
    it(`${what}: ${warnings.length ? "warns" : "says nothing"}`, () => {
      expect(clusterSpecWarnings({ hosts: hosts(etcd, workers), maxUnavailable: max })).to.deep.equal(
        warnings,
      );
    });
  }

  it("clamps the worker batch to the worker count, and to at least 1", () => {
    expect([
      effectiveMaxUnavailable(undefined, 4),
      effectiveMaxUnavailable(5, 2),
      effectiveMaxUnavailable(3, 0),
    ]).to.deep.equal([1, 2, 1]);
  });
});
