// The docker container driver, over the Engine API on the service's private
// daemon. Every call that changes something is logged as the equivalent
// `docker -H unix://... ` command line.
import crypto from "node:crypto";
import fs from "node:fs";
import type Docker from "dockerode";
import type { ContainerInspectInfo } from "dockerode";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { formatCommand, splitWords } from "../../util/shell-words.js";
import type { ResourceConfig } from "../../config/types.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";
import { serviceDocker, type ServiceDaemon } from "./service-daemon.js";
import { createRequest, runCommandLine, type CreateRequest } from "./run-args.js";
import { pidAlive } from "./host.js";

export const LABEL_SERVICE = "com.svcmgr.service";
export const LABEL_RID = "com.svcmgr.rid";
export const LABEL_HASH = "com.svcmgr.config-hash";

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function statusCode(e: unknown): number | undefined {
  return typeof e === "object" && e !== null && "statusCode" in e ? (e as { statusCode?: number }).statusCode : undefined;
}

/** Docker's multiplexed log frames (non-TTY containers) to text. */
function demuxFrames(buf: Buffer): string {
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString("utf8");
    i += 8 + size;
  }
  return i === 0 ? buf.toString("utf8") : out;
}

/**
 * POST /containers/create with exactly the request built from run_args: the
 * name in the query, the body as the docker CLI sends it (dockerode would
 * otherwise also copy every option into the query string).
 */
