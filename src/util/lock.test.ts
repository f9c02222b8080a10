import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { acquireLock } from "./lock.js";
import { ActionError } from "./errors.js";
import { acquireLock as acquireActionLock } from "../actions/lock.js";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-lock-"));

/** A child process that takes the lock, records when it held it, holds it 300 ms. */
function racer(lock: string, out: string): Promise<number> {
  const code = `
    import { acquireLock } from ${JSON.stringify(new URL("./lock.ts", import.meta.url).pathname)};
    import fs from "node:fs";
    const l = await acquireLock(${JSON.stringify(lock)}, { action: "start", waitMs: 10000, pollMs: 10 });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    fs.appendFileSync(${JSON.stringify(out)}, JSON.stringify([t0, Date.now()]) + "\\n");
    l.release();`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: "inherit" });
  return new Promise((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
}

describe("the lock file", () => {
  test("two processes racing for the lock hold it one after the other", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      const out = path.join(dir, "spans");
      const codes = await Promise.all([racer(lock, out), racer(lock, out), racer(lock, out)]);
      assert.deepEqual(codes, [0, 0, 0]);
      const spans = fs.readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as [number, number]).sort((a, b) => a[0] - b[0]);
      assert.equal(spans.length, 3);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `spans overlap: ${JSON.stringify(spans)}`);
      assert.ok(!fs.existsSync(lock), "the last holder removed the lock");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a lock left by a killed process is taken over at once", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      const child = spawn("sleep", ["30"]);
      const pid = child.pid!;
      const start = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19];
      fs.writeFileSync(lock, JSON.stringify({ pid, start, action: "start", since: new Date().toISOString() }));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      const t0 = Date.now();
      const held = await acquireLock(lock, { action: "stop", waitMs: 5000 });
      assert.ok(Date.now() - t0 < 1000);
      assert.equal(held.tookOverFrom, pid);
      assert.equal((JSON.parse(fs.readFileSync(lock, "utf8")) as { pid: number }).pid, process.pid);
      held.release();
      assert.ok(!fs.existsSync(lock));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the killed actions are handed on: a taker killed in turn passes its dead owner's action to the next", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      // a killed stop (no pid is that high), taken over by a start that is killed in turn
      fs.writeFileSync(lock, JSON.stringify({ pid: 999_999_999, start: "1", action: "stop", since: "2026-01-01T00:00:00.000Z" }));
      const first = await acquireLock(lock, { action: "start", waitMs: 1000 });
      assert.deepEqual(first.killed, [{ pid: 999_999_999, action: "stop", since: "2026-01-01T00:00:00.000Z" }]);
      const left = JSON.parse(fs.readFileSync(lock, "utf8")) as Record<string, unknown>;
      fs.writeFileSync(lock, JSON.stringify({ ...left, pid: 999_999_998 })); // the start is killed too
      const second = await acquireLock(lock, { action: "start", waitMs: 1000 });
      assert.deepEqual(
        second.killed.map((k) => `${k.pid} ${k.action}`),
        ["999999998 start", "999999999 stop"],
      );
      second.release();
      const third = await acquireLock(lock, { action: "stop", waitMs: 1000 });
      assert.deepEqual(third.killed, [], "a lock released by its owner hands nothing on");
      third.release();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a pid reused by another process does not keep a dead owner's lock", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, start: "1", action: "start", since: "" }));
      const held = await acquireLock(lock, { action: "stop", waitMs: 1000 });
      assert.equal(held.tookOverFrom, process.pid);
      held.release();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--waitlock: a live holder makes the second action wait, then fail clearly", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      const first = await acquireLock(lock, { action: "start", waitMs: 0 });
      const t0 = Date.now();
      await assert.rejects(acquireActionLock(lock, { action: "stop", waitMs: 300 }), (e: unknown) => e instanceof ActionError && e.message.includes(`pid ${process.pid} (start since`) && e.message.includes("--waitlock"));
      assert.ok(Date.now() - t0 >= 300);
      await assert.rejects(acquireLock(lock, { action: "allocate", waitMs: 50 }), (e: unknown) => e instanceof ActionError && e.message === `timed out after 50 ms waiting for ${lock}, held by pid ${process.pid} (start since ${(JSON.parse(fs.readFileSync(lock, "utf8")) as { since: string }).since})`);
      first.release();
      const second = await acquireLock(lock, { action: "stop", waitMs: 0 });
      second.release();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a half-written lock file is taken over once it is old", async () => {
    const dir = tmp();
    try {
      const lock = path.join(dir, "action.lock");
      fs.writeFileSync(lock, '{"pid": 12');
      const old = new Date(Date.now() - 10_000);
      fs.utimesSync(lock, old, old);
      const held = await acquireLock(lock, { action: "start", waitMs: 1000 });
      held.release();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
