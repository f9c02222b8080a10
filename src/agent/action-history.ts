// The last actions of each service (SPEC §11: "the last actions with their
// logged command lines"), whoever ran them: the agent's own (restarts, API
// actions) and other processes' (the CLI), both seen as `action` events on the
// hub. Their command lines are the service log's lines of the action's time
// span, read when asked for. Bounded: PER_SERVICE actions per service, in
// memory (a new agent starts with an empty history).
import fs from "node:fs";
import { logFile, type Paths } from "../util/paths.js";
import type { EventHub, HubEvent, Subscriber } from "./event-hub.js";

export const PER_SERVICE = 20;
/** how much of the end of a service log is read for the lines of its last actions */
const TAIL_BYTES = 512 * 1024;
/** log lines a few ms either side of an action's events still belong to it */
const SLACK_MS = 200;
const MAX_LINES = 200;

export interface HistoryEntry {
  service: string;
  action: string;
  /** the process that ran it: the agent itself, or another (the CLI) */
  by: "agent" | "other";
  pid: number;
  /** the resources asked for (start/stop --rid), when not the whole service */
  rids?: string[];
  begin: string;
  end?: string;
  /** known for the agent's own actions */
  ok?: boolean;
  error?: string;
  rolledBack?: string[];
}

export interface LogLine {
  time: string;
  level: "debug" | "info" | "warn" | "error";
  rid?: string;
  msg: string;
}

const LEVELS: Record<number, LogLine["level"]> = { 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "error" };

export class ActionHistory {
  private readonly byService = new Map<string, HistoryEntry[]>();
  private readonly sub: Subscriber;

  constructor(
    private readonly hub: EventHub,
    private readonly paths: Paths,
    private readonly now: () => number = Date.now,
  ) {
    this.sub = hub.subscribe((e) => e.type === "action");
    // drained as events come: this subscriber never falls behind
    this.sub.notify = () => {
      for (let e = this.sub.queue.shift(); e; e = this.sub.queue.shift()) this.note(e);
    };
  }

  close(): void {
    this.hub.unsubscribe(this.sub);
  }

  /** Forget the services that are gone. */
  retain(names: Set<string>): void {
    for (const s of this.byService.keys()) if (!names.has(s)) this.byService.delete(s);
  }

  private note(e: HubEvent): void {
    const d = e.data as { phase?: string; action?: string; pid?: number; ok?: boolean; error?: string; rolledBack?: string[]; selection?: { rids?: string[] } };
    if (!d.action || typeof d.pid !== "number") return;
    const list = this.byService.get(e.service) ?? [];
    const at = new Date(this.now()).toISOString();
    if (d.phase === "begin") {
      const rids = d.selection?.rids?.length ? { rids: d.selection.rids } : {};
      list.unshift({ service: e.service, action: d.action, by: d.pid === process.pid ? "agent" : "other", pid: d.pid, ...rids, begin: at });
      if (list.length > PER_SERVICE) list.length = PER_SERVICE;
      this.byService.set(e.service, list);
      return;
    }
    const open = list.find((h) => h.end === undefined && h.pid === d.pid && h.action === d.action);
    if (!open) return;
    open.end = at;
    if (d.ok !== undefined) open.ok = d.ok;
    if (d.error) open.error = d.error;
    if (d.rolledBack?.length) open.rolledBack = d.rolledBack;
  }

  /** The last `n` actions of a service, newest first, each with the log lines (info and above) of its time span. */
  last(service: string, n = 10): (HistoryEntry & { lines: LogLine[] })[] {
    const list = (this.byService.get(service) ?? []).slice(0, n);
    if (!list.length) return [];
    const lines = tailLines(logFile(this.paths, service));
    const t = this.now();
    return list.map((h) => {
      const from = Date.parse(h.begin) - SLACK_MS;
      const to = (h.end ? Date.parse(h.end) : t) + SLACK_MS;
      const mine = lines.filter((l) => l.level !== "debug" && Date.parse(l.time) >= from && Date.parse(l.time) <= to);
      return { ...h, lines: mine.slice(-MAX_LINES) };
    });
  }
}

/** The JSON lines at the end of a service log. */
export function tailLines(file: string, bytes = TAIL_BYTES): LogLine[] {
  let text: string;
  try {
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.toString("utf8");
      if (start > 0) text = text.slice(text.indexOf("\n") + 1); // a partial first line
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const l of text.split("\n")) {
    if (!l.startsWith("{")) continue;
    try {
      const j = JSON.parse(l) as { level?: number; time?: string; rid?: string; msg?: string };
      if (typeof j.time !== "string" || typeof j.msg !== "string") continue;
      out.push({ time: j.time, level: LEVELS[j.level ?? 30] ?? "info", ...(j.rid && { rid: j.rid }), msg: j.msg });
    } catch {
      // a line being written
    }
  }
  return out;
}
