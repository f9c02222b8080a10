import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { resolvePaths } from "../util/paths.js";
import { ConfigError, UsageError } from "../util/errors.js";
import { listenUrl, parseListen, resolveListen } from "./listen-config.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-listen-"));
const paths = resolvePaths({ SVCMGR_ROOT: root });
fs.mkdirSync(paths.etc, { recursive: true });
const conf = (text: string) => fs.writeFileSync(path.join(paths.etc, "node.conf"), text);
after(() => fs.rmSync(root, { recursive: true, force: true }));

const why = (text: string): string => {
  const r = parseListen(text);
  return typeof r === "string" ? r : `parsed as ${JSON.stringify(r)}`;
};

void test("ADDR:PORT: v4, [v6], names; bad ones say why", () => {
  assert.deepEqual(parseListen("127.0.0.1:7620"), { host: "127.0.0.1", port: 7620 });
  assert.deepEqual(parseListen("[::1]:7620"), { host: "::1", port: 7620 });
  assert.deepEqual(parseListen("localhost:80"), { host: "localhost", port: 80 });
  assert.match(why("7620"), /not ADDR:PORT/);
  assert.match(why("127.0.0.1:0"), /out of range/);
  assert.match(why("127.0.0.1:70000"), /out of range/);
  assert.match(why("[zz]:1"), /not ADDR:PORT|IPv6/);
  assert.equal(listenUrl({ host: "::1", port: 1 }), "http://[::1]:1/");
});

void test("no node.conf and no flag: no TCP", () => {
  assert.equal(resolveListen(paths, {}), undefined);
});

void test("node.conf [node] listen; the flag wins; other sections are not ours", () => {
  conf("[cluster]\nname = c1\nwhatever = 1\n\n[node]\nlisten = 127.0.0.1:7621\n");
  assert.deepEqual({ ...resolveListen(paths, {}) }, { host: "127.0.0.1", port: 7621, from: `${path.join(paths.etc, "node.conf")}:6` });
  assert.equal(resolveListen(paths, { listen: "127.0.0.1:7622" })?.port, 7622);
});

void test("node.conf problems: FILE:LINE: [node] KEY: message, all of them", () => {
  conf("[node]\nlisten = 127.0.0.1\nlisen = x\ntls_cert = relative.pem\n");
  const file = path.join(paths.etc, "node.conf");
  assert.throws(
    () => resolveListen(paths, {}),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, 2);
      assert.deepEqual(e.message.split("\n"), [
        `${file}:2: [node] listen: "127.0.0.1" is not ADDR:PORT (e.g. 127.0.0.1:7620)`,
        `${file}:3: [node] lisen: unknown keyword (did you mean listen?)`,
        `${file}:4: [node] tls_cert: must be an absolute path`,
      ]);
      return true;
    },
  );
  conf("[node]\nlisten = 127.0.0.1:7620\ntls_cert = /nonexistent/cert.pem\n");
  assert.throws(() => resolveListen(paths, {}), new RegExp(`${file}:3: \\[node\\] tls_cert: needs tls_key too`));
  conf("[node]\nlisten = 127.0.0.1:7620\ntls_cert = /nonexistent/cert.pem\ntls_key = /nonexistent/key.pem\n");
  assert.throws(() => resolveListen(paths, {}), new RegExp(`${file}:3: \\[node\\] tls_cert: cannot read the certificate /nonexistent/cert.pem: ENOENT`));
  fs.rmSync(file);
});

void test("flags: a bad --listen, TLS without --listen or half of it: usage errors", () => {
  assert.throws(() => resolveListen(paths, { listen: "nope" }), (e: unknown) => e instanceof UsageError && /--listen nope: /.test(e.message));
  assert.throws(() => resolveListen(paths, { tlsCert: "/x" }), /need --listen/);
  assert.throws(() => resolveListen(paths, { listen: "127.0.0.1:1", tlsCert: "/x" }), /go together/);
});
