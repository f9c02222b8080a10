// Concurrency: actions on one service are serialized by its lock and end in
// the state the last one aimed at; concurrent `set`s lose no update; actions
// on different services run side by side.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { CliRoot, type CliResult } from "../support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "../support/docker-fixture.js";
import { findExecutable } from "../../src/util/which.js";
import { containersOf, dockerdPids, filesIntact, ok, recordFigures, setUpService, simpleConfig } from "../support/reliability.js";

const skip = !isRoot() ? "needs root (dockerd, bridges, mounts)" : ["dockerd", "docker", "busybox"].find((p) => !findExecutable(p)) ? "dockerd, docker or busybox missing" : false;

interface LogLine {
  time: string;
  rid?: string;
  msg: string;
}
const jsonLog = (r: CliRoot, svc: string): LogLine[] =>
  fs.existsSync(r.file(`log/${svc}.log`)) ? r.read(`log/${svc}.log`).trim().split("\n").map((l) => JSON.parse(l) as LogLine) : [];

/** What a container line of the log says the action was doing. */
function actionOf(msg: string): "start" | "stop" | undefined {
  if (/already up|wait for container (up status|operational)| start [0-9a-f]{12}$| run -d /.test(msg)) return "start";
  if (/already down|wait for container down status| stop (--time=\d+ )?[0-9a-f]{12}$|container already down|does not exist: already down/.test(msg)) return "stop";
  return undefined;
}

const figures: Record<string, unknown> = {};
after(() => recordFigures("concurrency", figures));

describe("concurrent actions", { skip }, () => {
  const r = new CliRoot("svt-");
  const [one, two] = ["conc1.svc", "conc2.svc"];

  before(async () => {
    await setUpService(r, one, simpleConfig(r.file(`data/${one}`), 3));
    await setUpService(r, two, simpleConfig(r.file(`data/${two}`), 3));
  });
  after(async () => {
    r.run(["-s", `${one},${two}`, "stop", "--parallel"]);
    await cleanupEverything(r.root);
    r.cleanup();
  });

  test("ten concurrent start/stop/print status on one service: serialized, final state = the last action's target", { timeout: 180_000 }, async () => {
    const actions = ["start", "stop", "print_status", "start", "start", "stop", "print_status", "stop", "start", "print_status"];
    const lockFile = r.file(`var/${one}/action.lock`);
    const holders: { pid: number; action: string }[] = [];
    let watching = true;
    // who holds the lock, in order (a lock file holds one owner at a time)
    const watch = (async () => {
      while (watching) {
        try {
          const o = JSON.parse(fs.readFileSync(lockFile, "utf8")) as { pid: number; action: string };
          if (holders.at(-1)?.pid !== o.pid) holders.push({ pid: o.pid, action: o.action });
        } catch {
          // no lock held right now
        }
        await new Promise((res) => setTimeout(res, 3));
      }
    })();
    const logFrom = jsonLog(r, one).length;
    const t0 = Date.now();
    const results: CliResult[] = await Promise.all(actions.map((a) => r.runAsync(["-s", one, a, ...(a === "print_status" ? ["--format", "json"] : [])])));
    const seconds = (Date.now() - t0) / 1000;
    watching = false;
    await watch;
    results.forEach((res, i) => assert.equal(res.code, 0, `${actions[i]}: ${res.stdout}${res.stderr}`));
    for (const [i, res] of results.entries()) if (actions[i] === "print_status") JSON.parse(res.stdout);

    // the holders never interleave: each pid holds the lock once
    const pids = holders.map((h) => h.pid);
    assert.equal(new Set(pids).size, pids.length, `each action holds the lock once: ${JSON.stringify(holders)}`);
    const lines = jsonLog(r, one).slice(logFrom);
    const last = lines.map((l) => (l.rid ? actionOf(l.msg) : undefined)).filter(Boolean).at(-1);
    assert.ok(last, "the log shows what the last action did");
    if (holders.length === actions.filter((a) => a !== "print_status").length) assert.equal(holders.at(-1)!.action, last, "the lock's last holder is the log's last action");

    const rows = await containersOf(r, one);
    const daemons = dockerdPids(r, one);
    if (last === "start") {
      assert.equal(daemons.length, 1);
      assert.ok(rows);
      assert.deepEqual(rows.map((c) => c.name).sort(), [1, 2, 3].map((n) => `${one}.container.${n}`));
      assert.ok(rows.every((c) => c.state === "running"));
    } else {
      assert.deepEqual(daemons, []);
    }
    assert.equal(filesIntact(r, one), undefined);
    const cached = JSON.parse(r.read(`var/${one}/status.json`)) as { avail: string };
    const live = JSON.parse(ok(r.run(["-s", one, "print", "status", "--format", "json"]), "status")) as { avail: string };
    assert.equal(live.avail, last === "start" ? "up" : "down");
    assert.equal(cached.avail, live.avail, "the status cache svcmon reads agrees");
    figures.oneService = { actions: actions.length, lockHoldersSeen: holders.map((h) => h.action), lastAction: last, seconds };
  });

  test("sixteen concurrent set calls lose no update", { timeout: 120_000 }, async () => {
    ok(r.run(["create", "-s", "conc.set"]), "create");
    const kws = Array.from({ length: 16 }, (_, i) => (i % 2 ? `app#${i}.start=/bin/echo ${i}` : `container#${i}.run_image=img${i}`));
    const results = await Promise.all(kws.map((kw) => r.runAsync(["-s", "conc.set", "set", "--kw", kw])));
    results.forEach((res, i) => assert.equal(res.code, 0, `${kws[i]}: ${res.stderr}`));
    const json = JSON.parse(ok(r.run(["-s", "conc.set", "print", "config", "--format", "json"]), "print config")) as Record<string, Record<string, string>>;
    for (const kw of kws) {
      const [path, value] = [kw.slice(0, kw.indexOf("=")), kw.slice(kw.indexOf("=") + 1)];
      const section = path.slice(0, path.lastIndexOf("."));
      const key = path.slice(path.lastIndexOf(".") + 1);
      assert.equal(json[section]?.[key], value, `${kw} survived`);
    }
    figures.concurrentSets = kws.length;
  });

  test("actions on two services run side by side", { timeout: 120_000 }, async () => {
    ok(r.run(["-s", `${one},${two}`, "stop", "--parallel"]), "both down first");
    const spans: Record<string, [number, number]> = {};
    for (const action of ["start", "stop"]) {
      const from = { [one]: jsonLog(r, one).length, [two]: jsonLog(r, two).length };
      const results = await Promise.all([one, two].map((s) => r.runAsync(["-s", s, action])));
      results.forEach((res) => assert.equal(res.code, 0, res.stdout + res.stderr));
      for (const s of [one, two]) {
        const times = jsonLog(r, s).slice(from[s]).map((l) => Date.parse(l.time));
        spans[`${s} ${action}`] = [Math.min(...times), Math.max(...times)];
      }
      const [a, b] = [spans[`${one} ${action}`]!, spans[`${two} ${action}`]!];
      assert.ok(Math.max(a[0], b[0]) < Math.min(a[1], b[1]), `the two ${action}s overlap in time: ${JSON.stringify([a, b])}`);
    }
    figures.sideBySide = Object.fromEntries(Object.entries(spans).map(([k, [a, b]]) => [k, `${b - a} ms`]));
    assert.deepEqual(await leftovers(r.root), { processes: [], bridges: [], mounts: [] });
  });
});
