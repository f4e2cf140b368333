import { expect } from "chai";
import {
  type CheckFailure,
  UNKNOWN,
  parseImageReference,
  validateEtcdDataMigrationInputs,
  validateLayeredPackageInputs,
  validateSystemContainerInputs,
} from "../../../provider/atomic";

const SECRET = "hunter2-do-not-print";
const conn = { host: "node1.example.com", password: SECRET, privateKey: SECRET };

const NAME_FORM =
  'name must be 1-64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit, e.g. "etcd", because it ' +
  "becomes the systemd unit NAME.service and the directory /var/lib/containers/atomic/NAME; got ";
const IMAGE_FORM =
  'registry/path/name[:tag][@sha256:<64 hex digits>], e.g. "registry.fedoraproject.org/f27/etcd"';
const REFSPEC_REASON =
  'rebase must be an OSTree refspec "remote:ref" or "ref", e.g. "fedora-atomic-27:fedora/27/x86_64/atomic-host" ' +
  '(letters, digits and _ . - ; "/" between ref components; no ".."); got ';
const PATH_NORMAL =
  'source must be a normalised absolute path: no "." or ".." components, no "//", no trailing "/"; got ';
const HOST_REASON = 'must be a host name or an IP address, e.g. "node1.example.com" or "192.0.2.10"; got ';
const SERVICE_REASON =
  'service must be a systemd unit name (letters, digits and : _ . @ -, not starting with "-" or "."), e.g. "etcd"; got ';

type Row = [title: string, overrides: Record<string, unknown>, expected: CheckFailure[]];

function noSecretIn(failures: CheckFailure[]): void {
  for (const f of failures) {
    expect(f.reason).not.to.contain(SECRET);
    expect(f.reason).not.to.contain("s3cret");
  }
}

