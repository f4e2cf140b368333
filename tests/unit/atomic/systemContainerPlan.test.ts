import { expect } from "chai";
import {
  type ContainerInfo,
  type SystemContainerObservation,
  type SystemContainerPlan,
  parseContainerInfo,
  observationOfRecord,
  planSystemContainerCreate,
  planSystemContainerUpdate,
  recordAfterPlan,
  recordOfObservation,
} from "../../../provider/atomic";
import { fixture } from "./fixtures";

const F27 = "registry.fedoraproject.org/f27/etcd";
const F26 = "registry.fedoraproject.org/f26/etcd";

function info(name: string): ContainerInfo {
  const r = parseContainerInfo(fixture(name));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** etcd installed from f27 in slot 0 (ETCD_NAME=node1), f26 in slot 1 (ETCD_NAME=node0). */
function observed(
  overrides: Partial<SystemContainerObservation> = {},
  active = "active",
): SystemContainerObservation {
  return {
    present: true,
    active: { slot: 0, path: "/var/lib/containers/atomic/etcd.0", info: info("atomic-info-etcd.json") },
    previous: { slot: 1, path: "/var/lib/containers/atomic/etcd.1", info: info("atomic-info-etcd-f26.json") },
    warnings: [],
    unit: { active, enabled: "enabled", etcUnitFile: true, usrUnitFile: false },
    ...overrides,
  };
}

const absent: SystemContainerObservation = {
  present: false,
  warnings: [],
  unit: { active: "inactive", enabled: "", etcUnitFile: false, usrUnitFile: false },
};

function lines(plan: SystemContainerPlan): string[] {
  return plan.steps.map((s) => s.argv.join(" "));
}

describe("planSystemContainerCreate", () => {
  it("pulls, installs and starts, like the migration guide plus a start", () => {
    expect(lines(planSystemContainerCreate({ name: "etcd", image: F27 }, absent))).to.deep.equal([
      `atomic pull --storage=ostree ${F27}`,
      `atomic install --system --system-package=no --storage=ostree --name=etcd ${F27}`,
      "systemctl start etcd.service",
    ]);
  });

  it("does not start the unit when running is false (install only enables it)", () => {
    const plan = planSystemContainerCreate(
      {
        name: "etcd",
        image: F27,
        running: false,
        values: { ETCD_NAME: "n1" },
      },
      absent,
    );
    expect(lines(plan)).to.deep.equal([
      `atomic pull --storage=ostree ${F27}`,
      `atomic install --system --system-package=no --storage=ostree --set=ETCD_NAME=n1 --name=etcd ${F27}`,
    ]);
  });

  it("stops an active RPM unit of the same name before installing", () => {
    const rpmEtcd = {
      ...absent,
      unit: { active: "active", enabled: "enabled", etcUnitFile: false, usrUnitFile: true },
    };
    expect(lines(planSystemContainerCreate({ name: "etcd", image: F27 }, rpmEtcd))[0]).to.equal(
      "systemctl stop etcd.service",
    );
  });

  it("adopts a container installed from the declared image, with nothing to run", () => {
    const plan = planSystemContainerCreate(
      { name: "etcd", image: F27, values: { ETCD_NAME: "node1" } },
      observed(),
    );
    expect(plan.steps).to.deep.equal([]);
    expect(plan.notes).to.deep.equal([`adopting the system container etcd already installed from ${F27}`]);
  });

  it("adopts and then applies differing values and starts a stopped unit", () => {
    const plan = planSystemContainerCreate(
      { name: "etcd", image: F27, values: { ETCD_NAME: "n9" } },
      observed({}, "inactive"),
    );
    expect(lines(plan)).to.deep.equal([
      "atomic containers update --set=ETCD_NAME=n9 etcd",
      "systemctl start etcd.service",
    ]);
  });

  it("is blocked by a container of that name from another image", () => {
    const plan = planSystemContainerCreate({ name: "etcd", image: F26 }, observed());
    expect(plan.steps).to.deep.equal([]);
    expect(plan.blocked).to.equal(
      `a system container named etcd is already installed from ${F27}, not ${F26}: atomic install would leave it ` +
        `as is. Import it by declaring that image, or remove it with "atomic uninstall etcd" first`,
    );
  });

  it("is blocked by a unit file in /etc/systemd/system without a container", () => {
    const plan = planSystemContainerCreate(
      { name: "etcd", image: F27 },
      { ...absent, unit: { ...absent.unit, etcUnitFile: true } },
    );
    expect(plan.blocked).to.match(
      /^\/etc\/systemd\/system\/etcd\.service exists but no system container etcd is installed/,
    );
  });
});

describe("planSystemContainerUpdate", () => {
  const olds = { name: "etcd", image: F27, values: { ETCD_NAME: "node1" } };

  it("runs nothing when the host matches", () => {
    expect(planSystemContainerUpdate(olds, olds, observed()).steps).to.deep.equal([]);
  });

  it("runs nothing at preview when the declaration is unchanged", () => {
    expect(planSystemContainerUpdate(olds, { ...olds }).steps).to.deep.equal([]);
  });

  it("pulls and rebases to a new image, carrying the declared values", () => {
    const news = { ...olds, image: "registry.fedoraproject.org/f27/etcd:3.2" };
    expect(lines(planSystemContainerUpdate(olds, news, observed()))).to.deep.equal([
      "atomic pull --storage=ostree registry.fedoraproject.org/f27/etcd:3.2",
      "atomic containers update --rebase=registry.fedoraproject.org/f27/etcd:3.2 --set=ETCD_NAME=node1 etcd",
    ]);
  });

  it("rolls back without pulling when the new image is the other slot's, then re-applies differing values", () => {
    const plan = planSystemContainerUpdate(olds, { ...olds, image: F26 }, observed());
    expect(lines(plan)).to.deep.equal([
      "atomic containers rollback etcd",
      "atomic containers update --set=ETCD_NAME=node1 etcd",
    ]);
  });

  it("rolls back alone when the other slot already has the declared values", () => {
    const plan = planSystemContainerUpdate(
      olds,
      { ...olds, image: F26, values: { ETCD_NAME: "node0" } },
      observed(),
    );
    expect(lines(plan)).to.deep.equal(["atomic containers rollback etcd"]);
  });

  it("plans a rollback at preview from the previousImage output", () => {
    const plan = planSystemContainerUpdate(
      { name: "etcd", image: F27, previousImage: F26 },
      { name: "etcd", image: F26 },
    );
    expect(lines(plan)).to.deep.equal(["atomic containers rollback etcd"]);
  });

  it("applies changed values with containers update --set", () => {
    const plan = planSystemContainerUpdate(
      olds,
      { ...olds, values: { ETCD_NAME: "node2", ETCD_INITIAL_CLUSTER_STATE: "existing" } },
      observed(),
    );
    expect(lines(plan)).to.deep.equal([
      "atomic containers update --set=ETCD_INITIAL_CLUSTER_STATE=existing --set=ETCD_NAME=node2 etcd",
    ]);
    expect(plan.steps[0]!.why).to.equal(
      "values ETCD_INITIAL_CLUSTER_STATE, ETCD_NAME differ from the installed deployment",
    );
  });

  it("pulls and updates when triggers change (atomic no-ops if the digest did not move)", () => {
    const plan = planSystemContainerUpdate(
      { ...olds, triggers: [1] },
      { ...olds, triggers: [2] },
      observed(),
    );
    expect(lines(plan)).to.deep.equal([
      `atomic pull --storage=ostree ${F27}`,
      "atomic containers update --set=ETCD_NAME=node1 etcd",
    ]);
  });

  it("stops first when running becomes false, so the update does not restart the unit", () => {
    const plan = planSystemContainerUpdate(
      olds,
      { ...olds, running: false, image: "registry.fedoraproject.org/f27/etcd:3.2" },
      observed(),
    );
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["stop", "pull", "update"]);
  });

  it("starts last when running is true and the unit is inactive", () => {
    const plan = planSystemContainerUpdate(
      olds,
      { ...olds, values: { ETCD_NAME: "n2" } },
      observed({}, "failed"),
    );
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["update", "start"]);
  });

  it("notes that a removed value keeps its installed value", () => {
    const plan = planSystemContainerUpdate(olds, { name: "etcd", image: F27 }, observed());
    expect(plan.steps).to.deep.equal([]);
    expect(plan.notes).to.deep.equal([
      "values ETCD_NAME removed from the declaration keep their installed values: atomic containers update only " +
        "overlays --set on the stored values; reinstall the container to reset them",
    ]);
  });

  it("reinstalls a container removed outside Pulumi", () => {
    const plan = planSystemContainerUpdate(olds, olds, absent);
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["pull", "install", "start"]);
    expect(plan.notes[0]).to.equal(
      "the system container etcd is not installed on the host any more: installing it again",
    );
  });
});

