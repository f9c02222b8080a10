// The executor's rules on fake drivers (no system is touched: each fake only
// records what the executor asked of it). Each test names the rule it guards.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResourceConfig } from "../config/types.js";
import type { ResourceDriver, ResourceState } from "../drivers/driver.js";
import { Logger, memorySink, type LogRecord } from "../util/log.js";
import type { Plan } from "../service/planner.js";
import { executePlan, type PlanTarget } from "./execute.js";

interface FakeSpec {
  /**
   * what start() does: change (true), already up (false), throw, or change
   * and then fail, told by the target's watch (a container that exits at
   * once): 5 ms after its start returned ("late"), or at the target's next
   * look, a checkpoint or the final one ("at-look")
   */
  start?: "change" | "noop" | "fail" | "late" | "at-look";
  /** how long start() takes */
  startMs?: number;
  stop?: "ok" | "fail";
  /** the status after a failed start (a half-started resource) */
  statusAfterFail?: ResourceState["status"];
  optional?: boolean;
}

class FakeDriver implements ResourceDriver {
  readonly cfg: ResourceConfig;
  up = false;
  constructor(
    rid: string,
    private readonly spec: FakeSpec,
    private readonly calls: string[],
    private readonly late: { rid: string; error: string }[],
    private readonly atLook: (() => void)[],
  ) {
    this.cfg = { rid, optional: spec.optional ?? false } as ResourceConfig;
  }
  status(): Promise<ResourceState> {
    return Promise.resolve({ status: this.up ? "up" : (this.spec.statusAfterFail ?? "down"), log: [] });
  }
  async start(): Promise<boolean> {
    this.calls.push(`start ${this.cfg.rid}`);
    await new Promise((r) => (this.spec.startMs ? setTimeout(r, this.spec.startMs) : setImmediate(r)));
    if (this.spec.start === "fail") throw new Error(`${this.cfg.rid} failed`);
    if (this.spec.start === "noop") return false;
    this.up = true;
    const died = (): void => {
      this.up = false;
      this.late.push({ rid: this.cfg.rid, error: `${this.cfg.rid} exited at once` });
    };
    if (this.spec.start === "late") setTimeout(died, 5);
    if (this.spec.start === "at-look") this.atLook.push(died);
    return true;
  }
  stop(): Promise<boolean> {
    this.calls.push(`stop ${this.cfg.rid}`);
    if (this.spec.stop === "fail") return Promise.reject(new Error(`${this.cfg.rid} stop failed`));
    this.up = false;
    return Promise.resolve(true);
  }
}

function target(specs: Record<string, FakeSpec>, goesDown: string[] = []): { t: PlanTarget & { rollbacks: number }; calls: string[]; records: LogRecord[] } {
  const calls: string[] = [];
  const records: LogRecord[] = [];
  const late: { rid: string; error: string }[] = [];
  const atLook: (() => void)[] = [];
  const drivers = new Map<string, ResourceDriver>(Object.entries(specs).map(([rid, s]) => [rid, new FakeDriver(rid, s, calls, late, atLook)]));
  const t = {
    log: new Logger([memorySink(records)], { svc: "fake" }),
    rollbacks: 0,
    drivers: () => Promise.resolve(drivers),
    lateFailures: () => late,
    checkpoint() {
      if (atLook.length) calls.push("checkpoint");
      for (const f of atLook.splice(0)) f();
      return Promise.resolve();
    },
    settleStart() {
      calls.push("settle");
      for (const f of atLook.splice(0)) f();
      return Promise.resolve();
    },
    // found up by the start, gone down since (told once, at the first settle)
    wentDown: () => goesDown.splice(0),
    afterRollback() {
      this.rollbacks++;
      return Promise.resolve();
    },
  };
  return { t, calls, records };
}

const serial = (...rids: string[]) => ({ group: "container" as const, subset: undefined, parallel: false, rids });
const startPlan = (...stages: ReturnType<typeof serial>[]): Plan => ({ action: "start", stages });

