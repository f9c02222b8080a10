// Faults: the private daemon killed in the middle of a start, a full or
// read-only data filesystem, a container that never becomes healthy. Each
// start fails clearly (exit 1, the cause named), rolls back, and leaves
// nothing for the test's own clean-up to find.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { CliRoot, LAUNCHER } from "../support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "../support/docker-fixture.js";
import { findExecutable } from "../../src/util/which.js";
import { readMountInfo } from "../../src/util/mountinfo.js";
import { complexConfig, containerSection, daemonPidFromFile, dockerdPids, nextBridgeCidr, ok, recordFigures, setUpService, shimsOf, simpleConfig } from "../support/reliability.js";

const skip = !isRoot() ? "needs root (dockerd, bridges, mounts)" : ["dockerd", "docker", "busybox"].find((p) => !findExecutable(p)) ? "dockerd, docker or busybox missing" : false;

interface LogLine {
  time: string;
  level: number;
  rid?: string;
  msg: string;
}
const jsonLog = (r: CliRoot, svc: string): LogLine[] =>
  fs.existsSync(r.file(`log/${svc}.log`)) ? r.read(`log/${svc}.log`).trim().split("\n").map((l) => JSON.parse(l) as LogLine) : [];

const figures: Record<string, unknown> = {};
after(() => recordFigures("faults", figures));

/** Nothing of the service runs, no bridge, no mount but the ones the test made itself. */
async function nothingLeft(r: CliRoot, svc: string, ownMounts: string[] = []): Promise<void> {
  assert.deepEqual(dockerdPids(r, svc), [], "no dockerd");
  assert.deepEqual(shimsOf(r, svc), [], "no container (shim) of a dead daemon");
  const left = await leftovers(r.root);
  assert.deepEqual({ ...left, mounts: left.mounts.filter((m) => !ownMounts.includes(m)) }, { processes: [], bridges: [], mounts: [] });
}

