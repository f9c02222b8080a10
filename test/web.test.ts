/// <reference lib="dom" /> -- the page-side callbacks given to playwright run in the browser
// The web dashboard (SPEC §11) in a real browser: Debian's chromium driven by
// playwright-core, against an agent started by the CLI with --listen on a
// free loopback port. Real groups (a token of group G sees what the team
// socket of G sees); the services are app resources (a flag file), so no
// Docker is needed. Screenshots go to .test-out/screenshots (and to docs/ with
// SVCMGR_SCREENSHOTS=docs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { spawnSync } from "node:child_process";
import type { BrowserContext, Page } from "playwright-core";
import { CliRoot } from "./support/cli.js";
import { isRoot } from "./support/docker-fixture.js";
import { ok } from "./support/reliability.js";
import { chromiumMissing, launchChromium, type RealBrowser } from "./support/browser.js";
import { agentPid, bearer, cell, flagService, freePort, readEvents, request, rowNames, stopAgent, until, type FlagServiceOptions } from "./support/web.js";
import { findExecutable } from "../src/util/which.js";

const skip = !isRoot() ? "needs root (groups, the agent's files)" : !findExecutable("groupadd") ? "groupadd missing" : chromiumMissing();
if (skip) console.log(`# skipping the dashboard tests: ${skip}`);

const tag = `${process.pid}`;
const G1 = `swg1_${tag}`;
const G2 = `swg2_${tag}`;
const G3 = `swgl_${tag}`;
const LOAD = Array.from({ length: 200 }, (_, i) => `load-${String(i).padStart(3, "0")}`);
const SHOTS = path.resolve(".test-out/screenshots");

