import { expect } from "chai";
import type { ClusterHostEntry } from "../../../sim";
import { formatStackConfig, projectNameOf, rolesByHost } from "../../../sim/stackConfig";

function entry(name: string, port: number): ClusterHostEntry {
  return {
    name,
    host: "127.0.0.1",
    port,
    user: "root",
    privateKeyPath: "/tmp/rehearsal/id_ed25519",
    hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${name}`,
    hostKeyFingerprint: "SHA256:x",
    etcdClientPort: port + 2,
  };
}

describe("atomic-host-sim config", () => {
  const rows: Array<[string[], string[][]]> = [
    [
      ["etcd1", "master1", "worker1", "node2"],
      [["etcd"], ["master"], ["worker"], ["worker"]],
    ],
    [["host1"], [["etcd", "master", "worker"]]],
    [
      ["host1", "host2"],
      [["etcd", "master"], ["worker"]],
    ],
    [
      ["host1", "host2", "host3", "host4"],
      [["etcd"], ["master"], ["worker"], ["worker"]],
    ],
    [
      ["etcd1", "db"],
      [["etcd", "master"], ["worker"]],
    ],
  ];
  for (const [names, roles] of rows) {
    it(`gives ${names.join(",")} the roles ${JSON.stringify(roles)}`, () =>
      expect(rolesByHost(names)).to.deep.equal(roles));
  }

  it("prints the cluster block to append under config:, in the project's namespace", () => {
    const text = formatStackConfig(
      { layout: "contrib", release: 26 },
      [entry("etcd1", 41000), entry("master1", 41004)],
      { project: "my-cluster" },
    );
    expect(text).to.equal(
      [
        "  # atomic-host-sim: 2 simulated Fedora 26 host(s); roles from the host names.",
        "  # The SSH key, once per stack: pulumi config set --secret atomic-host:privateKey < /tmp/rehearsal/id_ed25519",
        "  my-cluster:cluster:",
        "    method: systemContainers",
        "    etcd:",
        "      source: /var/lib/etcd/member",
        "    hosts:",
        "      - name: etcd1",
        '        host: "127.0.0.1"',
        "        port: 41000",
        '        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIetcd1"',
        "        roles: [etcd]",
        "      - name: master1",
        '        host: "127.0.0.1"',
        "        port: 41004",
        '        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAImaster1"',
        "        roles: [master]",
        "",
      ].join("\n"),
    );
  });

  it("points etcd at the RPM layout's data folder on an rpm-layout cluster", () => {
    const text = formatStackConfig({ layout: "rpm", release: 26 }, [entry("host1", 41000)], {
      project: "p",
      method: "packageLayering",
    });
    expect(text).to.contain("source: /var/lib/etcd/default.etcd/member");
    expect(text).to.contain("method: packageLayering");
  });

  it("reads the project name from Pulumi.yaml", () => {
    expect(projectNameOf("name: my-cluster\nruntime:\n  name: nodejs\n")).to.equal("my-cluster");
    expect(projectNameOf('name: "quoted"\n')).to.equal("quoted");
    expect(projectNameOf("runtime: nodejs\n")).to.equal(undefined);
  });
});
