// The docker container driver, over the Engine API on the service's daemon
// (its own, or the host's), which it gets from the service's shared
// ContainerDaemon. Every call that changes something is logged as the
// equivalent `docker -H unix://... ` command line.
import crypto from "node:crypto";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { formatCommand, splitWords } from "../../util/shell-words.js";
import type { ResourceConfig } from "../../config/types.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";
import { EngineError, isEngineError, type ContainerInspect, type DaemonProbe, type DockerEngine } from "./engine.js";
import { serviceDocker, type ContainerDaemon } from "./service-daemon.js";
import { createRequest, parseRunArgs, runCommandLine, type CreateBody, type CreateRequest } from "./run-args.js";
import type { Known, StartWatch } from "./start-watch.js";

export const LABEL_SERVICE = "com.svcmgr.service";
export const LABEL_RID = "com.svcmgr.rid";
export const LABEL_HASH = "com.svcmgr.config-hash";
/** a cluster service's fencing token (SPEC §12): the owner key's create_revision when the container was made */
export const LABEL_FENCE = "com.svcmgr.fence";

/** how often a healthcheck's state is looked at while waiting for it */
const POLL_MS = 25;

const hasTest = (test: readonly string[] | null | undefined): boolean => Array.isArray(test) && test.length > 0 && test[0] !== "NONE";

