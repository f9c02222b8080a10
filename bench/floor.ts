// The Node floor: the least a Node program can do to reach the same end state
// as `svcmgr start` / `svcmgr stop` of the orchestration service, with the
// Engine API calls of svcmgr's earlier design (inspect, create + start,
// inspect, and the 50 ms check on the main process, per container) in the same
// order and with the same parallelism on the same daemon (dockerode), and, for
// a cold start or a stop, the same OS steps for the daemon (its bridge, a
// plain `dockerd` with the same flags, its shutdown). No config parsing, no
// logging, no lock, no status cache. The bare calls alone: bench/curl-floor.ts.
//
// Bundled by bench/run.ts exactly as svcmgr's CLI is (one CommonJS file run
// through bin/load-bundle.cjs and its V8 code cache), so that packaging makes
// no difference between the two; run by `node`, not tsx.
//
//   node floor-launch.cjs SPEC.json run|start|stop|daemon-up|daemon-down [--cold] [--plain-stop] [--bare] [--time]
// --bare: run and start make the create and start calls alone (no inspect, no check).
// --time prints {"ms": N}: the time of the operation itself, without node's start-up.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import Docker from "dockerode";

export interface FloorSpec {
  socket: string;
  /** start order; stop is the exact reverse */
  stages: { parallel: boolean; names: string[] }[];
  /** the create body of each container, by name */
  create: Record<string, Docker.ContainerCreateOptions>;
  /**
   * the check that a container did not exit at once, as svcmgr does it: its
   * main process still alive this long after the start (0: no check)
   */
  settleMs: number;
  daemon: {
    argv: string[];
    pidFile: string;
    logFile: string;
    execRoot: string;
    bridge: string;
    /** the bridge's own address, e.g. 172.30.0.1/24 */
    gateway: string;
  };
}

const POLL_MS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: "/_ping", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

function ip(batch: string): void {
  const r = spawnSync("ip", ["-batch", "-"], { input: batch, stdio: ["pipe", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`ip -batch failed: ${batch}`);
}

async function daemonUp(spec: FloorSpec): Promise<void> {
  const d = spec.daemon;
  // a containerd.pid naming a dead process makes dockerd wait 15 s for it (svcmgr's start removes it too)
  const ctrPidFile = path.join(d.execRoot, "containerd", "containerd.pid");
  const ctr = readPid(ctrPidFile);
  if (ctr !== undefined && !alive(ctr)) fs.rmSync(ctrPidFile, { force: true });
  ip(`link add ${d.bridge} type bridge\naddr add ${d.gateway} dev ${d.bridge}\nlink set ${d.bridge} up\n`);
  const out = fs.openSync(d.logFile, "a");
  const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/local/sbin:/usr/sbin:/sbin` };
  const child = spawn(d.argv[0]!, d.argv.slice(1), { detached: true, stdio: ["ignore", out, out], env });
  fs.closeSync(out);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (!(await ping(spec.socket))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dockerd did not come up, see ${d.logFile}`);
    await sleep(POLL_MS);
  }
}

/**
 * TERM, then wait. dockerd's own shutdown takes a few ms; then its containerd
 * supervisor polls once a second for containerd to be gone. With the shortcut
 * (the default, as svcmgr does it), once the log says "Daemon shutdown
 * complete" and containerd is gone, that sleep is cut short with KILL.
 */
