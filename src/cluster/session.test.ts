// The lease's deadline (SPEC §12): counted from the send time of the last
// successful keepalive, on the monotonic clock, never from when its answer
// came; expiry fires once, a lost lease is replaced, contact again is said.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { LeaseSession, monoMs } from "./session.js";
import type { EtcdClient } from "./etcd.js";
import { Logger } from "../util/log.js";

class FakeEtcd {
  grants = 0;
  keepalives = 0;
  /** what the next keepalives do: answer TTL after `delayMs`, or fail */
  mode: { kind: "ok"; delayMs: number } | { kind: "hang" } | { kind: "gone" } = { kind: "ok", delayMs: 0 };
  leaseGrant(ttl: number) {
    this.grants++;
    return Promise.resolve({ id: String(1000 + this.grants), ttl, header: { clusterId: "1", memberId: "1", revision: 1 } });
  }
  async leaseKeepAlive(_id: string, deadlineMs = 1000): Promise<number> {
    this.keepalives++;
    const m = this.mode;
    if (m.kind === "hang") {
      await sleep(deadlineMs);
      throw new Error("no etcd member answered in time");
    }
    if (m.kind === "gone") return 0;
    await sleep(m.delayMs);
    return 5;
  }
  leaseRevoke() {
    return Promise.resolve();
  }
  preferLocal() {}
}

const session = (etcd: FakeEtcd, ttlMs: number) => new LeaseSession(etcd as unknown as EtcdClient, ttlMs, new Logger([]));

void describe("lease session", () => {
  void test("the deadline is lease_ttl / 2 after the SEND time of the last good keepalive, however late its answer came", async () => {
    const etcd = new FakeEtcd();
    const s = session(etcd, 1000);
    await s.open();
    etcd.mode = { kind: "ok", delayMs: 150 }; // answers come 150 ms after the send
    let renewedAt = 0;
    let until = 0;
    s.on("renewed", (u) => {
      renewedAt = monoMs();
      until = u;
    });
    await sleep(450);
    assert.ok(renewedAt > 0, "a keepalive succeeded");
    // the answer arrived ~150 ms after the send: the deadline is send + 500, so at most ~350 ms after the answer
    assert.ok(until - renewedAt <= 500 - 140, `deadline ${until - renewedAt} ms after the answer: counted from the answer, not the send`);
    assert.ok(s.isValid());
    await s.close(false);
  });

  void test("no answer: expired once, at lease_ttl / 2 after the last good send, and not valid meanwhile; contact again says regained", async () => {
    const etcd = new FakeEtcd();
    const s = session(etcd, 1000);
    await s.open();
    const t0 = monoMs();
    etcd.mode = { kind: "hang" };
    const expired: number[] = [];
    let regained = 0;
    s.on("expired", () => expired.push(monoMs() - t0));
    s.on("regained", () => regained++);
    await sleep(900);
    assert.equal(expired.length, 1, "expired exactly once");
    assert.ok(expired[0]! >= 480 && expired[0]! < 700, `expired ${expired[0]} ms after the grant (its deadline: 500 ms)`);
    assert.equal(s.isValid(), false);
    etcd.mode = { kind: "ok", delayMs: 0 };
    await sleep(700);
    assert.equal(regained, 1);
    assert.equal(s.isValid(), true);
    await s.close(false);
  });

  void test("a lease etcd no longer has is reported lost and replaced by a new grant", async () => {
    const etcd = new FakeEtcd();
    const s = session(etcd, 1000);
    await s.open();
    const first = s.lease;
    const lost: string[] = [];
    s.on("lost", (old) => lost.push(old));
    etcd.mode = { kind: "gone" };
    await sleep(300);
    assert.deepEqual(lost.slice(0, 1), [first]);
    assert.notEqual(s.lease, first);
    etcd.mode = { kind: "ok", delayMs: 0 };
    await s.close(false);
  });

  void test("a paused process (timers late) is told expired by the clock, not by its timers", async () => {
    let fakeNow = 0;
    const etcd = new FakeEtcd();
    const s = new LeaseSession(etcd as unknown as EtcdClient, 10_000, new Logger([]), () => fakeNow);
    await s.open();
    assert.equal(s.isValid(), true);
    fakeNow = 4_999;
    assert.equal(s.isValid(), true);
    fakeNow = 5_000; // as after a SIGSTOP of 5 s: no timer has run yet
    let expired = 0;
    s.on("expired", () => expired++);
    assert.equal(s.checkExpiry(), true);
    assert.equal(s.isValid(), false);
    assert.equal(expired, 1);
    await s.close(false);
  });
});
