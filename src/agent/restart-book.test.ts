import assert from "node:assert/strict";
import { test } from "node:test";
import { RestartBook } from "./restart-book.js";

void test("restarts: the delay doubles from restart_delay up to 60 s, then the limit is reached once", () => {
  let t = 0;
  const book = new RestartBook(() => t);
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const d = book.decide("container#1", 9, 500);
    assert.equal(d.kind, "restart");
    if (d.kind === "restart") delays.push(d.delayMs);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  assert.deepEqual(book.decide("container#1", 9, 500), { kind: "exhausted", limit: 9, firstTime: true });
  assert.deepEqual(book.decide("container#1", 9, 500), { kind: "exhausted", limit: 9, firstTime: false });
  t += 1;
});

void test("restart = 0: never restarted", () => {
  const book = new RestartBook(() => 0);
  assert.deepEqual(book.decide("app#1", 0, 500), { kind: "none" });
});

void test("the count is given back once the resource stayed up 60 s, not before", () => {
  let t = 0;
  const book = new RestartBook(() => t);
  assert.equal(book.decide("c", 2, 100).kind, "restart");
  book.observe("c", true);
  t += 59_000;
  book.observe("c", false);
  assert.equal(book.counters("c").count, 1, "59 s up: the try still counts");
  assert.equal(book.decide("c", 2, 100).kind, "restart");
  assert.equal(book.decide("c", 2, 100).kind, "exhausted");
  book.observe("c", true);
  t += 60_000;
  book.observe("c", false);
  assert.equal(book.counters("c").count, 0, "60 s up: given back");
  const d = book.decide("c", 2, 100);
  assert.deepEqual(d, { kind: "restart", attempt: 1, limit: 2, delayMs: 100 });
});