describe("the web dashboard", { skip }, () => {
  const r = new CliRoot("sweb-", "web-node");
  const flag = (svc: string, n = 1) => r.file(`flags/${svc}.${n}`);
  const env = { SVCMGR_BOOT_ID_FILE: r.file("boot_id") };
  let port = 0;
  let url = "";
  /** a foreign site's port (localhost:PORT is not the same site as 127.0.0.1:PORT) */
  let evilPort = 0;
  const tokens: Record<"admin" | "g1" | "g2" | "load", string> = { admin: "", g1: "", g2: "", load: "" };
  let chrome: RealBrowser | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  /** the origins the dashboard's pages asked anything of */
  const requested = new Set<string>();

  const app = (svc: string, group: string, opts: FlagServiceOptions = {}) => fs.writeFileSync(r.file(`etc/${svc}.conf`), flagService(group, (n) => flag(svc, n), { ...opts, failing: svc === "app2.dev" ? [2] : [] }));
  const startAgent = () => ok(r.run(["daemon", "start", "--listen", `127.0.0.1:${port}`], { env }), "daemon start --listen");

  /** A fresh context (its own cookies). tsx compiles our page-side callbacks with esbuild's keepNames: its __name helper must exist there. */
  async function newContext(opts: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
    const ctx = await chrome!.browser.newContext(opts);
    contexts.push(ctx);
    await ctx.addInitScript({ content: "globalThis.__name = (f) => f;" });
    return ctx;
  }

  /** A fresh browser context, logged in with a token through the page's form. */
  async function loggedIn(token: string, viewport = { width: 1280, height: 800 }, { visitsElsewhere = false } = {}): Promise<Page> {
    const ctx = await newContext({ viewport });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    if (!visitsElsewhere) page.on("request", (req) => requested.add(new URL(req.url()).origin));
    await page.goto(url);
    await page.fill("#token", token);
    await page.press("#token", "Enter");
    await page.waitForSelector("#app:not([hidden])");
    await page.waitForSelector("#conn.live");
    return page;
  }

  before(async () => {
    for (const g of [G1, G2, G3]) assert.equal(spawnSync("groupadd", [g]).status, 0, `groupadd ${g}`);
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.mkdirSync(r.file("flags"), { recursive: true });
    app("app1.dev", G1, { defaults: ["monitor_interval = 1s"], resource: ["restart = 2", "restart_delay = 100ms"] });
    app("app1.prd", G1);
    app("app2.dev", G1, { apps: 2 }); // its app#2 cannot start: app#1 is rolled back
    app("db1.prd", G2);
    for (const s of LOAD) app(s, G3, { defaults: ["monitor_interval = 1h"] });
    port = await freePort();
    evilPort = await freePort();
    url = `http://127.0.0.1:${port}/`;
    assert.match(startAgent(), new RegExp(`dashboard on ${url.replace(/[.]/g, "\\.")}`));
    const make = (args: string[]) => ok(r.run(["daemon", "token", "create", ...args]), "token create").trim();
    tokens.admin = make(["--ttl", "1d"]);
    tokens.g1 = make(["--group", G1]);
    tokens.g2 = make(["--group", G2]);
    tokens.load = make(["--group", G3]);
    chrome = await launchChromium([port, evilPort]);
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await chrome?.close();
    await stopAgent(r);
    for (const g of [G1, G2, G3]) spawnSync("groupdel", [g]);
    r.cleanup();
  });

  test("no token: 401 and the login page; a bad token is refused; the login sets an HttpOnly, SameSite=Strict session cookie", async () => {
    const page = await request(url);
    assert.equal(page.status, 401);
    assert.match(page.text, /id="login-form"/);
    assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
    const api = await request(`${url}v1/services`);
    assert.equal(api.status, 401);
    assert.match(api.json<{ error: string }>().error, /a token is needed/);
    assert.equal((await request(`${url}v1/services`, { headers: bearer(tokens.admin.slice(0, -1) + "x") })).status, 401, "a forged secret");
    assert.equal((await request(`${url}metrics`)).status, 401);

    const ctx = await newContext();
    const p = await ctx.newPage();
    const res = await p.goto(url);
    assert.equal(res?.status(), 401);
    assert.ok(await p.isVisible("#login-form"));
    await p.fill("#token", "svc_000000000000_" + "A".repeat(43));
    await p.click("#login-form button[type=submit]");
    await p.waitForFunction(() => document.querySelector("#login-error")?.textContent?.includes("not valid"));
    assert.ok(await p.isHidden("#app"));
    await p.fill("#token", tokens.admin);
    await p.click("#login-form button[type=submit]");
    await p.waitForSelector("#services tbody tr");
    const [cookie] = await ctx.cookies();
    assert.equal(cookie?.name, "svcmgr_session");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.ok(!cookie.value.includes(tokens.admin.slice("svc_0123456789ab_".length)), "the cookie is not the token");
    // reloaded, the page is the app at once (200), no second login
    assert.equal((await p.reload())?.status(), 200);
    await p.waitForSelector("#services tbody tr");
    assert.ok(await p.isHidden("#login"));
  });

  test("a CLI start shows on the page within 1 s, measured", async () => {
    const page = await loggedIn(tokens.admin);
    assert.equal(await cell(page, "app1.prd").textContent(), "down");
    // the page's own clock notes when the row says up (same host clock as ours)
    const seen = page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const up = () => document.querySelector('tr[data-name="app1.prd"] td[data-col="overall"]')?.textContent === "up";
          const mo = new MutationObserver(() => up() && (mo.disconnect(), resolve(Date.now())));
          mo.observe(document.querySelector("#services tbody")!, { subtree: true, childList: true, characterData: true });
        }),
    );
    await page.waitForTimeout(100); // the observer is in place
    const t0 = Date.now();
    const res = await r.runAsync(["-s", "app1.prd", "start"]);
    const exited = Date.now();
    assert.equal(res.code, 0, res.stderr);
    assert.ok(fs.existsSync(flag("app1.prd")), "started for real");
    const shown = await Promise.race([seen, new Promise<number>((_, reject) => setTimeout(() => reject(new Error("the page never showed app1.prd up")), 10_000))]);
    console.log(`# CLI start ran ${exited - t0} ms; the page showed app1.prd up ${shown - exited} ms after the CLI exited (${shown - t0} ms after it began)`);
    assert.ok(shown - exited < 1000, `shown ${shown - exited} ms after the CLI exited`);
    // the node events feed says it too
    assert.match((await page.textContent("#events")) ?? "", /app1\.prd.*down → up/);
  });

  test("Stop asks first (Escape cancels, by keyboard), then stops the service for real and shows the action and its command line", async () => {
    // run by the CLI itself (root's start goes to the agent otherwise): the history shows another process's action too
    ok(r.run(["-s", "app1.dev", "start", "--local"]), "start app1.dev");
    const page = await loggedIn(tokens.admin);
    // by keyboard: the filter, then the row's link
    await page.focus("#filter");
    await page.keyboard.type("app1.d");
    assert.deepEqual(await rowNames(page), ["app1.dev"]);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "app1.dev");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#tree tr[data-rid="app#1"]');
    await until("app#1 up on the page", async () => (await page.textContent('#tree tr[data-rid="app#1"] td[data-col="status"]')) === "up");

    await page.focus('#service-view [data-action="stop"]');
    await page.keyboard.press("Enter");
    await page.waitForSelector("#confirm[open]");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Cancel", "the safe choice has the focus");
    assert.match((await page.textContent("#confirm-text")) ?? "", /stops the service app1\.dev/);
    await page.keyboard.press("Escape");
    await page.waitForSelector("#confirm", { state: "hidden" });
    await page.waitForTimeout(500);
    assert.ok(fs.existsSync(flag("app1.dev")), "cancelled: still running");
    assert.equal(await page.locator("#activity .card").count(), 0, "no action was sent");

    await page.click('#service-view [data-action="stop"]');
    await page.click("#confirm-ok");
    const card = page.locator("#activity .card").first();
    await until("the stop's result", async () => ["succeeded", "failed"].includes((await card.getAttribute("data-state")) ?? ""));
    assert.equal(await card.getAttribute("data-state"), "succeeded", (await card.textContent()) ?? "");
    assert.ok(!fs.existsSync(flag("app1.dev")), "stopped for real");
    assert.match((await card.textContent()) ?? "", new RegExp(`/bin/rm -f ${flag("app1.dev").replace(/[.]/g, "\\.")}`), "its command line");
    await until("app#1 down on the page", async () => (await page.textContent('#tree tr[data-rid="app#1"] td[data-col="status"]')) === "down");
    // the last actions: the CLI's own start and the page's stop, with their command lines
    const history = await until("the history", async () => {
      const text = (await page.textContent("#history")) ?? "";
      return /stop by the agent — succeeded/.test(text) && text;
    });
    assert.match(history, /start by pid \d+/);
    assert.match(history, /\/usr\/bin\/touch .*app1\.dev\.1/);
    assert.match((await page.textContent("#log")) ?? "", /APP1\.DEV\.APP#1 \/bin\/rm -f /, "the followed log");
    // the table behind it says it too, and the service stays stopped (its intent is down)
    assert.equal((JSON.parse(r.read("var/app1.dev/intent.json")) as { resources: Record<string, string> }).resources["app#1"], "down");
  });

  test("a failed start shows what failed and what was rolled back", async () => {
    const page = await loggedIn(tokens.admin);
    await page.goto(`${url}#/service/app2.dev`);
    await page.waitForSelector('#tree tr[data-rid="app#2"]');
    await page.click('#service-view [data-action="start"]');
    const card = page.locator("#activity .card").first();
    await until("the start's result", async () => ["succeeded", "failed"].includes((await card.getAttribute("data-state")) ?? ""), 20_000);
    assert.equal(await card.getAttribute("data-state"), "failed");
    const why = (await card.locator(".why").textContent()) ?? "";
    assert.match(why, /start failed: app#2/);
    assert.match(why, /rolled back: app#1/);
    assert.ok(!fs.existsSync(flag("app2.dev", 1)), "app#1 was rolled back for real");
  });

  test("one resource: its Start starts that resource only", async () => {
    const page = await loggedIn(tokens.admin);
    await page.goto(`${url}#/service/app2.dev`);
    await page.click('#tree tr[data-rid="app#1"] button[aria-label="start app#1"]');
    const card = page.locator("#activity .card").first();
    await until("the start's result", async () => (await card.getAttribute("data-state")) === "succeeded");
    assert.match((await card.textContent()) ?? "", /start app#1 app2\.dev/);
    await until("the history names the resource", async () => /start app#1 by the agent — succeeded/.test((await page.textContent("#history")) ?? ""));
    assert.ok(fs.existsSync(flag("app2.dev", 1)), "app#1 up");
    await until("app#1 up on the page", async () => (await page.textContent('#tree tr[data-rid="app#1"] td[data-col="status"]')) === "up");
    assert.equal(await page.textContent('#tree tr[data-rid="app#2"] td[data-col="status"]'), "down", "app#2 left alone");
    // and its Stop asks first
    await page.click('#tree tr[data-rid="app#1"] button[aria-label="stop app#1"]');
    await page.waitForSelector("#confirm[open]");
    await page.click("#confirm-ok");
    await until("app#1 stopped", () => !fs.existsSync(flag("app2.dev", 1)));
  });

  test("freeze and thaw: the frozen flag shows on the table and the service page, live", async () => {
    const page = await loggedIn(tokens.admin);
    const table = await loggedIn(tokens.admin);
    await page.goto(`${url}#/service/db1.prd`);
    await page.click('#service-view [data-action="freeze"]');
    await page.waitForSelector("#svc-frozen:not([hidden])");
    await until("frozen on the other page's table", async () => (await cell(table, "db1.prd", "frozen").textContent()) === "frozen");
    assert.ok(fs.existsSync(r.file("var/db1.prd/frozen")));
    // Restart asks first too; Cancel does nothing
    await page.click('#service-view [data-action="restart"]');
    await page.waitForSelector("#confirm[open]");
    assert.match((await page.textContent("#confirm-text")) ?? "", /stops then starts the service db1\.prd/);
    await page.click('#confirm button[value="cancel"]');
    await page.waitForSelector("#confirm", { state: "hidden" });
    assert.equal(await page.locator("#activity .card").count(), 1, "only the freeze was sent");
    ok(r.run(["-s", "db1.prd", "thaw"]), "thaw by the CLI");
    await until("thawed on the table", async () => (await cell(table, "db1.prd", "frozen").textContent()) === "no");
    await page.waitForSelector("#svc-frozen[hidden]", { state: "attached" });
  });

  test("a group token cannot see or act on another group's service, by the page or by the API", async () => {
    const page = await loggedIn(tokens.g1);
    assert.deepEqual(await rowNames(page), ["app1.dev", "app1.prd", "app2.dev"]);
    assert.match((await page.textContent("#who")) ?? "", new RegExp(`group ${G1}`));
    await page.goto(`${url}#/service/db1.prd`);
    await page.waitForFunction(() => document.querySelector("#svc-title")?.textContent?.includes("no such service"));
    // through the page's own session (cookie and CSRF token): the other group's service does not exist
    const statuses = await page.evaluate(async () => {
      const s = (await (await fetch("/v1/session")).json()) as { csrf: string };
      const post = (p: string) => fetch(p, { method: "POST", headers: { "X-CSRF-Token": s.csrf, "Content-Type": "application/json" }, body: "{}" }).then((x) => x.status);
      return { other: await post("/v1/services/db1.prd/actions/start"), own: await post("/v1/services/app1.prd/actions/start") };
    });
    assert.deepEqual(statuses, { other: 404, own: 202 });
    // the agent's log names the token the page's session was opened with
    const tokenId = /^svc_([0-9a-f]{12})_/.exec(tokens.g1)![1];
    await until("the start in _agent.log", () => r.read("log/_agent.log").includes(`app1.prd: start asked through the web (token ${tokenId}, group ${G1}) (action `));

    const g1 = bearer(tokens.g1);
    assert.deepEqual((await request(`${url}v1/services`, { headers: g1 })).json<{ name: string }[]>().map((s) => s.name), ["app1.dev", "app1.prd", "app2.dev"]);
    for (const p of ["v1/services/db1.prd", "v1/services/db1.prd/config", "v1/services/db1.prd/history", "v1/services/db1.prd/logs"]) {
      const res = await request(`${url}${p}`, { headers: g1 });
      assert.equal(res.status, 404, p);
      assert.deepEqual(res.json(), { error: "no such service: db1.prd" });
    }
    assert.equal((await request(`${url}v1/services/db1.prd/actions/start`, { method: "POST", headers: g1, body: "{}" })).status, 404);
    assert.doesNotMatch((await request(`${url}metrics`, { headers: g1 })).text, /service="db1\.prd"/);
    assert.deepEqual((await request(`${url}v1/services`, { headers: bearer(tokens.g2) })).json<{ name: string }[]>().map((s) => s.name), ["db1.prd"]);
    // its event stream carries its own services' events only
    const stream = readEvents(url, tokens.g1);
    assert.equal(await stream.status, 200);
    ok(r.run(["-s", "db1.prd", "start"]), "start db1.prd");
    ok(r.run(["-s", "app1.dev", "start"]), "start app1.dev");
    await until("an app1.dev event", () => stream.events.some((e) => e.data.service === "app1.dev"));
    await new Promise((res) => setTimeout(res, 300));
    stream.close();
    assert.ok(!stream.events.some((e) => e.data.service === "db1.prd"), "nothing of db1.prd");
    assert.ok(fs.existsSync(flag("db1.prd")), "db1.prd started by root's CLI only");
  });

  test("a forged cross-site POST is refused: a foreign page's form, a foreign Origin, a missing CSRF token", async () => {
    ok(r.run(["-s", "app1.prd", "start"]), "app1.prd up");
    // a page of another site (localhost is not the same site as 127.0.0.1) that posts to the agent as soon as it loads
    const target = `${url}v1/services/app1.prd/actions/stop`;
    const evil = http.createServer((_req, res) => {
      res.setHeader("Content-Type", "text/html");
      res.end(`<form method="POST" action="${target}" enctype="text/plain"><input name='{"a":"' value='"}'></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((res) => evil.listen(evilPort, "127.0.0.1", res));
    try {
      const page = await loggedIn(tokens.admin, undefined, { visitsElsewhere: true });
      const answered = page.waitForResponse((res) => res.url() === target);
      await page.goto(`http://localhost:${evilPort}/`);
      const res = await answered;
      assert.equal(res.status(), 403, await res.text());
      assert.match(await res.text(), /cross-site request refused/);
    } finally {
      evil.close();
    }
    // by hand: a session (cookie and CSRF token of a real login), then forged variants
    const login = await request(`${url}v1/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: tokens.admin }) });
    assert.equal(login.status, 200);
    const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
    assert.match(String(login.headers["set-cookie"]), /HttpOnly/i);
    assert.match(String(login.headers["set-cookie"]), /SameSite=Strict/i);
    const { csrf } = login.json<{ csrf: string }>();
    const post = (headers: Record<string, string>) => request(target, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: "{}" });
    assert.equal((await post({ Cookie: cookie, "X-CSRF-Token": csrf, Origin: "http://evil.example" })).status, 403, "foreign Origin");
    assert.equal((await post({ Cookie: cookie, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site" })).status, 403, "cross-site fetch");
    assert.equal((await post({ Cookie: cookie })).status, 403, "no CSRF token");
    assert.equal((await post({ Cookie: cookie, "X-CSRF-Token": "x".repeat(43) })).status, 403, "a wrong CSRF token");
    assert.equal((await post({ ...bearer(tokens.admin), Origin: "http://evil.example" })).status, 403, "a token from a foreign page");
    assert.equal((await request(`${url}v1/login`, { method: "POST", headers: { "Content-Type": "application/json", Origin: "http://evil.example" }, body: JSON.stringify({ token: tokens.admin }) })).status, 403, "login CSRF");
    assert.ok(fs.existsSync(flag("app1.prd")), "nothing was stopped");
    // the real thing from the same origin works
    assert.equal((await post({ Cookie: cookie, "X-CSRF-Token": csrf, Origin: url.slice(0, -1) })).status, 202);
    await until("app1.prd stopped", () => !fs.existsSync(flag("app1.prd")));
  });

  test("first paint of 200 services is under 1 s", async () => {
    const page = await loggedIn(tokens.load);
    const runs: { painted: number; wall: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await page.goto(url);
      await page.waitForFunction(() => performance.getEntriesByName("svcmgr:painted").length > 0);
      const wall = Date.now() - t0;
      const painted = await page.evaluate(() => performance.getEntriesByName("svcmgr:painted")[0]!.startTime);
      assert.equal((await rowNames(page)).length, 200);
      runs.push({ painted: Math.round(painted), wall });
    }
    const median = [...runs].sort((a, b) => a.painted - b.painted)[1]!;
    console.log(`# 200 services painted ${runs.map((x) => `${x.painted} ms`).join(", ")} after navigation (wall ${runs.map((x) => `${x.wall} ms`).join(", ")})`);
    assert.ok(median.painted < 1000, `median first paint ${median.painted} ms`);
  });

  test("a restart by the agent shows on the page: its counter and the event", async () => {
    const page = await loggedIn(tokens.admin);
    ok(r.run(["-s", "app1.dev", "start"]), "start app1.dev");
    await until("app1.dev up on the page", async () => (await cell(page, "app1.dev").textContent()) === "up");
    fs.rmSync(flag("app1.dev")); // it dies behind everyone's back
    await until("the restart counter", async () => /^1/.test((await page.textContent('tr[data-name="app1.dev"] td.restarts')) ?? ""), 15_000);
    await until("the restart event", async () => /app1\.dev\s*restart 1\/2 of app#1/.test((await page.textContent("#events")) ?? ""));
    await until("app1.dev up again", () => fs.existsSync(flag("app1.dev")));
  });

  test("status is text as well as colour; readable at 1280×800 and at a phone width (390×844)", async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const shots: string[] = [];
    for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const phone = viewport.width < 600;
      const page = await loggedIn(tokens.admin, viewport);
      // something to see: a frozen service, a stop and a start in the events feed
      ok(r.run(["-s", "app1.prd", phone ? "thaw" : "freeze"]), "freeze");
      ok(r.run(["-s", "db1.prd", "stop"]), "stop db1.prd");
      ok(r.run(["-s", "db1.prd", "start"]), "start db1.prd");
      await until("the events", async () => (await page.locator("#events li").count()) >= 4);
      const words = await page.$$eval(".st", (els) => els.map((e) => e.textContent));
      assert.ok(words.length > 200);
      for (const w of new Set(words)) assert.ok(["up", "down", "warn", "n/a", "undef", "stdby up", "stdby down"].includes(w ?? ""), `status word ${w}`);
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= viewport.width, "no sideways scrolling of the page");
      const suffix = phone ? "-phone" : "";
      await page.screenshot({ path: path.join(SHOTS, `dashboard-table${suffix}.png`) });
      // a service page after a failed start: what failed, what was rolled back, the commands, the log
      await page.goto(`${url}#/service/app2.dev`);
      await page.waitForSelector('#tree tr[data-rid="app#2"]');
      await page.click('#service-view [data-action="start"]');
      await page.waitForSelector('#activity .card[data-state="failed"]', { timeout: 20_000 });
      await until("the history", async () => /start by the agent — failed/.test((await page.textContent("#history")) ?? ""));
      await page.click("#history li:first-child summary");
      await page.waitForSelector("#log div");
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= viewport.width, "no sideways scrolling of the service page");
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: path.join(SHOTS, `dashboard-service${suffix}.png`), fullPage: !phone });
      shots.push(`dashboard-table${suffix}.png`, `dashboard-service${suffix}.png`);
    }
    if (process.env.SVCMGR_SCREENSHOTS === "docs") for (const s of shots) fs.copyFileSync(path.join(SHOTS, s), path.resolve("docs", s));
  });

  test("the page follows the agent through a restart: it reconnects by itself and shows what changed meanwhile, without a reload", async () => {
    const page = await loggedIn(tokens.admin);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    assert.equal(await cell(page, "app1.prd").textContent(), "down");
    await stopAgent(r);
    await page.waitForSelector("#conn.down");
    ok(r.run(["-s", "app1.prd", "start"]), "start without the agent");
    startAgent();
    await page.waitForSelector("#conn.live", { timeout: 10_000 });
    await until("app1.prd up on the page", async () => (await cell(page, "app1.prd").textContent()) === "up");
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, "the same page: no reload, no new login");
  });

  test("a revoked token is refused at once: the API, and the page's open session (back to the login)", async () => {
    const page = await loggedIn(tokens.g2);
    const id = tokens.g2.split("_")[1]!;
    assert.match(ok(r.run(["daemon", "token", "list"]), "token list"), new RegExp(`^${id}  ${G2}`, "m"));
    assert.match(ok(r.run(["daemon", "token", "revoke", id]), "revoke"), /revoked/);
    assert.equal((await request(`${url}v1/services`, { headers: bearer(tokens.g2) })).status, 401);
    await page.waitForSelector("#login:not([hidden])", { timeout: 10_000 });
    assert.match((await page.textContent("#login-error")) ?? "", /session ended/);
    assert.doesNotMatch(ok(r.run(["daemon", "token", "list"]), "token list"), new RegExp(id));
  });

  test("login attempts are rate-limited per address; sessions and other addresses go on", async () => {
    const from = "127.0.0.3";
    const tryLogin = (token: string, localAddress = from) => request(`${url}v1/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }), localAddress });
    for (let i = 0; i < 10; i++) assert.equal((await tryLogin(`svc_${"0".repeat(12)}_${"B".repeat(43)}`)).status, 401);
    const blocked = await tryLogin(tokens.admin);
    assert.equal(blocked.status, 429, "even the right token, while blocked");
    assert.ok(Number(blocked.headers["retry-after"]) > 0);
    assert.equal((await request(`${url}v1/services`, { headers: bearer(tokens.admin), localAddress: from })).status, 429, "bearer attempts too");
    assert.equal((await tryLogin(tokens.admin, "127.0.0.1")).status, 200, "another address");
    assert.ok(agentPid(r), "the agent is still there");
    assert.deepEqual(pageErrors, [], "no script error on any page");
    assert.deepEqual([...requested], [url.slice(0, -1)], "no request to any host but the agent");
  });
});
