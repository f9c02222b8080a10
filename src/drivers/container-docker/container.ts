// The docker container driver, over the Engine API on the service's daemon
// (its own, or the host's), which it gets from the service's shared
// ContainerDaemon. Every call that changes something is logged as the
// equivalent `docker -H unix://... ` command line.
import crypto from "node:crypto";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { pidAlive } from "../../util/proc.js";
import { formatCommand, splitWords } from "../../util/shell-words.js";
import type { ResourceConfig } from "../../config/types.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";
import { isEngineError, type ContainerInspect, type DockerEngine } from "./engine.js";
import { serviceDocker, type ContainerDaemon } from "./service-daemon.js";
import { createRequest, runCommandLine, type CreateRequest } from "./run-args.js";

export const LABEL_SERVICE = "com.svcmgr.service";
export const LABEL_RID = "com.svcmgr.rid";
export const LABEL_HASH = "com.svcmgr.config-hash";
/** a cluster service's fencing token (SPEC §12): the owner key's create_revision when the container was made */
export const LABEL_FENCE = "com.svcmgr.fence";

const POLL_MS = 25;
/**
 * Without a healthcheck, "operational" means still running this long after the
 * start: it catches a command that exits at once. Watched on the container's
 * main process itself, which is gone within a few ms when its command fails at
 * once (docker itself reports the exit only 60-130 ms later, after its
 * clean-up of the container).
 */
const SETTLE_MS = 50;
/** The same window when the process cannot be watched (not in our pid namespace): the daemon's view, which lags. */
const SETTLE_DAEMON_MS = 100;
const PROC_POLL_MS = 5;

/**
 * What a status says when the engine could not be asked: "cannot tell", never
 * "down". The reason is an info line: a warn line would turn undef into warn.
 */
const cannotTell = (what: string, e: unknown): ResourceState => ({ status: "undef", log: [{ level: "info", message: `cannot tell ${what}: ${errorMessage(e)}` }] });

export class DockerContainer implements ResourceDriver {
  readonly name: string;
  private readonly image: string;
  private readonly command: string[] | undefined;
  private readonly argWords: string[];
  readonly configHash: string;

  constructor(
    private readonly ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.name = `${ctx.service}.container.${cfg.rid.split("#")[1]}`;
    this.image = cfg.text.run_image!;
    this.command = cfg.text.run_command ? splitWords(cfg.text.run_command) : undefined;
    this.argWords = splitWords(cfg.text.run_args ?? "");
    this.configHash = crypto.createHash("sha256").update(JSON.stringify([this.image, this.command ?? null, this.argWords])).digest("hex").slice(0, 16);
  }

  private get startTimeoutMs(): number {
    return this.cfg.values.start_timeout as number;
  }

  private get stopTimeoutS(): number {
    return Math.ceil((this.cfg.values.stop_timeout as number) / 1000);
  }

  private daemon(): ContainerDaemon {
    return serviceDocker(this.ctx);
  }

