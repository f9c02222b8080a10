// Restart accounting per resource (SPEC §9): `restart` tries, a delay starting
// at `restart_delay` and doubled after each try up to 60 s, the count given
// back once the resource has stayed up for 60 s. Pure bookkeeping on an
// injected clock, so a test drives a week of failures in a millisecond.

export const MAX_DELAY_MS = 60_000;
export const GIVE_BACK_AFTER_MS = 60_000;

interface Entry {
  /** tries used since the count was last given back */
  count: number;
  /** when the resource was last seen going up (undefined while down) */
  upSince: number | undefined;
  /** the limit was reported exhausted (once per exhaustion) */
  exhaustedReported: boolean;
}

export type Decision =
  | { kind: "restart"; attempt: number; limit: number; delayMs: number }
  | { kind: "exhausted"; limit: number; firstTime: boolean }
  | { kind: "none" };

export class RestartBook {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  private entry(rid: string): Entry {
    let e = this.entries.get(rid);
    if (!e) this.entries.set(rid, (e = { count: 0, upSince: undefined, exhaustedReported: false }));
    return e;
  }

  /** What the resource was seen as: up or down. Going down after 60 s up gives the count back. */
  observe(rid: string, up: boolean): void {
    const e = this.entry(rid);
    const t = this.now();
    if (up) e.upSince ??= t;
    else {
      if (e.upSince !== undefined && t - e.upSince >= GIVE_BACK_AFTER_MS) {
        e.count = 0;
        e.exhaustedReported = false;
      }
      e.upSince = undefined;
    }
  }

  /** The resource failed: restart it (and after how long), or its tries are used up. Counts the try. */
  decide(rid: string, limit: number, baseDelayMs: number): Decision {
    if (limit <= 0) return { kind: "none" };
    const e = this.entry(rid);
    if (e.count >= limit) {
      const firstTime = !e.exhaustedReported;
      e.exhaustedReported = true;
      return { kind: "exhausted", limit, firstTime };
    }
    const delayMs = Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** e.count);
    e.count++;
    return { kind: "restart", attempt: e.count, limit, delayMs };
  }

  /** A try that was not needed after all (the resource was back when its turn came): not counted. */
  refund(rid: string): void {
    const e = this.entries.get(rid);
    if (e && e.count > 0) e.count--;
  }

  /** The tries used, for status lines and the API. */
  counters(rid: string): { count: number; exhausted: boolean } {
    const e = this.entries.get(rid);
    return { count: e?.count ?? 0, exhausted: e?.exhaustedReported ?? false };
  }

  /** An operator acted on the service (ServiceMonitor.operatorActed): the resource's tries start again. */
  reset(rid: string): void {
    this.entries.delete(rid);
  }

  forget(keep: ReadonlySet<string>): void {
    for (const rid of this.entries.keys()) if (!keep.has(rid)) this.entries.delete(rid);
  }
}
