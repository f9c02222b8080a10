import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ServiceManager, type ManagerEvent } from "../core/manager.js";
import { resolvePaths } from "../util/paths.js";
import { silentLogger } from "../util/log.js";
import type { ServiceStatus } from "../status/status.js";
import { ServiceMonitor } from "./monitor.js";
import { until } from "../../test/support/web.js";

test("an evaluation begun before an action's status was handed over does not replace it", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svmon-"));
  const file = (f: string): string => path.join(root, f);
  // the check looks at once, then waits while the gate is there: an evaluation that saw "down" is held back
  const check = `/bin/sh -c 'touch ${file("looked")}; test -e ${file("up")}; r=$?; while [ -e ${file("gate")} ]; do sleep 0.02; done; exit $r'`;
  fs.mkdirSync(file("etc"));
  fs.writeFileSync(file("etc/mon1.conf"), ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", "start = /bin/true", "stop = /bin/true", `check = ${check}`, ""].join("\n"));
  const paths = resolvePaths({ SVCMGR_ROOT: root });
  const manager = new ServiceManager({ paths, nodename: "n1", env: {} });
  const events: ManagerEvent[] = [];
  const off = manager.on((e) => events.push(e));
  const monitor = new ServiceMonitor("mon1", { manager, paths, env: {}, log: silentLogger(), now: () => Date.now(), emit: () => undefined });
  t.after(async () => {
    off();
    await monitor.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  await monitor.start();
  assert.equal(monitor.status?.resources[0]?.status, "down");

  fs.writeFileSync(file("gate"), "");
  fs.rmSync(file("looked"), { force: true });
  const stale = monitor.refresh("all");
  await until("the held evaluation looked", () => fs.existsSync(file("looked")));

  // meanwhile an action of the agent ends with app#1 up, and hands its status over
  fs.writeFileSync(file("up"), "");
  const found = monitor.status;
  assert.ok(found);
  const fromAction: ServiceStatus = { ...found, overall: "up", avail: "up", resources: found.resources.map((r) => ({ ...r, status: "up" })) };
  const kept = monitor.adopt(fromAction);
  manager.noteStatus(kept);
  assert.equal(monitor.status?.resources[0]?.status, "up", "the action's status is the monitor's at once");

  fs.rmSync(file("gate"));
  await stale;
  assert.equal(monitor.status?.resources[0]?.status, "up", "the evaluation that saw it down before the action does not bring that back");
  const app1 = events.flatMap((e) => (e.type === "status" && e.rid === "app#1" ? [e.to] : []));
  assert.deepEqual(app1, ["up"], "no event says it went down again");

  // an evaluation begun after the handover is the monitor's as always
  fs.rmSync(file("up"));
  await monitor.refresh("all");
  assert.equal(monitor.status?.resources[0]?.status, "down");
});

test("the end of an action of the agent's own is no reason to look at the whole service again; another process's action is", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svmon-"));
  const file = (f: string): string => path.join(root, f);
  // every look at app#1 (the action's own final one, the monitor's) adds a line
  const check = `/bin/sh -c 'echo >> ${file("looks")}; test -e ${file("up")}'`;
  fs.mkdirSync(file("etc"));
  // monitor_interval: no periodic look during the test
  fs.writeFileSync(file("etc/mon2.conf"), ["[DEFAULT]", "autostart_node = nobody", "monitor_interval = 1h", "", "[app#1]", `start = /bin/touch ${file("up")}`, `stop = /bin/rm -f ${file("up")}`, `check = ${check}`, ""].join("\n"));
  const paths = resolvePaths({ SVCMGR_ROOT: root });
  const manager = new ServiceManager({ paths, nodename: "n1", env: {} });
  const monitor = new ServiceMonitor("mon2", { manager, paths, env: {}, log: silentLogger(), now: () => Date.now(), emit: () => undefined });
  manager.adoptActionStatus = (st) => monitor.adopt(st);
  t.after(async () => {
    await monitor.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const looks = (): number => (fs.existsSync(file("looks")) ? fs.readFileSync(file("looks"), "utf8").length : 0);
  await monitor.start();
  const before = looks();

  const r = await manager.act("mon2", "start", { selection: {}, waitMs: 0 });
  assert.equal(r.ok, true);
  assert.equal(monitor.status?.resources[0]?.status, "up", "the action's status, handed over");
  const afterAction = looks();
  assert.ok(afterAction > before, "the action looked at app#1 itself");
  await new Promise((res) => setTimeout(res, 500)); // the state dir's watch has seen the lock go
  assert.equal(looks(), afterAction, "its lock going away made the monitor look again");

  // the same lock taken and let go by another process: what it did is not known, so the monitor looks
  const lockTs = path.resolve(import.meta.dirname, "../util/lock.ts");
  const lockFile = path.join(root, "var", "mon2", "action.lock");
  const script = `import { acquireLock } from ${JSON.stringify(lockTs)}; const l = await acquireLock(${JSON.stringify(lockFile)}, { action: "stop", waitMs: 0 }); await new Promise((r) => setTimeout(r, 200)); l.release();`;
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
  await until("a look after the other process's action", () => looks() > afterAction);
});
