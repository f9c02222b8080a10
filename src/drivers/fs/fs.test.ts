// ext4 on real loop devices given by loop disk resources ({disk#N.exposed_dev}),
// mounted in a temp dir. after() lazily unmounts everything under that dir,
// detaches the loop devices and kills the test's helper process, whatever failed.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseServiceConfig } from "../../service/service-config.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { Logger, memorySink, type LogRecord } from "../../util/log.js";
import { resolvePaths } from "../../util/paths.js";
import { ActionError } from "../../util/errors.js";
import type { ResourceDriver } from "../driver.js";
import { readMountInfo } from "../../util/mountinfo.js";
import { blockMajMin } from "./fs.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-fs-"));
const mnt = path.join(tmp, "mnt");
const other = path.join(tmp, "other");
const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const quiet = (...argv: string[]): void => {
  try {
    sh(...argv);
  } catch {
    // clean-up of something that may not exist
  }
};
const mountsUnder = (dir: string): string[] =>
  readMountInfo()
    .map((m) => m.mountPoint)
    .filter((m) => m === dir || m.startsWith(`${dir}/`));

const conf = `[DEFAULT]

[disk#1]
type = loop
file = ${tmp}/d1.img
size = 32m

[disk#2]
type = loop
file = ${tmp}/d2.img
size = 32m

[disk#3]
type = loop
file = ${tmp}/d3.img
size = 8m

[fs#1]
type = ext4
dev = {disk#1.exposed_dev}
mnt = ${mnt}
mnt_opt = rw,noatime
mkfs_opt = -q -L svcmgr1

[fs#2]
type = ext4
dev = {disk#2.exposed_dev}
mnt = ${mnt}/sub

[fs#3]
type = ext4
dev = {disk#3.exposed_dev}
mnt = ${other}
`;

const records: LogRecord[] = [];
const cfg = parseServiceConfig("fstest", `${tmp}/etc/fstest.conf`, conf, { nodename: "node1", varDir: `${tmp}/var/fstest`, etcDir: `${tmp}/etc` });
const rt = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg, new Logger([memorySink(records)], { svc: "fstest" }));
const drv = async (rid: string): Promise<ResourceDriver> => (await rt.drivers()).get(rid)!;
const lines = (rid: string): string[] => records.filter((r) => r.rid === rid && r.level !== "debug" && !r.msg.startsWith("output:")).map((r) => r.msg);
let helper: ChildProcess | undefined;

describe("block devices", () => {
  test("a character device is no block device", () => {
    assert.equal(blockMajMin("/dev/null"), undefined);
  });
});