describe("a half-removed container (atomic 1.20's failed restart inside containers update)", () => {
  const halfRemoved: SystemContainerObservation = {
    present: false,
    warnings: [],
    unit: { active: "failed", enabled: "enabled", etcUnitFile: true, usrUnitFile: false },
    tmpfilesFile: true,
    checkouts: ["/var/lib/containers/atomic/etcd.1"],
    halfRemoved: { checkouts: ["/var/lib/containers/atomic/etcd.1"], unitFile: true, tmpfilesFile: true },
  };

  it("is repaired first, then installed and started as on a fresh host", () => {
    const plan = planSystemContainerUpdate(
      { name: "etcd", image: F27 },
      { name: "etcd", image: F27 },
      halfRemoved,
    );
    expect(plan.blocked).to.equal(undefined);
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["repair", "pull", "install", "start"]);
    expect(plan.steps[0]!.argv.slice(-2)).to.deep.equal(["/var/lib/containers/atomic", "etcd"]);
    expect(plan.steps[0]!.why).to.include(
      "left: /var/lib/containers/atomic/etcd.1, /etc/systemd/system/etcd.service, /etc/tmpfiles.d/etcd.conf",
    );
    expect(plan.notes[0]).to.match(
      /half-removed \(its checkouts are there without the \/var\/lib\/containers\/atomic\/etcd symlink: a failed restart inside "atomic containers update", or an "atomic install" killed/,
    );
  });

  it("removes the host files the leftover's info lists as installed (an install killed before the symlink)", () => {
    const plan = planSystemContainerCreate(
      { name: "etcd", image: F27 },
      {
        ...halfRemoved,
        halfRemoved: {
          ...halfRemoved.halfRemoved!,
          installedFiles: ["/etc/etcd/etcd.conf", "/usr/local/bin/etcdctl"],
        },
      },
    );
    expect(plan.steps[0]!.argv.slice(-4)).to.deep.equal([
      "/var/lib/containers/atomic",
      "etcd",
      "/etc/etcd/etcd.conf",
      "/usr/local/bin/etcdctl",
    ]);
    expect(plan.steps[0]!.why).to.include(
      "/etc/tmpfiles.d/etcd.conf, /etc/etcd/etcd.conf, /usr/local/bin/etcdctl)",
    );
  });

  it("is not mistaken for a hand-made unit file (which stays refused)", () => {
    const handMade = { ...halfRemoved, checkouts: [], halfRemoved: undefined };
    expect(planSystemContainerCreate({ name: "etcd", image: F27 }, handMade).blocked).to.match(
      /exists but no system container etcd is installed/,
    );
  });
});

