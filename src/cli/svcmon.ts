// svcmon: one row per service, from the status cache (stale entries refreshed).
import { setTimeout as sleep } from "node:timers/promises";
import type { Paths } from "../util/paths.js";
import { UsageError } from "../util/errors.js";
import { listServiceNames, resolveSelector } from "../service/repository.js";
import { statusOfMany } from "../core/evaluate.js";
import { renderSvcmonTable, svcmonJson } from "../status/svcmon.js";
import type { CliOptions } from "./actions.js";

export async function runSvcmon(paths: Paths, opts: CliOptions): Promise<number> {
  const names = opts.service ? resolveSelector(paths, opts.service) : listServiceNames(paths);
  const draw = async (refresh: boolean): Promise<string> => {
    const rows = [...(await statusOfMany(paths, names, { refresh })).values()];
    return opts.format === "json" ? JSON.stringify(svcmonJson(rows), null, 2) + "\n" : renderSvcmonTable(rows);
  };
  if (!opts.watch) {
    process.stdout.write(await draw(opts.refresh === true));
    return 0;
  }
  const interval = Number(opts.interval ?? 2);
  if (!Number.isFinite(interval) || interval <= 0) throw new UsageError(`--interval ${opts.interval}: expected a number of seconds`);
  const period = Math.max(0.5, interval) * 1000;
  let stop = false;
  process.once("SIGINT", () => (stop = true));
  let first = true;
  while (!stop) {
    const frame = await draw(first ? opts.refresh === true : true);
    first = false;
    // Redraw in place: cursor home, clear screen, frame.
    process.stdout.write(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  svcmon --watch (every ${period / 1000}s, ^C to quit)\n\n${frame}`);
    await sleep(period);
  }
  return 0;
}