/** HTTP 409: the name is taken (by a container created since the action's listing) */
const conflict = (e: unknown): boolean => e instanceof EngineError && e.statusCode === 409;

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
  /** the healthcheck run_args defines (`--health-cmd`) or disables (`--no-healthcheck`); undefined: the image's */
  private readonly healthArgs: CreateBody["Healthcheck"];
  /** the container this action started, and the status its start established (for the final evaluation, see StartWatch.settled) */
  private started: { id: string; state: ResourceState } | undefined;

  constructor(
    private readonly ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.name = `${ctx.service}.container.${cfg.rid.split("#")[1]}`;
    this.image = cfg.text.run_image!;
    this.command = cfg.text.run_command ? splitWords(cfg.text.run_command) : undefined;
    this.argWords = splitWords(cfg.text.run_args ?? "");
    const { options } = parseRunArgs(this.argWords);
    this.healthArgs = options.flags.noHealthcheck ? { Test: ["NONE"] } : options.strings.healthCmd ? { Test: ["CMD-SHELL", options.strings.healthCmd] } : undefined;
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
    if (this.started && daemon.watching()?.settled(this.started.id)) return this.started.state;
    const down = (): ResourceState => ({ status: "down", log: [{ level: "info", message: "docker daemon is not running" }] });
    const seen = await this.inspect();
    if (seen.probe.state === "stopped") return down();
    if (seen.probe.state === "unknown") return cannotTell("whether the docker daemon runs", seen.probe.reason);
    if ("failed" in seen) return cannotTell(`the state of container ${this.name}`, seen.failed);
    const docker = daemon.engine();
    const info = seen.info;
    if (!info) return { status: "down", log: [{ level: "info", message: "can not find container id" }] };
    // the final evaluation of a start looks at the containers it started once more
    daemon.watching()?.observed(info);
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
    this.started = undefined;
    const daemon = this.daemon();
    const docker = await daemon.ensureRunning(this.log);
    try {
      const watch = daemon.startWatch(docker, `${LABEL_SERVICE}=${this.ctx.service}`);
      await watch.open(this.serviceImages());
      return await this.startOn(docker, watch, watch.take(this.name));
    } catch (e) {
      daemon.watching()?.unwatch(this.cfg.rid); // this error is its failure
      throw await this.explain(e);
    }
  }

  /** the images of the service's containers: asked once per action whether they define a healthcheck */
  private serviceImages(): string[] {
    return [...new Set(this.ctx.config.resources.filter((r) => r.group === "container" && !r.disabled && r.text.run_image).map((r) => r.text.run_image!))];
  }

  /**
   * `known`: what the action's listing says of this container (undefined:
   * ask the engine). When the listing was stale (the container was removed
   * or created by someone else since), the engine is asked and it goes again.
   */
  private async startOn(docker: DockerEngine, watch: StartWatch, known: Known): Promise<boolean> {
    let c: { id: string; running: boolean; hash: string | undefined; fence: string | undefined } | undefined;
    if (known === undefined) {
      const info = await docker.inspectContainer(this.name);
      c = info && { id: info.Id, running: info.State.Running, hash: info.Config.Labels?.[LABEL_HASH], fence: info.Config.Labels?.[LABEL_FENCE] };
    } else if (known !== "absent") {
      c = { id: known.Id, running: ["running", "paused", "restarting"].includes(known.State), hash: known.Labels?.[LABEL_HASH], fence: known.Labels?.[LABEL_FENCE] };
    }
    if (c?.running && watch.beingStopped(c.id)) {
      // a killed stop's docker stop, carried on by dockerd: once it is down, this start starts it again
      this.log.info(`container ${this.name} is being stopped (by a killed stop, still under way in the daemon): wait for it to be down`);
      if (!(await watch.waitDown(c.id, (this.stopTimeoutS + 10) * 1000))) return this.startOn(docker, watch, undefined);
      c.running = false;
    }
    if (c?.running) {
      watch.foundUp(c.id, this.cfg.rid);
      const drift = c.hash !== this.configHash;
      this.log.info(`container ${this.name} is already up${drift ? " (config changed: restart to apply)" : ""}`);
      return false;
    }
    if (c && c.hash !== this.configHash) {
      this.log.info(this.cli("rm", c.id.slice(0, 12)) + "   # config changed since it was created");
      await docker.removeContainer(c.id);
      c = undefined;
    }
    const fence = this.ctx.cluster?.fence;
    if (c && fence !== undefined && c.fence !== fence) {
      this.log.info(this.cli("rm", c.id.slice(0, 12)) + `   # made under fencing token ${c.fence ?? "none"}, this start holds ${fence}`);
      await docker.removeContainer(c.id);
      c = undefined;
    }
    let id: string;
    let healthcheck: CreateBody["Healthcheck"];
    try {
      if (c) {
        id = c.id;
        this.log.info(this.cli("start", id.slice(0, 12)));
        watch.watch(id, this.cfg.rid);
        await this.startContainer(docker, id);
        this.log.info(`output:\n${id.slice(0, 12)}\n`);
      } else {
        ({ id, healthcheck } = await this.create(docker, watch));
      }
    } catch (e) {
      const stale = known !== undefined && (isEngineError(e, "absent") || (e instanceof ActionError && isEngineError(e.cause, "absent")) || conflict(e));
      if (stale) return this.startOn(docker, watch, undefined);
      throw e;
    }
    await this.waitOperational(docker, watch, id, healthcheck);
    // created or started with this config (a container of another config was re-created): running, healthy when it has a healthcheck
    if (!/^(sha256:)?[0-9a-f]{12,64}$/.test(this.image)) this.started = { id, state: { status: "up", label: `${id.slice(0, 12)}@${this.image}`, log: [] } };
    watch.operational(id);
    return true;
  }

  private async startContainer(docker: DockerEngine, id: string): Promise<void> {
    try {
      await docker.startContainer(id); // 304, already started, is fine
    } catch (e) {
      throw this.failure("docker start", e);
    }
  }

  private async create(docker: DockerEngine, watch: StartWatch): Promise<{ id: string; healthcheck: CreateBody["Healthcheck"] }> {
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
      if (conflict(e)) throw e; // the name is taken since the action's listing: asked again
      throw this.failure("docker create", e);
    }
    watch.watch(id, this.cfg.rid);
    await this.startContainer(docker, id);
    this.log.info(`output:\n${id}\n`);
    return { id, healthcheck: request.body.Healthcheck };
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

  /**
   * Does it have a healthcheck to wait for? The create body's (run_args),
   * else the image's (asked once per action); undefined when the image
   * cannot be asked.
   */
  private async hasHealthcheck(watch: StartWatch, fromBody: CreateBody["Healthcheck"]): Promise<boolean | undefined> {
    const own = fromBody ?? this.healthArgs;
    if (own?.Test?.length) return own.Test[0] !== "NONE";
    return watch.imageHealthcheck(this.image).catch(() => undefined);
  }

  /**
   * "wait for container up status" (the start call returned: it runs), then
   * "wait for container operational" within start_timeout: healthy when it
   * has a healthcheck; otherwise at once, the action's die watch and its
   * final evaluation failing the start of a container that exits at once.
   */
  private async waitOperational(docker: DockerEngine, watch: StartWatch, id: string, fromBody: CreateBody["Healthcheck"]): Promise<void> {
    this.log.info("wait for container up status");
    this.log.info("wait for container operational");
    const health = await this.hasHealthcheck(watch, fromBody);
    if (health === false) return;
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      const info = await this.inspectExisting(docker, id);
      if (!info.State.Running) {
        if (["exited", "dead"].includes(info.State.Status)) {
          throw new ActionError(`container exited with code ${info.State.ExitCode} right after start${await this.lastLogLines(docker, id)}`, this.cfg.rid);
        }
      } else if (health === undefined && !hasTest(info.Config.Healthcheck?.Test)) {
        return;
      } else {
        const status = info.State.Health?.Status;
        if (status === "healthy") return;
        if (status === "unhealthy") throw new ActionError(`container turned unhealthy${await this.lastLogLines(docker, id)}`, this.cfg.rid);
      }
      if (Date.now() > deadline) {
        const what = info.State.Running ? `healthy after start_timeout (${this.startTimeoutMs / 1000}s): health ${info.State.Health?.Status ?? "unknown"}` : `running after ${this.startTimeoutMs / 1000}s (state ${info.State.Status})`;
        throw new ActionError(`container not ${what}`, this.cfg.rid);
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * The daemon's state and this container's inspect. The daemon is taken as
   * running when it answered this action (a start, an earlier container's
   * stop); it is asked again when the inspect fails, so a daemon gone or hung
   * since is seen as such, and `failed` is the inspect's error when it still
   * runs.
   */
  private async inspect(): Promise<{ probe: DaemonProbe; info?: ContainerInspect } | { probe: DaemonProbe; failed: unknown }> {
    const daemon = this.daemon();
    const probe = await daemon.probe(true);
    if (probe.state !== "running") return { probe };
    try {
      return { probe, info: await daemon.engine().inspectContainer(this.name) };
    } catch (e) {
      const now = await daemon.probe();
      return now.state === "running" ? { probe: now, failed: e } : { probe: now };
    }
  }

  async stop(): Promise<boolean> {
    this.started = undefined;
    const daemon = this.daemon();
    const seen = await this.inspect();
    if ("failed" in seen) throw seen.failed;
    const { probe, info } = seen;
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
    let changed = false;
    if (!info?.State.Running) {
      this.log.info(info ? `container ${this.name} is already down` : `container ${this.name} does not exist: already down`);
    } else {
      const id12 = info.Id.slice(0, 12);
      const t = this.stopTimeoutS;
      daemon.watching()?.unwatch(info.Id); // stopped on purpose (a rollback): not a failure of its start
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
    await daemon.stopIfIdle(false, this.log, true); // it answered the inspect just now
    return changed;
  }
}
