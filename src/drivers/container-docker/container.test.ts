// The container driver's rules without Docker: its engine is a FAKE here (an
// in-memory DockerEngine whose containers the test drives), handed to the
// driver through a DriverContext whose shared() returns a fake of the
// service's ContainerDaemon. The same rules against a real dockerd are in
// engine.test.ts and the tutorials' tests.
/* eslint-disable @typescript-eslint/require-await -- the fakes answer at once, behind async interfaces */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parseServiceConfig } from "../../service/service-config.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { ActionError } from "../../util/errors.js";
import { Logger, memorySink, type LogRecord } from "../../util/log.js";
import { resolvePaths } from "../../util/paths.js";
import type { DriverContext, ServiceShared } from "../driver.js";
import { DockerContainer, LABEL_HASH } from "./container.js";
import {
  EngineError,
  dockerCliArgs,
  type ContainerCreateBody,
  type ContainerInspect,
  type ContainerSummary,
  type DaemonProbe,
  type DockerEngine,
  type EngineEvent,
  type EngineVersion,
  type EventsQuery,
  type ImageInfo,
} from "./engine.js";
import type { ContainerDaemon } from "./service-daemon.js";
import { StartWatch } from "./start-watch.js";

type State = ContainerInspect["State"];

/**
 * A FAKE Docker Engine: containers in a Map. `onStart` says how a container
 * behaves once started, as the state each later inspect shows (the n-th
 * inspect since its start); `dies` makes it exit that long after its start,
 * with a `die` event as dockerd sends it (the event `dieEventLagMs` later);
 * `failWith` makes every call fail.
 */
class FakeEngine implements DockerEngine {
  readonly socketPath = "/fake/docker.sock";
  readonly apiVersion = "1.41";
  readonly containers = new Map<string, ContainerInspect>();
  readonly created: { name: string; body: ContainerCreateBody }[] = [];
  readonly calls: string[] = [];
  failWith: EngineError | undefined;
  onStart: (n: number) => Partial<State> = () => ({});
  dies: { afterMs: number; code: number } | undefined;
  dieEventLagMs = 0;
  private readonly subscribers = new Set<(ev: EngineEvent) => void>();
  private inspectsSinceStart = new Map<string, number>();
  private seq = 0;

  private check(call: string): void {
    this.calls.push(call);
    if (this.failWith) throw this.failWith;
  }

  /** A container as `docker run` would have left it, with the labels of a config hash. */
  add(name: string, state: Partial<State>, hash: string, image = "busybox:latest"): ContainerInspect {
    const info: ContainerInspect = {
      Id: `${(++this.seq).toString(16).padStart(12, "0")}${"0".repeat(52)}`,
      Name: `/${name}`,
      Config: { Image: image, Labels: { [LABEL_HASH]: hash } },
      State: { Status: "created", Running: false, ExitCode: 0, Pid: 0, ...state },
    };
    this.containers.set(name, info);
    return info;
  }

  private find(id: string): ContainerInspect | undefined {
    return this.containers.get(id) ?? [...this.containers.values()].find((c) => c.Id === id);
  }