describe("validateSystemContainerInputs", () => {
  const base = { connection: conn, name: "etcd", image: "registry.fedoraproject.org/f27/etcd" };
  const rows: Row[] = [
    ["a name with a space", { name: "et cd" }, [{ property: "name", reason: NAME_FORM + '"et cd"' }]],
    ["a name starting with -", { name: "-etcd" }, [{ property: "name", reason: NAME_FORM + '"-etcd"' }]],
    ["a name with a /", { name: "etc/d" }, [{ property: "name", reason: NAME_FORM + '"etc/d"' }]],
    [
      "a name with a shell metacharacter",
      { name: "etcd$(reboot)" },
      [{ property: "name", reason: NAME_FORM + '"etcd$(reboot)"' }],
    ],
    [
      "a name with @ (a systemd template instance)",
      { name: "etcd@1" },
      [{ property: "name", reason: NAME_FORM + '"etcd@1"' }],
    ],
    [
      "a name over 64 characters",
      { name: "a".repeat(65) },
      [{ property: "name", reason: NAME_FORM + JSON.stringify("a".repeat(65)) }],
    ],
    [
      "a name ending in a deployment slot",
      { name: "etcd.1" },
      [
        {
          property: "name",
          reason:
            'name must not end in "." and digits: atomic keeps a container\'s two deployments in ' +
            '/var/lib/containers/atomic/NAME.0 and NAME.1, so "etcd.1" would collide with a deployment of the container "etcd"',
        },
      ],
    ],
    [
      "a name ending in a unit type",
      { name: "etcd.service" },
      [
        {
          property: "name",
          reason:
            'name must not end in a systemd unit type such as ".service": atomic runs "systemctl start NAME", which ' +
            'would address that unit, not NAME.service; got "etcd.service"',
        },
      ],
    ],
    [
      "a missing name",
      { name: undefined },
      [
        {
          property: "name",
          reason:
            'name is required: 1-64 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit, e.g. "etcd"',
        },
      ],
    ],
    [
      "an image without a registry",
      { image: "etcd" },
      [
        {
          property: "image",
          reason:
            'image must start with a registry host (a name containing "." or ":", or "localhost"), as in ' +
            `${IMAGE_FORM}: a short name is resolved through the host's own registry search list, so what gets ` +
            'installed would depend on the host; got "etcd"',
        },
      ],
    ],
    [
      "an image with an uppercase path",
      { image: "registry.fedoraproject.org/F27/etcd" },
      [
        {
          property: "image",
          reason:
            'image path components must be lowercase letters and digits separated by ".", "_", "__" or "-" (docker ' +
            'reference grammar); "F27" in "registry.fedoraproject.org/F27/etcd" is not',
        },
      ],
    ],
    [
      "an image with a shell metacharacter",
      { image: "registry.fedoraproject.org/f27/etcd;reboot" },
      [
        {
          property: "image",
          reason:
            `image must be ${IMAGE_FORM}, with no whitespace or shell metacharacters and not starting with "-"; ` +
            'got "registry.fedoraproject.org/f27/etcd;reboot"',
        },
      ],
    ],
    [
      "an image starting with -",
      { image: "--help" },
      [
        {
          property: "image",
          reason: `image must be ${IMAGE_FORM}, with no whitespace or shell metacharacters and not starting with "-"; got "--help"`,
        },
      ],
    ],
    [
      "an image over 255 characters",
      { image: "registry.fedoraproject.org/" + "a".repeat(250) },
      [{ property: "image", reason: "image must be at most 255 characters; got 277" }],
    ],
    [
      "an image with a short digest",
      { image: "registry.fedoraproject.org/f27/etcd@sha256:abc" },
      [
        {
          property: "image",
          reason: 'image digest must be "sha256:" followed by 64 lowercase hex digits; got "sha256:abc"',
        },
      ],
    ],
    [
      "an image with a bad tag",
      { image: "registry.fedoraproject.org/f27/etcd:.bad" },
      [
        {
          property: "image",
          reason:
            'image tag must be 1-128 characters from A-Z a-z 0-9 _ . -, not starting with "." or "-"; got ".bad"',
        },
      ],
    ],
    [
      "the docker storage",
      { storage: "docker" },
      [
        {
          property: "storage",
          reason:
            'storage must be "ostree" (the default): system containers exist only in the OSTree storage, and atomic ' +
            'refuses --system with any other; got "docker"',
        },
      ],
    ],
    [
      "an unknown systemPackage",
      { systemPackage: "maybe" },
      [
        {
          property: "systemPackage",
          reason:
            'systemPackage must be one of "no", "yes", "auto", "build" (atomic install --system-package); got "maybe"',
        },
      ],
    ],
    [
      "values given as a list",
      { values: ["ETCD_NAME=x"] },
      [
        {
          property: "values",
          reason:
            'values must be an object of KEY: "value" strings, e.g. { ETCD_NAME: "node1" }; got an array',
        },
      ],
    ],
    [
      "a values key that is not an identifier",
      { values: { "A B": "x" } },
      [
        {
          property: 'values["A B"]',
          reason:
            'values key "A B" must match [A-Za-z_][A-Za-z0-9_]* (atomic substitutes it as $KEY in the image\'s templates)',
        },
      ],
    ],
    [
      "a values key atomic forces",
      { values: { NAME: "x" } },
      [
        {
          property: "values.NAME",
          reason:
            "values key NAME is set by atomic itself after --set is applied (DESTDIR, NAME, EXEC_START, EXEC_STOP, " +
            "EXEC_STARTPRE, EXEC_STOPPOST, HOST_UID, HOST_GID, IMAGE_NAME, IMAGE_ID), so the installed value would " +
            "never be the declared one",
        },
      ],
    ],
    [
      "a value with a newline (unit-file injection), without printing it",
      { values: { ETCD_PASSWORD: "s3cret\nExecStartPre=/bin/rm -rf /" } },
      [
        {
          property: "values.ETCD_PASSWORD",
          reason:
            "values.ETCD_PASSWORD must not contain a newline, carriage return or NUL: atomic writes values into the " +
            "systemd unit and config.json, where a newline would start a new directive",
        },
      ],
    ],
    [
      "a value over 4096 characters",
      { values: { ETCD_NAME: "x".repeat(5000) } },
      [
        {
          property: "values.ETCD_NAME",
          reason: "values.ETCD_NAME must be at most 4096 characters; got 5000",
        },
      ],
    ],
    [
      "a value that is a number",
      { values: { ETCD_NAME: 5 } },
      [{ property: "values.ETCD_NAME", reason: "values.ETCD_NAME must be a string; got a number" }],
    ],
    [
      "running as a string",
      { running: "yes" },
      [{ property: "running", reason: 'running must be true or false; got "yes"' }],
    ],
    [
      "triggers as a string",
      { triggers: "x" },
      [{ property: "triggers", reason: "triggers must be an array of values; got a string" }],
    ],
    [
      "a missing connection",
      { connection: undefined },
      [
        {
          property: "connection",
          reason: "connection is required: { host, port?, user?, privateKey?, ... }",
        },
      ],
    ],
    [
      "a host with a shell metacharacter",
      { connection: { ...conn, host: "node1;reboot" } },
      [{ property: "connection.host", reason: `connection.host ${HOST_REASON}"node1;reboot"` }],
    ],
    [
      "port 0",
      { connection: { ...conn, port: 0 } },
      [
        {
          property: "connection.port",
          reason: "connection.port must be a whole number from 1 to 65535 (default 22); got 0",
        },
      ],
    ],
    [
      "a user that looks like an ssh option",
      { connection: { ...conn, user: "-oProxyCommand=x" } },
      [
        {
          property: "connection.user",
          reason:
            'connection.user must be a POSIX user name (letters, digits, "_", "." and "-", not starting with "-", at ' +
            'most 32 characters), e.g. "root"; got "-oProxyCommand=x"',
        },
      ],
    ],
    [
      "a bad proxy host",
      { connection: { ...conn, proxy: { host: "bad host" } } },
      [{ property: "connection.proxy.host", reason: `connection.proxy.host ${HOST_REASON}"bad host"` }],
    ],
  ];
  for (const [title, overrides, expected] of rows) {
    it(`rejects ${title}`, () => {
      const failures = validateSystemContainerInputs({ ...base, ...overrides });
      expect(failures).to.deep.equal(expected);
      noSecretIn(failures);
    });
  }

  const good: [string, Record<string, unknown>][] = [
    ["the migration guide's etcd", {}],
    ["a tag and a digest", { image: "registry.fedoraproject.org/f27/etcd:0.1@sha256:" + "a".repeat(64) }],
    ["a registry with a port", { image: "localhost:5000/f27/etcd" }],
    ["an IPv6 host", { connection: { host: "fd00::10", port: 2222, user: "core" } }],
    [
      "values with spaces, quotes and $",
      { values: { ETCD_NAME: "node 1", ADDTL_MOUNTS: `{"type":"bind"} $X` } },
    ],
    ["every option", { storage: "ostree", systemPackage: "auto", running: false, triggers: [1, "a"] }],
  ];
  for (const [title, overrides] of good) {
    it(`accepts ${title}`, () => {
      expect(validateSystemContainerInputs({ ...base, ...overrides })).to.deep.equal([]);
    });
  }

  it("skips every value that is unknown during preview", () => {
    const unknowns = {
      connection: UNKNOWN,
      name: UNKNOWN,
      image: UNKNOWN,
      storage: UNKNOWN,
      systemPackage: UNKNOWN,
      values: { ETCD_NAME: UNKNOWN },
      running: UNKNOWN,
      triggers: UNKNOWN,
    };
    expect(validateSystemContainerInputs(unknowns)).to.deep.equal([]);
    expect(
      validateSystemContainerInputs({ ...base, connection: { host: UNKNOWN, port: UNKNOWN } }),
    ).to.deep.equal([]);
  });

  it("reports every problem at once, in property order", () => {
    const failures = validateSystemContainerInputs({ connection: { host: "a b" }, name: "-x", image: "x" });
    expect(failures.map((f) => f.property)).to.deep.equal(["connection.host", "name", "image"]);
  });

  it("never throws, whatever it is given", () => {
    for (const junk of [undefined, null, {}, { name: {}, image: [], values: null, connection: 5 }]) {
      expect(() => validateSystemContainerInputs(junk as never)).not.to.throw();
    }
  });
});

