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
