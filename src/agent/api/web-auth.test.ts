import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { AttemptLimiter, SessionSigner } from "./web-auth.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-session-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

void test("a session cookie is signed: altered, expired or from another key, it is no session", () => {
  const signer = SessionSigner.open(dir);
  assert.equal(fs.statSync(path.join(dir, "session.key")).mode & 0o777, 0o600);
  const now = Date.now();
  const cookie = signer.make("0123456789ab", now + 60_000);
  assert.deepEqual(signer.read(cookie, now), { tokenId: "0123456789ab", expires: Math.floor((now + 60_000) / 1000) * 1000 });
  assert.equal(signer.read(cookie.replace("0123456789ab", "0123456789ac"), now), undefined, "another token id");
  assert.equal(signer.read(cookie, now + 61_000), undefined, "expired");
  assert.equal(signer.read(cookie.slice(0, -1) + (cookie.endsWith("A") ? "B" : "A"), now), undefined, "bad mac");
  assert.equal(signer.read(undefined), undefined);
  // the same key after a restart: sessions survive it
  assert.ok(SessionSigner.open(dir).read(cookie, now));
  const other = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-session-"));
  assert.equal(SessionSigner.open(other).read(cookie, now), undefined, "another node's key");
  fs.rmSync(other, { recursive: true, force: true });
});

void test("the CSRF token belongs to its session", () => {
  const signer = SessionSigner.open(dir);
  const a = signer.make("0123456789ab", Date.now() + 60_000);
  const b = signer.make("0123456789ab", Date.now() + 60_000);
  assert.ok(signer.checkCsrf(a, signer.csrf(a)));
  assert.ok(!signer.checkCsrf(a, signer.csrf(b)), "another session's");
  assert.ok(!signer.checkCsrf(a, undefined));
  assert.ok(!signer.checkCsrf(a, ""));
});

void test("failed attempts: blocked after the limit, per address, free again after the window", () => {
  let now = 0;
  const l = new AttemptLimiter(3, 60_000, () => now, 100);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfter("a"), 0);
    l.fail("a");
  }
  assert.equal(l.retryAfter("a"), 60);
  assert.equal(l.retryAfter("b"), 0, "another address");
  now = 30_000;
  assert.equal(l.retryAfter("a"), 30);
  now = 60_001;
  assert.equal(l.retryAfter("a"), 0);
  // bounded: a flood of addresses keeps at most maxKeys
  for (let i = 0; i < 1000; i++) l.fail(`x${i}`);
  assert.ok((l as unknown as { failures: Map<string, unknown> }).failures.size <= 101);
});
