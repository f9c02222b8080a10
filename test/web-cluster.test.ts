/// <reference lib="dom" /> -- the page-side callbacks given to playwright run in the browser
// The dashboard's cluster panel (SPEC §11, §12) in a real browser (Debian's
// chromium, playwright-core) against a real cluster: three svcmgr nodes on one
// loopback etcd (LocalCluster), n1's agent serving the dashboard with --listen.
// The service is an app resource with a flag file per node, so what the page
// says can be checked against what runs where, and the owner's fencing token
// against the owner key in etcd. A plain agent (no [cluster]) shows no panel.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { CliRoot } from "./support/cli.js";
import { ok } from "./support/reliability.js";
import { chromiumMissing, launchChromium, type RealBrowser } from "./support/browser.js";
import { freePort, stopAgent, until } from "./support/web.js";
import { ETCD, LocalCluster, LocalEtcd, agentPidOf } from "./support/etcd-local.js";
import { waitPidGone } from "../src/util/proc.js";

const skip = process.getuid?.() !== 0 ? "needs root" : !fs.existsSync(ETCD) ? "etcd-server missing (/usr/bin/etcd)" : chromiumMissing();
if (skip) console.log(`# skipping the dashboard cluster tests: ${skip}`);

const SHOTS = path.resolve(".test-out/screenshots");

/** What a page logged that went wrong: script errors, console errors, failed requests and answers >= 400. */
interface Trouble {
  errors: string[];
  failed: string[];
}

