// The agent's keywords and files as an operator meets them without an agent
// running: bad values refused with their line, the daemon commands' exit
// codes, the systemd unit.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { CliRoot } from "./support/cli.js";

describe("the agent's keywords and commands", () => {
  const r = new CliRoot();
  after(() => r.cleanup());

  test("bad restart keywords are config errors naming file, line and keyword; nothing is written", () => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    const text = ["[DEFAULT]", "monitor_interval = 10x", "monitor_action = reboot", "", "[app#1]", "check = /bin/true", "restart = -1", "restart_delay = soon", ""].join("\n");
    fs.writeFileSync(r.file("etc/svc.conf"), text);
    const res = r.run(["-s", "svc", "validate", "config"]);
    assert.equal(res.code, 2);
    assert.deepEqual(res.stderr.trim().split("\n"), [
      'svc.conf:2: [DEFAULT] monitor_interval: not a duration: "10x" (e.g. 30s, 2m)',
      'svc.conf:3: [DEFAULT] monitor_action: "reboot" is not one of none, freezestop',
      "svc.conf:7: [app#1] restart: not an integer",
      'svc.conf:8: [app#1] restart_delay: not a duration: "soon" (e.g. 30s, 2m)',
    ]);
    const start = r.run(["-s", "svc", "start"]);
    assert.equal(start.code, 2, "an invalid config starts nothing");
    assert.ok(!fs.existsSync(r.file("var/svc/intent.json")), "nor records an intent");
  });

  test("monitor_action = switch needs a cluster", () => {
    fs.writeFileSync(r.file("etc/sw.conf"), "[DEFAULT]\nmonitor_action = switch\n");
    const res = r.run(["-s", "sw", "validate", "config"]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /sw\.conf:2: \[DEFAULT\] monitor_action: "switch" needs a cluster/);
  });

  test("daemon status: exit 3 when no agent runs; stop is then a no-op; a bad subcommand is a usage error", () => {
    const st = r.run(["daemon", "status"]);
    assert.equal(st.code, 3);
    assert.equal(st.stdout, "agent not running\n");
    assert.equal(r.run(["daemon", "stop"]).code, 0);
    const bad = r.run(["daemon", "sleep"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /daemon sleep: expected one of run, start, stop, status, restart/);
  });

  test("the systemd unit kills only the agent's process, and verifies", (t) => {
    const unit = fs.readFileSync(path.resolve("contrib/systemd/svcmgr-agent.service"), "utf8");
    assert.match(unit, /^KillMode=process$/m, "stopping the agent never kills the dockerds and containers it started");
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/svcmgr daemon run/m);
    const analyze = spawnSync("systemd-analyze", ["--version"]);
    if (analyze.status !== 0) return t.skip("systemd-analyze not installed: the unit is not verified");
    const copy = r.file("svcmgr-agent.service");
    fs.writeFileSync(copy, unit.replace(/^ExecStart=\/usr\/local\/bin\/svcmgr/m, `ExecStart=${path.resolve("bin/svcmgr.js")}`));
    const v = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stderr.trim(), "");
  });
});
