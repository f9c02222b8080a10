// Timing helpers: run a program, time it from spawn to exit, keep the samples,
// report medians. Nothing here knows about svcmgr.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOpts {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** exit codes taken as success (default [0]) */
  okCodes?: number[];
}

/** Run argv to completion; ms is the wall time from spawn to the process's exit. Throws on an unexpected exit code. */
export function timeProcess(argv: readonly string[], opts: RunOpts = {}): Promise<Timed> {
  const [file, ...args] = argv;
  if (!file) throw new Error("timeProcess: empty argv");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let t1 = 0;
    const child = spawn(file, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", () => (t1 = performance.now()));
    child.on("error", reject);
    child.on("close", (code, sig) => {
      const res = { ms: (t1 || performance.now()) - t0, code: code ?? (sig ? 128 : -1), stdout, stderr };
      if (!(opts.okCodes ?? [0]).includes(res.code)) {
        reject(new Error(`${argv.join(" ")} exited ${res.code}${sig ? ` (${sig})` : ""}:\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`));
      } else resolve(res);
    });
  });
}

/** Run argv, not timed, failing loudly; returns stdout. */
export async function mustRun(argv: readonly string[], opts: RunOpts = {}): Promise<string> {
  return (await timeProcess(argv, opts)).stdout;
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * A 95 % interval of a statistic of n paired samples: the percentile
 * bootstrap, the pairs drawn again with replacement `rounds` times. Seeded
 * (mulberry32), so that the same samples always give the same interval.
 */
export function bootstrapInterval(n: number, stat: (pairs: readonly number[]) => number, rounds = 4000, seed = 16): [number, number] {
  if (n < 2) return [NaN, NaN];
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const stats: number[] = [];
  const pick = new Array<number>(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) pick[i] = Math.floor(random() * n);
    stats.push(stat(pick));
  }
  return [quantile(stats, 0.025), quantile(stats, 0.975)];
}

/**
 * The 95 % interval of median(key) / median(base) when the two were measured
 * in pairs (sample i of each in the same unit: the same cycle, the same pair);
 * undefined when their counts differ, so that they cannot be paired.
 */
export function pairedRatioInterval(samples: Samples, key: string, base: string): [number, number] | undefined {
  const [a, b] = [samples.get(key), samples.get(base)];
  if (a.length !== b.length || a.length < 2) return undefined;
  return bootstrapInterval(a.length, (p) => median(p.map((i) => a[i]!)) / median(p.map((i) => b[i]!)));
}

/** The 95 % interval of the median of xs (a row of pair-by-pair ratios). */
export const medianInterval = (xs: readonly number[]): [number, number] => bootstrapInterval(xs.length, (p) => median(p.map((i) => xs[i]!)));

/** Samples of one measured thing, by name. */
export class Samples {
  private readonly data = new Map<string, number[]>();

  add(name: string, ms: number): void {
    const list = this.data.get(name) ?? [];
    list.push(ms);
    this.data.set(name, list);
  }

  get(name: string): number[] {
    return this.data.get(name) ?? [];
  }

  median(name: string): number {
    return median(this.get(name));
  }

  merge(other: Samples): void {
    for (const name of other.names()) for (const ms of other.get(name)) this.add(name, ms);
  }

  names(): string[] {
    return [...this.data.keys()];
  }

  toJSON(): Record<string, number[]> {
    // small values (CPU %, not ms) keep 3 significant digits
    return Object.fromEntries([...this.data.entries()].map(([k, v]) => [k, v.map((x) => (Math.abs(x) >= 1 ? Math.round(x * 10) / 10 : Number(x.toPrecision(3))))]));
  }
}

/** One line of the result table: a measured thing against its baseline measured in the same run. */
export interface ResultRow {
  suite: string;
  name: string;
  median: number;
  /** interquartile range of the samples */
  q1: number;
  q3: number;
  runs: number;
  baselineName?: string;
  baseline?: number;
  /** median / baseline median */
  ratio?: number;
  /** a 95 % interval of the row's ratio (the ratio itself for a row of ratios), where the samples are paired */
  interval?: [number, number];
  /** the target, as text, and whether it holds */
  target?: string;
  holds?: boolean;
  note?: string;
  /** what the samples measure: ms (default), % of one core, MiB, a ratio */
  unit?: Unit;
}

export type Unit = "ms" | "%" | "MiB" | "x";

export function row(samples: Samples, suite: string, name: string, key: string, base?: { name: string; key: string }, target?: { text: string; check: (median: number, ratio: number | undefined) => boolean }, note?: string): ResultRow {
  const m = samples.median(key);
  const b = base ? samples.median(base.key) : undefined;
  const ratio = b !== undefined && b > 0 ? m / b : undefined;
  return {
    suite,
    name,
    median: m,
    q1: quantile(samples.get(key), 0.25),
    q3: quantile(samples.get(key), 0.75),
    runs: samples.get(key).length,
    ...(base ? { baselineName: base.name, baseline: b } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    ...(target ? { target: target.text, holds: target.check(m, ratio) } : {}),
    ...(note ? { note } : {}),
  };
}

/** row() for samples measured in pairs with their baseline (sample i of each in the same unit): the ratio with its 95 % interval */
export function pairedRow(samples: Samples, suite: string, name: string, key: string, base: { name: string; key: string }, target?: Parameters<typeof row>[5], note?: string): ResultRow {
  return { ...row(samples, suite, name, key, base, target, note), interval: pairedRatioInterval(samples, key, base.key) };
}

const fmtMs = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? "" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function fmtValue(v: number | undefined, unit: Unit): string {
  if (unit === "ms" || v === undefined || Number.isNaN(v)) return fmtMs(v);
  if (unit === "x") return `${v.toFixed(3)}x`;
  return unit === "%" ? `${v.toFixed(2)} %` : `${v.toFixed(1)} MiB`;
}

function fmtRange(a: number, b: number, unit: Unit = "ms"): string {
  if (Number.isNaN(a) || Number.isNaN(b)) return "";
  if (unit !== "ms") return `${fmtValue(a, unit).split(" ")[0]}-${fmtValue(b, unit)}`;
  if (b < 1000) return `${a.toFixed(0)}-${b.toFixed(0)} ms`;
  if (a >= 1000) return `${(a / 1000).toFixed(2)}-${(b / 1000).toFixed(2)} s`;
  return `${fmtMs(a)}-${fmtMs(b)}`;
}

export function formatTable(rows: readonly ResultRow[]): string {
  const head = ["benchmark", "median", "p25-p75", "runs", "baseline", "baseline median", "ratio", "ratio 95% interval", "target", "holds"];
  const lines = rows.map((r) => [
    `${r.suite}: ${r.name}`,
    fmtValue(r.median, r.unit ?? "ms"),
    fmtRange(r.q1, r.q3, r.unit),
    String(r.runs),
    r.baselineName ?? "",
    fmtValue(r.baseline, r.unit ?? "ms"),
    r.ratio === undefined ? "" : `${r.ratio.toFixed(3)}x`,
    r.interval ? `${r.interval[0].toFixed(3)}-${r.interval[1].toFixed(3)}x` : "",
    r.target ?? "",
    r.holds === undefined ? "" : r.holds ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === 4 || i === 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...lines.map(fmt)].join("\n") + "\n";
}

/** The 1-minute load average, and a short description of the machine. */
export function load1(): number {
  return os.loadavg()[0] ?? 0;
}

export function machine(): string {
  const cpus = os.cpus();
  let distro = "";
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux-like
  }
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${distro}, kernel ${os.release()}, node ${process.version}`;
}
