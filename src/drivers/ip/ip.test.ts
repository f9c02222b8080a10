// Real addresses on a veth pair whose far end lives in a private network
// namespace: the namespace plays "another host on the network".
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
import { choosePrefix, resolveIpv4 } from "./ip.js";

const tag = `sv${(process.pid % 100000).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const ns = `${tag}ns`;
const hostEnd = `${tag}a`; // in our namespace
const peerEnd = `${tag}b`; // in ns: the "other host"
const other1 = `${tag}c`; // a second local interface (veth pair c/d, both here)
const other2 = `${tag}d`;
const net = `10.200.${1 + Math.floor(Math.random() * 250)}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-ip-"));

const sh = (...argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const quiet = (...argv: string[]): void => {
  try {
    sh(...argv);
  } catch {
    // clean-up of something that may not exist
  }
};
const addrsOf = (dev: string): string => sh("ip", "-4", "-o", "addr", "show", "dev", dev);

function driverFor(body: string, svc = "iptest"): { d: Promise<ResourceDriver>; records: LogRecord[] } {
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, `[DEFAULT]\n\n[ip#1]\n${body}\n`, { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  const records: LogRecord[] = [];
  const rt = new ServiceRuntime(resolvePaths({ SVCMGR_ROOT: tmp }), cfg, new Logger([memorySink(records)], { svc }));
  return { d: rt.drivers().then((m) => m.get("ip#1")!), records };
}
const infos = (records: LogRecord[]): string[] => records.filter((r) => r.level !== "debug").map((r) => r.msg);

describe("pure helpers", () => {
  test("default prefix: the device's network, else 32", () => {
    const addrs = [{ local: "198.51.100.1", prefixlen: 24 }, { local: "192.0.2.1", prefixlen: 27 }];
    assert.equal(choosePrefix("192.0.2.5", undefined, addrs), 27);
    assert.equal(choosePrefix("198.51.100.9", undefined, addrs), 24);
    assert.equal(choosePrefix("203.0.113.9", undefined, addrs), 32);
    assert.equal(choosePrefix("203.0.113.9", "255.255.255.0", addrs), 24);
  });
  test("names resolve to IPv4, bad names fail clearly", async () => {
    assert.equal(await resolveIpv4("192.0.2.7"), "192.0.2.7");
    assert.match(await resolveIpv4("localhost"), /^127\./);
    await assert.rejects(resolveIpv4("no-such-host.invalid"), (e: unknown) => e instanceof ActionError && /cannot resolve no-such-host.invalid/.test(e.message));
  });
});

describe("ip on a veth pair", { concurrency: false }, () => {
  before(() => {
    sh("ip", "netns", "add", ns);
    sh("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", peerEnd);
    sh("ip", "link", "set", peerEnd, "netns", ns);
    sh("ip", "link", "set", hostEnd, "up");
    sh("ip", "-n", ns, "link", "set", peerEnd, "up");
    sh("ip", "-n", ns, "addr", "add", `${net}.1/24`, "dev", peerEnd);
    sh("ip", "link", "add", other1, "type", "veth", "peer", "name", other2);
    sh("ip", "link", "set", other1, "up");
  });
  after(() => {
    // Deleting one end of a veth deletes both, and the namespace takes its end along.
    quiet("ip", "netns", "del", ns);
    quiet("ip", "link", "del", hostEnd);
    quiet("ip", "link", "del", other1);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("start, status, stop", async () => {
    const ip = `${net}.10`;
    const { d, records } = driverFor(`ipname = ${ip}\nipdev = ${hostEnd}\nnetmask = 24`);
    const drv = await d;
    assert.equal((await drv.status()).status, "down");
    await drv.preflight!();
    assert.equal(await drv.start(), true);
    assert.match(addrsOf(hostEnd), new RegExp(`inet ${ip.replace(/\./g, "\\.")}/24 `));
    const st = await drv.status();
    assert.equal(st.status, "up");
    assert.equal(st.label, undefined, "the manifest's ipname@ipdev label is kept");
    assert.equal(await drv.start(), false);
    assert.equal(await drv.stop(), true);
    assert.equal((await drv.status()).status, "down");
    assert.equal(await drv.stop(), false);
    assert.doesNotMatch(addrsOf(hostEnd), new RegExp(ip.replace(/\./g, "\\.")));
    const lines = infos(records);
    assert.ok(lines.includes(`checking ${ip} availability`), lines.join("\n"));
    assert.ok(lines.includes(`ip addr add ${ip}/24 dev ${hostEnd}`), lines.join("\n"));
    assert.ok(lines.includes(`arping -U -c 1 -w 1 -i ${hostEnd} -S ${ip} ${ip}`), lines.join("\n"));
    assert.ok(lines.includes(`${ip} is already up on ${hostEnd}`), lines.join("\n"));
    assert.ok(lines.includes(`ip addr del ${ip}/24 dev ${hostEnd}`), lines.join("\n"));
    assert.ok(lines.includes(`${ip} is already down on ${hostEnd}`), lines.join("\n"));
    assert.ok(records.every((r) => r.rid === "ip#1" && r.svc === "iptest"));
  });

  test("the prefix defaults to the device's network, else /32; arping = false skips the announce", async () => {
    sh("ip", "addr", "add", `${net}.2/25`, "dev", hostEnd);
    try {
      const a = driverFor(`ipname = ${net}.11\nipdev = ${hostEnd}\narping = false`);
      const b = driverFor(`ipname = 192.0.2.77\nipdev = ${hostEnd}\narping = false`);
      const [da, db] = [await a.d, await b.d];
      try {
        assert.equal(await da.start(), true);
        assert.equal(await db.start(), true);
        assert.ok(infos(a.records).includes(`ip addr add ${net}.11/25 dev ${hostEnd}`));
        assert.ok(infos(b.records).includes(`ip addr add 192.0.2.77/32 dev ${hostEnd}`));
        assert.ok(!infos(a.records).some((l) => l.startsWith("arping")));
      } finally {
        await da.stop();
        await db.stop();
      }
      assert.doesNotMatch(addrsOf(hostEnd), /\.11\/|192\.0\.2\.77/);
    } finally {
      quiet("ip", "addr", "del", `${net}.2/25`, "dev", hostEnd);
    }
  });

  test("an address another host answers for: preflight refuses before anything is added", async () => {
    const ip = `${net}.1`; // held by the namespace's end
    const { d, records } = driverFor(`ipname = ${ip}\nipdev = ${hostEnd}\nnetmask = 24`);
    const drv = await d;
    assert.equal((await drv.status()).status, "down");
    await assert.rejects(drv.preflight!(), (e: unknown) => e instanceof ActionError && e.message === `${ip} is already in use (answers on ${hostEnd})`);
    assert.ok(!infos(records).some((l) => l.startsWith("ip addr add")));
    assert.doesNotMatch(addrsOf(hostEnd), new RegExp(`${ip.replace(/\./g, "\\.")}/`));
  });

  test("an address held by another interface of this host is in use too", async () => {
    const ip = "198.51.100.40";
    sh("ip", "addr", "add", `${ip}/32`, "dev", other1);
    try {
      const { d, records } = driverFor(`ipname = ${ip}\nipdev = ${hostEnd}`);
      await assert.rejects((await d).preflight!(), (e: unknown) => e instanceof ActionError && e.message === `${ip} is already in use (answers on ${other1})`);
      assert.ok(!infos(records).some((l) => l.startsWith("arping") || l.startsWith("ip addr add")));
    } finally {
      quiet("ip", "addr", "del", `${ip}/32`, "dev", other1);
    }
  });

  test("already on the device: preflight passes and start says so", async () => {
    const ip = `${net}.12`;
    sh("ip", "addr", "add", `${ip}/24`, "dev", hostEnd);
    try {
      const { d, records } = driverFor(`ipname = ${ip}\nipdev = ${hostEnd}`);
      const drv = await d;
      await drv.preflight!();
      assert.equal(await drv.start(), false);
      assert.deepEqual(infos(records), [`checking ${ip} availability`, `${ip} is already up on ${hostEnd}`]);
    } finally {
      quiet("ip", "addr", "del", `${ip}/24`, "dev", hostEnd);
    }
  });

  test("a device that does not exist: down with a message, preflight and start fail clearly", async () => {
    const { d } = driverFor(`ipname = 192.0.2.9\nipdev = ${tag}zz`);
    const drv = await d;
    const st = await drv.status();
    assert.equal(st.status, "down");
    assert.deepEqual(st.log, [{ level: "warn", message: `device ${tag}zz does not exist` }]);
    await assert.rejects(drv.preflight!(), /device .* does not exist: cannot plumb 192\.0\.2\.9/);
    await assert.rejects(drv.start(), /does not exist/);
    assert.equal(await drv.stop(), false);
  });

  test("an unresolvable name is undef with the reason", async () => {
    const { d } = driverFor(`ipname = no-such-host.invalid\nipdev = ${hostEnd}`);
    const st = await (await d).status();
    assert.equal(st.status, "undef");
    assert.match(st.log[0]?.message ?? "", /cannot resolve no-such-host\.invalid/);
  });
});
