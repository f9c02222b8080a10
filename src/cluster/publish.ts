// What this node sees of each cluster service, for the others (SPEC §12):
// svc/<svc>/status/<node> on this agent's lease, written when it changed
// (a burst of changes: once), again on a new lease (the old one took it).
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { ServiceStatus } from "../status/status.js";
import type { ClusterStore, NodeStatus } from "./store.js";

const DEBOUNCE_MS = 50;

export class StatusPublisher {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** what was written last, per service: "<lease> <json>" */
  private readonly published = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly log: Logger,
    private readonly statusOf: (svc: string) => ServiceStatus | undefined,
    private readonly lease: () => string | undefined,
  ) {}

  soon(svc: string): void {
    if (this.timers.has(svc) || this.closed) return;
    this.timers.set(
      svc,
      setTimeout(() => {
        this.timers.delete(svc);
        void this.publish(svc);
      }, DEBOUNCE_MS),
    );
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async publish(svc: string): Promise<void> {
    const st = this.statusOf(svc);
    const lease = this.lease();
    if (!st || !lease || this.closed) return;
    const rec: NodeStatus = { avail: st.avail, overall: st.overall, frozen: st.frozen, at: st.updatedAt };
    const text = JSON.stringify(rec);
    if (this.published.get(svc) === `${lease} ${text}`) return;
    try {
      await this.store.client.put(this.store.keys.status(svc, this.store.cfg.self), text, { lease, deadlineMs: 1000 });
      this.published.set(svc, `${lease} ${text}`);
    } catch (e) {
      this.log.debug(`${svc}: status not published: ${errorMessage(e)}`);
    }
  }
}
