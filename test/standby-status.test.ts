// Standby and optional resources in the status (SPEC §7), checked against a
// reference model: a port of OpenSVC's own rules (branch b2.1), compared with
// svcmgr's summarize on every combination of one to three resources.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fc from "fast-check";
import { STATUSES, mergeAll, summarize, type ResourceGroup, type ResourceStatus } from "../src/status/status.js";
import { CliRoot } from "./support/cli.js";

// ---------------------------------------------------------------------------
// Reference model. A port, as literal as TypeScript allows, of opensvc/opensvc
// branch b2.1 (commit 17db875b985f, 2024-10-18):
// - opensvc/core/status/__init__.py: the codes, MERGE_RULES, Status._merge,
//   Status.__iadd__, Status.__eq__, Status.__str__ (STATUS_STR);
// - opensvc/core/resource.py: Resource.status_stdby and the part of
//   Resource.status() that applies it (disabled resources are n/a);
// - opensvc/core/objects/svc.py: Svc.group_status.
// Left out as svcmgr has no use for them: sync resources (up -> n/a, down ->
// warn), excluded groups, encapsulated resources, status logs (no combination
// below has a message).
//
// The rules, as read from that code:
// 1. A standby resource's own state: up -> "stdby up", down -> "stdby down",
//    anything else unchanged (status_stdby).
// 2. States merge pairwise by MERGE_RULES, starting from n/a; undef is the
//    identity, n/a is neutral, warn absorbs; up+down = warn. Two hidden states
//    remember what a "stdby up" met: STDBY_UP_WITH_UP (up + stdby up, printed
//    "up") and STDBY_UP_WITH_DOWN (down + stdby up, printed "stdby up"). A
//    hidden state meeting its opposite is warn: down + (up + stdby up) = warn,
//    up + (down + stdby up) = warn. up + stdby down = warn, stdby up + stdby
//    down = warn, down + stdby down = stdby down.
// 3. Each resource joins its group (optional or not) and either `optional`
//    or `avail` (optional resources never touch avail).
// 4. Then avail is folded: STDBY_UP_WITH_UP -> up (and `optional`, if it is
//    plain stdby up, -> up: the loop meant to promote the groups walks the
//    top-level keys only, and the groups live under status_group, so the
//    groups are not promoted); STDBY_UP_WITH_DOWN -> stdby up. `optional` is
//    folded the same way.
// 5. overall = n/a + avail + optional (+ warn per resource with a warn/error
//    message), merged by rule 2.
//
// svcmgr's one departure (SVCMGR_DEPARTURE): rule 4 runs before avail and
// optional join overall, so OpenSVC forgets that a "stdby up" met a down
// resource, and down + stdby up (avail) with an up optional resource gives
// overall "up" while a resource is down; svcmgr folds overall from the sums
// as they were before rule 4, and says "warn" there (likewise for a down +
// stdby up pair of optional resources next to an up avail).
// ---------------------------------------------------------------------------

const UP = 0;
const DOWN = 1;
const WARN = 2;
const NA = 3;
const UNDEF = 5;
const STDBY_UP = 6;
const STDBY_DOWN = 7;
const STDBY_UP_WITH_UP = 8;
const STDBY_UP_WITH_DOWN = 9;
const STATUS_VALUE: Record<string, number> = {
  up: UP,
  down: DOWN,
  warn: WARN,
  "n/a": NA,
  na: NA,
  undef: UNDEF,
  "stdby up": STDBY_UP,
  "stdby down": STDBY_DOWN,
};
const STATUS_STR: Record<number, string> = {
  [UP]: "up",
  [DOWN]: "down",
  [WARN]: "warn",
  [NA]: "n/a",
  [UNDEF]: "undef",
  [STDBY_UP]: "stdby up",
  [STDBY_DOWN]: "stdby down",
  [STDBY_UP_WITH_UP]: "up",
  [STDBY_UP_WITH_DOWN]: "stdby up",
};

function encode_pair(status1: number, status2: number): number {
  return (1 << status1) | (1 << status2);
}

