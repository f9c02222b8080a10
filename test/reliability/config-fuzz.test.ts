// The config fuzzer: over 10,000 generated and mutated config files through
// the parser and the planner, in a child process watched by a watchdog so
// that a hanging input is killed and named instead of hanging the suite.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import path from "node:path";
import { checkConfig, fixtureTexts, lineCount, RICH_CONFIG } from "../support/config-fuzz.js";
import type { FuzzJob, FuzzMessage } from "../support/config-fuzz-runner.js";
import { recordFigures } from "../support/reliability.js";

const RUNNER = path.resolve(import.meta.dirname, "../support/config-fuzz-runner.ts");
/** SVCMGR_FUZZ_SEED replays a run; SVCMGR_FUZZ_RUNS scales it. */
const SEED = Number(process.env.SVCMGR_FUZZ_SEED ?? 20_261_122);
const RUNS = Number(process.env.SVCMGR_FUZZ_RUNS ?? 10_000);
/** a child silent for this long is stuck on one input */
const SILENCE_MS = 20_000;

describe("config fuzzer", () => {
  test("the oracle accepts the fixtures and the rich config as valid", () => {
    for (const text of fixtureTexts()) assert.deepEqual(checkConfig(text), { valid: true, problems: 0 });
    assert.equal(lineCount("a\nb"), 2);
    assert.equal(lineCount("a\nb\n"), 2);
    assert.equal(lineCount(""), 0);
    assert.match(RICH_CONFIG, /\[subset#container\.docker:web\]/);
  });

  test(`${RUNS} generated and mutated configs: no throw, no hang, valid or problems with a line in the file`, { timeout: 300_000 }, async () => {
    const job: FuzzJob = { seed: SEED, mutated: Math.round(RUNS * 0.7), generated: Math.round(RUNS * 0.3), perInputMs: 5_000 };
    const child = fork(RUNNER, [JSON.stringify(job)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const counts = new Map<string, { inputs: number; valid: number; maxMs: number }>();
    let current: { phase: string; index: number } | undefined;
    let lastMessage = Date.now();
    let failure: string | undefined;
    let done = false;
    const t0 = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastMessage > SILENCE_MS) {
        failure = `no progress for ${SILENCE_MS / 1000}s: stuck on ${current ? `${current.phase} #${current.index + 1}` : "start-up"} (seed ${SEED})`;
        child.kill("SIGKILL");
      }
    }, 500);
    child.on("message", (m: FuzzMessage) => {
      lastMessage = Date.now();
      if (m.type === "begin") current = { phase: m.phase, index: m.index };
      else if (m.type === "end") {
        const c = counts.get(m.phase) ?? { inputs: 0, valid: 0, maxMs: 0 };
        c.inputs++;
        if (m.valid) c.valid++;
        c.maxMs = Math.max(c.maxMs, m.ms);
        counts.set(m.phase, c);
      } else if (m.type === "failed") failure ??= `${m.phase} (seed ${SEED}):\n${m.report}`;
      else if (m.type === "done") done = true;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    clearInterval(watchdog);
    const total = [...counts.values()].reduce((a, c) => a + c.inputs, 0);
    const summary = Object.fromEntries([...counts].map(([k, c]) => [k, { ...c, maxMs: Math.round(c.maxMs) }]));
    recordFigures("config-fuzz", { seed: SEED, inputs: total, seconds: Math.round((Date.now() - t0) / 1000), phases: summary, failure: failure ?? null });
    assert.equal(failure, undefined, failure);
    assert.ok(done, `the fuzzer stopped early (exit ${code})`);
    assert.ok(total >= RUNS, `${total} inputs tried`);
    const mutated = counts.get("mutated fixtures")!;
    assert.ok(mutated.valid > 0 && mutated.valid < mutated.inputs, `mutations give both valid and invalid configs (${mutated.valid}/${mutated.inputs})`);
  });
});
