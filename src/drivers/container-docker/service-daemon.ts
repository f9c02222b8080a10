// The docker daemon of a service, built from its [DEFAULT] keywords, and the
// per-runtime handle its containers share: started on first need, stopped when
// its last container stops, and taken down again by a rolled-back start.
import path from "node:path";
import { ActionError } from "../../util/errors.js";
import { splitWords } from "../../util/shell-words.js";
import { PRIVATE_DAEMON_KEYWORDS, usesPrivateDaemon } from "../../config/types.js";
import type { DriverContext, ServiceShared } from "../driver.js";
import type { Logger } from "../../util/log.js";
import { allocateBridgeCidr } from "./subnets.js";
import { PrivateDockerDaemon } from "./daemon.js";
import { PROBE_DEADLINE_MS, type ContainerSummary, type DaemonProbe, type DockerEngine } from "./engine.js";
import { HostDockerDaemon } from "./host-daemon.js";
import { StartWatch } from "./start-watch.js";

/** The daemon a service's containers run on: its own, or the host's (docker_daemon_private = false, or no docker_data_dir). */
export type ServiceDaemon = PrivateDockerDaemon | HostDockerDaemon;

export function daemonFor(ctx: DriverContext): ServiceDaemon {
  const d = ctx.config.defaults.text;
  const v = ctx.config.defaults.values;
  if (!usesPrivateDaemon(v)) {
    if (v.docker_daemon_private === false) return new HostDockerDaemon(ctx.env, "docker_daemon_private = false");
    // without docker_data_dir (SPEC §4): the private daemon's keywords have nothing to configure
    const ignored = PRIVATE_DAEMON_KEYWORDS.filter((k) => (ctx.config.doc.get("DEFAULT", k)?.value.trim() ?? "") !== "");
    return new HostDockerDaemon(ctx.env, "no docker_data_dir, so no private daemon", ignored);
  }
  const dataDir = d.docker_data_dir ?? path.join(ctx.stateDir, "docker");
  // picked on the daemon's first start, not to evaluate a status
  const bridgeCidr = d.docker_bridge_cidr ?? (() => allocateBridgeCidr(ctx.paths.var, ctx.stateDir, ctx.log, ctx.paths.run));
  return new PrivateDockerDaemon({
    svc: ctx.service,
    stateDir: ctx.stateDir,
    dataDir,
    socketGroup: d.docker_socket_group,
    socketMode: v.docker_socket_mode,
    bridgeCidr,
    extraArgs: splitWords(d.docker_daemon_args ?? ""),
    runDir: ctx.paths.run,
    log: ctx.log,
  });
}

/**
 * What a container driver needs of its service's daemon (ServiceDocker; a
 * test gives the driver a fake of it, holding a fake engine).
 */
export interface ContainerDaemon extends ServiceShared {
  /** `docker -H unix://<socket>`, to log each call as the command a user would type */
  cliArgs(): string[];
  /**
   * running (with its client), stopped, or unknown: never guessed. With
   * `recent`, a daemon that answered a start of this action is taken as
   * running without asking (a status evaluation right after the start; an
   * error of its next call is probed then).
   */
  probe(recent?: boolean): Promise<DaemonProbe>;
  /** The client, the daemon started first when it is the service's own and down. */
  ensureRunning(log: Logger): Promise<DockerEngine>;
  /** the client of a daemon that answered (after a running probe() or ensureRunning()) */
  engine(): DockerEngine;
  /** `answered`: the caller has just had the daemon's answer (a container's stop), so its listing is asked without a probe first */
  stopIfIdle(onlyIfStartedHere: boolean, log?: Logger, answered?: boolean): Promise<void>;
  /** What this action's container starts share on this daemon (one listing, the die watch): made by the first start. */
  startWatch(docker: DockerEngine, label: string): StartWatch;
  /** the start watch, when a start of this action made one */
  watching(): StartWatch | undefined;
  /**
   * The caller holds an open event stream from this daemon (true), or that
   * stream ended (false): while it is open the daemon answers, so probe(true)
   * takes it as running without a ping (an inspect that fails is probed then).
   */
  streaming(open: boolean): void;
}

/** The service's daemon as its containers share it during one action or evaluation. */
export class ServiceDocker implements ContainerDaemon {
  readonly daemon: ServiceDaemon;
  /** set when this runtime started the private daemon, so that a failed start can stop it again */
  private startedHere = false;
  /** it answered (or was started) during this runtime: later starts do not ask again (an error of theirs is explained by a probe) */
  private answered = false;
  private watch: StartWatch | undefined;

  constructor(private readonly ctx: DriverContext) {
    this.daemon = daemonFor(ctx);
  }