const MERGE_RULES = new Map<number, number>([
  [encode_pair(UP, UP), UP],
  [encode_pair(UP, DOWN), WARN],
  [encode_pair(UP, WARN), WARN],
  [encode_pair(UP, NA), UP],
  [encode_pair(UP, STDBY_UP), STDBY_UP_WITH_UP],
  [encode_pair(UP, STDBY_DOWN), WARN],
  [encode_pair(UP, STDBY_UP_WITH_UP), STDBY_UP_WITH_UP],
  [encode_pair(UP, STDBY_UP_WITH_DOWN), WARN],
  [encode_pair(DOWN, DOWN), DOWN],
  [encode_pair(DOWN, WARN), WARN],
  [encode_pair(DOWN, NA), DOWN],
  [encode_pair(DOWN, STDBY_UP), STDBY_UP_WITH_DOWN],
  [encode_pair(DOWN, STDBY_DOWN), STDBY_DOWN],
  [encode_pair(DOWN, STDBY_UP_WITH_UP), WARN],
  [encode_pair(DOWN, STDBY_UP_WITH_DOWN), STDBY_UP_WITH_DOWN],
  [encode_pair(WARN, WARN), WARN],
  [encode_pair(WARN, NA), WARN],
  [encode_pair(WARN, STDBY_UP), WARN],
  [encode_pair(WARN, STDBY_DOWN), WARN],
  [encode_pair(WARN, STDBY_UP_WITH_UP), WARN],
  [encode_pair(WARN, STDBY_UP_WITH_DOWN), WARN],
  [encode_pair(NA, NA), NA],
  [encode_pair(NA, STDBY_UP), STDBY_UP],
  [encode_pair(NA, STDBY_DOWN), STDBY_DOWN],
  [encode_pair(NA, STDBY_UP_WITH_UP), STDBY_UP_WITH_UP],
  [encode_pair(NA, STDBY_UP_WITH_DOWN), STDBY_UP_WITH_DOWN],
  [encode_pair(STDBY_UP, STDBY_UP), STDBY_UP],
  [encode_pair(STDBY_UP, STDBY_DOWN), WARN],
  [encode_pair(STDBY_UP, STDBY_UP_WITH_UP), STDBY_UP_WITH_UP],
  [encode_pair(STDBY_UP, STDBY_UP_WITH_DOWN), STDBY_UP_WITH_DOWN],
  [encode_pair(STDBY_DOWN, STDBY_DOWN), STDBY_DOWN],
  [encode_pair(STDBY_DOWN, STDBY_UP_WITH_UP), WARN],
  [encode_pair(STDBY_DOWN, STDBY_UP_WITH_DOWN), WARN],
  [encode_pair(STDBY_UP_WITH_UP, STDBY_UP_WITH_DOWN), WARN],
  [encode_pair(STDBY_UP_WITH_UP, STDBY_UP_WITH_UP), STDBY_UP_WITH_UP],
  [encode_pair(STDBY_UP_WITH_DOWN, STDBY_UP_WITH_DOWN), STDBY_UP_WITH_DOWN],
]);

class PyStatus {
  status: number;

  constructor(initial_status?: PyStatus | number | string) {
    if (initial_status instanceof PyStatus) this.status = initial_status.status;
    else if (typeof initial_status === "number") this.status = initial_status;
    else if (initial_status === undefined) this.status = UNDEF;
    else {
      const v = STATUS_VALUE[initial_status];
      if (v === undefined) throw new Error(`KeyError: ${initial_status}`);
      this.status = v;
    }
  }

  static _merge(status1: number, status2: number): number {
    if (!(status1 in STATUS_STR)) throw new Error(`left member has unsupported value: ${status1}`);
    else if (!(status2 in STATUS_STR)) throw new Error(`right member has unsupported value: ${status2}`);

    if (status1 === UNDEF) return status2;
    else if (status2 === UNDEF) return status1;

    const setstate = encode_pair(status1, status2);
    const merged = MERGE_RULES.get(setstate);
    if (merged === undefined) throw new Error(`some member has unsupported value: ${status1} , ${status2}`);
    return merged;
  }

  /** Python's `self += other` */
  iadd(other: PyStatus | number): this {
    this.status = PyStatus._merge(this.status, other instanceof PyStatus ? other.status : other);
    return this;
  }

  /** Python's `self == other`: a dict (status_group) never equals a Status */
  static eq(self: unknown, other: PyStatus | number): boolean {
    if (!(self instanceof PyStatus)) return false;
    return self.status === (other instanceof PyStatus ? other.status : other);
  }

  toString(): string {
    return STATUS_STR[this.status]!;
  }
}

/** What a resource is in the model: its driver's answer and its flags. */
interface ModelResource {
  rid: string;
  /** the driver group, OpenSVC's status group (resource.type's prefix) */
  type: ResourceGroup;
  driver: "up" | "down" | "warn";
  optional: boolean;
  standby: boolean;
}

// Resource.status_stdby
function status_stdby(resource: ModelResource, status: number): number {
  if (!resource.standby) return status;
  if (status === UP) return STDBY_UP;
  else if (status === DOWN) return STDBY_DOWN;
  return status;
}

// Resource.status(): self.rstatus = self.status_stdby(self.try_status())
function resource_status(resource: ModelResource): number {
  return status_stdby(resource, STATUS_VALUE[resource.driver]!);
}

// svc.py TOP_STATUS_GROUPS, and svcmgr's groups in the place of kwstore.sections
const TOP_STATUS_GROUPS = ["overall", "avail", "optional"] as const;
const SECTIONS: readonly ResourceGroup[] = ["ip", "disk", "fs", "container", "app"];

