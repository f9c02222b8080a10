import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub, SUBSCRIBER_QUEUE, WINDOW } from "./event-hub.js";

void test("ids increase; a resume replays the kept window after the given id, filtered", () => {
  const hub = new EventHub(1000);
  const ids = Array.from({ length: 10 }, (_, i) => hub.publish("status", i % 2 ? "a" : "b", { i }).id);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  assert.ok(new Set(ids).size === 10);
  const s = hub.subscribe((e) => e.service === "a", ids[3]);
  assert.deepEqual(s.queue.map((e) => e.data.i), [5, 7, 9]);
  assert.ok(new EventHub(2000).publish("x", "a", {}).id > ids[9]!, "a later agent's ids are greater");
});

void test("the window keeps the last events only", () => {
  const hub = new EventHub(0);
  const first = hub.publish("x", "a", {}).id;
  for (let i = 0; i < WINDOW + 10; i++) hub.publish("x", "a", { i });
  const s = hub.subscribe(() => true, first);
  assert.ok(s.queue.length >= WINDOW && s.queue.length <= WINDOW * 1.5, `${s.queue.length} kept`);
  assert.equal(s.queue[s.queue.length - 1]!.data.i, WINDOW + 9, "the newest is there");
});

void test("a subscriber that does not read is dropped at its queue's limit, the others go on", () => {
  const hub = new EventHub(0);
  const stalled = hub.subscribe(() => true);
  const reader = hub.subscribe(() => true);
  for (let i = 0; i < SUBSCRIBER_QUEUE + 5; i++) {
    hub.publish("x", "a", { i });
    reader.queue.length = 0; // this one keeps up
  }
  assert.equal(stalled.dropped, true);
  assert.equal(reader.dropped, false);
  assert.equal(hub.droppedSubscribers, 1);
});
