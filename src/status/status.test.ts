import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  STATUSES,
  aggregate,
  effectiveStatus,
  mergeAll,
  mergeStatus,
  summarize,
  type ResourceStatus,
  type Status,
  type StatusLogEntry,
} from "./status.js";

const status = fc.constantFrom(...STATUSES);

describe("mergeStatus", () => {
  test("follows the OpenSVC merge table", () => {
    const table: [Status, Status, Status][] = [
      ["up", "up", "up"],
      ["up", "down", "warn"],
      ["up", "warn", "warn"],
      ["up", "n/a", "up"],
      ["up", "stdby up", "up"],
      ["up", "stdby down", "warn"],
      ["down", "down", "down"],
      ["down", "warn", "warn"],
      ["down", "n/a", "down"],
      ["down", "stdby down", "stdby down"],
      ["warn", "n/a", "warn"],
      ["warn", "stdby up", "warn"],
      ["warn", "stdby down", "warn"],
      ["n/a", "n/a", "n/a"],
      ["n/a", "stdby up", "stdby up"],
      ["n/a", "stdby down", "stdby down"],
      ["stdby up", "stdby up", "stdby up"],
      ["stdby up", "stdby down", "warn"],
      ["stdby down", "stdby down", "stdby down"],
      ["undef", "undef", "undef"],
      ["undef", "n/a", "n/a"],
      ["undef", "down", "down"],
    ];
    for (const [a, b, want] of table) {
      assert.equal(mergeStatus(a, b), want, `${a} + ${b}`);
      assert.equal(mergeStatus(b, a), want, `${b} + ${a}`);
    }
  });

  test("down + stdby up is warn: the one departure the seven states force", () => {
    assert.equal(mergeStatus("down", "stdby up"), "warn");
  });

  test("is commutative", () => {
    fc.assert(fc.property(status, status, (a, b) => mergeStatus(a, b) === mergeStatus(b, a)));
  });

  test("is associative", () => {
    fc.assert(
      fc.property(status, status, status, (a, b, c) => mergeStatus(mergeStatus(a, b), c) === mergeStatus(a, mergeStatus(b, c))),
    );
  });

  test("undef is the identity, n/a is neutral for everything but undef, warn absorbs the rest", () => {
    fc.assert(
      fc.property(status, (a) => {
        assert.equal(mergeStatus("undef", a), a);
        if (a !== "undef") assert.equal(mergeStatus("n/a", a), a);
        if (a !== "undef" && a !== "n/a") assert.equal(mergeStatus("warn", a), "warn");
      }),
    );
  });
});

describe("mergeAll", () => {
  test("of nothing is n/a, and undef vanishes into n/a", () => {
    assert.equal(mergeAll([]), "n/a");
    assert.equal(mergeAll(["undef"]), "n/a");
  });

  test("keeps OpenSVC's 'standby up with down': stopped service, standby resource up", () => {
    assert.equal(mergeAll(["down", "stdby up"]), "stdby up");
    assert.equal(mergeAll(["stdby up", "down", "down"]), "stdby up");
    // ...which an up resource turns into warn, as in OpenSVC
    assert.equal(mergeAll(["down", "stdby up", "up"]), "warn");
    assert.equal(mergeAll(["up", "stdby up"]), "up");
    assert.equal(mergeAll(["down", "stdby down"]), "stdby down");
  });

  test("does not depend on the order of the list", () => {
    const listAndShuffle = fc
      .array(status, { maxLength: 8 })
      .chain((l) => fc.tuple(fc.constant(l), fc.shuffledSubarray(l, { minLength: l.length, maxLength: l.length })));
    fc.assert(fc.property(listAndShuffle, ([l, shuffled]) => mergeAll(l) === mergeAll(shuffled)));
  });

  test("is the fold of mergeStatus from n/a, but for the standby-up-with-down case", () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 8 }), (l) => {
        const folded = l.reduce(mergeStatus, "n/a");
        const exact = mergeAll(l);
        if (exact !== folded) {
          assert.equal(exact, "stdby up");
          assert.equal(folded, "warn");
          assert.ok(l.includes("down") && l.includes("stdby up"));
        }
      }),
    );
  });
});