  async ping(): Promise<void> {
    this.check("ping");
  }
  async version(): Promise<EngineVersion> {
    this.check("version");
    return { ApiVersion: "1.41", Version: "fake" };
  }
  async listContainers(opts: { all?: boolean; filters?: Record<string, string[]> } = {}): Promise<ContainerSummary[]> {
    this.check("listContainers");
    // the fake's containers carry only the hash label: a label filter (the service's) takes them all
    return [...this.containers.values()].filter((c) => opts.all || c.State.Running).map((c) => ({ Id: c.Id, Names: [c.Name ?? ""], Image: c.Config.Image, State: c.State.Status, Labels: c.Config.Labels }));
  }
  async inspectContainer(id: string): Promise<ContainerInspect | undefined> {
    this.check(`inspect ${id}`);
    const c = this.find(id);
    if (!c) return undefined;
    const n = this.inspectsSinceStart.get(c.Id);
    if (n !== undefined) {
      Object.assign(c.State, this.onStart(n));
      this.inspectsSinceStart.set(c.Id, n + 1);
    }
    return structuredClone(c);
  }
  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    this.check(`create ${name}`);
    if (this.containers.has(name)) throw new EngineError(`Conflict. The container name "/${name}" is already in use`, "http", 409);
    this.created.push({ name, body });
    const c = this.add(name, {}, body.Labels?.[LABEL_HASH] ?? "", body.Image);
    const hc = (body as { Healthcheck?: { Test?: string[] } }).Healthcheck;
    if (hc) c.Config.Healthcheck = hc;
    return c.Id;
  }
  async startContainer(id: string): Promise<"started" | "already"> {
    this.check(`start ${id}`);
    const c = this.find(id);
    if (!c) throw new EngineError(`No such container: ${id}`, "absent", 404);
    if (c.State.Running) return "already";
    Object.assign(c.State, { Status: "running", Running: true, Pid: 0 });
    this.inspectsSinceStart.set(c.Id, 0);
    if (this.dies) {
      const { afterMs, code } = this.dies;
      const exit = (): void => {
        if (!c.State.Running) return;
        Object.assign(c.State, { Status: "exited", Running: false, ExitCode: code });
        this.inspectsSinceStart.delete(c.Id);
        setTimeout(() => this.emit("die", c, code), this.dieEventLagMs).unref();
      };
      // 0: gone before the start call returns, as a command that fails at once is
      if (afterMs === 0) exit();
      else setTimeout(exit, afterMs).unref();
    }
    return "started";
  }
  async stopContainer(id: string): Promise<"stopped" | "already"> {
    this.check(`stop ${id}`);
    const c = this.find(id)!;
    if (!c.State.Running) return "already";
    this.inspectsSinceStart.delete(c.Id);
    Object.assign(c.State, { Status: "exited", Running: false, ExitCode: 137 });
    this.emit("die", c, 137);
    return "stopped";
  }
  async removeContainer(id: string): Promise<void> {
    this.check(`remove ${id}`);
    this.containers.delete(this.find(id)!.Name!.slice(1));
  }
  async containerLogs(): Promise<string> {
    this.check("logs");
    return "boom: no such file\n";
  }
  async inspectImage(): Promise<ImageInfo | undefined> {
    return undefined;
  }
  async pullImage(ref: string): Promise<void> {
    this.calls.push(`pull ${ref}`);
    return Promise.reject(new EngineError(`no registry in the fake engine for ${ref}`, "http"));
  }

  async listImages(): Promise<ImageInfo[]> {
    return [];
  }
  private readonly history: EngineEvent[] = [];
  /** an event of this container, as dockerd sends it (a `kill` when a stop sends its signal, a `die` at the exit) */
  emit(action: string, c: ContainerInspect, code = 0): void {
    const now = Date.now();
    const ev: EngineEvent = { Type: "container", Action: action, Actor: { ID: c.Id, Attributes: { exitCode: String(code) } }, time: Math.floor(now / 1000), timeNano: now * 1e6 };
    this.history.push(ev);
    for (const s of this.subscribers) s(ev);
  }
  /** the events from the subscription on, filtered by event name, until the signal fires; with `until`, the past ones since `since`, then the end */
  async events(query: EventsQuery, signal?: AbortSignal): Promise<AsyncIterable<EngineEvent>> {
    this.check(query.until === undefined ? "events" : "past events");
    if (query.until !== undefined) {
      const since = Number(query.since ?? 0);
      const past = this.history.filter((ev) => ev.time >= since && (!query.filters?.event || query.filters.event.includes(ev.Action)));
      return (async function* (): AsyncGenerator<EngineEvent> {
        yield* past;
      })();
    }
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    const push = (ev: EngineEvent): void => {
      if (query.filters?.event && !query.filters.event.includes(ev.Action)) return;
      queue.push(ev);
      wake?.();
    };
    this.subscribers.add(push);
    const subscribers = this.subscribers;
    signal?.addEventListener("abort", () => wake?.(), { once: true });
    return (async function* (): AsyncGenerator<EngineEvent> {
      try {
        while (!signal?.aborted) {
          const ev = queue.shift();
          if (ev) yield ev;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        subscribers.delete(push);
      }
    })();
  }
  reset(): void {}
  close(): void {}
}