describe("validateLayeredPackageInputs", () => {
  const base = { connection: conn, packages: ["etcd"] };
  const PKG = (i: number, got: string) =>
    `packages[${i}] must be an RPM package name (letters, digits and . _ + -, starting with a letter or digit), e.g. "etcd"; got ${got}`;
  const rows: Row[] = [
    [
      "missing packages",
      { packages: undefined },
      [
        {
          property: "packages",
          reason:
            'packages is required: a non-empty list of RPM package names, e.g. ["kubernetes-master", "flannel", "etcd"]',
        },
      ],
    ],
    [
      "packages as a string",
      { packages: "etcd" },
      [
        {
          property: "packages",
          reason:
            'packages must be a list: a non-empty list of RPM package names, e.g. ["kubernetes-master", "flannel", "etcd"]; got a string',
        },
      ],
    ],
    [
      "an empty package list",
      { packages: [] },
      [
        {
          property: "packages",
          reason:
            "packages must list at least one RPM package name: to remove every package this resource layered, delete the resource",
        },
      ],
    ],
    [
      "a package that is an option",
      { packages: ["etcd", "-r"] },
      [{ property: "packages[1]", reason: PKG(1, '"-r"') }],
    ],
    [
      "a package with a space",
      { packages: ["kubernetes master"] },
      [{ property: "packages[0]", reason: PKG(0, '"kubernetes master"') }],
    ],
    ["a package that is not a string", { packages: [7] }, [{ property: "packages[0]", reason: PKG(0, "7") }]],
    [
      "a local .rpm file",
      { packages: ["etcd.rpm"] },
      [
        {
          property: "packages[0]",
          reason:
            'packages[0] must be a package name, not a file: rpm-ostree treats an argument ending in ".rpm" as a local RPM file; got "etcd.rpm"',
        },
      ],
    ],
    [
      "a duplicated package",
      { packages: ["etcd", "flannel", "etcd"] },
      [
        {
          property: "packages[2]",
          reason: 'packages lists "etcd" more than once (packages[0] and packages[2])',
        },
      ],
    ],
    [
      "a refspec with ..",
      { rebase: "fedora-atomic-27:fedora/../x" },
      [{ property: "rebase", reason: REFSPEC_REASON + '"fedora-atomic-27:fedora/../x"' }],
    ],
    [
      "a refspec with a space",
      { rebase: "fedora atomic:fedora/27" },
      [{ property: "rebase", reason: REFSPEC_REASON + '"fedora atomic:fedora/27"' }],
    ],
    [
      "a refspec with no ref",
      { rebase: "fedora-atomic-27:" },
      [{ property: "rebase", reason: REFSPEC_REASON + '"fedora-atomic-27:"' }],
    ],
    [
      "an unknown reboot policy",
      { reboot: "sometimes" },
      [
        {
          property: "reboot",
          reason: 'reboot must be one of "ifNeeded", "always", "never"; got "sometimes"',
        },
      ],
    ],
    [
      "a zero reboot timeout",
      { rebootTimeoutSeconds: 0 },
      [
        {
          property: "rebootTimeoutSeconds",
          reason: "rebootTimeoutSeconds must be a whole number of seconds from 1 to 86400 (24 hours); got 0",
        },
      ],
    ],
    [
      "a fractional reboot timeout",
      { rebootTimeoutSeconds: 1.5 },
      [
        {
          property: "rebootTimeoutSeconds",
          reason:
            "rebootTimeoutSeconds must be a whole number of seconds from 1 to 86400 (24 hours); got 1.5",
        },
      ],
    ],
    [
      "a reboot timeout over a day",
      { rebootTimeoutSeconds: 86401 },
      [
        {
          property: "rebootTimeoutSeconds",
          reason:
            "rebootTimeoutSeconds must be a whole number of seconds from 1 to 86400 (24 hours); got 86401",
        },
      ],
    ],
  ];
  for (const [title, overrides, expected] of rows) {
    it(`rejects ${title}`, () => {
      const failures = validateLayeredPackageInputs({ ...base, ...overrides });
      expect(failures).to.deep.equal(expected);
      noSecretIn(failures);
    });
  }

  it("accepts the migration guide's rebase with packages", () => {
    expect(
      validateLayeredPackageInputs({
        connection: conn,
        packages: ["kubernetes-master", "flannel", "etcd", "gcc-c++"],
        rebase: "fedora-atomic-27:fedora/27/x86_64/atomic-host",
        reboot: "never",
        rebootTimeoutSeconds: 900,
      }),
    ).to.deep.equal([]);
  });

  it("accepts a refspec without a remote", () => {
    expect(validateLayeredPackageInputs({ ...base, rebase: "fedora/27/x86_64/atomic-host" })).to.deep.equal(
      [],
    );
  });

  it("skips unknown packages and unknown list entries during preview", () => {
    expect(validateLayeredPackageInputs({ ...base, packages: UNKNOWN })).to.deep.equal([]);
    expect(validateLayeredPackageInputs({ ...base, packages: [UNKNOWN, "etcd", UNKNOWN] })).to.deep.equal([]);
  });
});

