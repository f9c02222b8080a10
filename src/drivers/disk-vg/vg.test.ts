// A real volume group on a loop device. LVM is pointed (LVM_SYSTEM_DIR) at a
// private lvm.conf that only sees our loop device and keeps its metadata
// backups in the temp dir, so the host's LVM is neither scanned nor touched.
// Without device-mapper no LV can be created or activated: an LV is then
// written into the metadata directly (vgcfgrestore) so activation can be tried.
import { test, describe, before, after } from "node:test";
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
import { jsonRows, lvStateOf } from "./vg.js";

const tag = `${(process.pid % 100000).toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
const vg = `svt${tag}`;
const node = `node-${tag}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-vg-"));
const hasLvm = ["/usr/sbin/vgcreate", "/sbin/vgcreate"].some((p) => fs.existsSync(p));
// Not /dev/mapper/control: libdevmapper creates that node even when the kernel has no driver behind it.
const hasDm = /device-mapper/.test(fs.readFileSync("/proc/misc", "utf8"));
const hadDevMapper = fs.existsSync("/dev/mapper");
const saved = { LVM_SYSTEM_DIR: process.env.LVM_SYSTEM_DIR, SVCMGR_NODENAME: process.env.SVCMGR_NODENAME };
let loop: string | undefined;
let lvCreatedBy: "lvcreate" | "metadata" | undefined;

const sh = (...argv: string[]): string =>
  execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LVM_SUPPRESS_FD_WARNINGS: "1" } });
const quiet = (...argv: string[]): void => {
  try {
    sh(...argv);
  } catch {
    // clean-up of something that may not exist
  }
};
const vgTags = (): string => sh("vgs", "--noheadings", "-o", "vg_tags", vg).trim();

async function driverFor(name = vg, svc = "vgtest"): Promise<{ drv: ResourceDriver; records: LogRecord[] }> {
  // The tutorials' legacy form: [vg#1] vgname = ...
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, `[DEFAULT]\n\n[vg#1]\nvgname = ${name}\n`, { nodename: node, varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  const records: LogRecord[] = [];
  const rt = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg, new Logger([memorySink(records)], { svc }));
  return { drv: (await rt.drivers()).get("vg#1")!, records };
}
const infos = (records: LogRecord[]): string[] => records.filter((r) => r.level !== "debug").map((r) => r.msg);

/** Add a 2-extent linear LV to the VG's metadata without device-mapper. */
function injectLv(name: string): void {
  const meta = path.join(tmp, "meta.vg");
  sh("vgcfgbackup", "-f", meta, vg);
  let text = fs.readFileSync(meta, "utf8");
  const seq = /seqno = (\d+)/.exec(text);
  assert.ok(seq, "seqno in metadata");
  text = text.replace(seq[0], `seqno = ${Number(seq[1]) + 1}`);
  const lv = `
\tlogical_volumes {
\t\t${name} {
\t\t\tid = "svcmgr-test-0000-0000-0000-0000-000001"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = []
\t\t\tsegment_count = 1
\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 2
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = ["pv0", 0]
\t\t\t}
\t\t}
\t}
`;
  const end = text.trimEnd().lastIndexOf("}");
  fs.writeFileSync(meta, `${text.slice(0, end)}${lv}}\n`);
  sh("vgcfgrestore", "-f", meta, vg);
}

describe("lvm report parsing", () => {
  test("json rows and LV states", () => {
    const out = '  {\n "report": [ { "lv": [ {"lv_name":"a", "lv_active":"active", "lv_attr":"-wi-a-----"}, {"lv_name":"b", "lv_active":"", "lv_attr":"-wi-XX----"}, {"lv_name":"c", "lv_active":"", "lv_attr":"-wi-------"} ] } ] }';
    assert.deepEqual(jsonRows(out, "lv").map(lvStateOf), [
      { name: "a", active: true, unknown: false },
      { name: "b", active: false, unknown: true },
      { name: "c", active: false, unknown: false },
    ]);
    assert.deepEqual(jsonRows('{"report":[{"vg":[]}]}', "vg"), []);
  });
});

