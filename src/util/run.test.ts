import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Logger, memorySink, type LogRecord } from "./log.js";
import { CommandError, run } from "./run.js";

describe("run", () => {
  let dir: string;
  let records: LogRecord[];
  let log: Logger;
  let savedTmp: string | undefined;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-run-test-"));
    fs.mkdirSync(path.join(dir, "tmp"));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = path.join(dir, "tmp");
    records = [];
    log = new Logger([memorySink(records)]);
  });

  after(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("stdout, stderr and the exit code are kept apart; the command line and its output are logged", async () => {
    const r = await run(log, ["sh", "-c", "echo out; echo err >&2; exit 3"], { check: false });
    assert.equal(r.stdout, "out\n");
    assert.equal(r.stderr, "err\n");
    assert.equal(r.exitCode, 3);
    const msgs = records.map((x) => x.msg);
    assert.ok(msgs.includes("sh -c 'echo out; echo err >&2; exit 3'"), msgs.join(" | "));
    assert.ok(msgs.includes("output:\nout\nerr\n"), msgs.join(" | "));
  });

  test("a failing command throws a CommandError naming it and quoting its last output", async () => {
    await assert.rejects(run(log, ["sh", "-c", "echo no such volume >&2; exit 1"]), (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.match(e.message, /^sh -c .* exited 1: no such volume$/);
      return true;
    });
  });

  test("input is fed on stdin; a missing program is exit 127 with the reason", async () => {
    assert.equal((await run(log, ["tr", "a-z", "A-Z"], { input: "abc\n" })).stdout, "ABC\n");
    const r = await run(log, ["/nonexistent/prog"], { check: false });
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /ENOENT/);
  });

  test("a command leaving a process in the background returns at once, and that process may still write", async () => {
    const marker = path.join(dir, "late");
    const t0 = Date.now();
    const r = await run(log, ["sh", "-c", `echo started; (sleep 0.5; echo late; echo done > ${marker}) &`]);
    assert.ok(Date.now() - t0 < 400, `returned after ${Date.now() - t0} ms`);
    assert.equal(r.stdout, "started\n");
    // the background child writes to its stdout after we have read ours: no SIGPIPE, it carries on
    for (let i = 0; i < 100 && !fs.existsSync(marker); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(fs.readFileSync(marker, "utf8"), "done\n");
  });

  test("the output files have no name: nothing appears in the temp dir, even while the command runs", async () => {
    const r = await run(log, ["ls", "-A", path.join(dir, "tmp")]);
    assert.equal(r.stdout, "");
    assert.deepEqual(fs.readdirSync(path.join(dir, "tmp")), []);
  });

  test("a timeout sends TERM and reports it", async () => {
    const t0 = Date.now();
    const r = await run(log, ["sleep", "10"], { timeoutMs: 200, check: false });
    assert.ok(r.timedOut);
    assert.notEqual(r.exitCode, 0);
    assert.ok(Date.now() - t0 < 2000);
  });
});
