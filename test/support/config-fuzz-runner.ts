// Child process of test/reliability/config-fuzz.test.ts: runs the fuzzer and
// reports each input's start and end over IPC, so that the parent can kill it
// and name the input when one takes too long.
import fc from "fast-check";
import { checkConfig, fixtureTexts, generatedConfig, mutatedFixture, pathologicalConfigs } from "./config-fuzz.js";

export interface FuzzJob {
  seed: number;
  mutated: number;
  generated: number;
  /** an input slower than this fails the run (the parent also kills a silent child) */
  perInputMs: number;
}

export type FuzzMessage =
  | { type: "begin"; phase: string; index: number }
  | { type: "end"; phase: string; index: number; ms: number; valid: boolean }
  | { type: "failed"; phase: string; report: string }
  | { type: "done" }
  | { type: "failed-end" };

const send = (m: FuzzMessage): void => void process.send?.(m);
const job = JSON.parse(process.argv[2] ?? "{}") as FuzzJob;

function phase(name: string, arb: fc.Arbitrary<string>, numRuns: number): boolean {
  let index = 0;
  const result = fc.check(
    fc.property(arb, (text) => {
      const i = index++;
      send({ type: "begin", phase: name, index: i });
      const t0 = performance.now();
      const verdict = checkConfig(text);
      const ms = performance.now() - t0;
      send({ type: "end", phase: name, index: i, ms, valid: verdict.valid });
      if (ms > job.perInputMs) throw new Error(`input of ${text.length} characters took ${Math.round(ms)} ms (limit ${job.perInputMs} ms)`);
    }),
    { seed: job.seed, numRuns, endOnFailure: false, maxSkipsPerRun: 0 },
  );
  if (result.failed) {
    send({ type: "failed", phase: name, report: fc.defaultReportMessage(result)?.slice(0, 4000) ?? "failed" });
    return false;
  }
  return true;
}

/** Inputs given one by one (each exactly once). */
function list(name: string, texts: string[]): boolean {
  for (const [index, text] of texts.entries()) {
    send({ type: "begin", phase: name, index });
    const t0 = performance.now();
    let verdict;
    try {
      verdict = checkConfig(text);
    } catch (e) {
      send({ type: "failed", phase: name, report: `input #${index} (${JSON.stringify(text.slice(0, 200))}…): ${String(e)}` });
      return false;
    }
    const ms = performance.now() - t0;
    send({ type: "end", phase: name, index, ms, valid: verdict.valid });
    if (ms > job.perInputMs) {
      send({ type: "failed", phase: name, report: `input #${index} (${JSON.stringify(text.slice(0, 200))}…) took ${Math.round(ms)} ms` });
      return false;
    }
  }
  return true;
}

const fixtures = fixtureTexts();
const ok =
  list("pathological", pathologicalConfigs()) &&
  list("fixtures as they are", fixtures) &&
  phase("mutated fixtures", mutatedFixture(fixtures), job.mutated) &&
  phase("generated configs", generatedConfig, job.generated);
// disconnect only once the last message is out, or the parent may never see it
process.send?.({ type: ok ? "done" : "failed-end" }, () => process.disconnect?.());