/** A FAKE of the service's ContainerDaemon: always running unless the test says otherwise; what its start watch reports is in `failures`. */
class FakeDaemon implements ContainerDaemon {
  probeResult: DaemonProbe = { state: "running" };
  stopIfIdleCalls = 0;
  /** when a killed stop began, whose lock the action took over (epoch ms) */
  killedStopSince: number | undefined;
  readonly failures: { rid: string; error: string }[] = [];
  private watch: StartWatch | undefined;
  constructor(readonly fake: FakeEngine) {}
  startWatch(docker: DockerEngine, label: string): StartWatch {
    this.watch ??= new StartWatch(docker, label, (rid, error) => this.failures.push({ rid, error }), false, this.killedStopSince);
    return this.watch;
  }
  watching(): StartWatch | undefined {
    return this.watch;
  }
  async checkpoint(): Promise<void> {
    await this.watch?.settle();
  }
  async settle(): Promise<void> {
    await this.watch?.settle();
  }
  close(): void {
    this.watch?.close();
  }
  cliArgs(): string[] {
    return dockerCliArgs(this.fake.socketPath);
  }
  async probe(): Promise<DaemonProbe> {
    return this.probeResult;
  }
  streaming(): void {}
  async ensureRunning(): Promise<DockerEngine> {
    return this.fake;
  }
  engine(): DockerEngine {
    return this.fake;
  }
  async stopIfIdle(): Promise<void> {
    this.stopIfIdleCalls++;
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-ctr-"));
process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A container driver of `[container#1]` with these keywords, on a fake daemon holding a fake engine. */
function driverOnFake(keywords: string[], fake = new FakeEngine()): { d: DockerContainer; fake: FakeEngine; daemon: FakeDaemon; records: LogRecord[] } {
  const svc = "svc1";
  const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, ["[DEFAULT]", "", "[container#1]", "run_image = busybox:latest", ...keywords, ""].join("\n"), { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
  assert.deepEqual(cfg.problems, []);
  const records: LogRecord[] = [];
  const log = new Logger([memorySink(records)], { svc });
  const daemon = new FakeDaemon(fake);
  const ctx: DriverContext = {
    service: svc,
    config: cfg,
    paths: resolvePaths({ SVCMGR_ROOT: tmp }),
    stateDir: `${tmp}/var/${svc}`,
    env: {},
    log,
    killed: [],
    expandRuntimeRefs: async (t) => t,
    driver: async () => undefined,
    shared: <T extends ServiceShared>(key: string): T => {
      assert.equal(key, "docker");
      return daemon as unknown as T;
    },
    startFailed: () => assert.fail("the fake daemon reports its failures itself"),
  };
  const res = cfg.resources.find((r) => r.rid === "container#1")!;
  return { d: new DockerContainer(ctx, res, log.child({ rid: res.rid })), fake, daemon, records };
}

const NAME = "svc1.container.1";

/**
 * A start as an action runs it: the start, the rest of the action (`goOnMs`:
 * other resources starting), its final evaluation, the watch settled; the
 * failure the watch reported, if any, is thrown.
 */
async function startAction(h: ReturnType<typeof driverOnFake>, goOnMs = 0): Promise<boolean> {
  try {
    const changed = await h.d.start();
    if (goOnMs) await new Promise((r) => setTimeout(r, goOnMs));
    await h.d.status();
    await h.daemon.settle();
    const f = h.daemon.failures[0];
    if (f) throw new ActionError(f.error, f.rid);
    return changed;
  } finally {
    h.daemon.close();
  }
}

void describe("status maps what the engine says", () => {
  void test("running → up; exited → down; no such container → down; drift → warn; unhealthy → warn", async () => {
    const { d, fake } = driverOnFake(["run_command = sleep 60"]);
    assert.deepEqual(await d.status(), { status: "down", log: [{ level: "info", message: "can not find container id" }] });
    const c = fake.add(NAME, { Status: "running", Running: true }, d.configHash);
    const up = await d.status();
    assert.equal(up.status, "up");
    assert.equal(up.label, `${c.Id.slice(0, 12)}@busybox:latest`);
    c.State = { ...c.State, Status: "exited", Running: false, ExitCode: 0 };
    assert.equal((await d.status()).status, "down");
    c.Config.Labels = { [LABEL_HASH]: "another config" };
    assert.deepEqual((await d.status()).log, [{ level: "warn", message: "config changed: restart to apply" }]);
    assert.equal((await d.status()).status, "warn", "a changed config shows warn, stopped or not");
    c.Config.Labels = { [LABEL_HASH]: d.configHash };
    c.State = { ...c.State, Status: "running", Running: true, Health: { Status: "unhealthy" } };
    assert.equal((await d.status()).status, "warn");
  });

  void test("an engine error, a timeout or a daemon that cannot be asked is undef, with the reason: never down", async () => {
    const { d, fake, daemon } = driverOnFake([]);
    fake.add(NAME, { Status: "running", Running: true }, d.configHash);
    fake.failWith = new EngineError("GET /containers/svc1.container.1/json on /fake/docker.sock: no answer within 3000 ms", "timeout");
    let st = await d.status();
    assert.equal(st.status, "undef");
    assert.match(st.log[0]!.message, /^cannot tell the state of container svc1\.container\.1: .*no answer within 3000 ms/);
    fake.failWith = new EngineError("server error: something broke", "http", 500);
    st = await d.status();
    assert.equal(st.status, "undef");
    assert.match(st.log[0]!.message, /something broke/);
    fake.failWith = undefined;
    daemon.probeResult = { state: "unknown", reason: "GET /_ping on /x.sock: permission denied (EACCES)" };
    st = await d.status();
    assert.equal(st.status, "undef");
    assert.match(st.log[0]!.message, /^cannot tell whether the docker daemon runs: .*permission denied/);
    // only a daemon that is not running is down
    daemon.probeResult = { state: "stopped", reason: "docker daemon is not running" };
    assert.deepEqual(await d.status(), { status: "down", log: [{ level: "info", message: "docker daemon is not running" }] });
  });
});

void describe("start", () => {
  void test("creates the container with StopTimeout = stop_timeout and the labels, logged as docker run", async () => {
    const { d, fake, records } = driverOnFake(["run_command = sleep 60", "run_args = --init -e A=1", "stop_timeout = 25s"]);
    assert.equal(await d.start(), true);
    assert.equal(fake.created.length, 1);
    const { name, body } = fake.created[0]!;
    assert.equal(name, NAME);
    assert.equal(body.StopTimeout, 25, "seconds, as the API wants them");
    assert.deepEqual(body.Cmd, ["sleep", "60"]);
    assert.equal(body.Labels?.[LABEL_HASH], d.configHash);
    assert.ok(records.some((r) => r.msg.startsWith(`docker -H unix:///fake/docker.sock run -d --name=${NAME} `) && r.msg.endsWith("--init -e A=1 busybox:latest sleep 60")));
    assert.equal(await d.start(), false, "already up: nothing to do");
    assert.equal(fake.created.length, 1);
  });

  void test("a container that exits at once fails its start, quoting its output", async () => {
    const h = driverOnFake(["run_command = /nonexistent"]);
    h.fake.dies = { afterMs: 0, code: 127 };
    await assert.rejects(startAction(h), (e: unknown) => e instanceof ActionError && e.message === "container exited with code 127 right after start; last output: boom: no such file");
    assert.deepEqual(h.daemon.failures.map((f) => f.rid), ["container#1"], "reported once");
  });

  void test("a container that exited before its die event came is seen by the final evaluation: its start fails", async () => {
    const h = driverOnFake(["run_command = false"]);
    h.fake.dies = { afterMs: 0, code: 1 };
    h.fake.dieEventLagMs = 60_000; // dockerd tells of it late (after its clean-up); an inspect waits for that and shows it exited
    await assert.rejects(startAction(h), (e: unknown) => e instanceof ActionError && /^container exited with code 1 right after start/.test(e.message));
  });

  void test("a die that came is reported before the next ordered start begins", async () => {
    const h = driverOnFake(["run_command = false"]);
    h.fake.dies = { afterMs: 0, code: 1 };
    assert.equal(await h.d.start(), true, "the start call itself went through");
    await new Promise((r) => setTimeout(r, 20)); // the die event comes
    await h.daemon.checkpoint();
    assert.deepEqual(h.daemon.failures.map((f) => [f.rid, f.error]), [["container#1", "container exited with code 1 right after start; last output: boom: no such file"]]);
    h.daemon.close();
  });

  void test("a container that exits later in the action (no healthcheck) fails its start", async () => {
    const h = driverOnFake(["run_command = sh -c 'sleep 0.05; exit 3'"]);
    h.fake.dies = { afterMs: 50, code: 3 };
    // the start itself returns at once; the die comes while the action starts other resources
    await assert.rejects(startAction(h, 150), (e: unknown) => e instanceof ActionError && /^container exited with code 3 right after start/.test(e.message));
  });

  void test("a container still running when the action ends is up", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    h.fake.dies = { afterMs: 60_000, code: 1 };
    assert.equal(await startAction(h, 50), true);
    assert.deepEqual(h.daemon.failures, []);
  });

  void test("a container found up that goes down during the action (a killed stop's, still under way) is told to be started again", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    const c = h.fake.add(NAME, { Status: "running", Running: true }, h.d.configHash);
    assert.equal(await h.d.start(), false, "already up");
    assert.deepEqual(h.daemon.watching()!.wentDown(), []);
    c.State = { ...c.State, Status: "exited", Running: false, ExitCode: 143 }; // the stop's TERM lands
    await h.d.status(); // the action's final look
    assert.deepEqual(h.daemon.watching()!.wentDown(), ["container#1"]);
    assert.deepEqual(h.daemon.failures, [], "not a failure of this start");
    assert.equal(await h.d.start(), true, "started again");
    assert.deepEqual(h.daemon.watching()!.wentDown(), []);
    h.daemon.close();
  });

  void test("after a killed stop, a container the daemon is still stopping is waited for until it is down, then started again", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    h.daemon.killedStopSince = Date.now() - 500;
    const c = h.fake.add(NAME, { Status: "running", Running: true }, h.d.configHash);
    h.fake.emit("kill", c); // the killed stop's docker stop sent its signal: the container has not exited yet
    let done = false;
    const started = h.d.start().finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, false, "not taken as already up while it is being stopped");
    c.State = { ...c.State, Status: "exited", Running: false, ExitCode: 143 };
    h.fake.emit("die", c, 143);
    assert.equal(await started, true, "started again once down");
    assert.equal(h.fake.containers.get(NAME)!.State.Running, true);
    assert.deepEqual(h.fake.calls, ["listContainers", "events", "past events", `start ${c.Id}`]);
    assert.ok(h.records.some((r) => /is being stopped \(by a killed stop/.test(r.msg)));
    await h.d.status();
    await h.daemon.settle();
    assert.deepEqual(h.daemon.failures, [], "the stop's die is no failure of this start");
    h.daemon.close();
  });

  void test("after a killed stop, a container whose stop is over (kill, then die) or never begun is left as it is: the past events are asked once", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    h.daemon.killedStopSince = Date.now() - 500;
    const c = h.fake.add(NAME, { Status: "running", Running: true }, h.d.configHash);
    h.fake.emit("kill", c);
    h.fake.emit("die", c, 143);
    c.State = { ...c.State, Status: "running", Running: true }; // started again since (by someone else)
    const t0 = Date.now();
    assert.equal(await h.d.start(), false, "already up");
    assert.ok(Date.now() - t0 < 1000);
    assert.deepEqual(h.fake.calls, ["listContainers", "events", "past events"]);
    h.daemon.close();
  });