describe("disk type vg", { concurrency: false, skip: hasLvm ? false : "lvm2 is not installed" }, () => {
  before(() => {
    const file = path.join(tmp, "pv.img");
    fs.writeFileSync(file, "");
    fs.truncateSync(file, 64 * 1024 * 1024);
    loop = sh("losetup", "--find", "--show", file).trim();
    const lvmDir = path.join(tmp, "lvm");
    fs.mkdirSync(lvmDir);
    fs.writeFileSync(
      path.join(lvmDir, "lvm.conf"),
      `devices {\n  filter = [ "a|^${loop}$|", "r|.*|" ]\n  use_devicesfile = 0\n}\n` +
        `backup {\n  backup = 1\n  backup_dir = "${lvmDir}/backup"\n  archive = 0\n  archive_dir = "${lvmDir}/archive"\n}\n`,
    );
    process.env.LVM_SYSTEM_DIR = lvmDir;
    process.env.SVCMGR_NODENAME = node;
    sh("pvcreate", loop);
    sh("vgcreate", vg, loop);
  });
  after(() => {
    quiet("vgremove", "-f", vg);
    if (loop) {
      quiet("pvremove", "-ff", "-y", loop);
      quiet("losetup", "-d", loop);
    }
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    // lvm leaves a dead /dev/mapper/control behind on a kernel without device-mapper
    if (!hadDevMapper && !hasDm) fs.rmSync("/dev/mapper", { recursive: true, force: true });
  });

  test("a volume group that does not exist: down, and start says so", async () => {
    const { drv } = await driverFor(`${vg}x`);
    const st = await drv.status();
    assert.equal(st.status, "down");
    assert.deepEqual(st.log, [{ level: "warn", message: `volume group ${vg}x not found` }]);
    await assert.rejects(drv.start(), (e: unknown) => e instanceof ActionError && e.message.startsWith(`volume group ${vg}x not found`));
    assert.equal(await drv.stop(), false);
  });

  test("start tags with @nodename then activates; stop deactivates then untags (no LV yet)", async () => {
    const { drv, records } = await driverFor();
    const st0 = await drv.status();
    assert.equal(st0.status, "down");
    assert.equal(st0.label, undefined, "label: the vg name, from the manifest");
    assert.equal(await drv.start(), true);
    assert.equal(vgTags(), node);
    assert.equal((await drv.status()).status, "up");
    assert.equal(await drv.start(), false);
    assert.equal(await drv.stop(), true);
    assert.equal(vgTags(), "");
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.stop(), false);
    const cmds = infos(records).filter((l) => !l.startsWith("output:"));
    assert.deepEqual(cmds, [`vgchange --addtag @${node} ${vg}`, `vgchange -a y ${vg}`, `${vg} is already up`, `vgchange --deltag @${node} ${vg}`, `${vg} is already down`]);
    assert.ok(infos(records).some((l) => /successfully changed/.test(l)), "lvm's output is logged");
  });

  test("a logical volume can be created (lvcreate, else written into the metadata)", async (t) => {
    try {
      sh("lvcreate", "-an", "-Zn", "-n", "lv1", "-l", "2", vg);
      lvCreatedBy = "lvcreate";
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      t.diagnostic(`lvcreate failed (${/device-mapper/.test(msg) ? "no device-mapper" : msg.split("\n")[0]}): writing the LV into the metadata`);
      injectLv("lv1");
      lvCreatedBy = "metadata";
    }
    const { drv } = await driverFor();
    const st = await drv.status();
    assert.equal(st.status, "down");
    assert.match(sh("lvs", "--noheadings", "-o", "lv_name", vg), /lv1/);
  });

  test("tagged with inactive LVs is warn, saying why", async () => {
    assert.ok(lvCreatedBy, "needs the LV of the previous test");
    sh("vgchange", "--addtag", `@${node}`, vg);
    try {
      const { drv } = await driverFor();
      const st = await drv.status();
      assert.equal(st.status, "warn");
      assert.ok(st.log.some((l) => l.level === "warn" && l.message === `tagged @${node} but 0/1 logical volumes active`), JSON.stringify(st.log));
    } finally {
      sh("vgchange", "--deltag", `@${node}`, vg);
    }
  });

  test("without device-mapper, start fails quoting lvm and leaves the VG untagged", { skip: hasDm ? "this kernel has device-mapper: activation works, see the next test" : false }, async (t) => {
    assert.ok(lvCreatedBy, "needs the LV of the previous test");
    const { drv, records } = await driverFor();
    await assert.rejects(drv.start(), (e: unknown) => {
      assert.ok(e instanceof ActionError);
      assert.match(e.message, new RegExp(`^cannot activate volume group ${vg} \\(the kernel has no usable device-mapper`));
      assert.match(e.message, new RegExp(`vgchange -a y ${vg} exited \\d+: .*device-mapper`));
      t.diagnostic(e.message);
      return true;
    });
    assert.equal(vgTags(), "", "the tag added by the failed start is removed");
    const cmds = infos(records).filter((l) => !l.startsWith("output:"));
    assert.deepEqual(cmds, [`vgchange --addtag @${node} ${vg}`, `vgchange -a y ${vg}`, `vgchange --deltag @${node} ${vg}`]);
    const st = await drv.status();
    assert.equal(st.status, "down");
    assert.ok(st.log.some((l) => /activation state unknown for lv1/.test(l.message)), JSON.stringify(st.log));
  });

  test("with device-mapper, start activates the LVs and stop deactivates them", { skip: hasDm ? false : "this kernel has no device-mapper (not in /proc/misc): logical volumes cannot be activated" }, async () => {
    assert.ok(lvCreatedBy, "needs the LV of the previous test");
    const { drv } = await driverFor();
    try {
      assert.equal(await drv.start(), true);
      assert.equal((await drv.status()).status, "up");
      assert.match(sh("lvs", "--noheadings", "-o", "lv_active", vg), /active/);
    } finally {
      assert.equal(await drv.stop(), true);
    }
    assert.equal((await drv.status()).status, "down");
    assert.equal(vgTags(), "");
  });
});