async function daemonDown(spec: FloorSpec, plain: boolean): Promise<void> {
  const d = spec.daemon;
  const pid = readPid(d.pidFile);
  if (pid !== undefined && alive(pid)) {
    const ctr = readPid(path.join(d.execRoot, "containerd", "containerd.pid"));
    const offset = fs.statSync(d.logFile).size;
    process.kill(pid, "SIGTERM");
    while (alive(pid)) {
      await sleep(POLL_MS);
      // containerd reaped by dockerd, not just a zombie
      if (plain || (ctr !== undefined && fs.existsSync(`/proc/${ctr}`))) continue;
      const fd = fs.openSync(d.logFile, "r");
      const buf = Buffer.alloc(Math.max(0, fs.fstatSync(fd).size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      fs.closeSync(fd);
      if (buf.includes("Daemon shutdown complete")) process.kill(pid, "SIGKILL");
    }
  }
  fs.rmSync(d.pidFile, { force: true });
  ip(`link del ${d.bridge}\n`);
}

function client(spec: FloorSpec): Docker {
  return new Docker({ socketPath: spec.socket });
}

/** svcmgr's earlier check that a container did not exit at once: its main process still alive settleMs after the start. */
async function settle(docker: Docker, name: string, pid: number, settleMs: number): Promise<void> {
  if (settleMs <= 0) return;
  const until = Date.now() + settleMs;
  while (Date.now() < until && alive(pid)) await sleep(5);
  if (!alive(pid)) throw new Error(`${name} exited at once (${JSON.stringify((await docker.getContainer(name).inspect()).State)})`);
}

async function inspectOrUndefined(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

/** `--bare`: the create and start calls alone, as the curl floor makes them: what dockerode itself costs a Node client. */
async function startBare(docker: Docker, spec: FloorSpec, name: string, create: boolean): Promise<void> {
  if (create) await (await docker.createContainer({ ...spec.create[name], name })).start();
  else await docker.getContainer(name).start();
}

async function startOne(docker: Docker, spec: FloorSpec, name: string, create: boolean): Promise<void> {
  const before = await inspectOrUndefined(docker, name);
  if (create) {
    if (before) throw new Error(`${name} exists: the floor's run wants it absent`);
    await (await docker.createContainer({ ...spec.create[name], name })).start();
  } else {
    if (!before) throw new Error(`${name} does not exist: the floor's start wants it created`);
    await docker.getContainer(name).start();
  }
  const info = await docker.getContainer(name).inspect();
  if (!info.State.Running) throw new Error(`${name} is not running after its start`);
  await settle(docker, name, info.State.Pid, spec.settleMs);
}

async function stopOne(docker: Docker, name: string): Promise<void> {
  const info = await docker.getContainer(name).inspect();
  if (!info.State.Running) return;
  await docker.getContainer(name).stop({ t: 10 });
  if ((await docker.getContainer(name).inspect()).State.Running) throw new Error(`${name} still running after its stop`);
}

async function stages(names: { parallel: boolean; names: string[] }[], fn: (name: string) => Promise<void>): Promise<void> {
  for (const st of names) {
    if (st.parallel) await Promise.all(st.names.map(fn));
    else for (const n of st.names) await fn(n);
  }
}

async function main(argv: string[]): Promise<void> {
  const [specFile, mode, ...flags] = argv;
  if (!specFile || !mode) throw new Error("usage: floor-launch.cjs SPEC.json run|start|stop|daemon-up|daemon-down [--cold] [--plain-stop] [--bare] [--time]");
  const spec = JSON.parse(fs.readFileSync(specFile, "utf8")) as FloorSpec;
  const cold = flags.includes("--cold");
  const plain = flags.includes("--plain-stop");
  const t0 = performance.now();
  await act(spec, mode, cold, plain, flags.includes("--bare"));
  if (flags.includes("--time")) process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + "\n");
}

async function act(spec: FloorSpec, mode: string, cold: boolean, plain: boolean, bare: boolean): Promise<void> {
  switch (mode) {
    case "daemon-up":
      return daemonUp(spec);
    case "daemon-down":
      return daemonDown(spec, plain);
    case "run":
    case "start": {
      if (cold) await daemonUp(spec);
      const docker = client(spec);
      return stages(spec.stages, (n) => (bare ? startBare : startOne)(docker, spec, n, mode === "run"));
    }
    case "stop": {
      const docker = client(spec);
      const reversed = [...spec.stages].reverse().map((s) => ({ parallel: s.parallel, names: [...s.names].reverse() }));
      await stages(reversed, (n) => stopOne(docker, n));
      if ((await docker.listContainers()).length === 0) await daemonDown(spec, plain);
      return;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

/** Settled when the floor is done (its launcher then writes the code cache, as svcmgr's does). */
export const done = main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`floor: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