  void test("a container stopped on purpose during the action (a rollback) has not failed", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    assert.equal(await h.d.start(), true);
    assert.equal(await h.d.stop(), true);
    await h.daemon.settle();
    h.daemon.close();
    assert.deepEqual(h.daemon.failures, [], "its die was the stop's");
  });

  void test("no fixed wait and no call of its own per container: the create and start calls, after the action's one listing and subscription", async () => {
    const run = driverOnFake(["run_command = sleep 60", "run_args = --init"]);
    const t0 = Date.now();
    assert.equal(await run.d.start(), true);
    assert.ok(Date.now() - t0 < 40, `the start returned after ${Date.now() - t0} ms`);
    const id = run.fake.containers.get(NAME)!.Id;
    assert.deepEqual(run.fake.calls, ["listContainers", "events", `create ${NAME}`, `start ${id}`]);
    run.daemon.close();
    // a later start, in another action: the container exists
    run.fake.containers.get(NAME)!.State = { Status: "exited", Running: false, ExitCode: 0, Pid: 0 };
    run.fake.calls.length = 0;
    const later = driverOnFake(["run_command = sleep 60", "run_args = --init"], run.fake);
    assert.equal(await later.d.start(), true);
    assert.deepEqual(run.fake.calls, ["listContainers", "events", `start ${id}`]);
    later.daemon.close();
  });

  void test("a listing gone stale (the container removed since) is asked again", async () => {
    const h = driverOnFake(["run_command = sleep 60"]);
    const c = h.fake.add(NAME, { Status: "exited" }, h.d.configHash);
    await h.daemon.startWatch(h.fake, "x").open([]);
    h.fake.containers.delete(NAME); // removed by someone else after the listing
    assert.equal(await startAction(h), true);
    assert.notEqual(h.fake.containers.get(NAME)!.Id, c.Id, "created anew");
  });

  void test("a healthcheck never healthy: the start fails once start_timeout is over, not before", async () => {
    const { d, fake } = driverOnFake(["run_command = sleep 60", "run_args = --health-cmd true --health-interval 1s", "start_timeout = 1s"]);
    fake.onStart = () => ({ Health: { Status: "starting" } });
    const t0 = Date.now();
    await assert.rejects(d.start(), (e: unknown) => e instanceof ActionError && e.message === "container not healthy after start_timeout (1s): health starting");
    const waited = Date.now() - t0;
    assert.ok(waited >= 1000, `failed after ${waited} ms, before start_timeout`);
    assert.ok(fake.created[0]!.body.Healthcheck, "the healthcheck reached the create body");
  });

  void test("a healthcheck turning healthy ends the wait; unhealthy fails at once", async () => {
    const ok = driverOnFake(["run_args = --health-cmd true", "start_timeout = 30s"]);
    ok.fake.onStart = (n) => ({ Health: { Status: n < 3 ? "starting" : "healthy" } });
    assert.equal(await ok.d.start(), true);
    const bad = driverOnFake(["run_args = --health-cmd false", "start_timeout = 30s"]);
    bad.fake.onStart = (n) => ({ Health: { Status: n < 3 ? "starting" : "unhealthy" } });
    const t0 = Date.now();
    await assert.rejects(bad.d.start(), (e: unknown) => e instanceof ActionError && /^container turned unhealthy/.test(e.message));
    assert.ok(Date.now() - t0 < 10_000);
  });

  void test("an error of a daemon that went away is said so", async () => {
    const { d, fake, daemon } = driverOnFake([]);
    fake.failWith = new EngineError("no docker daemon listens on /fake/docker.sock (ECONNREFUSED)", "not-running");
    daemon.probeResult = { state: "stopped", reason: "docker daemon is not running" };
    await assert.rejects(d.start(), (e: unknown) => e instanceof ActionError && e.message.startsWith("the docker daemon is no longer running (no docker daemon listens"));
  });
});

