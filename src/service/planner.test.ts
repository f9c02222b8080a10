import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { parseServiceConfig } from "./service-config.js";
import { planAction, formatPlan, type Plan, type PlanResource } from "./planner.js";
import { UsageError } from "../util/errors.js";

const ctx = { nodename: "deb1.opensvc.com", varDir: "/var/lib/svcmgr/x", etcDir: "/etc/svcmgr" };
const load = (name: string) => {
  const file = new URL(`../../test/fixtures/${name}.conf`, import.meta.url);
  const cfg = parseServiceConfig(name, file.pathname, fs.readFileSync(file, "utf8"), ctx);
  assert.deepEqual(cfg.problems, []);
  return cfg;
};
const complex = load("busybox.opensvc.com");
const res = complex.resources.map((r) => ({ rid: r.rid, group: r.group, subset: r.subset, tags: r.tags, disabled: r.disabled }));
const shape = (p: Plan) => p.stages.map((s) => `${s.group}${s.subset ? `:${s.subset}` : ""}${s.parallel ? "(parallel)" : ""} ${s.rids.join(",")}`);

describe("planner on the tutorial's Complex Orchestration service", () => {
  test("start: ip, disk, fs, then 00database, 01appservers in parallel, 02webservers in sequence", () => {
    assert.deepEqual(shape(planAction(res, complex.subsets, "start")), [
      "ip ip#1",
      "disk vg#1",
      "fs fs#1,fs#2",
      "container:00database container#1",
      "container:01appservers(parallel) container#2,container#3,container#4,container#5",
      "container:02webservers container#6,container#7",
    ]);
  });

  test("stop is the exact reverse", () => {
    const start = planAction(res, complex.subsets, "start");
    const stop = planAction(res, complex.subsets, "stop");
    assert.deepEqual(
      stop.stages.flatMap((s) => s.rids),
      start.stages.flatMap((s) => s.rids).reverse(),
    );
    assert.deepEqual(shape(stop)[0], "container:02webservers container#7,container#6");
    assert.deepEqual(shape(stop).at(-1), "ip ip#1");
  });

  test("--rid selects resources and driver groups", () => {
    assert.deepEqual(shape(planAction(res, complex.subsets, "start", { rids: ["container#1"] })), ["container:00database container#1"]);
    assert.deepEqual(
      planAction(res, complex.subsets, "start", { rids: ["fs", "ip#1"] }).stages.flatMap((s) => s.rids),
      ["ip#1", "fs#1", "fs#2"],
    );
  });

  test("--subsets keeps the subset's parallel flag", () => {
    assert.deepEqual(shape(planAction(res, complex.subsets, "stop", { subsets: ["01appservers"] })), [
      "container:01appservers(parallel) container#5,container#4,container#3,container#2",
    ]);
  });

  test("--tags: comma is or, plus is and; filters intersect", () => {
    const tagged = res.map((r) => ({ ...r, tags: r.rid === "container#2" ? ["web", "front"] : r.rid === "container#6" ? ["web"] : r.rid === "ip#1" ? ["front"] : [] }));
    const rids = (sel: Parameters<typeof planAction>[3]) => planAction(tagged, complex.subsets, "start", sel).stages.flatMap((s) => s.rids);
    assert.deepEqual(rids({ tags: ["web"] }), ["container#2", "container#6"]);
    assert.deepEqual(rids({ tags: ["web+front"] }), ["container#2"]);
    assert.deepEqual(rids({ tags: ["web", "front"] }), ["ip#1", "container#2", "container#6"]);
    assert.deepEqual(rids({ tags: ["web"], subsets: ["02webservers"] }), ["container#6"]);
    assert.deepEqual(rids({ tags: ["front"], rids: ["container"] }), ["container#2"]);
  });

  test("an empty match is an error, not a no-op", () => {
    assert.throws(() => planAction(res, complex.subsets, "start", { tags: ["nope"] }), (e: unknown) => e instanceof UsageError && /no resource matches --tags nope/.test(e.message));
    assert.throws(() => planAction(res, complex.subsets, "start", { rids: ["ip#1"], subsets: ["00database"] }), UsageError);
    assert.throws(() => planAction(res, complex.subsets, "start", { rids: ["container#9"] }), /no such resource/);
  });

  test("natural rid order: container#2 before container#10, subsets in alphanumeric order", () => {
    const many: PlanResource[] = ["container#10", "container#2", "container#1"].map((rid) => ({ rid, group: "container", subset: undefined, tags: [], disabled: false }));
    many.push({ rid: "container#3", group: "container", subset: "b", tags: [], disabled: false }, { rid: "container#4", group: "container", subset: "a", tags: [], disabled: false });
    assert.deepEqual(shape(planAction(many, [], "start")), ["container container#1,container#2,container#10", "container:a container#4", "container:b container#3"]);
    // subsets: plain string order (SPEC §6 "alphanumeric"), unlike rids: "10late" before "9early"
    const subs: PlanResource[] = [
      { rid: "container#1", group: "container", subset: "9early", tags: [], disabled: false },
      { rid: "container#2", group: "container", subset: "10late", tags: [], disabled: false },
    ];
    assert.deepEqual(shape(planAction(subs, [], "start")), ["container:10late container#2", "container:9early container#1"]);
    assert.deepEqual(shape(planAction(subs, [], "stop")), ["container:9early container#1", "container:10late container#2"]);
  });

  test("disabled resources are never planned", () => {
    const r = res.map((x) => ({ ...x, disabled: x.rid === "container#3" }));
    assert.ok(!planAction(r, complex.subsets, "start").stages.flatMap((s) => s.rids).includes("container#3"));
  });

  test("the dry-run rendering names every stage and how it runs", () => {
    const text = formatPlan("busybox.opensvc.com", planAction(res, complex.subsets, "start"));
    assert.match(text, /container subset 01appservers \(in parallel\): container#2 container#3 container#4 container#5/);
    assert.match(text, /container subset 02webservers \(one after the other\): container#6 container#7/);
  });
});

test("nested filesystems go up in mount path order and down in reverse, whatever their rids", () => {
  const fs = [
    { rid: "fs#1", group: "fs" as const, subset: undefined, tags: [], disabled: false, order: "/srv/app/data" },
    { rid: "fs#2", group: "fs" as const, subset: undefined, tags: [], disabled: false, order: "/srv/app" },
  ];
  assert.deepEqual(planAction(fs, [], "start").stages[0]!.rids, ["fs#2", "fs#1"]);
  assert.deepEqual(planAction(fs, [], "stop").stages[0]!.rids, ["fs#1", "fs#2"]);
});
