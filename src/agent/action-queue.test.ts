// The action queue's followers (GET /v1/actions/{id}?follow=1): every line in
// order as it is written, then the end; one that comes late or falls behind
// reads what the record still keeps (its last MAX_LINES), not a queue of its
// own; an abort ends a follower that waits. The manager is a stand-in whose
// action writes numbered lines when the test says so: the real one is
// followed through the API in test/api.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ActionQueue, MAX_LINES, type ActionProgress } from "./action-queue.js";
import type { ServiceManager } from "../core/manager.js";
import type { LogSink } from "../util/log.js";

/** A manager whose start writes `n` lines each time write(n) is called, and ends at finish(). */
function scriptedManager() {
  let sink: LogSink | undefined;
  let end: (() => void) | undefined;
  let written = 0;
  const manager = {
    act: (_name: string, _action: string, opts: { logSink: LogSink }) => {
      sink = opts.logSink;
      return new Promise((resolve) => (end = () => resolve({ kind: "done", ok: true, service: "web", action: "start", plans: [] })));
    },
  } as unknown as ServiceManager;
  return {
    manager,
    write(n: number) {
      for (let i = 0; i < n; i++) sink!.write({ time: new Date(), level: "info", msg: `line ${++written}` });
    },
    finish: () => end!(),
    started: async () => {
      while (!sink) await new Promise((r) => setImmediate(r));
    },
  };
}

const msgs = (items: ActionProgress[]) => items.flatMap((i) => (i.type === "line" ? [i.msg] : []));

test("a follower gets every line in order as it is written, then the end", async () => {
  const m = scriptedManager();
  const q = new ActionQueue(m.manager);
  const { id } = q.submit("web", "start", { selection: {} });
  await m.started();
  const got: ActionProgress[] = [];
  const reading = (async () => {
    for await (const p of q.follow(id)!) got.push(p);
  })();
  m.write(3);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(msgs(got), ["line 1", "line 2", "line 3"], "read while the action runs");
  m.write(2);
  m.finish();
  await reading;
  assert.deepEqual(msgs(got), ["line 1", "line 2", "line 3", "line 4", "line 5"]);
  assert.deepEqual(got.at(-1), { type: "end", state: "succeeded", exitCode: 0, error: undefined, refusal: undefined });
});

test("a follower that comes late gets the last MAX_LINES lines the record keeps, then the end", async () => {
  const m = scriptedManager();
  const q = new ActionQueue(m.manager);
  const { id } = q.submit("web", "start", { selection: {} });
  await m.started();
  m.write(MAX_LINES + 1000);
  m.finish();
  await new Promise((r) => setImmediate(r));
  const got: ActionProgress[] = [];
  for await (const p of q.follow(id)!) got.push(p);
  const lines = msgs(got);
  assert.equal(lines.length, MAX_LINES);
  assert.equal(lines[0], "line 1001");
  assert.equal(lines.at(-1), `line ${MAX_LINES + 1000}`);
  assert.equal(got.at(-1)?.type, "end");
});

test("a follower that falls behind skips to the oldest line kept; one aborted while it waits ends without an end", async () => {
  const m = scriptedManager();
  const q = new ActionQueue(m.manager);
  const { id } = q.submit("web", "start", { selection: {} });
  await m.started();
  m.write(2);
  const slow = q.follow(id)!;
  assert.equal(((await slow.next()).value as { msg: string }).msg, "line 1");
  m.write(MAX_LINES + 10); // lines 3 .. MAX_LINES + 12; the record keeps the last MAX_LINES
  assert.equal(((await slow.next()).value as { msg: string }).msg, "line 13", "skipped to the oldest kept");
  const abort = new AbortController();
  const waiting = q.follow(id, abort.signal)!;
  const all: ActionProgress[] = [];
  const reading = (async () => {
    for await (const p of waiting) all.push(p);
  })();
  await new Promise((r) => setImmediate(r));
  abort.abort();
  await reading;
  assert.equal(all.length, MAX_LINES, "what was kept, then nothing more");
  assert.ok(!all.some((p) => p.type === "end"), "no end: the action still runs");
  m.finish();
  await slow.return(undefined);
  assert.equal(q.get(id)?.state, "succeeded");
});

test("no such action: nothing to follow", () => {
  const q = new ActionQueue(scriptedManager().manager);
  assert.equal(q.follow("nope"), undefined);
});