void describe("stop", () => {
  void test("stops with --time = stop_timeout, then lets the daemon go when idle", async () => {
    const { d, fake, daemon, records } = driverOnFake(["stop_timeout = 3s"]);
    const c = fake.add(NAME, { Status: "running", Running: true }, d.configHash);
    assert.equal(await d.stop(), true);
    assert.ok(records.some((r) => r.msg === `docker -H unix:///fake/docker.sock stop --time=3 ${c.Id.slice(0, 12)}`));
    assert.equal((await d.status()).status, "down");
    assert.equal(await d.stop(), false, "already down");
    assert.equal(daemon.stopIfIdleCalls, 2);
  });

  void test("a daemon taken as running (it answered this action) whose inspect fails is asked again: gone, so the container went down with it", async () => {
    const { d, fake, daemon, records } = driverOnFake([]);
    fake.add(NAME, { Status: "running", Running: true }, d.configHash);
    const asked: (boolean | undefined)[] = [];
    daemon.probe = (recent?: boolean): Promise<DaemonProbe> => {
      asked.push(recent);
      return Promise.resolve(recent ? { state: "running" } : { state: "stopped", reason: "docker daemon is not running" });
    };
    fake.failWith = new EngineError("no docker daemon listens on /fake/docker.sock (ECONNREFUSED)", "not-running");
    assert.equal(await d.stop(), false);
    assert.deepEqual(asked.map((r) => r === true), [true, false], "taken as running, then asked once the inspect failed");
    assert.ok(records.some((r) => r.msg === "docker daemon is not running: container already down"));
    assert.equal(daemon.stopIfIdleCalls, 1, "what the dead daemon left is looked after");
  });

  void test("a daemon that still answers its probe after the inspect failed: the inspect's error is the stop's", async () => {
    const { d, fake, daemon } = driverOnFake([]);
    fake.add(NAME, { Status: "running", Running: true }, d.configHash);
    fake.failWith = new EngineError("GET /containers/svc1.container.1/json: HTTP 500 boom", "http", 500);
    await assert.rejects(d.stop(), /HTTP 500 boom/);
    assert.equal(daemon.stopIfIdleCalls, 0);
  });

  void test("a daemon that does not answer: cannot tell, so the stop fails when the daemon stays (the host's)", async () => {
    const { d, daemon } = driverOnFake([]);
    daemon.probeResult = { state: "unknown", reason: "GET /_ping on /x.sock: no answer within 3000 ms" };
    await assert.rejects(d.stop(), (e: unknown) => e instanceof ActionError && /cannot stop container svc1\.container\.1: the docker daemon does not answer/.test(e.message));
  });
});