describe("validateEtcdDataMigrationInputs", () => {
  const base = { connection: conn };
  const rows: Row[] = [
    [
      "a relative source",
      { source: "var/lib/etcd/member" },
      [
        {
          property: "source",
          reason: 'source must be an absolute path, e.g. "/var/lib/etcd/member"; got "var/lib/etcd/member"',
        },
      ],
    ],
    [
      "a source with ..",
      { source: "/var/lib/../etcd/member" },
      [{ property: "source", reason: PATH_NORMAL + '"/var/lib/../etcd/member"' }],
    ],
    [
      "a source with a trailing /",
      { source: "/var/lib/etcd/member/" },
      [{ property: "source", reason: PATH_NORMAL + '"/var/lib/etcd/member/"' }],
    ],
    [
      "a source with //",
      { source: "/var/lib//etcd/member" },
      [{ property: "source", reason: PATH_NORMAL + '"/var/lib//etcd/member"' }],
    ],
    [
      "a source with a space",
      { source: "/var/lib/etcd member" },
      [
        {
          property: "source",
          reason:
            'source may contain only A-Z a-z 0-9 . _ - and "/" (at most 1024 characters); got "/var/lib/etcd member"',
        },
      ],
    ],
    ["the root as source", { source: "/" }, [{ property: "source", reason: 'source must not be "/"' }]],
    [
      "a destination that is not a string",
      { destination: 5 },
      [{ property: "destination", reason: "destination must be a string: an absolute path; got a number" }],
    ],
    [
      "source equal to destination",
      { source: "/var/lib/etcd/member", destination: "/var/lib/etcd/member" },
      [
        {
          property: "destination",
          reason:
            'source and destination must differ: source is the member directory itself (e.g. "/var/lib/etcd/member"), ' +
            'destination the folder that will contain member/ (e.g. "/var/lib/etcd/etcd.etcd"); both are "/var/lib/etcd/member"',
        },
      ],
    ],
    [
      "a destination inside the source",
      { source: "/var/lib/etcd/member", destination: "/var/lib/etcd/member/new" },
      [
        {
          property: "destination",
          reason:
            'destination must not be inside source ("/var/lib/etcd/member/new" is inside "/var/lib/etcd/member"): ' +
            "the copy would be written into the directory being copied",
        },
      ],
    ],
    [
      "a source inside the destination (destination/member is the source)",
      { source: "/var/lib/etcd/member", destination: "/var/lib/etcd" },
      [
        {
          property: "source",
          reason:
            'source must not be inside destination ("/var/lib/etcd/member" is inside "/var/lib/etcd"): ' +
            "destination/member would be the source itself or be written next to it while it is read",
        },
      ],
    ],
    [
      "a service with a shell metacharacter",
      { service: "etcd;reboot" },
      [{ property: "service", reason: SERVICE_REASON + '"etcd;reboot"' }],
    ],
    [
      "a service that is an option",
      { service: "-etcd" },
      [{ property: "service", reason: SERVICE_REASON + '"-etcd"' }],
    ],
    [
      "an unknown conflict policy",
      { conflict: "overwrite" },
      [
        {
          property: "conflict",
          reason:
            'conflict must be "fail" (refuse when the destination holds a different member directory) or "backup" ' +
            '(move it aside to member.backup-<UTC time> first); got "overwrite"',
        },
      ],
    ],
    [
      "a host given as a number",
      { connection: { host: 10 } },
      [
        {
          property: "connection.host",
          reason:
            'connection.host must be a string: a host name or an IP address, e.g. "node1.example.com" or "192.0.2.10"; got a number',
        },
      ],
    ],
  ];
  for (const [title, overrides, expected] of rows) {
    it(`rejects ${title}`, () => {
      const failures = validateEtcdDataMigrationInputs({ ...base, ...overrides });
      expect(failures).to.deep.equal(expected);
      noSecretIn(failures);
    });
  }

  it("accepts the defaults (the guide's /var/lib/etcd/member into /var/lib/etcd/etcd.etcd)", () => {
    expect(validateEtcdDataMigrationInputs(base)).to.deep.equal([]);
  });

  it("accepts the RPM layout and a backup policy", () => {
    expect(
      validateEtcdDataMigrationInputs({
        ...base,
        source: "/var/lib/etcd/default.etcd/member",
        destination: "/var/lib/etcd/etcd.etcd",
        service: "etcd.service",
        conflict: "backup",
      }),
    ).to.deep.equal([]);
  });

  it("accepts sibling paths that share a prefix but are not nested", () => {
    expect(
      validateEtcdDataMigrationInputs({
        ...base,
        source: "/var/lib/etcd/member",
        destination: "/var/lib/etcd/member2",
      }),
    ).to.deep.equal([]);
  });

  it("skips unknown paths during preview", () => {
    expect(validateEtcdDataMigrationInputs({ ...base, source: UNKNOWN, destination: UNKNOWN })).to.deep.equal(
      [],
    );
  });
});

describe("parseImageReference", () => {
  const rows: [string, ReturnType<typeof parseImageReference>][] = [
    [
      "registry.fedoraproject.org/f27/etcd",
      { domain: "registry.fedoraproject.org", path: "f27/etcd", tag: undefined, digest: undefined },
    ],
    [
      "localhost:5000/a/b_c__d-e:v1.2",
      { domain: "localhost:5000", path: "a/b_c__d-e", tag: "v1.2", digest: undefined },
    ],
    [
      "quay.io/coreos/etcd@sha256:" + "0".repeat(64),
      { domain: "quay.io", path: "coreos/etcd", tag: undefined, digest: "sha256:" + "0".repeat(64) },
    ],
  ];
  for (const [ref, expected] of rows) {
    it(`splits ${ref}`, () => expect(parseImageReference(ref)).to.deep.equal(expected));
  }
});
