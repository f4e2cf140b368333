import { expect } from "chai";
import {
  type ContainerInfo,
  type SystemContainerObservation,
  type SystemContainerPlan,
  parseContainerInfo,
  planSystemContainerCreate,
  planSystemContainerUpdate,
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
    const plan = planSystemContainerCreate({
      name: "etcd",
      image: F27,
      running: false,
      values: { ETCD_NAME: "n1" },
    });
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
    expect(plan.notes[0]).to.match(/half-removed by a failed restart inside "atomic containers update"/);
  });

  it("is not mistaken for a hand-made unit file (which stays refused)", () => {
    const handMade = { ...halfRemoved, checkouts: [], halfRemoved: undefined };
    expect(planSystemContainerCreate({ name: "etcd", image: F27 }, handMade).blocked).to.match(
      /exists but no system container etcd is installed/,
    );
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
