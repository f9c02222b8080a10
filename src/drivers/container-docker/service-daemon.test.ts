// ServiceDocker.stopIfIdle: the private daemon is stopped after its last
// container, and a container's stop that was just answered lists at once,
// without probing the daemon first (one call less per container stop). And
// a look while the agent's monitor holds the daemon's event stream open is
// an inspect without a ping.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseServiceConfig } from "../../service/service-config.js";
import { Logger, memorySink } from "../../util/log.js";
import { resolvePaths } from "../../util/paths.js";
import type { DriverContext } from "../driver.js";
import type { DaemonProbe } from "./engine.js";
import { ServiceDocker } from "./service-daemon.js";

/** Stands in for the private daemon: counts its probes and stops, answers the listing as told. */
class FakePrivateDaemon {
  readonly shared = false;
  probes = 0;
  stops = 0;
  constructor(
    private readonly listing: () => Promise<{ Id: string }[]>,
    private readonly running = true,
  ) {}
  isRunning(): Promise<boolean> {
    this.probes++;
    return Promise.resolve(this.running);
  }
  probe(): Promise<DaemonProbe> {
    this.probes++;
    return Promise.resolve(this.running ? { state: "running" } : { state: "stopped", reason: "docker daemon is not running" });
  }
  client(): { listContainers: () => Promise<{ Id: string }[]> } {
    return { listContainers: this.listing };
  }
  leftBehind(): boolean {
    return true; // its dockerd's pid still lives
  }
  stop(): Promise<void> {
    this.stops++;
    return Promise.resolve();
  }
  close(): void {}
}

function serviceDocker(fake: FakePrivateDaemon): ServiceDocker {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-sd-"));
  const svc = "svc1";
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, ["[DEFAULT]", `docker_data_dir = ${tmp}/data`, "", "[container#1]", "run_image = busybox:latest", ""].join("\n"), { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  fs.rmSync(tmp, { recursive: true, force: true }); // nothing below is written: the daemon is the fake
  const ctx = { service: svc, config: cfg, paths: resolvePaths({ SVCMGR_ROOT: tmp }), stateDir: `${tmp}/var/${svc}`, env: {}, log: new Logger([memorySink([])], { svc }), killed: [] } as unknown as DriverContext;
  const sd = new ServiceDocker(ctx);
  assert.equal(sd.daemon.shared, false, "docker_data_dir gives the service its own daemon");
  Object.defineProperty(sd, "daemon", { value: fake });
  return sd;
}

describe("stopIfIdle", () => {
  test("after a container's stop was answered: no probe, the listing alone; the daemon is stopped when nothing runs", async () => {
    const fake = new FakePrivateDaemon(() => Promise.resolve([]));
    await serviceDocker(fake).stopIfIdle(false, undefined, true);
    assert.equal(fake.probes, 0);
    assert.equal(fake.stops, 1);
  });

  test("after a container's stop was answered, with another container still running: no probe, the daemon left up", async () => {
    const fake = new FakePrivateDaemon(() => Promise.resolve([{ Id: "abc" }]));
    await serviceDocker(fake).stopIfIdle(false, undefined, true);
    assert.deepEqual([fake.probes, fake.stops], [0, 0]);
  });

  test("a daemon that answered a container's stop and still runs others is taken as running by the next stop, until it is stopped", async () => {
    let listing = [{ Id: "abc" }];
    const fake = new FakePrivateDaemon(() => Promise.resolve(listing));
    const sd = serviceDocker(fake);
    assert.deepEqual(await sd.probe(true), { state: "running" });
    assert.equal(fake.probes, 1, "not answered yet in this action: asked");
    await sd.stopIfIdle(false, undefined, true);
    assert.deepEqual(await sd.probe(true), { state: "running" });
    assert.equal(fake.probes, 1, "it just answered: not asked again");
    listing = [];
    await sd.stopIfIdle(false, undefined, true);
    assert.equal(fake.stops, 1, "idle: stopped");
    await sd.probe(true);
    assert.equal(fake.probes, 2, "stopped since: asked again");
  });

  test("a daemon gone since its last answer (the listing fails) is probed, then its remains are stopped", async () => {
    const fake = new FakePrivateDaemon(() => Promise.reject(new Error("connect ECONNREFUSED")), false);
    await serviceDocker(fake).stopIfIdle(false, undefined, true);
    assert.deepEqual([fake.probes, fake.stops], [1, 1]);
  });

  test("without a fresh answer (the daemon was found down): probed first, as before", async () => {
    const fake = new FakePrivateDaemon(() => assert.fail("a daemon that is not running is not listed"), false);
    await serviceDocker(fake).stopIfIdle(false);
    assert.deepEqual([fake.probes, fake.stops], [1, 1]);
  });
});

describe("streaming", () => {
  test("while the caller's event stream from the daemon is open, a look takes it as running without asking; once it ended, the daemon is asked again", async () => {
    const fake = new FakePrivateDaemon(() => Promise.resolve([]));
    const sd = serviceDocker(fake);
    await sd.probe(true);
    assert.equal(fake.probes, 1, "no answer yet: asked");
    sd.streaming(true);
    assert.deepEqual(await sd.probe(true), { state: "running" });
    await sd.probe(true);
    assert.equal(fake.probes, 1, "the stream is open: not asked");
    await sd.probe();
    assert.equal(fake.probes, 2, "a probe without `recent` always asks");
    sd.streaming(false);
    await sd.probe(true);
    assert.equal(fake.probes, 3, "the stream ended (the daemon may be gone): asked again");
  });
});