interface GroupStatus {
  status_group: Record<string, PyStatus>;
  overall: PyStatus;
  avail: PyStatus;
  optional: PyStatus;
}

// Svc.group_status
function group_status(resources: readonly ModelResource[], svcmgrDeparture: boolean): GroupStatus {
  const groups = new Set<string>(SECTIONS);
  const status = { status_group: {} } as GroupStatus;

  // initialise status of each group
  for (const group of TOP_STATUS_GROUPS) status[group] = new PyStatus(NA);
  for (const group of groups) status.status_group[group] = new PyStatus(NA);

  for (const group of SECTIONS) {
    if (!groups.has(group)) continue;
    for (const resource of resources.filter((r) => r.type === group)) {
      const rstatus = resource_status(resource);
      status.status_group[group]!.iadd(rstatus);
      if (resource.optional) status.optional.iadd(rstatus);
      else status.avail.iadd(rstatus);
      // (status_logs_count(levels=["warn", "error"]) > 0 -> overall += WARN: no messages here)
    }
  }

  // SVCMGR_DEPARTURE: the sums as they are before the folds below
  const availSum = new PyStatus(status.avail);
  const optionalSum = new PyStatus(status.optional);

  if (status.avail.status === STDBY_UP_WITH_UP) {
    // now we know the avail status we can promote
    // stdbyup to up
    status.avail.status = UP;
    for (const group of Object.keys(status) as (keyof GroupStatus)[]) {
      const value = status[group];
      if (PyStatus.eq(value, STDBY_UP)) (value as PyStatus).status = UP;
    }
  } else if (status.avail.status === STDBY_UP_WITH_DOWN) {
    status.avail.status = STDBY_UP;
  }

  if (status.optional.status === STDBY_UP_WITH_UP) status.optional.status = UP;
  else if (status.optional.status === STDBY_UP_WITH_DOWN) status.optional.status = STDBY_UP;

  if (svcmgrDeparture) {
    status.overall.iadd(availSum);
    status.overall.iadd(optionalSum);
  } else {
    status.overall.iadd(new PyStatus(status.avail));
    status.overall.iadd(new PyStatus(status.optional));
  }
  return status;
}

/** The model's answer in svcmgr's terms: every string OpenSVC prints. */
function model(resources: readonly ModelResource[], svcmgrDeparture = true) {
  const s = group_status(resources, svcmgrDeparture);
  return {
    resources: resources.map((r) => STATUS_STR[resource_status(r)]),
    groups: Object.fromEntries(SECTIONS.map((g) => [g, String(s.status_group[g])])),
    avail: String(s.avail),
    overall: String(s.overall),
  };
}

// ---------------------------------------------------------------------------
// The combinations: 1, 2 and 3 resources, each up/down/warn x optional x
// standby, in either of two groups, in every order.

const GROUPS: readonly ResourceGroup[] = ["container", "app"];
const VARIANTS: Omit<ModelResource, "rid">[] = [];
for (const type of GROUPS)
  for (const driver of ["up", "down", "warn"] as const)
    for (const optional of [false, true]) for (const standby of [false, true]) VARIANTS.push({ type, driver, optional, standby });

function* combinations(): Generator<ModelResource[]> {
  function* extend(prefix: ModelResource[], n: number): Generator<ModelResource[]> {
    if (prefix.length === n) {
      yield prefix;
      return;
    }
    for (const v of VARIANTS) yield* extend([...prefix, { ...v, rid: `${v.type}#${prefix.length + 1}` }], n);
  }
  for (const n of [1, 2, 3]) yield* extend([], n);
}

function svcmgr(resources: readonly ModelResource[]) {
  const input: ResourceStatus[] = resources.map((r) => ({
    rid: r.rid,
    group: r.type,
    status: r.driver, // the driver's answer: summarize applies standby itself
    label: "",
    log: [],
    optional: r.optional,
    disabled: false,
    monitored: false,
    encap: false,
    standby: r.standby,
    tags: [],
  }));
  const s = summarize({ name: "svc", serviceType: "DEV", mode: "hosted", frozen: false, resources: input });
  return { resources: s.resources.map((r) => r.status), groups: { ...s.groups }, avail: s.avail, overall: s.overall };
}

const describeCombination = (rs: readonly ModelResource[]): string =>
  rs.map((r) => `${r.rid}=${r.driver}${r.optional ? ",optional" : ""}${r.standby ? ",standby" : ""}`).join(" ");

