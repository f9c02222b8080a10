// Following an action on an agent that predates ?follow=1 (an agent keeps
// running across an upgrade of its package until it is restarted): it answers
// with the whole record, which the CLI asks for again until the action ends.
// That older agent cannot run here, so a unix-socket HTTP server answers as
// it did; the current agent's streaming is tested on the real one
// (test/api.test.ts).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { followAction, type Printer } from "./action-follow.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svc-follow-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** what followAction prints, and its exit code */
async function captured(fn: (print: Printer) => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const got = { out: "", err: "" };
  const code = await fn({ out: (s) => (got.out += s), err: (s) => (got.err += s) });
  return { code, ...got };
}

test("an older agent's whole record is asked for again until the action ends, each line printed once", async () => {
  const socket = path.join(dir, "old.sock");
  const lines = [
    { time: "2026-12-03T10:00:01.000Z", level: "info", rid: "app#1", msg: "/usr/bin/touch /tmp/x" },
    { time: "2026-12-03T10:00:01.100Z", level: "debug", rid: "app#1", msg: "a probe" },
    { time: "2026-12-03T10:00:02.000Z", level: "error", rid: "app#2", msg: "start failed" },
  ];
  let asked = 0;
  const server = http.createServer((req, res) => {
    asked++;
    assert.equal(req.url, "/v1/actions/a-1?follow=1");
    const done = asked >= 3;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id: "a-1", service: "web", action: "start", state: done ? "failed" : "running", exitCode: done ? 1 : undefined, lines: lines.slice(0, done ? 3 : 1) }));
  });
  await new Promise<void>((res) => server.listen(socket, res));
  try {
    const { code, out, err } = await captured((p) => followAction(socket, "web", "start", "a-1", false, p));
    assert.equal(code, 1, "the action's exit code");
    assert.equal(asked, 3, "asked again until it ended");
    const hhmmss = (iso: string) => new Date(iso).toTimeString().slice(0, 8);
    assert.equal(out, `${hhmmss(lines[0]!.time)} INFO    WEB.APP#1   /usr/bin/touch /tmp/x\n${hhmmss(lines[2]!.time)} ERROR   WEB.APP#2   start failed\n`, "each line once, no debug line");
    assert.equal(err, "");
  } finally {
    server.close();
  }
});

test("an agent gone while it ran the action: exit 1, and the CLI says where to look", async () => {
  const { code, err } = await captured((p) => followAction(path.join(dir, "nobody.sock"), "web", "start", "a-2", false, p));
  assert.equal(code, 1);
  assert.match(err, /web: lost the agent while it ran the action a-2 \(svcmgr -s web print status/);
});
