// Actions asked through the API (SPEC §10): each gets an id at once (202), waits
// behind its service's lock like any action, and keeps its state and log lines
// until at least KEEP_MS after it ended. Bounded: at most MAX_PER_SERVICE
// waiting or running per service, at most MAX_RECORDS kept in all.
import crypto from "node:crypto";
import type { ActResult, ServiceManager } from "../core/manager.js";
import type { ServiceAction } from "../actions/execute.js";
import type { Selection } from "../service/planner.js";
import type { LogRecord } from "../util/log.js";
import { errorText } from "../util/errors.js";
import { API_WAITLOCK_MAX_S } from "./limits.js";

export const KEEP_MS = 60 * 60_000;
export const MAX_PER_SERVICE = 16;
export const MAX_RECORDS = 10_000;
/** log lines kept per action (the oldest go first) */
export const MAX_LINES = 5000;

export type ActionState = "queued" | "running" | "succeeded" | "failed";

export interface ActionRecord {
  id: string;
  service: string;
  action: ServiceAction | "freeze" | "thaw";
  state: ActionState;
  exitCode: number | undefined;
  error: string | undefined;
  createdAt: string;
  endedAt: string | undefined;
  lines: { time: string; level: string; rid?: string; msg: string }[];
}

export interface ActionRequest {
  selection: Selection;
  force?: boolean;
  disableRollback?: boolean;
  /** how long to wait for the service's lock (default API_WAITLOCK_MAX_S) */
  waitMs?: number;
}

export class QueueFull extends Error {}

/** What a follower of an action reads: each of its log lines as it is written, then its end. */
export type ActionProgress =
  | ({ type: "line" } & ActionRecord["lines"][number])
  | { type: "end"; state: "succeeded" | "failed"; exitCode: number; error: string | undefined; refusal: string | undefined };

interface Kept extends ActionRecord {
  ended?: number;
  /** lines ever written (the first ones go past MAX_LINES): where a follower is */
  written: number;
  /** the action was refused before it ran (config, lock, a selection that names nothing): what the CLI prints of it on stderr */
  refusal: string | undefined;
  /** followers waiting for the next line or the end */
  wake: Set<() => void>;
}

export class ActionQueue {
  private readonly records = new Map<string, Kept>();
  private readonly active = new Map<string, number>();

  constructor(
    private readonly manager: ServiceManager,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): ActionRecord | undefined {
    this.prune();
    const r = this.records.get(id);
    if (!r) return undefined;
    return { id: r.id, service: r.service, action: r.action, state: r.state, exitCode: r.exitCode, error: r.error, createdAt: r.createdAt, endedAt: r.endedAt, lines: r.lines };
  }

  /** Queue an action; resolves its record at once (the action runs on). Throws QueueFull past the per-service bound. */
  submit(service: string, action: ActionRecord["action"], req: ActionRequest, onEnd?: (r: ActionRecord, result: ActResult | undefined) => void): ActionRecord {
    this.prune();
    const n = this.active.get(service) ?? 0;
    if (n >= MAX_PER_SERVICE) throw new QueueFull(`${service}: ${n} actions already waiting`);
    this.active.set(service, n + 1);
    const rec: Kept = {
      id: crypto.randomUUID(),
      service,
      action,
      state: "queued",
      exitCode: undefined,
      error: undefined,
      createdAt: new Date(this.now()).toISOString(),
      endedAt: undefined,
      lines: [],
      written: 0,
      refusal: undefined,
      wake: new Set(),
    };
    this.records.set(rec.id, rec);
    const changed = (): void => {
      for (const w of rec.wake) w();
      rec.wake.clear();
    };
    const sink = {
      write: (l: LogRecord) => {
        if (rec.state === "queued") rec.state = "running";
        rec.lines.push({ time: l.time.toISOString(), level: l.level, ...(l.rid ? { rid: l.rid } : {}), msg: l.msg });
        rec.written++;
        if (rec.lines.length > MAX_LINES) rec.lines.splice(0, rec.lines.length - MAX_LINES);
        changed();
      },
    };
    const finish = (ok: boolean, code: number, error?: string, result?: ActResult): void => {
      rec.state = ok ? "succeeded" : "failed";
      if (result?.kind === "error") rec.refusal = errorText(result.thrown, service);
      rec.exitCode = code;
      rec.error = error;
      rec.ended = this.now();
      rec.endedAt = new Date(rec.ended).toISOString();
      this.active.set(service, (this.active.get(service) ?? 1) - 1);
      if (this.active.get(service) === 0) this.active.delete(service);
      onEnd?.(this.get(rec.id)!, result);
      changed();
    };
    void (async () => {
      try {
        if (action === "freeze" || action === "thaw") {
          rec.state = "running";
          const changed = await this.manager.setFrozen(service, action === "freeze");
          sink.write({ time: new Date(this.now()), level: "info", svc: service, msg: `${service}: ${action === "freeze" ? (changed ? "frozen" : "already frozen") : changed ? "thawed" : "not frozen"}` });
          return finish(true, 0);
        }
        const r = await this.manager.act(service, action, { selection: req.selection, waitMs: req.waitMs ?? API_WAITLOCK_MAX_S * 1000, force: req.force, disableRollback: req.disableRollback, logSink: sink });
        if (r.kind === "error") return finish(false, r.thrown.exitCode, r.thrown.message, r);
        if (r.kind === "frozen") return finish(true, 0, undefined, r);
        finish(r.ok, r.ok ? 0 : 1, r.error, r);
      } catch (e) {
        finish(false, 1, e instanceof Error ? e.message : String(e));
      }
    })();
    return this.get(rec.id)!;
  }

  /**
   * An action's lines as they are written, from the first one still kept, then
   * its end; undefined when there is no such action. Nothing is queued for a
   * follower: it reads from the record's own bounded lines, at its own pace
   * (one that fell MAX_LINES behind skips to the oldest line kept).
   */
  follow(id: string, signal?: AbortSignal): AsyncGenerator<ActionProgress> | undefined {
    const rec = this.records.get(id);
    if (!rec) return undefined;
    return (async function* () {
      let next = 0;
      while (!signal?.aborted) {
        const first = rec.written - rec.lines.length;
        next = Math.max(next, first);
        if (next < rec.written) {
          const line = rec.lines[next - first]!;
          next++;
          yield { type: "line" as const, ...line };
          continue;
        }
        if (rec.state === "succeeded" || rec.state === "failed") {
          yield { type: "end" as const, state: rec.state, exitCode: rec.exitCode ?? 1, error: rec.error, refusal: rec.refusal };
          return;
        }
        await new Promise<void>((resolve) => {
          const done = (): void => {
            rec.wake.delete(done);
            signal?.removeEventListener("abort", done);
            resolve();
          };
          rec.wake.add(done);
          signal?.addEventListener("abort", done, { once: true });
          if (signal?.aborted) done();
        });
      }
    })();
  }

  /** Ended actions older than KEEP_MS go; past MAX_RECORDS, the oldest ended ones go first. */
  private prune(): void {
    const t = this.now();
    for (const [id, r] of this.records) if (r.ended !== undefined && t - r.ended > KEEP_MS) this.records.delete(id);
    if (this.records.size <= MAX_RECORDS) return;
    for (const [id, r] of this.records) {
      if (this.records.size <= MAX_RECORDS) break;
      if (r.ended !== undefined) this.records.delete(id);
    }
  }
}
