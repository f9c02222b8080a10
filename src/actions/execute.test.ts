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
  /** what start() does: change (true), already up (false), or throw */
  start?: "change" | "noop" | "fail";
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
  ) {
    this.cfg = { rid, optional: spec.optional ?? false } as ResourceConfig;
  }
  status(): Promise<ResourceState> {
    return Promise.resolve({ status: this.up ? "up" : (this.spec.statusAfterFail ?? "down"), log: [] });
  }
  async start(): Promise<boolean> {
    this.calls.push(`start ${this.cfg.rid}`);
    await new Promise((r) => setImmediate(r));
    if (this.spec.start === "fail") throw new Error(`${this.cfg.rid} failed`);
    if (this.spec.start === "noop") return false;
    this.up = true;
    return true;
  }
  stop(): Promise<boolean> {
    this.calls.push(`stop ${this.cfg.rid}`);
    if (this.spec.stop === "fail") return Promise.reject(new Error(`${this.cfg.rid} stop failed`));
    this.up = false;
    return Promise.resolve(true);
  }
}

function target(specs: Record<string, FakeSpec>): { t: PlanTarget & { rollbacks: number }; calls: string[]; records: LogRecord[] } {
  const calls: string[] = [];
  const records: LogRecord[] = [];
  const drivers = new Map<string, ResourceDriver>(Object.entries(specs).map(([rid, s]) => [rid, new FakeDriver(rid, s, calls)]));
  const t = {
    log: new Logger([memorySink(records)], { svc: "fake" }),
    rollbacks: 0,
    drivers: () => Promise.resolve(drivers),
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

  void test("an optional resource's failure does not fail the action", async () => {
    const { t, calls } = target({ a: { start: "fail", optional: true }, b: {} });
    const o = await executePlan(t, startPlan(serial("a", "b")), { rollback: true });
    assert.equal(o.ok, true);
    assert.deepEqual(calls, ["start a", "start b"]);
  });
});
