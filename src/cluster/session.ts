// The agent's one etcd lease and the deadline it gives (SPEC §12). The lease
// is renewed every lease_ttl / 5, each keepalive with its own deadline. The
// owner's right to run failover services lasts until lease_ttl / 2 after the
// SEND time of its last successful keepalive, on the system's monotonic clock
// (shared with the watchdog process): etcd counts the lease from when it
// received that keepalive, which is later, so the owner's deadline always ends
// before etcd can give the keys to another node.
import { EventEmitter } from "node:events";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { EtcdClient } from "./etcd.js";

/** The system's monotonic clock in ms (CLOCK_MONOTONIC: the same in every process, running while a process is stopped). */
export const monoMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export interface SessionEvents {
  /** a keepalive succeeded: valid until `until` */
  renewed: [until: number];
  /** lease_ttl / 2 passed since the last good keepalive's send time: stop every failover service now */
  expired: [];
  /** etcd says the lease is gone (its keys with it); a new one is granted */
  lost: [oldLease: string];
  /** contact again after failed keepalives (the watch may hang on a member that was cut off) */
  regained: [];
}

export class LeaseSession extends EventEmitter<SessionEvents> {
  lease: string | undefined;
  /** monotonic ms when the last successful keepalive (or the grant) was sent */
  private lastGoodSend = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private expiredFired = false;
  private failures = 0;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: EtcdClient,
    readonly ttlMs: number,
    private readonly log: Logger,
    private readonly now: () => number = monoMs,
  ) {
    super();
  }

  /** until when (monotonic ms) this node may run its failover services */
  get validUntil(): number {
    return this.lastGoodSend + this.ttlMs / 2;
  }

  /** the owner must have stopped everything by then */
  get stopBy(): number {
    return this.lastGoodSend + this.ttlMs - 2000;
  }

  isValid(): boolean {
    return this.lease !== undefined && this.now() < this.validUntil;
  }

  /** Grant (or adopt, when `adopt` is a live lease of this node's previous agent) the lease; throws when etcd cannot be reached. */
  async open(adopt?: string): Promise<void> {
    if (adopt) {
      const sent = this.now();
      try {
        const ttl = await this.client.leaseKeepAlive(adopt, this.ttlMs / 5);
        if (ttl > 0) {
          this.lease = adopt;
          this.lastGoodSend = sent;
          this.log.info(`etcd lease ${adopt} of the previous agent adopted (${ttl}s left)`);
        }
      } catch (e) {
        this.log.debug(`lease ${adopt}: ${errorMessage(e)}`);
      }
    }
    if (!this.lease) await this.grant();
    this.armExpiry();
    this.schedule();
  }

  private async grant(): Promise<void> {
    const sent = this.now();
    const g = await this.client.leaseGrant(Math.ceil(this.ttlMs / 1000), Math.max(1000, this.ttlMs / 3));
    this.lease = g.id;
    this.lastGoodSend = sent;
    this.expiredFired = false;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.loop = this.beat().finally(() => this.schedule());
    }, this.ttlMs / 5);
  }

  private armExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    this.expiryTimer = setTimeout(() => this.checkExpiry(), Math.max(0, this.validUntil - this.now()) + 1);
  }

  /** Called by the timer, and by anyone about to act (after a pause, timers run late: the clock is asked, not the timer). */
  checkExpiry(): boolean {
    if (this.stopped) return false;
    if (this.now() >= this.validUntil) {
      if (!this.expiredFired) {
        this.expiredFired = true;
        this.log.warn(`no successful etcd keepalive for ${Math.round((this.now() - this.lastGoodSend) / 100) / 10}s (lease_ttl ${this.ttlMs / 1000}s): stopping this node's failover services`);
        this.emit("expired");
      }
      return true;
    }
    this.armExpiry();
    return false;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    this.checkExpiry();
    const sent = this.now();
    try {
      if (!this.lease) await this.grant();
      else {
        const ttl = await this.client.leaseKeepAlive(this.lease, this.ttlMs / 5);
        if (ttl <= 0) {
          const old = this.lease;
          this.lease = undefined;
          this.log.warn(`etcd lease ${old} is gone: this node's keys went with it`);
          this.emit("lost", old);
          await this.grant();
        } else this.lastGoodSend = sent;
      }
      if (this.failures || this.expiredFired) this.log.info(`etcd reached again after ${this.failures} failed keepalive${this.failures === 1 ? "" : "s"}`);
      const wasOut = this.expiredFired || this.failures > 0;
      this.failures = 0;
      this.expiredFired = false;
      this.armExpiry();
      this.emit("renewed", this.validUntil);
      if (wasOut) this.emit("regained");
    } catch (e) {
      this.failures++;
      if (this.failures === 1 || this.failures % 25 === 0) this.log.warn(`etcd keepalive failed (${this.failures}): ${errorMessage(e)}`);
      this.client.preferLocal();
    }
  }

  /** Stop renewing; `revoke` also gives the lease (and every key on it) back at once. */
  async close(revoke: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    await this.loop.catch(() => undefined);
    if (revoke && this.lease) await this.client.leaseRevoke(this.lease, 1000).catch(() => undefined);
  }
}
