import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { parseProcStat, pidAlive, procParent, processStartTime, waitPidGone } from "./proc.js";

// the fields after "comm" as Linux writes them: state (3rd field), ppid, pgrp, ... starttime (22nd)
const fields = (state: string, ppid: number, start: number): string => [state, ppid, ...Array.from({ length: 17 }, (_, i) => i + 2), start, 0, 0].join(" ");

describe("/proc/<pid>/stat", () => {
  test("state, parent and start time, whatever the program's name holds", () => {
    assert.deepEqual(parseProcStat(`42 (sleep) ${fields("S", 1, 123456)}`), { state: "S", ppid: 1, startTime: "123456" });
    // a comm with spaces and parentheses: the fields follow the last ")"
    assert.deepEqual(parseProcStat(`43 (a) b (c)) ${fields("Z", 7, 99)}`), { state: "Z", ppid: 7, startTime: "99" });
    assert.equal(parseProcStat("garbage"), undefined);
    assert.equal(parseProcStat("44 (x) S"), undefined);
  });

  test("of real processes: alive, its parent, a zombie is not alive", async () => {
    assert.ok(pidAlive(process.pid));
    assert.equal(procParent(process.pid), process.ppid);
    assert.match(processStartTime(process.pid) ?? "", /^\d+$/);
    assert.ok(!pidAlive(0) && !pidAlive(-1) && !pidAlive(1.5));
    const child = spawn("sh", ["-c", "exit 0"], { stdio: "ignore" });
    // not reaped while node has not seen its exit: a zombie for a moment, then gone
    await new Promise((r) => child.on("exit", r));
    assert.ok(await waitPidGone(child.pid!, 5000));
    assert.ok(!pidAlive(child.pid!));
  });
});
