// The agent's TCP listener from the command line and node.conf (SPEC §11):
// HTTPS with a certificate of our own, the session cookie made Secure there,
// tokens made while the agent is stopped, and bad input refused with exit 2
// and a message naming the file and line (no stack trace).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { CliRoot } from "./support/cli.js";
import { isRoot } from "./support/docker-fixture.js";
import { ok } from "./support/reliability.js";
import { bearer, freePort, request, stopAgent } from "./support/web.js";
import { findExecutable } from "../src/util/which.js";

const skip = !isRoot() ? "needs root (the agent's files)" : !findExecutable("openssl") ? "openssl missing" : false;
if (skip) console.log(`# skipping the dashboard TLS tests: ${skip}`);

describe("the dashboard's listener: TLS, node.conf, tokens on the command line", { skip }, () => {
  const r = new CliRoot("swebtls-", "tls-node");
  const env = { SVCMGR_BOOT_ID_FILE: r.file("boot_id") };
  const nodeConf = r.file("etc/node.conf");
  let port = 0;
  let cert: Buffer;
  /** made before any agent ran */
  let early = "";

  before(async () => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.mkdirSync(r.file("tls"));
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", r.file("tls/key.pem"), "-out", r.file("tls/cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
    assert.equal(made.status, 0, made.stderr);
    cert = fs.readFileSync(r.file("tls/cert.pem"));
    fs.writeFileSync(r.file("etc/web1.conf"), ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", `start = /usr/bin/touch ${r.file("web1.flag")}`, `stop = /bin/rm -f ${r.file("web1.flag")}`, `check = /usr/bin/test -e ${r.file("web1.flag")}`, ""].join("\n"));
    port = await freePort();
  });

  after(async () => {
    await stopAgent(r);
    r.cleanup();
  });

  test("token create|list|revoke work with the agent stopped; bad input is exit 2 with a clear message", () => {
    const made = r.run(["daemon", "token", "create", "--ttl", "2h"]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^svc_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$/, "the token alone on stdout");
    early = made.stdout.trim();
    assert.match(made.stderr, /shown this once/);
    assert.equal(fs.statSync(r.file("var/_agent/tokens.json")).mode & 0o777, 0o600);
    const list = JSON.parse(ok(r.run(["daemon", "token", "list", "--format", "json"]), "token list")) as Record<string, unknown>[];
    assert.equal(list.length, 1);
    assert.ok(!("hash" in list[0]!), "the hash is not printed");
    assert.equal(list[0]!.expired, false);
    const cases: [string[], RegExp][] = [
      [["daemon", "token", "create", "--group", "no_such_group_x"], /--group no_such_group_x: no such group/],
      [["daemon", "token", "create", "--ttl", "1y"], /--ttl 1y: expected a duration/],
      [["daemon", "token", "revoke", "0123456789ab"], /no such token: 0123456789ab/],
      [["daemon", "token", "frob"], /daemon token frob: expected one of create, list, revoke/],
      [["daemon", "run", "--listen", "127.0.0.1"], /--listen 127\.0\.0\.1: "127\.0\.0\.1" is not ADDR:PORT/],
      [["daemon", "start", "now"], /daemon start: unexpected argument now/],
      [["daemon", "start", "--tls-cert", "/x.pem"], /--tls-cert and --tls-key need --listen/],
      [["daemon", "start", "--listen", `127.0.0.1:${port}`, "--tls-cert", r.file("tls/key.pem"), "--tls-key", r.file("tls/key.pem")], /not a usable certificate and key/],
    ];
    for (const [args, re] of cases) {
      const res = r.run(args, { env });
      assert.equal(res.code, 2, `${args.join(" ")}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, re);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    }
    assert.equal(r.run(["daemon", "status"]).code, 3, "nothing was started");
  });

  test("node.conf problems stop `daemon start` with FILE:LINE: [node] KEY: message, exit 2", () => {
    fs.writeFileSync(nodeConf, ["[node]", `listen = 127.0.0.1:${port}`, "tls_crt = /x", ""].join("\n"));
    const res = r.run(["daemon", "start"], { env });
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.equal(res.stderr, `${nodeConf}:3: [node] tls_crt: unknown keyword (did you mean tls_cert?)\n`);
    assert.equal(r.run(["daemon", "status"]).code, 3, "nothing was started");
  });

  test("HTTPS from node.conf: the page and the API over TLS, a Secure __Host- cookie, HSTS; plain HTTP gets nothing", async () => {
    fs.writeFileSync(nodeConf, ["[other]", "name = ignored-here", "", "[node]", `listen = 127.0.0.1:${port}`, `tls_cert = ${r.file("tls/cert.pem")}`, `tls_key = ${r.file("tls/key.pem")}`, ""].join("\n"));
    const started = ok(r.run(["daemon", "start"], { env }), "daemon start");
    const url = `https://127.0.0.1:${port}/`;
    assert.match(started, new RegExp(`dashboard on ${url.replace(/[.]/g, "\\.")}`));
    const token = ok(r.run(["daemon", "token", "create"]), "token create").trim();

    const page = await request(url, { ca: cert });
    assert.equal(page.status, 401);
    assert.match(page.text, /id="login-form"/);
    assert.match(String(page.headers["strict-transport-security"]), /max-age=\d+/);
    const login = await request(`${url}v1/login`, { method: "POST", ca: cert, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
    assert.equal(login.status, 200, login.text);
    const setCookie = String(login.headers["set-cookie"]);
    assert.match(setCookie, /^__Host-svcmgr_session=/);
    for (const attr of [/; Secure/i, /; HttpOnly/i, /; SameSite=Strict/i, /; Path=\//]) assert.match(setCookie, attr);
    const cookie = setCookie.split(";")[0]!;
    assert.equal((await request(url, { ca: cert, headers: { Cookie: cookie } })).status, 200, "the page with the session");
    const services = await request(`${url}v1/services`, { ca: cert, headers: bearer(token) });
    assert.deepEqual(services.json<{ name: string }[]>().map((s) => s.name), ["web1"]);
    // the token made before the agent ever ran works too
    assert.equal((await request(`${url}v1/services/web1`, { ca: cert, headers: bearer(early) })).status, 200);
    // an unencrypted client is not answered as if it were fine
    const plain = await request(`http://127.0.0.1:${port}/v1/services`, { headers: bearer(token) }).catch((e: Error) => e);
    assert.ok(plain instanceof Error || plain.status === 400, `plain HTTP: ${plain instanceof Error ? plain.message : plain.status}`);
    // an untrusted certificate is refused by a client that checks
    await assert.rejects(request(url), /self[- ]signed|certificate/i);
  });
});
