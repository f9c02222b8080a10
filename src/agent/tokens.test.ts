import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { resolvePaths } from "../util/paths.js";
import { TokenStore, createToken, listTokens, parseTtl, revokeToken, tokensFile } from "./tokens.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-tokens-"));
const paths = resolvePaths({ SVCMGR_ROOT: root });
after(() => fs.rmSync(root, { recursive: true, force: true }));

void test("a token is shown once and only its hash is kept, in a 0600 file", async () => {
  const { entry, token } = await createToken(paths, { group: "team1" });
  assert.match(token, /^svc_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const text = fs.readFileSync(tokensFile(paths), "utf8");
  assert.ok(!text.includes(token.split("_").slice(2).join("_")), "the secret is not in the file");
  assert.match(text, /"hash": "sha256:[0-9a-f]{64}"/);
  assert.equal(fs.statSync(tokensFile(paths)).mode & 0o777, 0o600);
  const store = new TokenStore(tokensFile(paths));
  assert.equal(store.verify(token)?.id, entry.id);
  assert.equal(store.verify(token)?.group, "team1");
  // the same id with another secret, a truncated token, garbage: refused
  assert.equal(store.verify(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")), undefined);
  assert.equal(store.verify(token.slice(0, -2)), undefined);
  assert.equal(store.verify("Bearer nope"), undefined);
});

void test("the agent's store sees tokens made and revoked after it started, and refuses expired ones", async () => {
  let now = Date.now();
  const store = new TokenStore(tokensFile(paths), () => undefined, () => now);
  const { entry, token } = await createToken(paths, { ttlMs: 60_000 });
  assert.equal(store.verify(token)?.id, entry.id, "made while the store was open");
  now += 61_000;
  assert.equal(store.verify(token), undefined, "expired");
  now -= 61_000;
  assert.equal(await revokeToken(paths, entry.id), true);
  assert.equal(store.verify(token), undefined, "revoked");
  assert.equal(await revokeToken(paths, entry.id), false, "nothing left to revoke");
  assert.ok(!listTokens(paths).some((t) => t.id === entry.id));
});

void test("concurrent creations under the lock lose none", async () => {
  const made = await Promise.all(Array.from({ length: 10 }, () => createToken(paths, {})));
  const ids = new Set(listTokens(paths).map((t) => t.id));
  for (const m of made) assert.ok(ids.has(m.entry.id));
});

void test("a broken tokens file refuses every token (fail closed) and says so", async () => {
  const { token } = await createToken(paths, {});
  const warnings: string[] = [];
  const store = new TokenStore(tokensFile(paths), (m) => warnings.push(m));
  assert.ok(store.verify(token));
  fs.writeFileSync(tokensFile(paths), "{ not json");
  assert.equal(store.verify(token), undefined);
  assert.match(warnings.join("\n"), /tokens\.json: not JSON/);
  assert.throws(() => listTokens(paths), /tokens\.json: not JSON/);
  fs.rmSync(tokensFile(paths));
});

void test("--ttl takes 30d, 12h, 90m, 3600s, 2w and refuses the rest", () => {
  assert.equal(parseTtl("30d"), 30 * 86_400_000);
  assert.equal(parseTtl("12h"), 12 * 3_600_000);
  assert.equal(parseTtl("2w"), 14 * 86_400_000);
  for (const bad of ["", "30", "1y", "-1d", "0d", "1.5h"]) assert.throws(() => parseTtl(bad), /--ttl/);
});