describe("the private daemon dies in the middle of a start", { skip }, () => {
  const r = new CliRoot("svt-");
  const svc = "busybox.opensvc.com";
  before(async () => setUpService(r, svc, complexConfig(r.file(`data/${svc}`))));
  after(async () => {
    await cleanupEverything(r.root);
    r.cleanup();
  });

  test("SIGKILL to dockerd while the app servers start: exit 1, the cause named, all rolled back, nothing left", { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [LAUNCHER, "-s", svc, "start"], { env: r.env });
    let out = "";
    let killed: number | undefined;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      // container#1 is up and the parallel subset has begun: kill the daemon under it
      if (killed === undefined && /CONTAINER#[2-5] docker -H \S+ (run|start) /.test(out)) {
        killed = daemonPidFromFile(r, svc);
        if (killed !== undefined) process.kill(killed, "SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    assert.ok(killed, `the daemon was killed mid-start:\n${out}`);
    assert.equal(code, 1, out);
    assert.match(out, /start failed: container#[2-5]: the docker daemon is no longer running \(/, "names the resource that failed and the cause");
    assert.match(out, /rolled back: .*container#1/, "what this start brought up is rolled back");
    assert.doesNotMatch(out, /CONTAINER#[67] docker/, "the web servers are never touched");
    await nothingLeft(r, svc);
    const status = JSON.parse(ok(r.run(["-s", svc, "print", "status", "--format", "json"]), "status")) as { avail: string };
    assert.equal(status.avail, "down");
    figures.daemonKilledMidStart = { exit: code, failure: /start failed: [^\n]*/.exec(out)?.[0] };
    // and the service starts again as if nothing happened
    ok(r.run(["-s", svc, "start"]), "start after the fault");
    ok(r.run(["-s", svc, "stop"]), "stop");
    await nothingLeft(r, svc);
  });
});

describe("the data dir's filesystem is full, then read-only", { skip }, () => {
  const r = new CliRoot("svt-");
  const svc = "full.svc";
  const data = r.file(`data/${svc}`);
  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0711", "tmpfs", data], { encoding: "utf8" });
    assert.equal(m.status, 0, m.stderr);
    await setUpService(r, svc, simpleConfig(data, 2));
  });
  after(async () => {
    try {
      spawnSync("umount", [data]);
    } finally {
      await cleanupEverything(r.root);
      r.cleanup();
    }
  });

  test("full: the start fails with 'no space left on device' and leaves nothing running", { timeout: 120_000 }, async () => {
    const filler = `${data}/filler`;
    const dd = spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M"], { encoding: "utf8" });
    assert.match(dd.stderr, /No space left on device/);
    const t0 = Date.now();
    const res = r.run(["-s", svc, "start"]);
    const ms = Date.now() - t0;
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout + res.stderr, /no space left on device/i);
    assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    await nothingLeft(r, svc, [data]);
    figures.fullDataDir = { exit: res.code, ms, error: /start failed: [\s\S]*/.exec(res.stdout)?.[0]?.slice(0, 600) };
    fs.rmSync(filler);
    ok(r.run(["-s", svc, "start"]), "start once there is room again");
    ok(r.run(["-s", svc, "stop"]), "stop");
    await nothingLeft(r, svc, [data]);
  });

  test("read-only: the start fails with 'read-only file system' and leaves nothing running", { timeout: 120_000 }, async () => {
    const ro = spawnSync("mount", ["-o", "remount,ro", data], { encoding: "utf8" });
    assert.equal(ro.status, 0, ro.stderr);
    assert.ok(readMountInfo().some((m) => m.mountPoint === data));
    try {
      const res = r.run(["-s", svc, "start"]);
      assert.equal(res.code, 1, res.stdout + res.stderr);
      assert.match(res.stdout + res.stderr, /read-only file system/i);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
      await nothingLeft(r, svc, [data]);
      figures.readOnlyDataDir = { exit: res.code, error: /start failed: [\s\S]*/.exec(res.stdout)?.[0]?.slice(0, 600) };
    } finally {
      spawnSync("mount", ["-o", "remount,rw", data]);
    }
    ok(r.run(["-s", svc, "start"]), "start once writable again");
    ok(r.run(["-s", svc, "stop"]), "stop");
  });
});

describe("a container that never becomes healthy", { skip }, () => {
  const r = new CliRoot("svt-");
  const svc = "health.svc";
  before(async () => {
    const config = [
      "[DEFAULT]",
      `docker_data_dir = ${r.file(`data/${svc}`)}`,
      `docker_bridge_cidr = ${nextBridgeCidr()}`,
      "",
      // failing checks inside the start period do not count: health stays "starting" for ever
      ...containerSection(1, { args: "--init --health-cmd false --health-interval 1s --health-retries 1 --health-start-period 10m", extra: ["start_timeout = 5s"] }),
      // the same check without a start period: unhealthy after its first failure
      ...containerSection(2, { args: "--init --health-cmd false --health-interval 1s --health-retries 1", extra: ["start_timeout = 5s"] }),
    ].join("\n");
    await setUpService(r, svc, config);
  });
  after(async () => {
    await cleanupEverything(r.root);
    r.cleanup();
  });

  /** Seconds from the rid's "wait for container up status" to its error. */
  function waited(from: number, rid: string): number {
    const lines = jsonLog(r, svc).slice(from).filter((l) => l.rid === rid);
    const begin = lines.find((l) => l.msg === "wait for container up status");
    const error = lines.find((l) => l.level >= 50);
    assert.ok(begin && error, JSON.stringify(lines));
    return (Date.parse(error.time) - Date.parse(begin.time)) / 1000;
  }

  test("never healthy, start_timeout = 5s: the start fails after 5 s, not before, not never", { timeout: 60_000 }, async () => {
    const from = jsonLog(r, svc).length;
    const t0 = Date.now();
    const res = r.run(["-s", svc, "start", "--rid", "container#1"]);
    const total = (Date.now() - t0) / 1000;
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /container#1: container not healthy after start_timeout \(5s\): health starting/);
    const w = waited(from, "container#1");
    assert.ok(w >= 5 && w <= 12, `failed ${w} s after the container started (want 5 to 12)`);
    assert.ok(total >= 5 && total <= 20, `the whole start took ${total} s`);
    assert.match(res.stdout, /rolled back: container#1/, "the unhealthy container is stopped again");
    await nothingLeft(r, svc);
    figures.neverHealthy = { waitedSeconds: w, commandSeconds: total };
  });

  test("turns unhealthy: the start fails as soon as docker says so, well before start_timeout", { timeout: 60_000 }, async () => {
    const from = jsonLog(r, svc).length;
    const res = r.run(["-s", svc, "start", "--rid", "container#2"]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /container#2: container turned unhealthy/);
    const w = waited(from, "container#2");
    assert.ok(w >= 1 && w < 5, `failed ${w} s after the container started (want 1 to 5)`);
    assert.match(res.stdout, /rolled back: container#2/);
    await nothingLeft(r, svc);
    figures.turnsUnhealthy = { waitedSeconds: w };
  });
});