void describe("executor", () => {
  void test("a serial stage stops at its first failure, and no later stage begins", async () => {
    const { t, calls } = target({ a: {}, b: { start: "fail" }, c: {}, d: {} });
    const o = await executePlan(t, startPlan(serial("a", "b", "c"), serial("d")), { rollback: false });
    assert.equal(o.ok, false);
    assert.deepEqual(o.failed.map((f) => f.rid), ["b"]);
    assert.deepEqual(calls, ["start a", "start b"]);
  });

  void test("a parallel stage runs every member, then the next stage does not begin after a failure", async () => {
    const { t, calls } = target({ a: {}, b: { start: "fail" }, c: {}, d: {} });
    const o = await executePlan(t, startPlan({ ...serial("a", "b", "c"), parallel: true }, serial("d")), { rollback: false });
    assert.equal(o.ok, false);
    assert.deepEqual([...calls].sort(), ["start a", "start b", "start c"]);
  });

  void test("rollback stops in reverse what this start changed, leaves what was already up, and the shared objects' hook runs", async () => {
    const { t, calls } = target({ a: {}, b: { start: "noop" }, c: {}, d: { start: "fail" } });
    const o = await executePlan(t, startPlan(serial("a", "b", "c", "d")), { rollback: true });
    assert.deepEqual(o.rolledBack, ["c", "a"]);
    assert.deepEqual(calls.filter((c) => c.startsWith("stop")), ["stop c", "stop a"]);
    assert.equal(t.rollbacks, 1);
  });

  void test("rollback goes on past a failing undo step, and says so", async () => {
    const { t, calls, records } = target({ a: {}, b: { stop: "fail" }, c: { start: "fail" } });
    const o = await executePlan(t, startPlan(serial("a", "b", "c")), { rollback: true });
    assert.deepEqual(o.rollbackFailed, ["b"]);
    assert.deepEqual(o.rolledBack, ["a"]);
    assert.ok(calls.includes("stop a"), "the step after the failing one still ran");
    assert.ok(records.some((r) => r.level === "error" && r.rid === "b" && /rollback step failed, going on/.test(r.msg)));
  });

  void test("a resource left up by its own failed start is undone too", async () => {
    const { t, calls } = target({ a: {}, b: { start: "fail", statusAfterFail: "up" } });
    const o = await executePlan(t, startPlan(serial("a", "b")), { rollback: true });
    assert.deepEqual(o.rolledBack, ["b", "a"]);
    assert.deepEqual(calls.filter((c) => c.startsWith("stop")), ["stop b", "stop a"]);
  });

  void test("without rollback nothing is stopped and the hook does not run", async () => {
    const { t, calls } = target({ a: {}, b: { start: "fail" } });
    const o = await executePlan(t, startPlan(serial("a", "b")), { rollback: false });
    assert.equal(o.ok, false);
    assert.deepEqual(calls, ["start a", "start b"]);
    assert.equal(t.rollbacks, 0);
  });

  void test("a resource failing after its start returned: no later member begins, the start fails, what it brought up is rolled back", async () => {
    const { t, calls } = target({ a: {}, b: { start: "late" }, c: { startMs: 30 }, d: {} });
    const o = await executePlan(t, startPlan(serial("a", "b"), serial("c"), serial("d")), { rollback: true });
    assert.equal(o.ok, false);
    assert.deepEqual(o.failed, [{ rid: "b", error: "b exited at once" }]);
    // b's failure came while the next stage was under way: c is started, then rolled back; d never begins
    assert.deepEqual(calls.filter((c) => c.startsWith("start")), ["start a", "start b", "start c"]);
    assert.deepEqual(o.rolledBack, ["c", "a"], "the failed one is down already: nothing of its own to undo");
    assert.equal(t.rollbacks, 1);
  });

  void test("what was just started is looked at before the next ordered start: a failure found stops a serial stage, and no later stage begins", async () => {
    const { t, calls } = target({ a: {}, b: { start: "at-look" }, c: {}, d: {} });
    const o = await executePlan(t, startPlan(serial("a", "b", "c"), serial("d")), { rollback: true });
    assert.deepEqual(o.failed.map((f) => f.rid), ["b"]);
    assert.deepEqual(calls, ["start a", "start b", "checkpoint", "stop a"], "c never begins");
    const par = target({ a: { start: "at-look" }, b: {}, c: {} });
    const p = await executePlan(par.t, startPlan(serial("a"), { ...serial("b", "c"), parallel: true }), { rollback: true });
    assert.deepEqual(p.failed.map((f) => f.rid), ["a"]);
    assert.deepEqual(par.calls, ["start a", "checkpoint"], "the parallel stage never begins");
  });

  void test("a failure seen only by the final look of a start fails it and rolls it back", async () => {
    const { t, calls } = target({ a: {}, b: { start: "at-look" } });
    const o = await executePlan(t, startPlan(serial("a"), serial("b")), { rollback: true });
    assert.equal(o.ok, false);
    assert.deepEqual(o.failed.map((f) => f.rid), ["b"]);
    assert.deepEqual(o.rolledBack, ["a"]);
    assert.deepEqual(calls, ["start a", "start b", "settle", "stop a"]);
  });

  void test("what the start found up and went down during it (a stop still under way) is started again at its end, in plan order", async () => {
    const { t, calls } = target({ a: { start: "noop" }, b: {}, c: { start: "noop" } }, ["c", "a"]);
    const o = await executePlan(t, startPlan(serial("a"), serial("b"), serial("c")), { rollback: true });
    assert.equal(o.ok, true);
    assert.deepEqual(calls, ["start a", "start b", "start c", "settle", "start a", "start c", "settle"]);
  });

  void test("the final look comes after the last stage of a start only, never after a failure nor for a stop", async () => {
    const failing = target({ a: { start: "fail" } });
    await executePlan(failing.t, startPlan(serial("a")), { rollback: false });
    assert.ok(!failing.calls.includes("settle"));
    const stopping = target({ a: {} });
    await executePlan(stopping.t, { action: "stop", stages: [serial("a")] }, { rollback: false });
    assert.deepEqual(stopping.calls, ["stop a"]);
  });

  void test("an optional resource's failure does not fail the action", async () => {
    const { t, calls } = target({ a: { start: "fail", optional: true }, b: {} });
    const o = await executePlan(t, startPlan(serial("a", "b")), { rollback: true });
    assert.equal(o.ok, true);
    assert.deepEqual(calls, ["start a", "start b", "settle"]);
  });
});
