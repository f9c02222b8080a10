// A service's private dockerd (SPEC §8): its own socket, pid file, data root,
// exec root and bridge, so that two services share no image, container,
// network or socket. Started on demand, waited for by polling /_ping, stopped
// with TERM then KILL. See NOTES.md in this folder for the traps behind the
// details (exec-root length, data-root self-bind mount, PATH, NOTIFY_SOCKET).
// The process itself is in dockerd-process.ts, what a dead one leaves in
// cleanup.ts, the Engine API client in engine.ts.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ActionError, errorMessage } from "../../util/errors.js";
import { fileSize, tailFile } from "../../util/file-tail.js";
import { groupId } from "../../util/group.js";
import type { Logger } from "../../util/log.js";
import { isSelfBindMount } from "../../util/mountinfo.js";
import { pidAlive, procCmdline, procComm, readPidFile } from "../../util/proc.js";
import { run } from "../../util/run.js";
import { formatCommand, quoteArg } from "../../util/shell-words.js";
import { findExecutable } from "../../util/which.js";
import { bridgeName, deleteBridge, ensureBridge, gatewayOf, stateHash } from "./bridge.js";
import { forceCleanup, removeExecRoot, shimPids, unmountSelfBinds } from "./cleanup.js";
import { DockerodeEngine } from "./dockerode-engine.js";
import { dockerCliArgs, probeEngine, type DaemonProbe, type DockerEngine } from "./engine.js";
import { killDockerd, spawnDockerd, terminateDockerd, waitReady } from "./dockerd-process.js";
import { claimBridgeCidr, writeBridgeCidr } from "./subnets.js";

/** containerd refuses unix socket paths longer than this (its own check, on every OS). */
const CONTAINERD_SOCKET_MAX = 104;
/** sun_path is 108 bytes on Linux, NUL included. */
const UNIX_SOCKET_MAX = 107;
/** the longest socket containerd creates under the exec root */
const CONTAINERD_LONGEST_SOCKET = "containerd/containerd-debug.sock";

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

/** A short exec root outside the state dir, so containerd's sockets stay under 104 bytes whatever the names. */
export function execRootFor(runDir: string, stateDir: string): string {
  return path.join(runDir, stateHash(stateDir));
}

/** Why a pid file that exists cannot be read (a user outside the socket group), or undefined. */
function unreadable(file: string): string | undefined {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? undefined : `cannot read ${file} (${code})`;
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
  /** the one client of this daemon, pinned to its API version on first contact */
  private readonly engine: DockerEngine;
  private probing: Promise<DaemonProbe> | undefined;

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
    this.engine = new DockerodeEngine(this.socketPath);
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

  /**
   * Running, stopped (no live dockerd of this socket, or nothing listening on
   * it), or unknown (it does not answer in time, the pid file or the socket
   * may not be read, a strange answer). Calls made while one is in flight
   * share it (the containers of a service ask at once).
   */
  probe(): Promise<DaemonProbe> {
    this.probing ??= this.doProbe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** Answers now? */
  async isRunning(): Promise<boolean> {
    return (await this.probe()).state === "running";
  }

  private async doProbe(): Promise<DaemonProbe> {
    const denied = unreadable(this.pidFile);
    if (denied) return { state: "unknown", reason: denied };
    if (this.livePid() === undefined) return { state: "stopped", reason: "docker daemon is not running" };
    return probeEngine(this.engine);
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

  /** The Engine API client of this daemon, pinned to min(daemon API, 1.41). Call after start() or a true isRunning(). */
  client(): DockerEngine {
    if (this.engine.apiVersion === undefined) throw new ActionError(`the docker daemon of ${this.svc} is not started (no API version known yet)`);
    return this.engine;
  }

  /** start() if needed, then the pinned client. */
  async ensureRunning(): Promise<DockerEngine> {
    await this.start();
    return this.client();
  }

  /** The runtime is done with this daemon: its client lets go of its connections. */
  close(): void {
    this.engine.close();
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

  private async doStart(): Promise<void> {
    if ((await this.doProbe()).state === "running") {
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
      const state = await waitReady(this.engine, () => !pidAlive(other), this.startTimeoutMs);
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
    const t0 = Date.now();
    const child = spawnDockerd(argv, this.logFile);
    const state = await waitReady(this.engine, () => child.exit() !== undefined || (child.pid !== undefined && !pidAlive(child.pid)), this.startTimeoutMs);
    // /proc may show it gone a moment before node reports its exit code
    if (state === "gone") await Promise.race([child.exited, sleep(500)]);
    if (state === "ready" && child.pid !== undefined) {
      try {
        return await this.afterReady(child.pid, t0);
      } catch (e) {
        await this.abortStart(child.pid, createdBridge);
        throw e;
      }
    }
    const why = state === "timeout" ? `did not answer on ${this.socketPath} within ${this.startTimeoutMs} ms` : (child.exit() ?? "exited");
    await this.abortStart(child.pid, createdBridge);
    throw new ActionError(`docker daemon ${why}${this.quoteLog(child.logOffset)}`);
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
    if (pid !== undefined) await killDockerd(pid);
    await this.cleanupAfterExit({ deleteBridge: createdBridge, clean: false });
  }

  private async afterReady(pid: number, t0: number): Promise<void> {
    const st = fs.statSync(this.socketPath);
    const gid = groupId(this.socketGroup);
    if (gid !== undefined && st.gid !== gid) await run(this.log, ["chgrp", this.socketGroup, this.socketPath]);
    if ((st.mode & 0o7777) !== this.socketMode) await run(this.log, ["chmod", this.socketMode.toString(8).padStart(4, "0"), this.socketPath]);
    if (this.engine.apiVersion === undefined) await this.engine.version();
    this.log.info(`docker daemon is up (pid ${pid}, ${Date.now() - t0} ms, api ${this.engine.apiVersion})`);
  }

  private async doStop(timeoutMs: number): Promise<void> {
    const pid = this.livePid();
    let clean = true;
    if (pid !== undefined) {
      this.log.info("no more container handled by docker daemon. shut it down");
      const ctrPid = readPidFile(path.join(this.execRoot, "containerd", "containerd.pid"));
      clean = await terminateDockerd(this.log, pid, ctrPid, this.logFile, fileSize(this.logFile), timeoutMs);
    }
    if (shimPids(this.execRoot).length > 0) {
      this.log.warn("containers of a dead docker daemon are still running: killing them");
      clean = false;
    }
    await this.cleanupAfterExit({ deleteBridge: true, clean });
  }

  /** After dockerd is gone: its litter out of the way, so that the host is as before the start. */
  private async cleanupAfterExit(opts: { deleteBridge: boolean; clean: boolean }): Promise<void> {
    this.engine.reset();
    if (!opts.clean) await forceCleanup(this.log, this.dataDir, this.execRoot);
    await unmountSelfBinds(this.log, this.dataDir);
    if (opts.deleteBridge) {
      try {
        await deleteBridge(this.log, this.bridge);
      } catch (e) {
        this.log.warn(`could not delete bridge ${this.bridge}: ${errorMessage(e)}`);
      }
    }
    for (const f of [this.socketPath, this.pidFile]) fs.rmSync(f, { force: true });
    removeExecRoot(this.execRoot);
  }
}