describe("status of standby and optional resources, against OpenSVC b2.1's rules", () => {
  test("the model reproduces OpenSVC's own examples", () => {
    const r = (driver: ModelResource["driver"], extra: Partial<ModelResource> = {}): ModelResource => ({
      rid: "app#1",
      type: "app",
      driver,
      optional: false,
      standby: false,
      ...extra,
    });
    // a stopped service whose standby resource is up
    assert.equal(model([r("down"), r("up", { standby: true })], false).overall, "stdby up");
    // a started one
    assert.equal(model([r("up"), r("up", { standby: true })], false).avail, "up");
    // the departure: OpenSVC says up while app#1 is down, svcmgr says warn
    const departure = [r("down"), r("up", { standby: true }), r("up", { optional: true })];
    assert.equal(model(departure, false).overall, "up");
    assert.equal(model(departure, true).overall, "warn");
  });

  test("svcmgr's summarize gives the model's answer for every combination of 1 to 3 resources", () => {
    let count = 0;
    const mismatches: string[] = [];
    for (const rs of combinations()) {
      count++;
      const want = model(rs);
      const got = svcmgr(rs);
      try {
        assert.deepEqual(got, want);
      } catch {
        mismatches.push(`${describeCombination(rs)}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
    assert.equal(count, 24 + 24 ** 2 + 24 ** 3);
    assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} of ${count} combinations differ`);
  });

  test("mergeAll is OpenSVC's fold from n/a for any list of states, n/a and undef included", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...STATUSES), { maxLength: 8 }), (list) => {
        const sum = new PyStatus(NA);
        for (const s of list) sum.iadd(new PyStatus(s));
        assert.equal(mergeAll(list), String(sum), list.join(" + "));
      }),
      { numRuns: 2000 },
    );
  });

  test("the departure: exactly where OpenSVC's overall is up while a resource is down, svcmgr's is warn", () => {
    let departures = 0;
    for (const rs of combinations()) {
      const opensvc = model(rs, false).overall;
      const ours = svcmgr(rs).overall;
      const someDown = rs.some((r) => r.driver === "down");
      if (ours !== opensvc) {
        departures++;
        assert.equal(opensvc, "up", describeCombination(rs));
        assert.equal(ours, "warn", describeCombination(rs));
        assert.ok(someDown, describeCombination(rs));
      }
      // svcmgr's overall never reads up (nor stdby up) next to an up and a down resource
      if (someDown && rs.some((r) => r.driver === "up" && !r.standby)) assert.equal(ours, "warn", describeCombination(rs));
    }
    assert.ok(departures > 0);
  });
});

// ---------------------------------------------------------------------------
// What a user sees: a stopped service whose only up resource is standby.

describe("a stopped service with a standby resource up", () => {
  const r = new CliRoot("svc-stdby-");
  const marker = (n: string) => r.file(`${n}.up`);
  const write = (svc: string, lines: string[]) => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(r.file(`etc/${svc}.conf`), ["[DEFAULT]", "service_type = DEV", "", ...lines, ""].join("\n"));
  };
  const app = (n: string, extra: string[] = []) => [
    `[app#${n}]`,
    `start = touch ${marker(n)}`,
    `stop = rm -f ${marker(n)}`,
    `check = test -e ${marker(n)}`,
    ...extra,
    "",
  ];
  before(() => {
    // db: app#1 stopped, app#2 a standby resource kept up; web: plainly up
    write("db", [...app("1"), ...app("2", ["standby = true"])]);
    write("web", app("3"));
    fs.writeFileSync(marker("2"), "");
    fs.writeFileSync(marker("3"), "");
  });
  after(() => r.cleanup());

  test("print status shows stdby up for the resource, avail and overall", () => {
    const res = r.run(["-s", "db", "print", "status"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^overall {19}stdby up$/m);
    assert.match(res.stdout, /^\|- avail {18}stdby up$/m);
    assert.match(res.stdout, /^\| {2}\|- app#1 {10}\.{4} down {5}touch /m);
    assert.match(res.stdout, /^\| {2}'- app#2 {10}\.{4} stdby up touch /m);
    const json = JSON.parse(r.run(["-s", "db", "print", "status", "--format", "json"]).stdout) as { overall: string; resources: { rid: string; status: string }[] };
    assert.equal(json.overall, "stdby up");
    assert.deepEqual(json.resources.map((x) => [x.rid, x.status]), [["app#1", "down"], ["app#2", "stdby up"]]);
  });

  test("--status up and allupservices leave it out", () => {
    const up = r.run(["--status", "up", "print", "status"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /^web$/m);
    assert.doesNotMatch(up.stdout, /^db$/m);
    assert.match(r.run(["--status", "stdby up", "print", "status"]).stdout, /^db$/m);
    const stop = r.run(["stop"], { as: "allupservices" });
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    assert.match(stop.stdout, /WEB\.APP#3 +rm /);
    assert.doesNotMatch(stop.stdout, /DB\./);
    assert.ok(!fs.existsSync(marker("3")), "web was up: stopped");
    assert.ok(fs.existsSync(marker("2")), "db was not selected: its standby resource is untouched");
  });
});
