// `logs`: the service's JSON log file shown as the human lines of the action.
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { logFile, type Paths } from "../util/paths.js";
import { formatHuman, type Level } from "../util/log.js";
import { outputClosed } from "./output.js";

interface JsonLine {
  time?: string;
  level?: number;
  svc?: string;
  rid?: string;
  msg?: string;
}

const LEVELS: Record<number, Level> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };

export function formatLogLine(line: string, color: boolean, debug = false): string | undefined {
  if (!line.trim()) return undefined;
  try {
    const j = JSON.parse(line) as JsonLine;
    if (!debug && (j.level ?? 30) < 30) return undefined;
    return formatHuman({ time: new Date(j.time ?? 0), level: LEVELS[j.level ?? 30] ?? "info", svc: j.svc, rid: j.rid, msg: j.msg ?? "" }, color);
  } catch {
    return line;
  }
}

export async function printLogs(paths: Paths, names: string[], opts: { follow: boolean; lines?: number; color: boolean; debug: boolean }): Promise<number> {
  const files = names.map((n) => logFile(paths, n)).filter((f) => fs.existsSync(f));
  const offsets = new Map<string, number>();
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    let shown = text.split("\n").flatMap((l) => formatLogLine(l, opts.color, opts.debug) ?? []);
    if (opts.lines !== undefined) shown = shown.slice(-opts.lines);
    for (const l of shown) process.stdout.write(l + "\n");
    offsets.set(f, Buffer.byteLength(text));
  }
  const gone = outputClosed();
  while (opts.follow && !gone.aborted) {
    await sleep(500);
    for (const f of files) {
      const size = fs.statSync(f).size;
      const from = offsets.get(f) ?? 0;
      if (size <= from) continue;
      const fd = fs.openSync(f, "r");
      const buf = Buffer.alloc(size - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      offsets.set(f, size);
      for (const l of buf.toString("utf8").split("\n")) {
        const out = formatLogLine(l, opts.color, opts.debug);
        if (out !== undefined) process.stdout.write(out + "\n");
      }
    }
  }
  return 0;
}