const warn = (message: string): StatusLogEntry => ({ level: "warn", message });
const info = (message: string): StatusLogEntry => ({ level: "info", message });

describe("effectiveStatus", () => {
  test("a warn or error message makes a resource warn", () => {
    assert.equal(effectiveStatus({ status: "up", disabled: false, log: [warn("x")] }), "warn");
    assert.equal(effectiveStatus({ status: "stdby up", disabled: false, log: [{ level: "error", message: "x" }] }), "warn");
    assert.equal(effectiveStatus({ status: "n/a", disabled: false, log: [warn("x")] }), "warn");
    assert.equal(effectiveStatus({ status: "up", disabled: false, log: [info("x")] }), "up");
  });

  test("a down resource stays down: its message says why", () => {
    assert.equal(effectiveStatus({ status: "down", disabled: false, log: [warn("can not find container id")] }), "down");
    assert.equal(effectiveStatus({ status: "stdby down", disabled: false, log: [warn("x")] }), "stdby down");
  });

  test("a standby resource is stdby up or stdby down, and stays so when summarized again", () => {
    for (const [from, to] of [["up", "stdby up"], ["down", "stdby down"], ["warn", "warn"], ["n/a", "n/a"], ["undef", "undef"], ["stdby up", "stdby up"]] as [Status, Status][]) {
      assert.equal(effectiveStatus({ status: from, disabled: false, standby: true, log: [] }), to, from);
      assert.equal(effectiveStatus({ status: to, disabled: false, standby: true, log: [] }), to, `${from} again`);
    }
    assert.equal(effectiveStatus({ status: "up", disabled: false, standby: false, log: [] }), "up");
    assert.equal(effectiveStatus({ status: "up", disabled: false, standby: true, log: [warn("x")] }), "warn");
    assert.equal(effectiveStatus({ status: "down", disabled: false, standby: true, log: [warn("x")] }), "stdby down");
    assert.equal(effectiveStatus({ status: "up", disabled: true, standby: true, log: [] }), "n/a");
  });

  test("a disabled resource is n/a", () => {
    assert.equal(effectiveStatus({ status: "down", disabled: true, log: [warn("x")] }), "n/a");
  });
});

describe("aggregate", () => {
  const r = (s: Status, extra: { optional?: boolean; disabled?: boolean; log?: StatusLogEntry[] } = {}) => ({
    status: s,
    optional: extra.optional ?? false,
    disabled: extra.disabled ?? false,
    log: extra.log ?? [],
  });

  test("merges the resources", () => {
    assert.equal(aggregate([]), "n/a");
    assert.equal(aggregate([r("up"), r("up")]), "up");
    assert.equal(aggregate([r("up"), r("down")]), "warn");
    assert.equal(aggregate([r("down"), r("down")]), "down");
  });

  test("ignores disabled resources", () => {
    assert.equal(aggregate([r("up"), r("down", { disabled: true })]), "up");
  });

  test("counts a resource with a warn message as warn", () => {
    assert.equal(aggregate([r("up"), r("up", { log: [warn("x")] })]), "warn");
  });

  test("optional resources never move avail", () => {
    assert.equal(aggregate([r("up"), r("down", { optional: true })]), "up");
    assert.equal(aggregate([r("down"), r("up", { optional: true })]), "down");
    assert.equal(aggregate([r("warn", { optional: true })]), "n/a");
  });

  test("optional resources cannot make avail worse than warn (SPEC §7)", () => {
    const input = fc.array(fc.record({ status, optional: fc.boolean(), disabled: fc.boolean(), log: fc.constant([]) }));
    fc.assert(
      fc.property(input, (rs) => {
        const without = aggregate(rs.filter((x) => !x.optional));
        const withOptional = aggregate(rs);
        assert.equal(withOptional, without);
      }),
    );
  });
});