describe("an install killed after the symlink, before systemd-tmpfiles and enable", () => {
  it("is adopted, and gets the tmpfiles directories, the enable and the start atomic install did not reach", () => {
    const o = observed(
      {
        previous: undefined,
        unit: { active: "inactive", enabled: "disabled", etcUnitFile: true, usrUnitFile: false },
        tmpfilesMissing: ["/var/lib/etcd/etcd.etcd"],
      },
      "inactive",
    );
    const plan = planSystemContainerCreate({ name: "etcd", image: o.active!.info.image }, o);
    expect(lines(plan)).to.deep.equal([
      "systemd-tmpfiles --create /etc/tmpfiles.d/etcd.conf",
      "systemctl enable etcd.service",
      "systemctl start etcd.service",
    ]);
    expect(plan.steps[0]!.why).to.include(
      "/var/lib/etcd/etcd.etcd declared in /etc/tmpfiles.d/etcd.conf is missing",
    );
  });
});

describe("missing tmpfiles directories of an enabled unit", () => {
  it("plan no systemd-tmpfiles: the install created them; /run/NAME goes with a stopped unit's RuntimeDirectory", () => {
    const o = observed({ previous: undefined, tmpfilesMissing: ["/run/etcd"] }, "inactive");
    expect(lines(planSystemContainerCreate({ name: "etcd", image: o.active!.info.image }, o))).to.deep.equal([
      "systemctl start etcd.service",
    ]);
  });
});

describe("a trigger-driven update after the host moved from atomic 1.19 to 1.20", () => {
  it("runs containers update only if the image's ostree commit moved (set from the deployed ostree-commit)", () => {
    const o = observed();
    const plan = planSystemContainerUpdate(
      { name: "etcd", image: F27, values: { ETCD_NAME: "node1" }, triggers: [1] },
      { name: "etcd", image: F27, values: { ETCD_NAME: "node1" }, triggers: [2] },
      o,
    );
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["pull", "update"]);
    expect(plan.steps[1]!.unlessImageCommit).to.equal(o.active!.info.ostreeCommit);
  });

  it("always runs it when values change too (then a restart is the point)", () => {
    const plan = planSystemContainerUpdate(
      { name: "etcd", image: F27, values: { ETCD_NAME: "node1" }, triggers: [1] },
      { name: "etcd", image: F27, values: { ETCD_NAME: "node9" }, triggers: [2] },
      observed(),
    );
    expect(plan.steps[1]!.unlessImageCommit).to.equal(undefined);
  });
});

/**
 * The preview plans on the record the state keeps (`__recorded`, written by refresh from what it read); the apply
 * plans on what it reads. For every kind of drift a refresh can record, the two must be the same commands.
 */