describe("fs on loop devices", { concurrency: false }, () => {
  before(async () => {
    assert.deepEqual(cfg.problems, []);
    for (const rid of ["disk#1", "disk#2", "disk#3"]) {
      const d = await drv(rid);
      await d.provision!();
      await d.start();
    }
    records.length = 0;
  });
  after(() => {
    if (helper?.exitCode === null) helper.kill("SIGKILL");
    for (const m of mountsUnder(tmp).sort().reverse()) quiet("umount", "-l", m);
    for (const f of ["d1.img", "d2.img", "d3.img"]) {
      const file = path.join(tmp, f);
      if (!fs.existsSync(file)) continue;
      for (const line of sh("losetup", "-j", file).split("\n")) {
        const dev = /^(\/dev\/loop\d+):/.exec(line)?.[1];
        if (dev) quiet("losetup", "-d", dev);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("the disk down: the fs is down, start fails naming the disk", async () => {
    const cfg2 = parseServiceConfig("fstest2", `${tmp}/etc/fstest2.conf`, `[disk#1]\ntype = loop\nfile = ${tmp}/none.img\n\n[fs#1]\ntype = ext4\ndev = {disk#1.exposed_dev}\nmnt = ${tmp}/none\n`, { nodename: "node1", varDir: `${tmp}/var/fstest2`, etcDir: `${tmp}/etc` });
    const rt2 = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg2, new Logger([]));
    const f = (await rt2.drivers()).get("fs#1")!;
    const st = await f.status();
    assert.equal(st.status, "down");
    assert.match(st.log[0]?.message ?? "", /disk#1 exposes no device/);
    await assert.rejects(f.start(), /disk#1 exposes no device/);
    assert.equal(await f.stop(), false);
    assert.equal(fs.existsSync(`${tmp}/none`), false);
  });

  test("provision makes the filesystem once, only where blkid finds none", async () => {
    const f1 = await drv("fs#1");
    const dev = await rt.expandRuntimeRefs("{disk#1.exposed_dev}");
    await f1.provision!();
    await f1.provision!();
    await (await drv("fs#2")).provision!();
    assert.match(sh("blkid", "-p", "-o", "export", dev), /^TYPE=ext4$/m);
    assert.match(sh("blkid", "-p", "-o", "export", dev), /^LABEL=svcmgr1$/m, "mkfs_opt is used");
    assert.deepEqual(lines("fs#1"), [`mkfs.ext4 -q -L svcmgr1 ${dev}`, `${dev} already has a ext4 filesystem, left as it is`]);
  });

  test("nested filesystems: start in order, stop in reverse", async () => {
    records.length = 0;
    const [f1, f2] = [await drv("fs#1"), await drv("fs#2")];
    const [d1, d2] = [await rt.expandRuntimeRefs("{disk#1.exposed_dev}"), await rt.expandRuntimeRefs("{disk#2.exposed_dev}")];
    const st0 = await f1.status();
    assert.equal(st0.status, "down");
    assert.equal(st0.label, `${d1}@${mnt}`);
    assert.equal(await f1.start(), true);
    assert.equal(await f2.start(), true);
    assert.deepEqual(mountsUnder(mnt), [mnt, `${mnt}/sub`]);
    assert.equal((await f1.status()).status, "up");
    assert.equal((await f2.status()).status, "up");
    assert.equal(await f1.start(), false);

    // the parent cannot go first: the error says what is in the way
    await assert.rejects(f1.stop(), (e: unknown) => e instanceof ActionError && e.message.startsWith(`umount ${mnt}: target is busy`) && e.message.includes(`mounted below it: ${mnt}/sub`));
    assert.equal(await f2.stop(), true);
    assert.equal(await f1.stop(), true);
    assert.deepEqual(mountsUnder(mnt), []);
    assert.equal((await f1.status()).status, "down");
    assert.equal(await f1.stop(), false);

    assert.deepEqual(lines("fs#1"), [
      `mkdir -p ${mnt}`,
      `e2fsck -p ${d1}`,
      `mount -t ext4 -o rw,noatime ${d1} ${mnt}`,
      `fs(${d1} ${mnt}) is already mounted`,
      `umount ${mnt}`, // refused: fs#2 below
      `umount ${mnt}`,
      `fs(${d1} ${mnt}) is already umounted`,
    ]);
    assert.deepEqual(lines("fs#2"), [`mkdir -p ${mnt}/sub`, `e2fsck -p ${d2}`, `mount -t ext4 ${d2} ${mnt}/sub`, `umount ${mnt}/sub`]);
  });

  test("a busy umount names the process keeping it busy", async () => {
    const f1 = await drv("fs#1");
    assert.equal(await f1.start(), true);
    helper = spawn("sleep", ["300"], { cwd: mnt, stdio: "ignore" });
    await new Promise((r) => helper!.once("spawn", r));
    await assert.rejects(f1.stop(), (e: unknown) => {
      assert.ok(e instanceof ActionError);
      assert.match(e.message, new RegExp(`^umount ${mnt}: target is busy: used by sleep \\(pid ${helper!.pid}, cwd ${mnt}\\)`));
      return true;
    });
    assert.equal((await f1.status()).status, "up");
    helper.kill("SIGKILL");
    await new Promise((r) => (helper!.exitCode === null && helper!.signalCode === null ? helper!.once("exit", r) : r(null)));
    assert.equal(await f1.stop(), true);
  });

  test("another device on the mount point: warn, and start will not mount over it", async () => {
    fs.mkdirSync(other, { recursive: true });
    sh("mount", "-t", "tmpfs", "-o", "size=1m", "svcmgrtest", other);
    try {
      const f3 = await drv("fs#3");
      const st = await f3.status();
      assert.equal(st.status, "warn");
      assert.match(st.log[0]?.message ?? "", new RegExp(`^${other} has svcmgrtest \\(tmpfs\\) mounted, not /dev/loop\\d+$`));
      await assert.rejects(f3.start(), /already has svcmgrtest mounted: not mounting/);
      assert.equal(await f3.stop(), false, "somebody else's mount is left alone");
      assert.deepEqual(mountsUnder(other), [other]);
    } finally {
      quiet("umount", other);
    }
  });

  test("a filesystem that does not check clean is not mounted", async () => {
    // disk#3 was never formatted: e2fsck finds no superblock
    const f3 = await drv("fs#3");
    const d3 = await rt.expandRuntimeRefs("{disk#3.exposed_dev}");
    await assert.rejects(f3.start(), (e: unknown) => e instanceof ActionError && e.message.startsWith(`e2fsck -p ${d3} exited 8, not mounting:`) && e.message.includes(`repair by hand: e2fsck ${d3}`));
    assert.deepEqual(mountsUnder(other), []);
    assert.equal((await f3.status()).status, "down");
  });
});
