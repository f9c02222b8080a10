// Real loop devices on sparse files in a temp dir; after() detaches whatever
// is still attached to those files, whatever the tests did.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseServiceConfig } from "../../service/service-config.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { Logger, memorySink, type LogRecord } from "../../util/log.js";
import { resolvePaths } from "../../util/paths.js";
import { ActionError } from "../../util/errors.js";
import type { ResourceDriver } from "../driver.js";
import { parseLosetupJ } from "./loop.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-loop-"));
const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const attached = (file: string): string[] => (fs.existsSync(file) ? parseLosetupJ(sh("losetup", "-j", file)) : []);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function driverFor(body: string, svc = "looptest"): Promise<{ drv: ResourceDriver; records: LogRecord[]; rt: ServiceRuntime }> {
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, `[DEFAULT]\n\n[disk#1]\ntype = loop\n${body}\n`, { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  const records: LogRecord[] = [];
  const rt = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg, new Logger([memorySink(records)], { svc }));
  return { drv: (await rt.drivers()).get("disk#1")!, records, rt };
}
const infos = (records: LogRecord[]): string[] => records.filter((r) => r.level !== "debug").map((r) => r.msg);

describe("disk type loop", { concurrency: false }, () => {
  after(() => {
    const disks = path.join(tmp, "disks");
    for (const f of fs.readdirSync(disks, { recursive: true, encoding: "utf8" }).map((n) => path.join(disks, n))) {
      if (!fs.statSync(f).isFile()) continue;
      for (const dev of attached(f)) {
        try {
          sh("losetup", "-d", dev);
        } catch {
          // already gone
        }
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  fs.mkdirSync(path.join(tmp, "disks"));

  test("losetup -j output", () => {
    assert.deepEqual(parseLosetupJ("/dev/loop3: [2049]:1234 (/srv/a.img)\n/dev/loop12: [2049]:1234 (/srv/a.img)\n"), ["/dev/loop3", "/dev/loop12"]);
    assert.deepEqual(parseLosetupJ(""), []);
  });

  test("provision creates a sparse file once and never overwrites it", async () => {
    const file = path.join(tmp, "disks", "sub", "p.img");
    const { drv, records } = await driverFor(`file = ${file}\nsize = 16m`);
    const before = await drv.status();
    assert.equal(before.status, "down");
    assert.match(before.log[0]?.message ?? "", /does not exist/);
    await assert.rejects(drv.start(), (e: unknown) => e instanceof ActionError && /does not exist: run provision/.test(e.message));
    await drv.provision!();
    const st = fs.statSync(file);
    assert.equal(st.size, 16 * 1024 * 1024);
    assert.ok(st.blocks * 512 < st.size, "sparse");
    assert.ok(infos(records).includes(`truncate -s 16777216 ${file}`));
    fs.writeFileSync(file, "keep me");
    await drv.provision!();
    assert.equal(fs.readFileSync(file, "utf8"), "keep me");
    assert.ok(infos(records).includes(`${file} already exists, left as it is`));

    const nosize = await driverFor(`file = ${path.join(tmp, "disks", "nosize.img")}`);
    await assert.rejects(nosize.drv.provision!(), /size is not set/);
    assert.equal(fs.existsSync(path.join(tmp, "disks", "nosize.img")), false);
  });

  test("start, status, exposed device, stop", async () => {
    const file = path.join(tmp, "disks", "a.img");
    const { drv, records, rt } = await driverFor(`file = ${file}\nsize = 8m`);
    await drv.provision!();
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.exposedDevice!(), undefined);
    assert.equal(await drv.start(), true);
    const devs = attached(file);
    assert.equal(devs.length, 1);
    assert.equal((await drv.status()).status, "up");
    assert.equal(await drv.exposedDevice!(), devs[0]);
    assert.equal(await rt.expandRuntimeRefs("{disk#1.exposed_dev}"), devs[0]);
    assert.equal(await drv.start(), false, "never attached twice");
    assert.equal(attached(file).length, 1);
    assert.equal(await drv.stop(), true);
    assert.deepEqual(attached(file), []);
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.stop(), false);
    assert.deepEqual(infos(records), [
      `truncate -s 8388608 ${file}`,
      `losetup --find --show ${file}`,
      `output:\n${devs[0]}\n`,
      `${file} is already up on ${devs[0]}`,
      `losetup -d ${devs[0]}`,
      `${file} is already down`,
    ]);
  });

  test("an attachment made by somebody else is found, not doubled", async () => {
    const file = path.join(tmp, "disks", "b.img");
    const { drv } = await driverFor(`file = ${file}\nsize = 8m`);
    await drv.provision!();
    const dev = sh("losetup", "--find", "--show", file).trim();
    assert.equal(await drv.start(), false);
    assert.equal(await drv.exposedDevice!(), dev);
    assert.equal(await drv.stop(), true);
    assert.deepEqual(attached(file), []);
  });

  test("a device still open cannot be detached: stop says so", async () => {
    const file = path.join(tmp, "disks", "c.img");
    const { drv } = await driverFor(`file = ${file}\nsize = 8m`);
    await drv.provision!();
    await drv.start();
    const dev = (await drv.exposedDevice!())!;
    const fd = fs.openSync(dev, "r");
    try {
      await assert.rejects(drv.stop(), (e: unknown) => e instanceof ActionError && e.message.includes(`${dev} still attached to ${file}`));
    } finally {
      fs.closeSync(fd);
    }
    // losetup -d left autoclear: the kernel detaches it on the last close
    for (let i = 0; i < 50 && attached(file).length; i++) await sleep(100);
    assert.deepEqual(attached(file), []);
  });
});
