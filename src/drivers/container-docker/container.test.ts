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
  type ImageInfo,
} from "./engine.js";
import type { ContainerDaemon } from "./service-daemon.js";

type State = ContainerInspect["State"];

/**
 * A FAKE Docker Engine: containers in a Map. `onStart` says how a container
 * behaves once started, as the state each later inspect shows (the n-th
 * inspect since its start); `failWith` makes every call fail.
 */
class FakeEngine implements DockerEngine {
  readonly socketPath = "/fake/docker.sock";
  readonly apiVersion = "1.41";
  readonly containers = new Map<string, ContainerInspect>();
  readonly created: { name: string; body: ContainerCreateBody }[] = [];
  readonly calls: string[] = [];
  failWith: EngineError | undefined;
  onStart: (n: number) => Partial<State> = () => ({});
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
  async listContainers(): Promise<ContainerSummary[]> {
    this.check("listContainers");
    return [...this.containers.values()].filter((c) => c.State.Running).map((c) => ({ Id: c.Id, Names: [c.Name ?? ""], Image: c.Config.Image, State: c.State.Status, Labels: c.Config.Labels }));
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
    this.created.push({ name, body });
    const c = this.add(name, {}, body.Labels?.[LABEL_HASH] ?? "", body.Image);
    const hc = (body as { Healthcheck?: { Test?: string[] } }).Healthcheck;
    if (hc) c.Config.Healthcheck = hc;
    return c.Id;
  }
  async startContainer(id: string): Promise<"started" | "already"> {
    this.check(`start ${id}`);
    const c = this.find(id)!;
    if (c.State.Running) return "already";
    Object.assign(c.State, { Status: "running", Running: true, Pid: 0 });
    this.inspectsSinceStart.set(c.Id, 0);
    return "started";
  }
  async stopContainer(id: string): Promise<"stopped" | "already"> {
    this.check(`stop ${id}`);
    const c = this.find(id)!;
    if (!c.State.Running) return "already";
    this.inspectsSinceStart.delete(c.Id);
    Object.assign(c.State, { Status: "exited", Running: false, ExitCode: 137 });
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
  async listImages(): Promise<ImageInfo[]> {
    return [];
  }
  events(): Promise<AsyncIterable<EngineEvent>> {
    return Promise.resolve((async function* (): AsyncGenerator<EngineEvent> {})());
  }
  reset(): void {}
  close(): void {}
}

/** A FAKE of the service's ContainerDaemon: always running unless the test says otherwise. */
class FakeDaemon implements ContainerDaemon {
  probeResult: DaemonProbe = { state: "running" };
  stopIfIdleCalls = 0;
  constructor(readonly fake: FakeEngine) {}
  cliArgs(): string[] {
    return dockerCliArgs(this.fake.socketPath);
  }
  async probe(): Promise<DaemonProbe> {
    return this.probeResult;
  }
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
    expandRuntimeRefs: async (t) => t,
    driver: async () => undefined,
    shared: <T extends ServiceShared>(key: string): T => {
      assert.equal(key, "docker");
      return daemon as unknown as T;
    },
  };
  const res = cfg.resources.find((r) => r.rid === "container#1")!;
  return { d: new DockerContainer(ctx, res, log.child({ rid: res.rid })), fake, daemon, records };
}

const NAME = "svc1.container.1";

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
    const { d, fake } = driverOnFake(["run_command = /nonexistent"]);
    fake.onStart = () => ({ Status: "exited", Running: false, ExitCode: 127 });
    await assert.rejects(d.start(), (e: unknown) => e instanceof ActionError && e.message === "container exited with code 127 right after start; last output: boom: no such file");
  });

  void test("a container that exits within the settle window (no healthcheck) fails its start", async () => {
    const { d, fake } = driverOnFake(["run_command = sh -c 'sleep 0.05; exit 3'"]);
    // running at the first two looks, gone at the third (well within the 100 ms window at 25 ms a look)
    fake.onStart = (n) => (n >= 2 ? { Status: "exited", Running: false, ExitCode: 3 } : {});
    await assert.rejects(d.start(), (e: unknown) => e instanceof ActionError && /^container exited with code 3 right after start/.test(e.message));
  });

  void test("a container still running after the settle window is up", async () => {
    const { d, fake } = driverOnFake(["run_command = sleep 60"]);
    fake.onStart = (n) => (n >= 1000 ? { Status: "exited", Running: false, ExitCode: 1 } : {});
    assert.equal(await d.start(), true);
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
