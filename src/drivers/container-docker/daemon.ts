// A service's private dockerd (SPEC §8): its own socket, pid file, data root,
// exec root and bridge, so that two services share no image, container,
// network or socket. Started on demand, waited for by polling /_ping, stopped
// with TERM then KILL. See NOTES.md in this folder for the traps behind the
// details (exec-root length, data-root self-bind mount, PATH, NOTIFY_SOCKET).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import Docker from "dockerode";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { run } from "../../util/run.js";
import { formatCommand, quoteArg } from "../../util/shell-words.js";
import { bridgeName, claimBridgeCidr, deleteBridge, ensureBridge, gatewayOf, stateHash, writeBridgeCidr } from "./bridge.js";
import {
  allPids,
  findExecutable,
  groupId,
  isSelfBindMount,
  mountsUnder,
  pidAlive,
  procCmdline,
  procComm,
  procParent,
  readPidFile,
  signal,
  sleep,
  waitPidGone,
  withSbinPath,
} from "./host.js";

export { allocateBridgeCidr, bridgeName, stateHash } from "./bridge.js";

/** The newest Engine API this code was tested against (Debian's dockerd 20.10). */
export const NEWEST_TESTED_API = "1.41";

/** containerd refuses unix socket paths longer than this (its own check, on every OS). */
const CONTAINERD_SOCKET_MAX = 104;
/** sun_path is 108 bytes on Linux, NUL included. */
const UNIX_SOCKET_MAX = 107;
/** the longest socket containerd creates under the exec root */
const CONTAINERD_LONGEST_SOCKET = "containerd/containerd-debug.sock";