  /** `760b01810910@ubuntu:14.04`: the short id and the image's name when it was given by id. */
  private async label(docker: DockerEngine, info: ContainerInspect): Promise<string> {
    let image = info.Config.Image;
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(image)) {
      try {
        image = (await docker.inspectImage(image))?.RepoTags?.[0] ?? image;
      } catch {
        // the label is only decoration: keep the id
      }
    }
    return `${info.Id.slice(0, 12)}@${image}`;
  }

  /**
   * up, down (the daemon is not running, or there is no such container),
   * warn (config changed, unhealthy), or undef when the daemon or the
   * container cannot be observed (no answer in time, no permission, an engine
   * error): a supervisor restarting what is down must not act on a guess.
   */
  async status(): Promise<ResourceState> {
    const daemon = this.daemon();
    const probe = await daemon.probe();
    if (probe.state === "stopped") return { status: "down", log: [{ level: "info", message: "docker daemon is not running" }] };
    if (probe.state === "unknown") return cannotTell("whether the docker daemon runs", probe.reason);
    const docker = daemon.engine();
    let info: ContainerInspect | undefined;
    try {
      info = await docker.inspectContainer(this.name);
    } catch (e) {
      return cannotTell(`the state of container ${this.name}`, e);
    }
    if (!info) return { status: "down", log: [{ level: "info", message: "can not find container id" }] };
    const label = await this.label(docker, info);
    const log: ResourceState["log"] = [];
    const drift = info.Config.Labels?.[LABEL_HASH] !== this.configHash;
    if (!info.State.Running) {
      // SPEC §6: a changed config shows warn, running or not (the next start re-creates the container)
      if (drift) return { status: "warn", label, log: [{ level: "warn", message: "config changed: restart to apply" }] };
      return { status: "down", label, log };
    }
    if (drift) log.push({ level: "warn", message: "config changed: restart to apply" });
    const health = info.State.Health?.Status;
    if (health === "unhealthy") log.push({ level: "warn", message: "container is unhealthy" });
    else if (health === "starting") log.push({ level: "warn", message: "healthcheck still starting" });
    return { status: log.some((l) => l.level === "warn") ? "warn" : "up", label, log };
  }

  private cli(...args: string[]): string {
    return formatCommand([...this.daemon().cliArgs(), ...args]);
  }

  /** An error that comes from the daemon going away under us is reported as that, not as a socket error. */
  private async explain(e: unknown): Promise<unknown> {
    const probe = await this.daemon().probe();
    if (probe.state === "running") return e;
    const how = probe.state === "stopped" ? "is no longer running" : `does not answer (${probe.reason})`;
    return new ActionError(`the docker daemon ${how} (${errorMessage(e)})`, this.cfg.rid, e);
  }

  async start(): Promise<boolean> {
    const docker = await this.daemon().ensureRunning(this.log);
    try {
      return await this.startOn(docker);
    } catch (e) {
      throw await this.explain(e);
    }
  }

  private async startOn(docker: DockerEngine): Promise<boolean> {
    let info = await docker.inspectContainer(this.name);
    if (info?.State.Running) {
      const drift = info.Config.Labels?.[LABEL_HASH] !== this.configHash;
      this.log.info(`container ${this.name} is already up${drift ? " (config changed: restart to apply)" : ""}`);
      return false;
    }
    if (info && info.Config.Labels?.[LABEL_HASH] !== this.configHash) {
      this.log.info(this.cli("rm", info.Id.slice(0, 12)) + "   # config changed since it was created");
      await docker.removeContainer(info.Id);
      info = undefined;
    }
    const fence = this.ctx.cluster?.fence;
    if (info && fence !== undefined && info.Config.Labels?.[LABEL_FENCE] !== fence) {
      this.log.info(this.cli("rm", info.Id.slice(0, 12)) + `   # made under fencing token ${info.Config.Labels?.[LABEL_FENCE] ?? "none"}, this start holds ${fence}`);
      await docker.removeContainer(info.Id);
      info = undefined;
    }
    let id: string;
    if (info) {
      id = info.Id;
      this.log.info(this.cli("start", id.slice(0, 12)));
      await this.startContainer(docker, id);
      this.log.info(`output:\n${id.slice(0, 12)}\n`);
    } else {
      id = await this.create(docker);
    }
    await this.waitOperational(docker, id);
    return true;
  }

  private async startContainer(docker: DockerEngine, id: string): Promise<void> {
    try {
      await docker.startContainer(id); // 304, already started, is fine
    } catch (e) {
      throw this.failure("docker start", e);
    }
  }

  private async create(docker: DockerEngine): Promise<string> {
    const ctx = {
      name: this.name,
      image: this.image,
      command: this.command,
      labels: [[LABEL_SERVICE, this.ctx.service], [LABEL_RID, this.cfg.rid], [LABEL_HASH, this.configHash], ...(this.ctx.cluster ? ([[LABEL_FENCE, this.ctx.cluster.fence]] as const) : [])] as const,
    };
    if (this.ctx.cluster && !(await docker.inspectImage(this.image))) {
      // a cluster service's image follows it: pulled on the node that starts it
      this.log.info(this.cli("pull", this.image));
      try {
        await docker.pullImage(this.image);
      } catch (e) {
        throw this.failure("docker pull", e);
      }
    }
    let request: CreateRequest;
    try {
      request = createRequest(this.argWords, ctx, { env: this.ctx.env, readFile: (p) => fs.readFileSync(p) });
    } catch (e) {
      throw new ActionError(`run_args: ${errorMessage(e)}`, this.cfg.rid);
    }
    this.log.info(formatCommand(runCommandLine(this.daemon().cliArgs(), ctx, this.argWords)));
    let id: string;
    try {
      // exactly the body the docker CLI sends for these words; without --stop-timeout, the config's stop_timeout:
      // a daemon restarted after its predecessor died waits this long (not docker's 10 s) on the containers it finds
      id = await docker.createContainer(this.name, { ...request.body, StopTimeout: request.body.StopTimeout ?? this.stopTimeoutS });
    } catch (e) {
      if (isEngineError(e, "absent")) {
        throw new ActionError(`image ${this.image} is not in ${this.ctx.service}'s docker daemon: pull or load it first (svcmgr -s ${this.ctx.service} docker pull ${this.image})`, this.cfg.rid);
      }
      throw this.failure("docker create", e);
    }
    await this.startContainer(docker, id);
    this.log.info(`output:\n${id}\n`);
    return id;
  }

  private failure(what: string, e: unknown): ActionError {
    return new ActionError(`${what} failed: ${errorMessage(e).trim()}`, this.cfg.rid, e);
  }

  private async lastLogLines(docker: DockerEngine, id: string): Promise<string> {
    try {
      const text = (await docker.containerLogs(id, 5)).trim();
      return text ? `; last output: ${text.split("\n").join(" | ")}` : "";
    } catch {
      return "";
    }
  }

  /** inspect, for a container that must exist (it was just created or started) */
  private async inspectExisting(docker: DockerEngine, id: string): Promise<ContainerInspect> {
    const info = await docker.inspectContainer(id);
    if (!info) throw new ActionError(`container ${id.slice(0, 12)} vanished (removed by someone else?)`, this.cfg.rid);
    return info;
  }

  /** "wait for container up status", then "wait for container operational", within start_timeout. */
  private async waitOperational(docker: DockerEngine, id: string): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const exited = async (info: ContainerInspect): Promise<never> => {
      throw new ActionError(`container exited with code ${info.State.ExitCode} right after start${await this.lastLogLines(docker, id)}`, this.cfg.rid);
    };
    this.log.info("wait for container up status");
    let info = await this.inspectExisting(docker, id);
    while (!info.State.Running) {
      if (["exited", "dead"].includes(info.State.Status)) await exited(info);
      if (Date.now() > deadline) throw new ActionError(`container not running after ${this.startTimeoutMs / 1000}s (state ${info.State.Status})`, this.cfg.rid);
      await sleep(POLL_MS);
      info = await this.inspectExisting(docker, id);
    }
    this.log.info("wait for container operational");
    const test = info.Config.Healthcheck?.Test;
    const hasHealthcheck = Array.isArray(test) && test.length > 0 && test[0] !== "NONE";
    if (!hasHealthcheck && (await this.settleOnProcess(docker, info, exited))) return;
    const settleUntil = Math.min(Date.now() + SETTLE_DAEMON_MS, deadline);
    for (;;) {
      if (!info.State.Running) await exited(info);
      const health = info.State.Health?.Status;
      if (hasHealthcheck) {
        if (health === "healthy") return;
        if (health === "unhealthy") throw new ActionError(`container turned unhealthy${await this.lastLogLines(docker, id)}`, this.cfg.rid);
        if (Date.now() > deadline) throw new ActionError(`container not healthy after start_timeout (${this.startTimeoutMs / 1000}s): health ${health ?? "unknown"}`, this.cfg.rid);
      } else if (Date.now() >= settleUntil) return;
      await sleep(POLL_MS);
      info = await this.inspectExisting(docker, id);
    }
  }

  /**
   * The settle window on the container's main process (host pid from inspect,
   * checked to be in this container's cgroup). Resolves false when it cannot
   * be watched from here; throws when the container exited at once.
   */
  private async settleOnProcess(docker: DockerEngine, info: ContainerInspect, exited: (info: ContainerInspect) => Promise<never>): Promise<boolean> {
    const pid = info.State.Pid;
    const inContainer = (): boolean => {
      try {
        return fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(info.Id);
      } catch {
        return false;
      }
    };
    if (!pid || !inContainer()) return false;
    const until = Date.now() + SETTLE_MS;
    while (Date.now() < until && pidAlive(pid)) await sleep(PROC_POLL_MS);
    if (pidAlive(pid)) return true;
    // gone: wait for the daemon to see the exit, to report its code
    const deadline = Date.now() + 10_000;
    let now = await this.inspectExisting(docker, info.Id);
    while (now.State.Running && now.State.Pid === pid && Date.now() < deadline) {
      await sleep(POLL_MS);
      now = await this.inspectExisting(docker, info.Id);
    }
    return exited(now);
  }

  async stop(): Promise<boolean> {
    const daemon = this.daemon();
    const probe = await daemon.probe();
    if (probe.state !== "running") {
      // a daemon that does not answer is stopped as a whole (TERM, then KILL): its containers go with it
      if (probe.state === "stopped") this.log.info("docker daemon is not running: container already down");
      else this.log.warn(`docker daemon does not answer (${probe.reason}): stopping it stops its containers`);
      await daemon.stopIfIdle(false, this.log);
      if (probe.state === "stopped") return false;
      const after = await daemon.probe(); // the host's daemon is never stopped by svcmgr
      if (after.state === "unknown") throw new ActionError(`cannot stop container ${this.name}: the docker daemon does not answer (${after.reason})`, this.cfg.rid);
      return true;
    }
    const docker = daemon.engine();
    const info = await docker.inspectContainer(this.name);
    let changed = false;
    if (!info?.State.Running) {
      this.log.info(info ? `container ${this.name} is already down` : `container ${this.name} does not exist: already down`);
    } else {
      const id12 = info.Id.slice(0, 12);
      const t = this.stopTimeoutS;
      this.log.info(this.cli("stop", ...(t === 10 ? [] : [`--time=${t}`]), id12));
      try {
        await docker.stopContainer(info.Id, t); // 304, already stopped, is fine
      } catch (e) {
        throw this.failure("docker stop", e);
      }
      this.log.info(`output:\n${id12}\n`);
      this.log.info("wait for container down status");
      const deadline = Date.now() + (t + 10) * 1000;
      while ((await docker.inspectContainer(info.Id))?.State.Running) {
        if (Date.now() > deadline) throw new ActionError(`container still running ${t + 10}s after docker stop`, this.cfg.rid);
        await sleep(POLL_MS);
      }
      changed = true;
    }
    if (info && this.cfg.values.rm === true) {
      this.log.info(this.cli("rm", info.Id.slice(0, 12)));
      await docker.removeContainer(info.Id);
      changed = true;
    }
    await daemon.stopIfIdle(false, this.log);
    return changed;
  }
}
