// The executor, rollback, mass actions, boot and the status cache, on app
// resources (plain commands): fast, and no docker needed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { CliRoot } from "./support/cli.js";

describe("a service of app resources", () => {
  const r = new CliRoot();
  const state = (n: number) => r.file(`app${n}.up`);
  // a tiny "application": start creates a marker file, stop removes it, check tests it
  const app = (n: number, extra: string[] = []) => [
    `[app#${n}]`,
    `start = touch ${state(n)}`,
    `stop = rm -f ${state(n)}`,
    `check = test -e ${state(n)}`,
    ...extra,
    "",
  ];
  const write = (svc: string, lines: string[]) => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(r.file(`etc/${svc}.conf`), ["[DEFAULT]", "service_type = DEV", "", ...lines].join("\n"));
  };
  before(() => {
    write("web", [...app(1), ...app(2, ["subset = b"]), ...app(10, ["subset = b"]), ...app(3, ["subset = a", "tags = db"])]);
  });
  after(() => r.cleanup());

  test("start runs loose resources, then subsets in order, natural rid order inside", () => {
    const res = r.run(["-s", "web", "start"]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const order = [...res.stdout.matchAll(/WEB\.(APP#\d+) +touch /g)].map((m) => m[1]);
    assert.deepEqual(order, ["APP#1", "APP#3", "APP#2", "APP#10"]);
    for (const n of [1, 2, 3, 10]) assert.ok(fs.existsSync(state(n)));
  });

  test("a second start leaves what is up alone and says so", () => {
    const res = r.run(["-s", "web", "start"]);
    assert.equal(res.code, 0);
    assert.doesNotMatch(res.stdout, / touch /);
    assert.equal((res.stdout.match(/already up/g) ?? []).length, 4);
  });

  test("print status and svcmon read the cache written by the action", () => {
    const tree = r.run(["-s", "web", "print", "status"]).stdout;
    assert.match(tree, /^overall                   up$/m);
    assert.match(tree, /\|  \|- app#1          \.\.\.\. up       touch /);
    const cache = JSON.parse(r.read("var/web/status.json")) as { overall: string };
    assert.equal(cache.overall, "up");
    const mon = r.run([], { as: "svcmon" }).stdout.split("\n")[3]!.split(/\s+/);
    assert.deepEqual(mon, ["web", "DEV", "hosted", "n/a", "n/a", "n/a", "n/a", "n/a", "up", "n/a", "n/a", "up", "up", "False"]);
  });

  test("stop --tags, then the tree is warn; stop is the reverse order", () => {
    assert.equal(r.run(["-s", "web", "stop", "--tags", "db"]).code, 0);
    assert.ok(!fs.existsSync(state(3)));
    assert.match(r.run(["-s", "web", "print", "status"]).stdout, /^overall                   warn$/m);
    const res = r.run(["-s", "web", "stop"]);
    assert.deepEqual([...res.stdout.matchAll(/WEB\.(APP#\d+) +rm /g)].map((m) => m[1]), ["APP#10", "APP#2", "APP#1"]);
  });

  test("a failed start rolls back what this start brought up, keeps what was up, exits 1", () => {
    fs.appendFileSync(r.file("etc/web.conf"), ["[app#20]", "start = false", "check = false", "subset = c", ""].join("\n"));
    assert.equal(r.run(["-s", "web", "start", "--rid", "app#1"]).code, 0);
    const res = r.run(["-s", "web", "start"]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /start failed: app#20: false exited 1; rolled back: app#10, app#2, app#3/);
    assert.ok(fs.existsSync(state(1)), "app#1 was up before: it stays up");
    for (const n of [2, 3, 10]) assert.ok(!fs.existsSync(state(n)), `app#${n} rolled back`);
    const kept = r.run(["-s", "web", "start", "--disable-rollback"]);
    assert.equal(kept.code, 1);
    assert.doesNotMatch(kept.stdout, /rolled back/);
    for (const n of [2, 3, 10]) assert.ok(fs.existsSync(state(n)), `app#${n} kept up`);
  });

  test("an optional resource's failure does not fail the start", () => {
    r.run(["-s", "web", "set", "--kw", "app#20.optional=true"]);
    const res = r.run(["-s", "web", "start"]);
    assert.equal(res.code, 0, res.stdout);
    assert.match(res.stdout, /WARNING APP#20|WEB\.APP#20 +optional resource failed to start/);
    assert.match(r.run(["-s", "web", "print", "status"]).stdout, /^\|- avail                  up$/m);
    r.run(["-s", "web", "delete", "--rid", "app#20"]);
  });

  test("mass actions: --status selects by state, frozen services are skipped, boot starts autostart services", () => {
    write("api", app(5));
    write("batch", [...app(6)]);
    fs.appendFileSync(r.file("etc/batch.conf"), "\n");
    r.run(["-s", "batch", "set", "--kw", "DEFAULT.autostart_node=othernode"]);
    assert.equal(r.run(["-s", "api", "freeze"]).code, 0);
    const boot = r.run(["boot"]);
    assert.equal(boot.code, 0, boot.stdout + boot.stderr);
    assert.ok(!fs.existsSync(state(5)), "a frozen service does not boot");
    assert.ok(!fs.existsSync(state(6)), "a service of another node does not boot");
    r.run(["-s", "api", "thaw"]);
    assert.equal(r.run(["boot"]).code, 0);
    assert.ok(fs.existsSync(state(5)));
    const stop = r.run(["stop"], { as: "allupservices" });
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!fs.existsSync(state(5)) && !fs.existsSync(state(1)), "every up service stopped");
    assert.equal(r.run(["--all", "start", "--parallel"]).code, 0);
    assert.ok([1, 5, 6].every((n) => fs.existsSync(state(n))));
  });

  test("logs shows the actions' lines", () => {
    const res = r.run(["-s", "web", "logs", "--lines", "3"]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^\d\d:\d\d:\d\d INFO    WEB/m);
  });

  test("delete is refused while a resource is up", () => {
    const res = r.run(["-s", "api", "delete"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /refusing to delete while app#5 is up/);
    assert.equal(r.run(["-s", "api", "stop"]).code, 0);
    assert.equal(r.run(["-s", "api", "delete"]).code, 0);
    assert.ok(!fs.existsSync(r.file("etc/api.conf")) && !fs.existsSync(r.file("bin/api")) && !fs.existsSync(r.file("var/api")));
  });

  test("svcmon --watch redraws in place until interrupted", async () => {
    const child = spawn(process.execPath, [path.resolve("bin/svcmon.js"), "--watch", "--interval", "0.5"], { env: r.env });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((res) => setTimeout(res, 2500));
    child.kill("SIGINT");
    const code = await new Promise((res) => child.on("close", res));
    assert.equal(code, 0);
    assert.ok(out.split("\u001b[H\u001b[2J").length >= 3, "at least two frames");
    assert.match(out, /web +DEV +hosted/);
  });

  test("a second action waits for the lock, then fails clearly", async () => {
    fs.appendFileSync(r.file("etc/web.conf"), ["[app#30]", "start = sleep 3", "subset = z", ""].join("\n"));
    r.run(["-s", "web", "stop"]);
    const slow = r.runAsync(["-s", "web", "start"]);
    await new Promise((res) => setTimeout(res, 1000));
    const t0 = Date.now();
    const busy = r.run(["-s", "web", "stop", "--waitlock", "1"]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /service is busy: pid \d+ \(start since .*waited 1s \(--waitlock\)/);
    assert.ok(Date.now() - t0 >= 1000);
    assert.equal((await slow).code, 0);
  });
  test("a print status begun during an action and ending after it does not replace the action's final status", async () => {
    const marker = r.file("race.up");
    const slow = r.file("race.slow");
    const seen = r.file("race.seen");
    // the check looks at the marker first, then (while race.slow exists) says so and takes 1.5 s to answer
    write("race", ["[app#1]", `start = touch ${marker}`, `stop = rm -f ${marker}`, `check = sh -c 'test -e ${marker}; r=$?; [ -e ${slow} ] && touch ${seen} && sleep 1.5; exit $r'`, ""]);
    fs.writeFileSync(slow, "");
    const printing = r.runAsync(["-s", "race", "print", "status", "--format", "json"]);
    for (let i = 0; i < 500 && !fs.existsSync(seen); i++) await new Promise((res) => setTimeout(res, 10));
    assert.ok(fs.existsSync(seen), "the print's check began");
    fs.rmSync(slow);
    assert.equal(r.run(["-s", "race", "start"]).code, 0);
    const cache = (): { avail: string } => JSON.parse(r.read("var/race/status.json")) as { avail: string };
    assert.equal(cache().avail, "up", "the start's final status");
    const printed = await printing;
    assert.equal((JSON.parse(printed.stdout) as { avail: string }).avail, "down", "the print itself shows what it saw");
    assert.equal(cache().avail, "up", "the older evaluation did not overwrite the cache");
    assert.match(r.run([], { as: "svcmon" }).stdout, /^race .* up +up +False$/m);
    assert.equal(r.run(["-s", "race", "stop"]).code, 0);
  });
});
