// The agent's event stream (SPEC §10): every event gets an id that increases
// across connections (and across agent restarts: the first id is the start
// time in µs), the last WINDOW events are kept for Last-Event-ID replays, and
// each subscriber has a bounded queue: one that does not read is dropped,
// never waited for.

export interface HubEvent {
  id: number;
  /** status, action, restart, daemon, config */
  type: string;
  /** the service it is about: team sockets see their own services' events only */
  service: string;
  data: Record<string, unknown>;
}

const sseText = new WeakMap<HubEvent, string>();

/** The event as text/event-stream, serialised once however many readers get it. */
export function toSse(e: HubEvent): string {
  let t = sseText.get(e);
  if (t === undefined) sseText.set(e, (t = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ service: e.service, ...e.data })}\n\n`));
  return t;
}

/** at least this many of the last events are kept for Last-Event-ID */
export const WINDOW = 2000;
/** events queued for one subscriber before it is dropped as too slow */
export const SUBSCRIBER_QUEUE = 1000;

export interface Subscriber {
  /** events waiting to be written, in order */
  readonly queue: HubEvent[];
  /** wakes the writer when the queue was empty */
  notify: (() => void) | undefined;
  /** set when the subscriber fell too far behind: its stream is closed */
  dropped: boolean;
  readonly filter: (e: HubEvent) => boolean;
}

export class EventHub {
  private nextId: number;
  private readonly window: HubEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  droppedSubscribers = 0;

  constructor(now = Date.now()) {
    this.nextId = now * 1000;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  publish(type: string, service: string, data: Record<string, unknown>): HubEvent {
    const e: HubEvent = { id: ++this.nextId, type, service, data };
    this.window.push(e);
    // cut in chunks, not one event at a time: between WINDOW and 1.5 × WINDOW are kept
    if (this.window.length > WINDOW * 1.5) this.window.splice(0, this.window.length - WINDOW);
    for (const s of this.subscribers) {
      if (s.dropped || !s.filter(e)) continue;
      if (s.queue.length >= SUBSCRIBER_QUEUE) {
        s.dropped = true;
        this.droppedSubscribers++;
        s.notify?.();
        continue;
      }
      s.queue.push(e);
      s.notify?.();
    }
    return e;
  }

  /** Subscribe; with `after`, the kept events after that id come first (a Last-Event-ID resume). */
  subscribe(filter: (e: HubEvent) => boolean, after?: number): Subscriber {
    const s: Subscriber = { queue: after === undefined ? [] : this.window.filter((e) => e.id > after && filter(e)), notify: undefined, dropped: false, filter };
    this.subscribers.add(s);
    return s;
  }

  unsubscribe(s: Subscriber): void {
    this.subscribers.delete(s);
    s.notify?.();
  }

  /** Close every subscription (the agent stops). */
  closeAll(): void {
    for (const s of this.subscribers) {
      s.dropped = true;
      s.notify?.();
    }
    this.subscribers.clear();
  }
}