export function sendCreateRequest(docker: Docker, request: CreateRequest): Promise<Docker.Container> {
  return docker.createContainer({ _query: request.query, _body: request.body } as unknown as Docker.ContainerCreateOptions);
}

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

  private daemon(): ServiceDaemon {
    return serviceDocker(this.ctx).daemon;
  }

  private async inspect(docker: Docker): Promise<ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(this.name).inspect();
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** `760b01810910@ubuntu:14.04`: the short id and the image's name when it was given by id. */
  private async label(docker: Docker, info: ContainerInspectInfo): Promise<string> {
    let image = info.Config.Image;
    if (/^(sha256:)?[0-9a-f]{12,64}$/.test(image)) {
      try {
        image = (await docker.getImage(image).inspect()).RepoTags?.[0] ?? image;
      } catch {
        // the image may have been removed since; keep the id
      }
    }
    return `${info.Id.slice(0, 12)}@${image}`;
  }

  async status(): Promise<ResourceState> {
    const daemon = this.daemon();
    if (!(await daemon.isRunning())) return { status: "down", log: [{ level: "info", message: "docker daemon is not running" }] };
    const docker = daemon.client();
    const info = await this.inspect(docker);
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

  private cli(daemon: ServiceDaemon, ...args: string[]): string {
    return formatCommand([...daemon.cliArgs(), ...args]);
  }

  /** The daemon, started if needed (refused while the data dir's filesystem is down). */
  private async runningDaemon(): Promise<{ daemon: ServiceDaemon; docker: Docker }> {
    const daemon = await serviceDocker(this.ctx).ensureRunning(this.log);
    return { daemon, docker: daemon.client() };
  }

  /** An error that comes from the daemon going away under us is reported as that, not as a socket error. */
  private async explain(daemon: ServiceDaemon, e: unknown): Promise<unknown> {
    if (await daemon.isRunning()) return e;
    return new ActionError(`the docker daemon is no longer running (${errorMessage(e)})`, this.cfg.rid, e);
  }

  async start(): Promise<boolean> {
    const { daemon, docker } = await this.runningDaemon();
    try {
      return await this.startOn(daemon, docker);
    } catch (e) {
      throw await this.explain(daemon, e);
    }
  }

  private async startOn(daemon: ServiceDaemon, docker: Docker): Promise<boolean> {
    let info = await this.inspect(docker);
    if (info?.State.Running) {
      const drift = info.Config.Labels?.[LABEL_HASH] !== this.configHash;
      this.log.info(`container ${this.name} is already up${drift ? " (config changed: restart to apply)" : ""}`);
      return false;
    }
    if (info && info.Config.Labels?.[LABEL_HASH] !== this.configHash) {
      this.log.info(this.cli(daemon, "rm", info.Id.slice(0, 12)) + "   # config changed since it was created");
      await docker.getContainer(info.Id).remove();
      info = undefined;
    }
    let id: string;
    if (info) {
      id = info.Id;
      this.log.info(this.cli(daemon, "start", id.slice(0, 12)));
      try {
        await docker.getContainer(id).start();
      } catch (e) {
        if (statusCode(e) !== 304) throw this.failure("docker start", e);
      }
      this.log.info(`output:\n${id.slice(0, 12)}\n`);
    } else {
      id = await this.create(daemon, docker);
    }
    await this.waitOperational(docker, id);
    return true;
  }

  private async create(daemon: ServiceDaemon, docker: Docker): Promise<string> {
    const ctx = {
      name: this.name,
      image: this.image,
      command: this.command,
      labels: [[LABEL_SERVICE, this.ctx.service], [LABEL_RID, this.cfg.rid], [LABEL_HASH, this.configHash]] as const,
    };
    let request: CreateRequest;
    try {
      request = createRequest(this.argWords, ctx, { env: this.ctx.env, readFile: (p) => fs.readFileSync(p) });
    } catch (e) {
      throw new ActionError(`run_args: ${errorMessage(e)}`, this.cfg.rid);
    }
    this.log.info(formatCommand(runCommandLine(daemon.cliArgs(), ctx, this.argWords)));
    let container: Docker.Container;
    try {
      container = await sendCreateRequest(docker, request);
    } catch (e) {
      if (statusCode(e) === 404) {
        throw new ActionError(`image ${this.image} is not in ${this.ctx.service}'s docker daemon: pull or load it first (svcmgr -s ${this.ctx.service} docker pull ${this.image})`, this.cfg.rid);
      }
      throw this.failure("docker create", e);
    }
    try {
      await container.start();
    } catch (e) {
      throw this.failure("docker start", e);
    }
    this.log.info(`output:\n${container.id}\n`);
    return container.id;
  }

  private failure(what: string, e: unknown): ActionError {
    const msg = errorMessage(e).replace(/^\(HTTP code \d+\) [a-z ]+ - /, "").trim();
    return new ActionError(`${what} failed: ${msg}`, this.cfg.rid, e);
  }

  private async lastLogLines(docker: Docker, id: string): Promise<string> {
    try {
      const buf = await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: 5 });
      const text = demuxFrames(buf).trim();
      return text ? `; last output: ${text.split("\n").join(" | ")}` : "";
    } catch {
      return "";
    }
  }

  /** "wait for container up status", then "wait for container operational", within start_timeout. */
  private async waitOperational(docker: Docker, id: string): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const exited = async (info: ContainerInspectInfo): Promise<never> => {
      throw new ActionError(`container exited with code ${info.State.ExitCode} right after start${await this.lastLogLines(docker, id)}`, this.cfg.rid);
    };
    this.log.info("wait for container up status");
    let info = await docker.getContainer(id).inspect();
    while (!info.State.Running) {
      if (["exited", "dead"].includes(info.State.Status)) await exited(info);
      if (Date.now() > deadline) throw new ActionError(`container not running after ${this.startTimeoutMs / 1000}s (state ${info.State.Status})`, this.cfg.rid);
      await sleep(POLL_MS);
      info = await docker.getContainer(id).inspect();
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
      info = await docker.getContainer(id).inspect();
    }
  }

  /**
   * The settle window on the container's main process (host pid from inspect,
   * checked to be in this container's cgroup). Resolves false when it cannot
   * be watched from here; throws when the container exited at once.
   */
  private async settleOnProcess(docker: Docker, info: ContainerInspectInfo, exited: (info: ContainerInspectInfo) => Promise<never>): Promise<boolean> {
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
    let now = await docker.getContainer(info.Id).inspect();
    while (now.State.Running && now.State.Pid === pid && Date.now() < deadline) {
      await sleep(POLL_MS);
      now = await docker.getContainer(info.Id).inspect();
    }
    return exited(now);
  }

  async stop(): Promise<boolean> {
    const daemon = this.daemon();
    if (!(await daemon.isRunning())) {
      this.log.info("docker daemon is not running: container already down");
      await serviceDocker(this.ctx).stopIfIdle(false, this.log);
      return false;
    }
    const docker = daemon.client();
    const info = await this.inspect(docker);
    let changed = false;
    if (!info?.State.Running) {
      this.log.info(info ? `container ${this.name} is already down` : `container ${this.name} does not exist: already down`);
    } else {
      const id12 = info.Id.slice(0, 12);
      const t = this.stopTimeoutS;
      this.log.info(this.cli(daemon, "stop", ...(t === 10 ? [] : [`--time=${t}`]), id12));
      try {
        await docker.getContainer(info.Id).stop({ t });
      } catch (e) {
        if (statusCode(e) !== 304) throw this.failure("docker stop", e);
      }
      this.log.info(`output:\n${id12}\n`);
      this.log.info("wait for container down status");
      const deadline = Date.now() + (t + 10) * 1000;
      while ((await docker.getContainer(info.Id).inspect()).State.Running) {
        if (Date.now() > deadline) throw new ActionError(`container still running ${t + 10}s after docker stop`, this.cfg.rid);
        await sleep(POLL_MS);
      }
      changed = true;
    }
    if (info && this.cfg.values.rm === true) {
      this.log.info(this.cli(daemon, "rm", info.Id.slice(0, 12)));
      await docker.getContainer(info.Id).remove();
      changed = true;
    }
    await serviceDocker(this.ctx).stopIfIdle(false, this.log);
    return changed;
  }
}