describe("the dashboard's cluster panel, on a cluster of 3 nodes", { skip }, () => {
  let etcd: LocalEtcd;
  let c: LocalCluster;
  let plain: CliRoot;
  let port = 0;
  let plainPort = 0;
  let url = "";
  let plainUrl = "";
  let token = "";
  let plainToken = "";
  let chrome: RealBrowser | undefined;
  const contexts: BrowserContext[] = [];

  /** A fresh context logged in with a token through the page's form; what goes wrong on the page is collected. */
  async function loggedIn(at: string, tok: string, trouble: Trouble = { errors: [], failed: [] }): Promise<Page> {
    const ctx = await chrome!.browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(ctx);
    await ctx.addInitScript({ content: "globalThis.__name = (f) => f;" }); // tsx's keepNames helper, for our page-side callbacks
    const page = await ctx.newPage();
    page.on("pageerror", (e) => trouble.errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && trouble.errors.push(`console: ${m.text()}`));
    page.on("requestfailed", (req) => !req.url().endsWith("/v1/events") && trouble.failed.push(`${req.method()} ${new URL(req.url()).pathname}: ${req.failure()?.errorText}`));
    page.on("response", (res) => res.status() >= 400 && trouble.failed.push(`${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`));
    await page.goto(at);
    await page.waitForSelector("#login:not([hidden])");
    // the login page's 401s (no session yet) are how it knows to ask: what counts is what comes after
    trouble.errors.splice(0).forEach((e) => assert.match(e, /status of 401/, e));
    trouble.failed.splice(0).forEach((f) => assert.match(f, /^GET \/(v1\/session)? 401$/, f));
    await page.fill("#token", tok);
    await page.press("#token", "Enter");
    await page.waitForSelector("#app:not([hidden])");
    await page.waitForSelector("#conn.live");
    return page;
  }

  const cellOf = (page: Page, svc: string, node: string) => page.locator(`#cluster tr[data-name="${svc}"] td[data-node="${node}"]`);
  const ownerOnPage = (page: Page, svc: string) => page.$$eval(`#cluster tr[data-name="${svc}"] td[data-owner="yes"]`, (tds) => tds.map((td) => `${(td as HTMLElement).dataset.node} ${td.querySelector(".owner")?.textContent}`));

  before(async () => {
    etcd = await LocalEtcd.start("webcl");
    c = new LocalCluster(etcd, "webcl");
    [port, plainPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}/`;
    plainUrl = `http://127.0.0.1:${plainPort}/`;
    const n1 = c.node("n1");
    assert.match(ok(n1.run(["daemon", "start", "--listen", `127.0.0.1:${port}`]), "n1: daemon start --listen"), /dashboard on/);
    await until("n1's node key", async () => (await c.keys("nodes/n1")).length > 0);
    for (const n of ["n2", "n3"]) await c.startAgent(n);
    token = ok(n1.run(["daemon", "token", "create"]), "token create").trim();
    ok(n1.run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "orchestrate=ha", "nodes=n1 n2 n3"])]), "create web");
    for (const n of c.nodeNames) await until(`web.conf on ${n}`, () => fs.existsSync(c.node(n).file("etc/web.conf")), 5000);
    ok(n1.run(["-s", "db", "create", ...c.serviceKw("db", ["topology=failover", "orchestrate=ha", "nodes=n1 n2"])]), "create db");
    ok(n1.run(["-s", "flx", "create", ...c.serviceKw("flx", ["topology=flex", "flex_target=2", "orchestrate=ha", "nodes=n1 n2 n3"])]), "create flx");
    for (const n of c.nodeNames) await until(`the configs on ${n}`, () => ["web", "db", "flx"].every((s) => fs.existsSync(c.node(n).file(`etc/${s}.conf`))), 5000);
    assert.match(ok(n1.run(["-s", "web", "start"]), "start web"), /up on n1/);
    assert.match(ok(n1.run(["-s", "db", "start"]), "start db"), /up on n1/);
    assert.match(ok(n1.run(["-s", "flx", "start"]), "start flx"), /up on n1 .*, n2 /);
    assert.deepEqual([c.upOn("web"), c.upOn("db"), c.upOn("flx")], [["n1"], ["n1"], ["n1", "n2"]]);

    plain = c.adopt(new CliRoot("svcplain-", "solo"));
    fs.mkdirSync(plain.file("etc"), { recursive: true });
    fs.writeFileSync(plain.file("etc/loc.conf"), "[DEFAULT]\nautostart_node = nobody\n\n[app#1]\nstart = /bin/true\ncheck = /bin/false\n");
    ok(plain.run(["daemon", "start", "--listen", `127.0.0.1:${plainPort}`]), "plain agent: daemon start --listen");
    plainToken = ok(plain.run(["daemon", "token", "create"]), "token create (plain)").trim();
    chrome = await launchChromium([port, plainPort]);
  });

  after(async () => {
    for (const x of contexts) await x.close().catch(() => undefined);
    await chrome?.close();
    if (plain) await stopAgent(plain);
    await c?.cleanup();
    await etcd?.stop();
  });

  test("the panel lists the service, a column per node, the owner marked with its fencing token (the owner key's create_revision)", async () => {
    const trouble: Trouble = { errors: [], failed: [] };
    const page = await loggedIn(url, token, trouble);
    await page.waitForSelector('#cluster-view:not([hidden]) #cluster tr[data-name="web"]');
    assert.match((await page.textContent("#cluster-title")) ?? "", new RegExp(`Cluster ${c.name}`));
    assert.deepEqual(await page.$$eval("#cluster thead th", (ths) => ths.map((th) => th.textContent)), ["service", "intent", "n1", "n2", "n3"]);
    const [owner] = await c.owners("web");
    assert.equal(owner?.node, "n1");
    await until("n1 shown as the owner", async () => (await ownerOnPage(page, "web")).length === 1);
    assert.deepEqual(await ownerOnPage(page, "web"), [`n1 owner · ${owner.token}`], "only n1 is the owner, with the token etcd holds");
    assert.match((await cellOf(page, "web", "n1").textContent()) ?? "", /^up/, "n1's view: up");
    for (const n of ["n2", "n3"]) {
      assert.equal(await cellOf(page, "web", n).getByRole("button", { name: `Switch web to ${n}` }).count(), 1, `a switch button on ${n}`);
      assert.match((await cellOf(page, "web", n).textContent()) ?? "", /down/, `${n}'s view: down`);
    }
    assert.equal(await cellOf(page, "web", "n1").locator("button").count(), 0, "no switch button on the owner");
    assert.match((await page.textContent("#cluster-nodes")) ?? "", /n1 \(this node\) up · n2 up · n3 up/);
    // a service of n1 n2 only: no switch to n3
    assert.match((await cellOf(page, "db", "n3").textContent()) ?? "", /not one of its nodes/);
    assert.equal(await cellOf(page, "db", "n3").locator("button").count(), 0, "no switch to a node not in db's nodes");
    assert.equal(await cellOf(page, "db", "n2").locator("button").count(), 1, "db may switch to n2");
    // a flex service: its 2 slot holders marked with their own tokens, no switch anywhere (it is refused for flex)
    assert.match((await page.textContent('#cluster tr[data-name="flx"]')) ?? "", /up · flex ×2/);
    const flx = (await c.owners("flx")).map((o) => `${o.node} owner · ${o.token}`).sort();
    await until("flx's 2 owners shown", async () => (await ownerOnPage(page, "flx")).sort().join() === flx.join());
    assert.equal(flx.length, 2);
    assert.equal(await page.locator('#cluster tr[data-name="flx"] button').count(), 0, "no switch button for a flex service");
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.locator("#cluster-view").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, "dashboard-cluster.png") });
    if (process.env.SVCMGR_SCREENSHOTS === "docs") fs.copyFileSync(path.join(SHOTS, "dashboard-cluster.png"), path.resolve("docs", "dashboard-cluster.png"));
    assert.deepEqual(trouble, { errors: [], failed: [] }, "nothing failed on the page");
  });

  test('"switch here" on n2 moves the service there for real; the page shows n2 as the owner without a reload', async () => {
    const trouble: Trouble = { errors: [], failed: [] };
    const page = await loggedIn(url, token, trouble);
    await page.waitForSelector('#cluster tr[data-name="web"] td[data-owner="yes"]');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const [before] = await c.owners("web");
    assert.equal(before?.node, "n1");
    const t0 = Date.now();
    await cellOf(page, "web", "n2").getByRole("button", { name: "Switch web to n2" }).click();
    await until("the request said on the page", async () => (await page.textContent("#cluster-msg")) === "web: switch to n2 asked of the cluster");
    await until("web up on n2, gone from n1", () => c.upOn("web").join() === "n2", 15_000);
    const moved = Date.now();
    const [after] = await c.owners("web");
    assert.equal(after?.node, "n2", "etcd's owner key is n2's");
    assert.ok(after.token > before.token, `a higher fencing token (${before.token} -> ${after.token})`);
    await until("the page shows n2 as the owner", async () => (await ownerOnPage(page, "web")).join() === `n2 owner · ${after.token}`, 10_000).catch(async (e: unknown) => {
      const api = await page.evaluate(async () => (await fetch("/v1/cluster")).text());
      throw new Error(`${(e as Error).message}: the page shows ${(await ownerOnPage(page, "web")).join() || "no owner"}; /v1/cluster says ${api}`);
    });
    const shown = Date.now();
    console.log(`# switch: up on n2 ${moved - t0} ms after the click; the panel said so ${shown - moved} ms later`);
    await until("n2's view: up", async () => /^up/.test((await cellOf(page, "web", "n2").textContent()) ?? ""), 5000);
    assert.equal(await cellOf(page, "web", "n1").getByRole("button", { name: "Switch web to n1" }).count(), 1, "n1 may now be switched to");
    assert.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, "the same page: no reload");
    assert.deepEqual(c.neverTwo("web"), ["n1", "n2"], "n2 started after n1 stopped");
    assert.deepEqual(trouble, { errors: [], failed: [] }, "nothing failed on the page");
  });

  test("a node whose agent is stopped shows as down, with no switch button", async () => {
    const page = await loggedIn(url, token);
    await page.waitForSelector('#cluster tr[data-name="web"] td[data-node="n3"] button');
    const pid = agentPidOf(c.node("n3"));
    ok(c.node("n3").run(["daemon", "stop"]), "n3: daemon stop");
    assert.ok(pid && (await waitPidGone(pid, 10_000)), "n3's agent is gone");
    // its lease is left for a new agent to adopt: its node key goes when the lease expires (lease_ttl 6 s)
    await until("n3 down on the page", async () => /n3 down/.test((await page.textContent("#cluster-nodes")) ?? ""), 15_000);
    assert.match((await cellOf(page, "web", "n3").textContent()) ?? "", /node down/);
    assert.equal(await cellOf(page, "web", "n3").locator("button").count(), 0, "no switch to a node that is down");
    assert.equal(await page.locator("#cluster thead th", { hasText: "n3" }).getAttribute("class"), "muted");
    assert.match((await page.textContent("#cluster-nodes")) ?? "", /n1 \(this node\) up · n2 up · n3 down/);
    assert.equal(await cellOf(page, "web", "n1").locator("button").count(), 1, "n1 is still up, and may be switched to");
  });

  test("a switch that cannot be sent says so on the page; nothing moves", async () => {
    const page = await loggedIn(url, token);
    const button = cellOf(page, "web", "n1").getByRole("button", { name: "Switch web to n1" });
    await button.waitFor();
    await stopAgent(c.node("n1")); // the page's own agent: the request cannot reach it (the services keep running)
    await page.waitForSelector("#conn.down");
    await button.click();
    await until("the reason on the page", async () => /^web: switch to n1 not done: /.test((await page.textContent("#cluster-msg")) ?? ""));
    assert.equal(await page.getAttribute("#cluster-msg", "class"), "error");
    assert.equal(await button.isEnabled(), true, "it may be tried again");
    ok(c.node("n1").run(["daemon", "start", "--listen", `127.0.0.1:${port}`]), "n1: daemon start again");
    await page.waitForSelector("#conn.live", { timeout: 15_000 });
    assert.deepEqual(c.upOn("web"), ["n2"], "still on n2");
    assert.equal((await c.keys("svc/web/target")).length, 0, "no move asked of the cluster");
  });

  test("a plain agent (no [cluster]): no panel, and no failed request but the expected 404 of /v1/cluster", async () => {
    const trouble: Trouble = { errors: [], failed: [] };
    const page = await loggedIn(plainUrl, plainToken, trouble);
    await page.waitForSelector('#services tr[data-name="loc"]');
    await page.waitForTimeout(500); // anything the page does after its first table
    assert.ok(await page.isHidden("#cluster-view"), "the cluster panel is hidden");
    assert.deepEqual(trouble.failed, ["GET /v1/cluster 404"], "only the cluster's 404");
    // Chromium logs every answer >= 400 on the console; that one only
    assert.ok(trouble.errors.every((e) => /^console: Failed to load resource: the server responded with a status of 404/.test(e)) && trouble.errors.length <= 1, trouble.errors.join("\n"));
  });
});
