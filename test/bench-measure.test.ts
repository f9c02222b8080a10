// The benchmark's statistics: the interval a paired run's ratio is reported
// with must cover what the samples say, narrow as the pairs grow, and come out
// the same for the same samples.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bootstrapInterval, median, medianInterval, pairedRatioInterval, Samples } from "../bench/lib/measure.js";

/** n ratios spread evenly over [centre - half, centre + half] */
const spread = (n: number, centre: number, half: number): number[] => Array.from({ length: n }, (_, i) => centre - half + (2 * half * i) / (n - 1));

test("a 95 % interval of the median of paired ratios holds the median, inside the samples' range, narrower for more pairs, the same each time", () => {
  const few = spread(10, 1.04, 0.1);
  const many = spread(90, 1.04, 0.1);
  const [lo10, hi10] = medianInterval(few);
  const [lo90, hi90] = medianInterval(many);
  for (const [lo, hi] of [
    [lo10, hi10],
    [lo90, hi90],
  ]) {
    assert.ok(lo! < 1.04 && 1.04 < hi!, `[${lo}, ${hi}] holds the median 1.04`);
    assert.ok(lo! >= 0.94 && hi! <= 1.14, `[${lo}, ${hi}] inside the samples`);
  }
  assert.ok(hi90 - lo90 < (hi10 - lo10) / 1.8, `90 pairs [${lo90}, ${hi90}] about 3x narrower than 10 [${lo10}, ${hi10}]`);
  // a run read twice reports the same interval
  assert.deepEqual(medianInterval(many), [lo90, hi90]);
});

test("a ratio of medians whose pairs all agree has an interval of that ratio alone; fewer than two pairs, none", () => {
  const ours = [1500, 1400, 1600, 1450];
  const floor = ours.map((x) => x / 1.1);
  const [lo, hi] = bootstrapInterval(ours.length, (p) => median(p.map((i) => ours[i]!)) / median(p.map((i) => floor[i]!)));
  assert.ok(Math.abs(lo - 1.1) < 1e-9 && Math.abs(hi - 1.1) < 1e-9, `[${lo}, ${hi}]`);
  assert.deepEqual(bootstrapInterval(1, () => 1), [NaN, NaN]);
});

test("samples measured in pairs give their ratio's interval; counts that differ cannot be paired", () => {
  const s = new Samples();
  for (let i = 0; i < 20; i++) {
    const load = 1000 + 300 * Math.sin(i); // the machine's load moves both of a pair alike
    s.add("ours", load * 1.03 + (i % 3) * 5);
    s.add("floor", load);
  }
  s.add("one more", 1);
  const [lo, hi] = pairedRatioInterval(s, "ours", "floor")!;
  const ratio = s.median("ours") / s.median("floor");
  assert.ok(lo <= ratio && ratio <= hi, `[${lo}, ${hi}] holds ${ratio}`);
  assert.ok(lo > 1 && hi < 1.1, `[${lo}, ${hi}]: near 1.03`);
  assert.equal(pairedRatioInterval(s, "ours", "one more"), undefined);
});