/** A unix socket that accepts connections and never answers (a hung daemon, as far as a client can tell). */
async function silentSocket(file: string): Promise<net.Server> {
  const srv = net.createServer(() => {});
  await new Promise<void>((resolve) => srv.listen(file, resolve));
  return srv;
}

void describe("the host's daemon (DOCKER_HOST) through the real client, no Docker needed", () => {
  const conf = (): string => ["[DEFAULT]", "docker_daemon_private = false", "", "[container#1]", "run_image = busybox:latest", ""].join("\n");
  const runtime = (svc: string, socket: string): ServiceRuntime => {
    const paths = resolvePaths({ SVCMGR_ROOT: tmp });
    const cfg = parseServiceConfig(svc, `${tmp}/etc/${svc}.conf`, conf(), { nodename: "node1", varDir: `${tmp}/var/${svc}`, etcDir: `${tmp}/etc` });
    assert.deepEqual(cfg.problems, []);
    return new ServiceRuntime(paths, cfg, new Logger([]), { DOCKER_HOST: `unix://${socket}` });
  };

  void test("a socket that accepts and never answers: undef with the reason, within the probe's deadline", async () => {
    const sock = path.join(tmp, "silent.sock");
    const srv = await silentSocket(sock);
    try {
      const rt = runtime("silent", sock);
      const t0 = Date.now();
      const status = await rt.evaluate();
      const st = status.resources.find((r) => r.rid === "container#1")!;
      assert.equal(st.status, "undef");
      assert.notEqual(status.avail, "down", "a supervisor restarting what is down leaves it alone");
      assert.match(st.log[0]!.message, new RegExp(`cannot tell whether the docker daemon runs: GET /_ping on ${sock}: no answer within 3000 ms`));
      assert.ok(Date.now() - t0 < 10_000);
      rt.close();
    } finally {
      srv.close();
    }
  });

  void test("no socket at all: down, the daemon is not running", async () => {
    const rt = runtime("nosock", path.join(tmp, "none.sock"));
    const st = (await rt.evaluate()).resources.find((r) => r.rid === "container#1")!;
    assert.equal(st.status, "down");
    rt.close();
  });

  void test("a socket this user may not open (mode 000, read by nobody): undef, permission denied", async (t) => {
    if (process.getuid?.() !== 0 || spawnSync("setpriv", ["--help"]).status !== 0) {
      t.skip("needs root and setpriv (to read the socket as nobody)");
      return;
    }
    const dir = fs.mkdtempSync("/tmp/svcmgr-eacces-");
    fs.chmodSync(dir, 0o755);
    const sock = path.join(dir, "docker.sock");
    const srv = await silentSocket(sock);
    try {
      fs.chmodSync(sock, 0o000);
      const here = path.dirname(new URL(import.meta.url).pathname);
      const script = [
        `import { DockerodeEngine } from ${JSON.stringify(path.join(here, "dockerode-engine.ts"))};`,
        `import { probeEngine } from ${JSON.stringify(path.join(here, "engine.ts"))};`,
        `const engine = new DockerodeEngine(${JSON.stringify(sock)});`,
        "console.log(JSON.stringify(await probeEngine(engine)));",
      ].join("\n");
      const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", process.execPath, "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: path.resolve(here, "../../.."), timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const probe = JSON.parse(r.stdout) as DaemonProbe;
      assert.equal(probe.state, "unknown", "a refused permission is not a daemon that is down");
      assert.match((probe as { reason: string }).reason, /permission denied \(EACCES\)/);
    } finally {
      srv.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