const POLL_MS = 10;
const STOP_POLL_MS = 10;
/** dockerd's last log line of a clean shutdown (cmd/dockerd/daemon.go), before its containerd supervisor's wait */
const SHUTDOWN_COMPLETE = "Daemon shutdown complete";

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** What a file holds past `offset` (all of it when it shrank since). */
function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const from = size < offset ? 0 : offset;
    const buf = Buffer.alloc(size - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

export interface PrivateDockerDaemonOptions {
  svc: string;
  /** the service's state dir: socket, pid file and dockerd.log live here */
  stateDir: string;
  /** docker_data_dir: the daemon's --data-root */
  dataDir: string;
  /** docker_socket_group; default `docker` when that group exists, else `root` */
  socketGroup?: string;
  /** docker_socket_mode; default 0o660 */
  socketMode?: number;
  /**
   * the subnet of the service's bridge, e.g. 172.30.4.0/24, or how to pick
   * one: called by the first start() only, so that evaluating the status of a
   * service never started allocates nothing
   */
  bridgeCidr: string | (() => Promise<string>);
  /** docker_daemon_args, already split into words */
  extraArgs: string[];
  /** Paths.run: short directory holding the exec roots */
  runDir: string;
  log: Logger;
  /** how long start() waits for /_ping (default 30 s) */
  startTimeoutMs?: number;
  /** dockerd program (default: found on PATH or in the sbin directories) */
  dockerd?: string;
}

/** `docker -H unix://SOCKET`: the CLI prefix used to log the equivalent of every API call. */
export function dockerCliArgs(socketPath: string): string[] {
  return ["docker", "-H", `unix://${socketPath}`];
}

/** A short exec root outside the state dir, so containerd's sockets stay under 104 bytes whatever the names. */
export function execRootFor(runDir: string, stateDir: string): string {
  return path.join(runDir, stateHash(stateDir));
}

/** min(daemon's API version, the newest we tested), as "1.41". */
export function pinApiVersion(daemonApi: string, newest = NEWEST_TESTED_API): string {
  const num = (v: string): [number, number] => {
    const [a = "0", b = "0"] = v.split(".");
    return [Number(a) || 0, Number(b) || 0];
  };
  const [da, db] = num(daemonApi);
  const [na, nb] = num(newest);
  return da < na || (da === na && db < nb) ? `${da}.${db}` : newest;
}

const DOCKER_CLIENT_ENV = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_PATH_PREFIX", "DOCKER_CLIENT_TIMEOUT"];

/**
 * The one Docker client factory: a dockerode client on that socket only,
 * pinned to an API version. docker-modem reads DOCKER_HOST & co. in its
 * constructor (and an explicit socketPath loses against DOCKER_HOST=tcp://…),
 * so they are hidden from it while it is built.
 */
export function createDockerClient(socketPath: string, apiVersion: string): Docker {
  const saved = DOCKER_CLIENT_ENV.map((k) => [k, process.env[k]] as const);
  for (const [k] of saved) delete process.env[k];
  try {
    return new Docker({ socketPath, host: undefined, port: undefined, protocol: "http", version: `v${apiVersion}` });
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One plain HTTP request on a unix socket (no keep-alive, so nothing holds the event loop). */
export function socketRequest(socketPath: string, urlPath: string, timeoutMs: number): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: "GET", agent: false, timeout: timeoutMs, headers: { Host: "docker" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export async function pingSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const r = await socketRequest(socketPath, "/_ping", timeoutMs);
    return r.status === 200 && r.body.trim() === "OK";
  } catch {
    return false;
  }
}

/** The last lines of a file written after `fromByte` (so a failed start quotes its own output only). */
export function tailFile(file: string, lines = 10, fromByte = 0): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(fromByte, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf.toString("utf8").split("\n").filter((l) => l.trim() !== "").slice(-lines).join("\n");
  } finally {
    fs.closeSync(fd);
  }
}

/** containerd-shim processes serving the containerd of that exec root (they outlive a killed dockerd). */
export function shimPids(execRoot: string): number[] {
  const address = path.join(execRoot, "containerd", "containerd.sock");
  return allPids().filter((pid) => procComm(pid)?.startsWith("containerd-shim") && procCmdline(pid).includes(address));
}

/**
 * What a dockerd killed with running containers leaves: shims and their
 * containers, container mounts under the data root, network namespaces under
 * the exec root. Kill and unmount all of it (used when TERM was not enough).
 */
export async function forceCleanup(log: Logger, dataDir: string, execRoot: string): Promise<void> {
  for (const shim of shimPids(execRoot)) {
    const children = allPids().filter((p) => procParent(p) === shim);
    for (const c of children) {
      log.info(`kill -KILL ${c}`);
      signal(c, "SIGKILL");
    }
    log.info(`kill -KILL ${shim}`);
    signal(shim, "SIGKILL");
    for (const c of children) await waitPidGone(c, 5000);
    await waitPidGone(shim, 5000);
  }
  for (const dir of [dataDir, execRoot]) {
    for (const mnt of mountsUnder(dir)) {
      if (mnt === dataDir) continue; // the data root itself: only ever dockerd's self-bind, handled by the caller
      const r = await run(log, ["umount", mnt], { check: false });
      if (r.exitCode !== 0) await run(log, ["umount", "-l", mnt], { check: false });
    }
  }
}

// One start or stop at a time per socket in this process (parallel container starts all ask for the daemon).
const inflight = new Map<string, Promise<unknown>>();

export class PrivateDockerDaemon {
  /** the service's own: started and stopped with its containers */
  readonly shared = false;
  readonly svc: string;
  readonly stateDir: string;
  readonly dataDir: string;
  private bridgeCidr: string | (() => Promise<string>);
  readonly extraArgs: readonly string[];
  readonly execRoot: string;
  readonly bridge: string;
  readonly logFile: string;
  private readonly runDir: string;
  /** the service's logger; during a start or stop, the one of the resource that asked for it */
  private log: Logger;
  private readonly socketGroupOpt: string | undefined;
  private readonly socketMode: number;
  private readonly startTimeoutMs: number;
  private readonly dockerdOpt: string | undefined;
  private apiVersion: string | undefined;
  private docker: Docker | undefined;
  private runningCheck: Promise<boolean> | undefined;

  constructor(opts: PrivateDockerDaemonOptions) {
    this.svc = opts.svc;
    this.stateDir = path.resolve(opts.stateDir);
    this.dataDir = path.resolve(opts.dataDir);
    this.bridgeCidr = opts.bridgeCidr;
    this.extraArgs = [...opts.extraArgs];
    this.runDir = opts.runDir;
    this.execRoot = execRootFor(opts.runDir, this.stateDir);
    this.bridge = bridgeName(this.stateDir);
    this.logFile = path.join(this.stateDir, "dockerd.log");
    this.log = opts.log;
    this.socketGroupOpt = opts.socketGroup;
    this.socketMode = opts.socketMode ?? 0o660;
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.dockerdOpt = opts.dockerd;
  }

  get socketPath(): string {
    return path.join(this.stateDir, "docker.sock");
  }

  get pidFile(): string {
    return path.join(this.stateDir, "docker.pid");
  }

  /** `docker -H unix://<socket>` */
  cliArgs(): string[] {
    return dockerCliArgs(this.socketPath);
  }

  /** The socket's group: the configured one, else `docker` when it exists, else `root`. */
  get socketGroup(): string {
    return this.socketGroupOpt ?? (groupId("docker") !== undefined ? "docker" : "root");
  }

  /** The dockerd command line (without the redirection to dockerd.log). */
  commandLine(dockerd = this.dockerdOpt ?? "dockerd"): string[] {
    return [
      dockerd,
      `--host=unix://${this.socketPath}`,
      `--pidfile=${this.pidFile}`,
      `--data-root=${this.dataDir}`,
      `--exec-root=${this.execRoot}`,
      `--bridge=${this.bridge}`,
      "--iptables=false",
      "--ip-masq=false",
      `--group=${this.socketGroup}`,
      ...this.extraArgs,
    ];
  }

  /** The pid in the pid file, when it is a live dockerd serving this socket (a stale pid file gives undefined). */
  private livePid(): number | undefined {
    const pid = readPidFile(this.pidFile);
    if (pid === undefined || !pidAlive(pid) || procComm(pid) !== "dockerd") return undefined;
    return procCmdline(pid).some((a) => a.endsWith(`unix://${this.socketPath}`)) ? pid : undefined;
  }

  /** Answers now? Calls made while one is in flight share it (the containers of a service ask at once). */
  isRunning(): Promise<boolean> {
    this.runningCheck ??= this.checkRunning().finally(() => (this.runningCheck = undefined));
    return this.runningCheck;
  }

  private async checkRunning(): Promise<boolean> {
    if (this.livePid() === undefined) return false;
    if (!(await this.ping())) return false;
    if (this.apiVersion === undefined) {
      try {
        await this.fetchApiVersion();
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * Something of this daemon is still on the host although it does not answer:
   * a dockerd that is starting or shutting down (an action killed half-way),
   * containers of a dead one, its bridge, exec root or data-root self-bind.
   * stop() finishes such a daemon off and cleans up after it.
   */
  leftBehind(): boolean {
    return (
      this.livePid() !== undefined ||
      shimPids(this.execRoot).length > 0 ||
      fs.existsSync(path.join("/sys/class/net", this.bridge)) ||
      fs.existsSync(this.execRoot) ||
      isSelfBindMount(this.dataDir)
    );
  }

  /** A dockerode client on this daemon's socket only, pinned to min(daemon API, 1.41). Call after start() or a true isRunning(). */
  client(): Docker {
    if (this.apiVersion === undefined) throw new ActionError(`the docker daemon of ${this.svc} is not started (no API version known yet)`);
    this.docker ??= createDockerClient(this.socketPath, this.apiVersion);
    return this.docker;
  }

  /** start() if needed, then the pinned client. */
  async ensureRunning(): Promise<Docker> {
    await this.start();
    return this.client();
  }

  /** GET /_ping answers OK? Its Api-Version header pins the client, which saves a GET /version. */
  private async ping(timeoutMs = 1000): Promise<boolean> {
    let r: HttpReply;
    try {
      r = await socketRequest(this.socketPath, "/_ping", timeoutMs);
    } catch {
      return false;
    }
    if (r.status !== 200 || r.body.trim() !== "OK") return false;
    const api = r.headers["api-version"];
    if (typeof api === "string" && /^\d+\.\d+$/.test(api)) this.pinApi(api);
    return true;
  }

  private async fetchApiVersion(): Promise<void> {
    const r = await socketRequest(this.socketPath, "/version", 5000);
    if (r.status !== 200) throw new ActionError(`GET /version on ${this.socketPath} answered ${r.status}`);
    const api = (JSON.parse(r.body) as { ApiVersion?: unknown }).ApiVersion;
    if (typeof api !== "string") throw new ActionError(`GET /version on ${this.socketPath} gave no ApiVersion`);
    this.pinApi(api);
  }

  private pinApi(daemonApi: string): void {
    const pinned = pinApiVersion(daemonApi);
    if (pinned !== this.apiVersion) this.docker = undefined;
    this.apiVersion = pinned;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const prev = inflight.get(this.socketPath) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    inflight.set(this.socketPath, settled);
    void settled.then(() => {
      if (inflight.get(this.socketPath) === settled) inflight.delete(this.socketPath);
    });
    return next;
  }

  /**
   * Start the daemon unless it already answers; resolves once /_ping answers.
   * `log`: the logger of the resource that needs it, so its lines read
   * `APP1.DEV.CONTAINER#1 starting docker daemon` as in the tutorials.
   */
  start(log?: Logger): Promise<void> {
    return this.serialize(() => this.loggingTo(log, () => this.doStart()));
  }

  /** TERM, then KILL after timeoutMs; then remove the bridge, the stale socket and pid file. */
  stop(timeoutMs = 15_000, log?: Logger): Promise<void> {
    return this.serialize(() => this.loggingTo(log, () => this.doStop(timeoutMs)));
  }

  /** Run fn (serialized: one start or stop at a time) with its lines going to `log`. */
  private async loggingTo<T>(log: Logger | undefined, fn: () => Promise<T>): Promise<T> {
    const saved = this.log;
    if (log) this.log = log;
    try {
      return await fn();
    } finally {
      this.log = saved;
    }
  }

  private checkPathLengths(): void {
    const sock = Buffer.byteLength(this.socketPath);
    if (sock > UNIX_SOCKET_MAX) {
      throw new ActionError(`docker socket path ${this.socketPath} is ${sock} bytes, over the ${UNIX_SOCKET_MAX} a unix socket allows: use a shorter SVCMGR_ROOT or service name`);
    }
    const ctr = Buffer.byteLength(path.join(this.execRoot, CONTAINERD_LONGEST_SOCKET));
    if (ctr > CONTAINERD_SOCKET_MAX) {
      throw new ActionError(`docker exec root ${this.execRoot} is too long: containerd sockets under it would be ${ctr} bytes, over ${CONTAINERD_SOCKET_MAX}`);
    }
  }

  /** Poll /_ping every 10 ms until it answers, the process is gone, or the time is up. */
  private async waitReady(gone: () => boolean, timeoutMs: number): Promise<"ready" | "gone" | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.ping(1000)) return "ready";
      if (gone()) return "gone";
      if (Date.now() >= deadline) return "timeout";
      await sleep(POLL_MS);
    }
  }

  private async doStart(): Promise<void> {
    if (await this.checkRunning()) {
      this.log.debug("docker daemon already running");
      return;
    }
    this.checkPathLengths();
    if (typeof this.bridgeCidr === "function") this.bridgeCidr = await this.bridgeCidr();
    const bridgeCidr = this.bridgeCidr;
    gatewayOf(bridgeCidr); // validates the subnet before anything is changed

    const other = this.livePid();
    if (other !== undefined) {
      // another svcmgr process is starting it, or it hangs: give it the same time a start gets
      this.log.info(`docker daemon pid ${other} does not answer yet: waiting for it`);
      const state = await this.waitReady(() => !pidAlive(other), this.startTimeoutMs);
      if (state === "ready") return this.afterReady(other, Date.now());
      if (state === "timeout") throw new ActionError(`docker daemon pid ${other} does not answer on ${this.socketPath}: stop it first${this.quoteLog(0)}`);
    }

    const group = this.socketGroup;
    const gid = groupId(group);
    if (gid === undefined) throw new ActionError(`docker_socket_group: no group named "${group}" on this host`);
    const dockerd = findExecutable(this.dockerdOpt ?? "dockerd");
    if (!dockerd) throw new ActionError("dockerd not found (install docker.io)");

    // A pid file naming a dead (or recycled) pid makes dockerd refuse to start; a stale socket is just litter.
    // A stale containerd.pid is worse: dockerd takes any existing pid there (even the zombie of the
    // containerd its killed predecessor left, until init reaps it) for a running containerd, waits 15 s
    // for it and gives up.
    const ctrPidFile = path.join(this.execRoot, "containerd", "containerd.pid");
    const ctrPid = readPidFile(ctrPidFile);
    const ctrLive = ctrPid !== undefined && pidAlive(ctrPid) && procComm(ctrPid) === "containerd" && procCmdline(ctrPid).some((a) => a.startsWith(this.execRoot + "/"));
    for (const f of [this.pidFile, this.socketPath, ...(ctrLive ? [] : [ctrPidFile])]) {
      if (fs.existsSync(f)) {
        this.log.info(`rm -f ${quoteArg(f)}`);
        fs.rmSync(f, { force: true });
      }
    }
    fs.mkdirSync(this.stateDir, { recursive: true, mode: 0o750 });
    await this.openStateDirToSocketGroup(gid);
    fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o711 });
    fs.mkdirSync(path.dirname(this.execRoot), { recursive: true, mode: 0o755 });
    const createdBridge = await ensureBridge(this.log, this.bridge, bridgeCidr);
    writeBridgeCidr(this.stateDir, bridgeCidr);
    claimBridgeCidr(this.runDir, this.stateDir, bridgeCidr);

    const argv = this.commandLine(dockerd);
    this.log.info("starting docker daemon");
    this.log.info(`${formatCommand(argv)} >>${quoteArg(this.logFile)} 2>&1 &`);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: withSbinPath(process.env.PATH ?? "") };
    // under a systemd unit of Type=notify, dockerd would report readiness in svcmgr's name
    delete env.NOTIFY_SOCKET;
    const out = fs.openSync(this.logFile, "a", 0o640);
    const logOffset = fs.fstatSync(out).size;
    const t0 = Date.now();
    let exit: string | undefined;
    const child = (() => {
      try {
        return spawn(dockerd, argv.slice(1), { detached: true, stdio: ["ignore", out, out], env });
      } finally {
        fs.closeSync(out);
      }
    })();
    const exited = new Promise<void>((resolve) => {
      child.on("exit", (code, sig) => {
        exit = sig ? `was killed by ${sig}` : `exited with code ${code}`;
        resolve();
      });
      child.on("error", (e) => {
        exit = `could not be run: ${e.message}`;
        resolve();
      });
    });
    child.unref();

    const state = await this.waitReady(() => exit !== undefined || (child.pid !== undefined && !pidAlive(child.pid)), this.startTimeoutMs);
    // /proc may show it gone a moment before node reports its exit code
    if (state === "gone") await Promise.race([exited, sleep(500)]);
    if (state === "ready" && child.pid !== undefined) {
      try {
        return await this.afterReady(child.pid, t0);
      } catch (e) {
        await this.abortStart(child.pid, createdBridge);
        throw e;
      }
    }
    const why = state === "timeout" ? `did not answer on ${this.socketPath} within ${this.startTimeoutMs} ms` : (exit ?? "exited");
    await this.abortStart(child.pid, createdBridge);
    throw new ActionError(`docker daemon ${why}${this.quoteLog(logOffset)}`);
  }

  /**
   * The socket lives in the state dir, so its group must be able to reach it:
   * the state dir is root:<socket group> 0750 (plus o+x when the socket mode
   * lets others in), and its parent, svcmgr's var dir, lets everyone through
   * (o+x, no listing). Nothing in the state dir is readable by the group.
   */
  private async openStateDirToSocketGroup(gid: number): Promise<void> {
    const want = 0o750 | (this.socketMode & 0o006 ? 0o001 : 0);
    const st = fs.statSync(this.stateDir);
    if (st.gid !== gid) await run(this.log, ["chgrp", this.socketGroup, this.stateDir]);
    if ((st.mode & 0o7777) !== want) await run(this.log, ["chmod", want.toString(8).padStart(4, "0"), this.stateDir]);
    const parent = path.dirname(this.stateDir);
    if ((fs.statSync(parent).mode & 0o001) === 0) await run(this.log, ["chmod", "o+x", parent]);
  }

  private quoteLog(fromByte: number): string {
    const tail = tailFile(this.logFile, 10, fromByte);
    return tail ? `; last lines of ${this.logFile}:\n${tail}` : `; ${this.logFile} is empty`;
  }

  /** Undo a start that failed: no dockerd, bridge or mount is left behind. */
  private async abortStart(pid: number | undefined, createdBridge: boolean): Promise<void> {
    if (pid !== undefined && pidAlive(pid)) {
      signal(pid, "SIGTERM");
      if (!(await waitPidGone(pid, 5000))) {
        signal(pid, "SIGKILL");
        await waitPidGone(pid, 5000);
      }
    }
    await this.cleanupAfterExit({ deleteBridge: createdBridge, clean: false });
  }

  private async afterReady(pid: number, t0: number): Promise<void> {
    const st = fs.statSync(this.socketPath);
    const gid = groupId(this.socketGroup);
    if (gid !== undefined && st.gid !== gid) await run(this.log, ["chgrp", this.socketGroup, this.socketPath]);
    if ((st.mode & 0o7777) !== this.socketMode) await run(this.log, ["chmod", this.socketMode.toString(8).padStart(4, "0"), this.socketPath]);
    if (this.apiVersion === undefined) await this.fetchApiVersion();
    this.log.info(`docker daemon is up (pid ${pid}, ${Date.now() - t0} ms, api ${this.apiVersion})`);
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const pid = this.livePid();
    let clean = true;
    if (pid !== undefined) {
      this.log.info("no more container handled by docker daemon. shut it down");
      const ctrPid = readPidFile(path.join(this.execRoot, "containerd", "containerd.pid"));
      const logOffset = fileSize(this.logFile);
      this.log.info(`kill ${pid}`);
      signal(pid, "SIGTERM");
      if (!(await this.waitShutdown(pid, ctrPid, logOffset, timeoutMs))) {
        this.log.warn(`docker daemon pid ${pid} still running ${timeoutMs} ms after TERM`);
        this.log.info(`kill -KILL ${pid}`);
        signal(pid, "SIGKILL");
        clean = false;
        if (!(await waitPidGone(pid, 5000))) throw new ActionError(`docker daemon pid ${pid} survived SIGKILL`);
      }
      // containerd dies with dockerd (parent-death signal); make sure before its sockets go
      if (ctrPid !== undefined && procComm(ctrPid) === "containerd" && !(await waitPidGone(ctrPid, 2000))) {
        this.log.info(`kill -KILL ${ctrPid}`);
        signal(ctrPid, "SIGKILL");
        await waitPidGone(ctrPid, 5000);
      }
    }
    if (shimPids(this.execRoot).length > 0) {
      this.log.warn("containers of a dead docker daemon are still running: killing them");
      clean = false;
    }
    await this.cleanupAfterExit({ deleteBridge: true, clean });
  }

  /**
   * Wait for dockerd to exit after TERM. Its shutdown proper takes a few ms and
   * ends with "Daemon shutdown complete" in its log; it then stops its
   * containerd and polls once a second for it to be gone, so it exits ~1 s
   * after TERM doing nothing. Once both are seen (the line, written after the
   * TERM, and its containerd gone), that wait is cut short with KILL.
   */
  private async waitShutdown(pid: number, ctrPid: number | undefined, logOffset: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid)) {
      if (Date.now() >= deadline) return false;
      await sleep(STOP_POLL_MS);
      // containerd reaped by dockerd (not a zombie left to init, which a next start would take for a live containerd)
      const ctrGone = ctrPid === undefined || !fs.existsSync(`/proc/${ctrPid}`) || procComm(ctrPid) !== "containerd";
      if (ctrGone && readFrom(this.logFile, logOffset).includes(SHUTDOWN_COMPLETE) && pidAlive(pid)) {
        this.log.info(`kill -KILL ${pid}   # shutdown complete, containerd gone: skip dockerd's last 1 s wait`);
        signal(pid, "SIGKILL");
        return waitPidGone(pid, 5000, STOP_POLL_MS);
      }
    }
    return true;
  }

  /** After dockerd is gone: its litter out of the way, so that the host is as before the start. */
  private async cleanupAfterExit(opts: { deleteBridge: boolean; clean: boolean }): Promise<void> {
    this.apiVersion = undefined;
    this.docker = undefined;
    if (!opts.clean) await forceCleanup(this.log, this.dataDir, this.execRoot);
    // dockerd unmounts its data-root self-bind on a clean exit only when that
    // same run created it. Stacked ones (one per killed run) come off one by
    // one; a failing umount (a process of the dead daemon still letting go)
    // is retried a while, then what is left is detached lazily.
    for (let i = 0; i < 16 && isSelfBindMount(this.dataDir); i++) {
      if ((await run(this.log, ["umount", this.dataDir], { check: false })).exitCode !== 0) await sleep(50);
    }
    if (isSelfBindMount(this.dataDir)) await run(this.log, ["umount", "-l", this.dataDir], { check: false });
    if (opts.deleteBridge) {
      try {
        await deleteBridge(this.log, this.bridge);
      } catch (e) {
        this.log.warn(`could not delete bridge ${this.bridge}: ${errorMessage(e)}`);
      }
    }
    for (const f of [this.socketPath, this.pidFile]) fs.rmSync(f, { force: true });
    if (mountsUnder(this.execRoot).length === 0 && shimPids(this.execRoot).length === 0) {
      fs.rmSync(this.execRoot, { recursive: true, force: true });
    }
  }
}