describe("SystemContainer preview from the recorded host equals the apply", () => {
  const declared = { name: "etcd", image: F27, values: { ETCD_NAME: "node1" } };
  const f27 = info("atomic-info-etcd.json");
  const f26 = info("atomic-info-etcd-f26.json");
  const drift: [string, SystemContainerObservation, string[]][] = [
    ["nothing changed", observed(), []],
    ["the unit stopped by hand", observed({}, "inactive"), ["systemctl start etcd.service"]],
    ["the unit failed", observed({}, "failed"), ["systemctl start etcd.service"]],
    [
      "the unit disabled by hand",
      observed({ unit: { active: "active", enabled: "disabled", etcUnitFile: true, usrUnitFile: false } }),
      ["systemctl enable etcd.service"],
    ],
    [
      "stopped and disabled",
      observed({ unit: { active: "inactive", enabled: "disabled", etcUnitFile: true, usrUnitFile: false } }),
      ["systemctl enable etcd.service", "systemctl start etcd.service"],
    ],
    [
      "rolled back by hand (the declared image is in the other slot)",
      observed({
        active: { slot: 1, path: "/var/lib/containers/atomic/etcd.1", info: f26 },
        previous: { slot: 0, path: "/var/lib/containers/atomic/etcd.0", info: f27 },
      }),
      ["atomic containers rollback etcd"],
    ],
    [
      "updated by hand to another image (the declared one in no slot)",
      observed({
        active: {
          slot: 1,
          path: "/var/lib/containers/atomic/etcd.1",
          info: { ...f26, image: "r.io/x/etcd" },
        },
        previous: undefined,
      }),
      [
        `atomic pull --storage=ostree ${F27}`,
        `atomic containers update --rebase=${F27} --set=ETCD_NAME=node1 etcd`,
      ],
    ],
    [
      "a value changed by hand",
      observed({
        active: {
          slot: 0,
          path: "/var/lib/containers/atomic/etcd.0",
          info: { ...f27, values: { ...f27.values, ETCD_NAME: "other" } },
        },
      }),
      ["atomic containers update --set=ETCD_NAME=node1 etcd"],
    ],
  ];
  for (const [title, host, expected] of drift) {
    it(`${title}: ${expected.length === 0 ? "nothing" : expected.join("; ")}`, () => {
      const record = recordOfObservation(host, Object.keys(declared.values))!;
      // What refresh hands back as inputs: the declared fields as found.
      const refreshed = { ...declared, image: record.image, running: record.active };
      const preview = planSystemContainerUpdate(refreshed, declared, observationOfRecord("etcd", record));
      const apply = planSystemContainerUpdate(refreshed, declared, host);
      expect(lines(preview)).to.deep.equal(lines(apply));
      expect(lines(apply)).to.deep.equal(expected);
    });
  }

  it("records what a plan leaves, so the next preview of the same declaration runs nothing", () => {
    const news = { ...declared, image: "registry.fedoraproject.org/f27/etcd:3.2" };
    const before = recordOfObservation(observed({}, "inactive"), ["ETCD_NAME"])!;
    const plan = planSystemContainerUpdate(declared, news, observationOfRecord("etcd", before));
    expect(plan.steps.map((s) => s.kind)).to.deep.equal(["pull", "update", "start"]);
    const after = recordAfterPlan(before, news, plan)!;
    expect(after).to.include({ image: news.image, previousImage: F27, active: true });
    expect(planSystemContainerUpdate(news, news, observationOfRecord("etcd", after)).steps).to.deep.equal([]);
    // ...and going back is a rollback, as the apply would find the old image in the other slot.
    expect(
      lines(planSystemContainerUpdate(news, declared, observationOfRecord("etcd", after))),
    ).to.deep.equal(["atomic containers rollback etcd"]);
  });

  it("records a create as installed and running, a rollback as the slots swapped", () => {
    const created = recordAfterPlan(undefined, declared, planSystemContainerCreate(declared, absent))!;
    expect(created).to.deep.equal({ image: F27, values: { ETCD_NAME: "node1" }, active: true });
    const rolled = recordAfterPlan(
      { image: F27, values: {}, previousImage: F26, previousValues: { A: "1" }, active: true },
      { name: "etcd", image: F26 },
      { steps: [{ kind: "rollback", argv: [], why: "" }], notes: [] },
    );
    expect(rolled).to.deep.equal({
      image: F26,
      values: { A: "1" },
      previousImage: F27,
      previousValues: {},
      active: true,
    });
  });

  it("shows the stop of an RPM unit of the same name at create as conditional: only the apply can see it", () => {
    const plan = planSystemContainerCreate(declared);
    expect(plan.steps[0]).to.include({ kind: "stop", condition: "etcd.service is active" });
    expect(planSystemContainerCreate(declared, absent).steps.map((s) => s.kind)).to.deep.equal([
      "pull",
      "install",
      "start",
    ]);
  });
});
