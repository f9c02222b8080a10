// The Engine API client and the container driver against real dockerd
// processes: the event stream an agent will watch (die with its exit code,
// health_status, the end of the stream when the daemon stops, abort), the
// StopTimeout a container is created with, and a frozen daemon seen as
// "cannot tell", not as down.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseServiceConfig } from "../../service/service-config.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { resolvePaths, stateDir } from "../../util/paths.js";
import { readPidFile, signal } from "../../util/proc.js";
import { PrivateDockerDaemon } from "./daemon.js";
import type { EngineEvent } from "./engine.js";
import { serviceDocker } from "./service-daemon.js";
import { cleanupEverything, importImage, leftovers, makeTempRoot, requireDocker, testLogger } from "../../../test/support/docker-fixture.js";
import { nextBridgeCidr } from "../../../test/support/reliability.js";

const LONG = { timeout: 180_000 };

/** Poll until cond() holds (every 20 ms), failing with `what` after timeoutMs. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves (true) once the promise settled, or false after timeoutMs. */
const settlesWithin = (p: Promise<unknown>, timeoutMs: number): Promise<boolean> =>
  Promise.race([p.then(() => true), sleep(timeoutMs).then(() => false)]);

void describe("the engine on a real dockerd", () => {
  void test("events: start, die with its exit code, health_status; an abort ends the stream, so does the daemon's stop", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const paths = resolvePaths({ SVCMGR_ROOT: root });
      const d = new PrivateDockerDaemon({ svc: "ev", stateDir: stateDir(paths, "ev"), dataDir: path.join(root, "data", "ev"), extraArgs: [], runDir: paths.run, log: testLogger().log, bridgeCidr: nextBridgeCidr() });
      await d.start();
      await importImage(d.socketPath, "busybox:latest");
      const engine = d.client();

      // subscribe first: what happens before the subscription is lost
      const ac = new AbortController();
      const seen: EngineEvent[] = [];
      const filters = { type: ["container"], event: ["start", "die", "health_status"] };
      const reader = (async () => {
        for await (const e of await engine.events({ filters }, ac.signal)) seen.push(e);
      })();
      const failing = await engine.createContainer("exits3", { Image: "busybox:latest", Cmd: ["sh", "-c", "exit 3"], HostConfig: { NetworkMode: "none" } });
      const healthy = await engine.createContainer("healthy", {
        Image: "busybox:latest",
        Cmd: ["sleep", "600"],
        Healthcheck: { Test: ["CMD", "true"], Interval: 100_000_000 },
        HostConfig: { NetworkMode: "none", Init: true },
        StopTimeout: 1,
      });
      assert.equal(await engine.startContainer(failing), "started");
      assert.equal(await engine.startContainer(healthy), "started");
      assert.equal(await engine.startContainer(healthy), "already", "304: already started");
      await until("the events of both containers", () =>
        seen.some((e) => e.Action === "die" && e.Actor.ID === failing) && seen.some((e) => e.Action === "health_status: healthy" && e.Actor.ID === healthy),
      );
      const die = seen.find((e) => e.Action === "die" && e.Actor.ID === failing)!;
      assert.equal(die.Actor.Attributes.exitCode, "3");
      assert.equal(die.Actor.Attributes.name, "exits3");
      assert.ok(seen.findIndex((e) => e.Action === "start" && e.Actor.ID === failing) < seen.indexOf(die), "in order");
      assert.ok(die.timeNano > 0 && die.time > 0);

      ac.abort();
      assert.ok(await settlesWithin(reader, 5000), "an aborted stream ends");
      await reader; // and ends without an error

      // a stream since an earlier time replays what the daemon kept; it ends when the daemon stops
      const replayed: EngineEvent[] = [];
      const second = (async () => {
        for await (const e of await engine.events({ since: die.time, filters: { type: ["container"], event: ["die"] } })) replayed.push(e);
      })();
      await until("the replayed die", () => replayed.some((e) => e.Actor.ID === failing));
      await d.stop();
      assert.ok(await settlesWithin(second, 10_000), "the stream ends when the daemon goes away");
      await second;
      assert.deepEqual(await leftovers(root), { processes: [], bridges: [], mounts: [] });
    } finally {
      await cleanupEverything(root);
    }
  });

  void test("the container driver: StopTimeout from stop_timeout; a frozen daemon is undef (not down), up again once thawed", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    const svc = "frz";
    const paths = resolvePaths({ SVCMGR_ROOT: root });
    const text = [
      "[DEFAULT]",
      `docker_data_dir = ${root}/data/${svc}`,
      `docker_bridge_cidr = ${nextBridgeCidr()}`,
      "",
      "[container#1]",
      "run_image = busybox:latest",
      "run_command = sleep 600",
      "run_args = --init --net=none",
      "stop_timeout = 3s",
      "",
    ].join("\n");
    const cfg = parseServiceConfig(svc, `${root}/etc/${svc}.conf`, text, { nodename: "node1", varDir: stateDir(paths, svc), etcDir: `${root}/etc` });
    assert.deepEqual(cfg.problems, []);
    const runtime = (): ServiceRuntime => new ServiceRuntime(paths, cfg, testLogger(svc).log);
    let frozen: number | undefined;
    try {
      const rt = runtime();
      await serviceDocker(rt).ensureRunning(rt.log);
      await importImage(path.join(stateDir(paths, svc), "docker.sock"), "busybox:latest");
      const driver = (await rt.driver("container#1"))!;
      assert.equal(await driver.start(), true);
      const info = await serviceDocker(rt).engine().inspectContainer(`${svc}.container.1`);
      assert.equal(info?.Config.StopTimeout, 3, "created with the config's stop_timeout, in seconds");
      assert.equal((await driver.status()).status, "up");

      // dockerd frozen: its socket still accepts, nothing answers
      frozen = readPidFile(path.join(stateDir(paths, svc), "docker.pid"))!;
      signal(frozen, "SIGSTOP");
      const t0 = Date.now();
      const status = await runtime().evaluate();
      const c1 = status.resources.find((r) => r.rid === "container#1")!;
      assert.equal(c1.status, "undef", JSON.stringify(c1));
      assert.match(c1.log[0]!.message, /^cannot tell whether the docker daemon runs: GET \/_ping on .*docker\.sock: no answer within 3000 ms$/);
      assert.notEqual(status.avail, "down", "an agent restarting what is down does not restart this service");
      t.diagnostic(`status of a frozen daemon in ${Date.now() - t0} ms`);
      signal(frozen, "SIGCONT");
      frozen = undefined;
      await until("the thawed daemon answers", async () => (await runtime().evaluate()).resources[0]!.status === "up");

      assert.equal(await driver.stop(), true);
      assert.equal((await runtime().evaluate()).resources[0]!.status, "down");
      assert.deepEqual(await leftovers(root), { processes: [], bridges: [], mounts: [] }, "the idle daemon went down with its last container");
      rt.close();
    } finally {
      if (frozen !== undefined) signal(frozen, "SIGCONT");
      await cleanupEverything(root);
    }
  });
});