function res(rid: string, s: Status, extra: Partial<ResourceStatus> = {}): ResourceStatus {
  const kind = rid.split("#")[0] ?? "";
  const group = kind === "vg" ? "disk" : (kind as ResourceStatus["group"]);
  return {
    rid,
    group,
    status: s,
    label: "",
    log: [],
    optional: false,
    disabled: false,
    monitored: false,
    encap: false,
    standby: false,
    tags: [],
    ...extra,
  };
}

const base = { name: "svc1", serviceType: "DEV", mode: "hosted", frozen: false, now: new Date("2024-01-02T03:04:05.000Z") };

describe("summarize", () => {
  test("a service without resources is n/a everywhere", () => {
    const s = summarize({ ...base, resources: [] });
    assert.deepEqual(
      { avail: s.avail, overall: s.overall, sync: s.sync, hb: s.hb, groups: s.groups },
      {
        avail: "n/a",
        overall: "n/a",
        sync: "n/a",
        hb: "n/a",
        groups: { ip: "n/a", disk: "n/a", fs: "n/a", container: "n/a", app: "n/a" },
      },
    );
    assert.equal(s.updatedAt, "2024-01-02T03:04:05.000Z");
    assert.deepEqual(s.log, []);
  });

  test("folds each group and avail", () => {
    const s = summarize({
      ...base,
      resources: [res("container#1", "down"), res("container#2", "up"), res("vg#1", "up"), res("ip#1", "up")],
    });
    assert.equal(s.groups.container, "warn");
    assert.equal(s.groups.disk, "up");
    assert.equal(s.groups.fs, "n/a");
    assert.equal(s.groups.ip, "up");
    assert.equal(s.avail, "warn");
    assert.equal(s.overall, "warn");
  });

  test("an optional resource down: avail up, its group down, overall warn", () => {
    const s = summarize({ ...base, resources: [res("ip#1", "up"), res("app#1", "down", { optional: true })] });
    assert.equal(s.avail, "up");
    assert.equal(s.groups.app, "down");
    assert.equal(s.overall, "warn");
  });

  test("resources come back with their effective status", () => {
    const s = summarize({
      ...base,
      resources: [res("ip#1", "up", { log: [warn("arp conflict")] }), res("fs#1", "down", { disabled: true })],
    });
    assert.deepEqual(
      s.resources.map((r) => r.status),
      ["warn", "n/a"],
    );
    assert.equal(s.avail, "warn");
  });

  test("a warning in the service log makes overall warn, not avail", () => {
    const s = summarize({ ...base, resources: [res("ip#1", "up")], log: [warn("config changed")] });
    assert.equal(s.avail, "up");
    assert.equal(s.overall, "warn");
    assert.equal(summarize({ ...base, resources: [res("ip#1", "up")], log: [info("hello")] }).overall, "up");
  });

  test("standby: a stopped service with a standby resource up reads stdby up", () => {
    const s = summarize({
      ...base,
      resources: [res("container#1", "down"), res("container#2", "up", { standby: true })],
    });
    assert.deepEqual(
      s.resources.map((r) => r.status),
      ["down", "stdby up"],
    );
    assert.equal(s.groups.container, "stdby up");
    assert.equal(s.avail, "stdby up");
    assert.equal(s.overall, "stdby up");
  });

  test("standby: on a running service avail is up, a standby-only group stays stdby up (OpenSVC b2.1)", () => {
    const s = summarize({
      ...base,
      resources: [res("container#1", "up"), res("disk#1", "up", { standby: true })],
    });
    assert.equal(s.avail, "up");
    assert.equal(s.overall, "up");
    assert.equal(s.groups.disk, "stdby up");
  });

  test("standby: down + stdby up with an up optional resource is warn, not OpenSVC's up", () => {
    const s = summarize({
      ...base,
      resources: [res("container#1", "down"), res("container#2", "up", { standby: true }), res("ip#1", "up", { optional: true })],
    });
    assert.equal(s.avail, "stdby up");
    assert.equal(s.overall, "warn");
  });
});