  /**
   * The daemon, answering: its own is started if it is down (refused while
   * the filesystem holding its data dir is down); the host's must already
   * answer. `log`: where the daemon's lines go (the resource that needs it).
   */
  async ensureRunning(log: Logger): Promise<DockerEngine> {
    const daemon = this.daemon;
    if (daemon.shared) daemon.warnIgnored(log);
    if (this.answered) return daemon.client();
    if (await daemon.isRunning()) {
      this.answered = true;
      return daemon.client();
    }
    if (!daemon.shared) await checkDataDirFilesystem(this.ctx, daemon.dataDir);
    await daemon.start(log);
    this.startedHere = true;
    this.answered = true;
    return daemon.client();
  }

  startWatch(docker: DockerEngine, label: string): StartWatch {
    // the private daemon's containers run in this pid namespace (svcmgr runs that dockerd)
    this.watch ??= new StartWatch(docker, label, (rid, error) => this.ctx.startFailed(rid, error), !this.daemon.shared, killedStopSince(this.ctx.killed));
    return this.watch;
  }

  watching(): StartWatch | undefined {
    return this.watch;
  }

  streaming(open: boolean): void {
    this.answered = open;
  }

  /** a die that came is reported (its last output fetched) before the next ordered start */
  checkpoint(): Promise<void> {
    return this.settle();
  }

  settle(): Promise<void> {
    return this.watch?.settle() ?? Promise.resolve();
  }

  wentDown(): string[] {
    return this.watch?.wentDown() ?? [];
  }

  cliArgs(): string[] {
    return this.daemon.cliArgs();
  }

  probe(recent = false): Promise<DaemonProbe> {
    if (recent && this.answered) return Promise.resolve({ state: "running" });
    return this.daemon.probe();
  }

  engine(): DockerEngine {
    return this.daemon.client();
  }

  /**
   * Stop the private daemon when no container of it runs any more ("no more
   * container handled by docker daemon. shut it down"). With onlyIfStartedHere,
   * a daemon someone else started (e.g. for `docker pull`) is left alone.
   * With `answered` (a container's stop was just answered), the listing is
   * asked at once, without a probe first: one call less per container stop;
   * when that listing fails (a daemon gone or hung since), the daemon is
   * probed and handled as without it. A daemon that keeps running has
   * answered this action: the next container's stop takes it as running
   * (probe(true)), one ping less per container stop again.
   */
  async stopIfIdle(onlyIfStartedHere: boolean, log?: Logger, answered = false): Promise<void> {
    const daemon = this.daemon;
    if (daemon.shared || (onlyIfStartedHere && !this.startedHere)) return; // the host's: never stopped by svcmgr
    let running: ContainerSummary[] | undefined;
    if (answered) {
      // a daemon that stopped answering since is probed and handled as without `answered`
      running = await daemon
        .client()
        .listContainers({}, { deadlineMs: PROBE_DEADLINE_MS })
        .catch(() => undefined);
    }
    if (running === undefined) {
      if (!(await daemon.isRunning())) {
        // a daemon left half-stopped or half-started by a killed action, or the litter of a dead one
        if (daemon.leftBehind()) await daemon.stop(undefined, log);
        return;
      }
      running = await daemon.client().listContainers();
    }
    if (running.length > 0) this.answered = true;
    else {
      await daemon.stop(undefined, log);
      // a later start of this runtime (restart: stop, then start) starts it again, and watches it anew
      this.answered = false;
      this.watch?.close();
      this.watch = undefined;
    }
  }

  /** the daemon this start brought up goes down again with the containers */
  afterRollback(): Promise<void> {
    return this.stopIfIdle(true);
  }

  close(): void {
    this.watch?.close();
    this.daemon.close();
  }
}

/** When the earliest killed stop or restart this action took the lock over from began (epoch ms): its `docker stop` calls may still be under way. */
export function killedStopSince(killed: DriverContext["killed"]): number | undefined {
  const times = killed.filter((k) => k.action === "stop" || k.action === "restart").map((k) => Date.parse(k.since)).filter((t) => Number.isFinite(t));
  return times.length ? Math.min(...times) : undefined;
}

/** The service's shared docker handle for this runtime. */
export const serviceDocker = (ctx: DriverContext): ContainerDaemon => ctx.shared<ContainerDaemon>("docker", () => new ServiceDocker(ctx));

/**
 * The daemon must not write its data on the mount point of a filesystem of the
 * service that is down: it would fill the directory under the mount.
 */
export async function checkDataDirFilesystem(ctx: DriverContext, dataDir: string): Promise<void> {
  const holders = ctx.config.resources
    .filter((r) => r.group === "fs" && !r.disabled && r.text.mnt !== undefined)
    .filter((r) => dataDir === r.text.mnt || dataDir.startsWith(`${r.text.mnt!.replace(/\/$/, "")}/`))
    .sort((a, b) => b.text.mnt!.length - a.text.mnt!.length);
  const fs = holders[0];
  if (!fs) return;
  const st = await (await ctx.driver(fs.rid))!.status();
  if (st.status !== "up") {
    throw new ActionError(`docker_data_dir ${dataDir} lies on ${fs.rid} (${fs.text.mnt}), which is ${st.status}: start ${fs.rid} first`, fs.rid);
  }
}
