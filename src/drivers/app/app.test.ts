// app resources driving a small script in a temp dir.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseServiceConfig } from "../../service/service-config.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { Logger, memorySink, type LogRecord } from "../../util/log.js";
import { resolvePaths } from "../../util/paths.js";
import { ActionError } from "../../util/errors.js";
import type { ResourceDriver } from "../driver.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-app-"));
const script = path.join(tmp, "app.sh");
fs.writeFileSync(
  script,
  `#!/bin/sh
state="${tmp}/state"
case "$1" in
start) echo "starting $SVCMGR_SVCNAME $SVCMGR_RID"; touch "$state" ;;
stop) rm -f "$state" ;;
check) [ -f "$state" ] ;;
weird) exit 3 ;;
fail) for i in 1 2 3 4 5 6 7 8; do echo "line $i"; done; echo "cannot bind port 8080" >&2; exit 2 ;;
esac
`,
  { mode: 0o755 },
);

async function driverFor(body: string, svc = "apptest"): Promise<{ drv: ResourceDriver; records: LogRecord[] }> {
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, `[DEFAULT]\n\n[app#1]\n${body}\n`, { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  const records: LogRecord[] = [];
  const rt = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg, new Logger([memorySink(records)], { svc }));
  return { drv: (await rt.drivers()).get("app#1")!, records };
}
const infos = (records: LogRecord[]): string[] => records.filter((r) => r.level !== "debug").map((r) => r.msg);

describe("app", { concurrency: false }, () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("start, check, stop; already up/down left alone; the service and rid in the environment", async () => {
    const { drv, records } = await driverFor(`start = ${script} start\nstop = ${script} stop\ncheck = ${script} check`);
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.start(), true);
    assert.equal((await drv.status()).status, "up");
    assert.equal(await drv.start(), false);
    assert.equal(await drv.stop(), true);
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.stop(), false);
    assert.deepEqual(infos(records), [
      `${script} start`,
      "output:\nstarting apptest app#1\n",
      `already up (${script} check exited 0)`,
      `${script} stop`,
      `already down (${script} check exited 1)`,
    ]);
    assert.ok(records.some((r) => r.level === "debug" && r.msg === `${script} check`), "checks are logged at debug level");
  });

  test("a check exiting neither 0 nor 1 is warn; without check the status is n/a", async () => {
    const weird = await driverFor(`check = ${script} weird`);
    const st = await weird.drv.status();
    assert.equal(st.status, "warn");
    assert.deepEqual(st.log, [{ level: "warn", message: `check ${script} weird exited 3` }]);
    const none = await driverFor(`start = ${script} start\nstop = ${script} stop`);
    assert.equal((await none.drv.status()).status, "n/a");
    // nothing tells it is up: start and stop always run
    assert.equal(await none.drv.start(), true);
    assert.equal(await none.drv.start(), true);
    assert.equal(await none.drv.stop(), true);
    const nostop = await driverFor(`check = ${script} check`);
    assert.equal(await nostop.drv.stop(), false);
  });

  test("a failing start is an error quoting the end of its output", async () => {
    const { drv } = await driverFor(`start = ${script} fail`);
    await assert.rejects(drv.start(), (e: unknown) => {
      assert.ok(e instanceof ActionError);
      assert.equal(e.message, `${script} fail exited 2: line 5\nline 6\nline 7\nline 8\ncannot bind port 8080`);
      return true;
    });
  });

  test("no shell: ; $(...) and backticks reach the program literally", async () => {
    const cmd = `/bin/echo $(touch ${tmp}/x) ; touch ${tmp}/y && \`touch ${tmp}/z\` | cat > ${tmp}/w`;
    const { drv, records } = await driverFor(`start = ${cmd}`);
    assert.equal(await drv.start(), true);
    for (const f of ["x", "y", "z", "w"]) assert.equal(fs.existsSync(path.join(tmp, f)), false, `${f} must not exist`);
    assert.ok(infos(records).includes(`output:\n$(touch ${tmp}/x) ; touch ${tmp}/y && \`touch ${tmp}/z\` | cat > ${tmp}/w\n`), infos(records).join("\n"));
  });

  test("a shell when asked for one, quotes kept by the word splitting", async () => {
    const out = path.join(tmp, "rid");
    const { drv } = await driverFor(`start = sh -c 'echo "$SVCMGR_RID of $SVCMGR_SVCNAME" > ${out}'`);
    assert.equal(await drv.start(), true);
    assert.equal(fs.readFileSync(out, "utf8"), "app#1 of apptest\n");
  });

  test("a command running past the timeout fails saying so", async () => {
    const { drv } = await driverFor(`start = sleep 30\ntimeout = 500ms`);
    const t0 = Date.now();
    await assert.rejects(drv.start(), (e: unknown) => e instanceof ActionError && e.message.startsWith("sleep 30 timed out after 0.5s"));
    assert.ok(Date.now() - t0 < 10_000);
  });

  test("a missing program and a bad quote are clear errors", async () => {
    const missing = await driverFor(`start = ${tmp}/nope arg`);
    await assert.rejects(missing.drv.start(), (e: unknown) => e instanceof ActionError && e.message.startsWith(`${tmp}/nope arg exited 127`) && /ENOENT/.test(e.message));
    // an unterminated quote never reaches an action: the config is refused with its line
    const cfg = parseServiceConfig("apptest", `${tmp}/etc/apptest.conf`, `[app#1]\nstart = echo 'oops\ncheck = echo "half\n`, { nodename: "node1", varDir: tmp, etcDir: tmp });
    assert.deepEqual(cfg.problems.map((p) => [p.line, p.key, p.message]), [
      [2, "start", "unterminated ' quote"],
      [3, "check", 'unterminated " quote'],
    ]);
  });
});
