// The DockerEngine on dockerode: the one Docker client of svcmgr. Clients
// have no idle timeout (it would cut the event stream); each call gets an
// AbortSignal with its own deadline instead. No keep-alive, so that nothing
// holds the event loop nor reuses a connection to a daemon that went away.
import http from "node:http";
import util from "node:util";
import type { Readable } from "node:stream";
import Docker from "dockerode";
import type { z } from "zod";
import { errorMessage } from "../../util/errors.js";
import { JsonLinesError, jsonLines } from "../../util/json-lines.js";
import {
  ContainerInspectSchema,
  ContainerSummarySchema,
  EngineError,
  EngineEventSchema,
  ImageSchema,
  VersionSchema,
  isEngineError,
  pinApiVersion,
  type Call,
  type ContainerCreateBody,
  type ContainerInspect,
  type ContainerSummary,
  type DockerEngine,
  type EngineEvent,
  type EngineVersion,
  type EventsQuery,
  type ImageInfo,
} from "./engine.js";

const DOCKER_CLIENT_ENV = ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_PATH_PREFIX", "DOCKER_CLIENT_TIMEOUT"];

/**
 * A dockerode client on that socket only, pinned to an API version (none:
 * for /_ping and /version, which every daemon answers). docker-modem reads
 * DOCKER_HOST & co. in its constructor (and an explicit socketPath loses
 * against DOCKER_HOST=tcp://…), so they are hidden from it while it is built.
 */
export function createDockerClient(socketPath: string, apiVersion?: string, agent?: http.Agent): Docker {
  const saved = DOCKER_CLIENT_ENV.map((k) => [k, process.env[k]] as const);
  for (const [k] of saved) delete process.env[k];
  try {
    return new Docker({ socketPath, host: undefined, port: undefined, protocol: "http", ...(apiVersion ? { version: `v${apiVersion}` } : {}), ...(agent ? { agent } : {}) });
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

/** Default deadlines, per kind of call. */
const DEADLINE = { ping: 2000, read: 10_000, write: 120_000 };
/** A stop may take its timeout, then docker's KILL and clean-up. */
const stopDeadline = (timeoutS: number): number => (timeoutS + 60) * 1000;

const statusOf = (e: unknown): number | undefined => (typeof e === "object" && e !== null && "statusCode" in e ? (e as { statusCode?: number }).statusCode : undefined);
const codeOf = (e: unknown): string | undefined => (typeof e === "object" && e !== null && "code" in e ? String((e as { code?: unknown }).code) : undefined);

/** docker-modem's "(HTTP code 404) no such container - No such container: x" → the daemon's own words. */
function daemonMessage(e: unknown): string {
  const json = (e as { json?: { message?: unknown } }).json;
  if (typeof json?.message === "string") return json.message;
  return errorMessage(e).replace(/^\(HTTP code \d+\) [a-z ]+ - /, "").trim();
}

/** Docker's multiplexed log frames (non-TTY containers) to text. */
export function demuxFrames(buf: Buffer): string {
  let out = "";
  let i = 0;
  while (i + 8 <= buf.length && buf[i]! <= 2 && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString("utf8");
    i += 8 + size;
  }
  return i === 0 ? buf.toString("utf8") : out;
}

export class DockerodeEngine implements DockerEngine {
  // servername "": no TLS here, and node's agent would otherwise run net.isIP() on "localhost" for every request (its
  // first call compiles the IPv6 regular expression: ~6 ms of CPU in every process)
  private readonly agent = new http.Agent({ keepAlive: false, servername: "" } as http.AgentOptions);
  /** unversioned: /_ping and /version */
  private readonly bare: Docker;
  private pinned: Docker | undefined;
  private pinnedVersion: string | undefined;

  constructor(readonly socketPath: string) {
    // docker-modem util.inspect()s the options of every request (showHidden, depth: null) for its debug output, even
    // when that is off: with the agent's live sockets inside (an open event stream), ~5 ms of CPU per call
    Object.defineProperty(this.agent, util.inspect.custom, { value: () => `http.Agent(${socketPath})` });
    this.bare = createDockerClient(socketPath, undefined, this.agent);
  }

  get apiVersion(): string | undefined {
    return this.pinnedVersion;
  }

  reset(): void {
    this.pinned = undefined;
    this.pinnedVersion = undefined;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Run one request with its deadline; its errors turned into EngineErrors.
   * `what` names the request in messages ("GET /_ping").
   */
  private async call<T>(what: string, call: Call | undefined, defaultMs: number | undefined, fn: (abortSignal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const ms = call?.deadlineMs ?? defaultMs;
    const deadline = ms !== undefined ? AbortSignal.timeout(ms) : undefined;
    const signals = [call?.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      return await fn(signal);
    } catch (e) {
      throw this.engineError(what, e, deadline, ms);
    }
  }

  private engineError(what: string, e: unknown, deadline: AbortSignal | undefined, ms: number | undefined): EngineError {
    if (e instanceof EngineError) return e;
    const on = `${what} on ${this.socketPath}`;
    if (deadline?.aborted) return new EngineError(`${on}: no answer within ${ms} ms`, "timeout", undefined, { cause: e });
    if ((e as Error).name === "AbortError" || codeOf(e) === "ABORT_ERR") return new EngineError(`${on}: aborted`, "aborted", undefined, { cause: e });
    const status = statusOf(e);
    if (status !== undefined) return new EngineError(daemonMessage(e), status === 404 ? "absent" : "http", status, { cause: e });
    const code = codeOf(e);
    if (code === "ENOENT" || code === "ECONNREFUSED") return new EngineError(`no docker daemon listens on ${this.socketPath} (${code})`, "not-running", undefined, { cause: e });
    if (code === "EACCES" || code === "EPERM") return new EngineError(`${on}: permission denied (${code})`, "denied", undefined, { cause: e });
    return new EngineError(`${on}: ${errorMessage(e)}`, "io", undefined, { cause: e });
  }

  /**
   * The answer checked against its schema. Without zod's JIT: it compiles a
   * parser for each object schema at its first parse (new Function, which no
   * code cache holds), and a command parses each kind of answer a few times:
   * a start of a service already up took 67.2 against 70.0 ms without it (21
   * alternating runs). The agent takes the same path; it parses one answer
   * or event at a time too.
   */
  private parse<S extends z.ZodType>(what: string, schema: S, data: unknown): z.infer<S> {
    const r = schema.safeParse(data, { jitless: true });
    if (!r.success) {
      const shown = Buffer.isBuffer(data) ? data.toString("utf8").slice(0, 200) : JSON.stringify(data)?.slice(0, 200);
      throw new EngineError(`${what} on ${this.socketPath}: unexpected answer ${shown}: ${r.error.message}`, "unparsable");
    }
    return r.data;
  }

  /** The client pinned to the daemon's API version (asked for first when unknown). */
  private async api(call: Call | undefined): Promise<Docker> {
    if (!this.pinned) await this.ping(call);
    if (!this.pinned) await this.version(call);
    return this.pinned!;
  }

  private pin(daemonApi: string): void {
    const pin = pinApiVersion(daemonApi);
    if (pin !== this.pinnedVersion || !this.pinned) {
      this.pinned = createDockerClient(this.socketPath, pin, this.agent);
      this.pinnedVersion = pin;
    }
  }

  /**
   * GET /_ping, read with node's http: dockerode gives the body only, and the
   * Api-Version header pins every later call (GET /version, which dockerd
   * answers after running `runc --version` and `docker-init --version`, costs
   * ~8 ms more).
   */
  async ping(call?: Call): Promise<void> {
    const r = await this.call("GET /_ping", call, DEADLINE.ping, (signal) => get(this.socketPath, "/_ping", this.agent, signal));
    if (r.status !== 200) throw new EngineError(`GET /_ping on ${this.socketPath}: HTTP ${r.status} ${r.body.slice(0, 100)}`, "http", r.status);
    if (r.body.trim() !== "OK") throw new EngineError(`GET /_ping on ${this.socketPath}: answered ${r.body.slice(0, 100)}`, "unparsable");
    if (r.apiVersion) this.pin(r.apiVersion);
  }

  async version(call?: Call): Promise<EngineVersion> {
    const data = await this.call("GET /version", call, DEADLINE.read, (abortSignal) => withOptions(this.bare, "version", { abortSignal }));
    const v = this.parse("GET /version", VersionSchema, data);
    this.pin(v.ApiVersion);
    return v;
  }

  async listContainers(opts: { all?: boolean; filters?: Record<string, string[]> } = {}, call?: Call): Promise<ContainerSummary[]> {
    const docker = await this.api(call);
    const data = await this.call("GET /containers/json", call, DEADLINE.read, (abortSignal) => docker.listContainers({ ...opts, abortSignal }) as Promise<unknown>);
    return this.parse("GET /containers/json", ContainerSummarySchema.array(), data);
  }

  async inspectContainer(id: string, call?: Call): Promise<ContainerInspect | undefined> {
    const docker = await this.api(call);
    const what = `GET /containers/${id}/json`;
    try {
      const data = await this.call(what, call, DEADLINE.read, (abortSignal) => docker.getContainer(id).inspect({ abortSignal }) as Promise<unknown>);
      return this.parse(what, ContainerInspectSchema, data);
    } catch (e) {
      if (isEngineError(e, "absent")) return undefined;
      throw e;
    }
  }

  async createContainer(name: string, body: ContainerCreateBody, call?: Call): Promise<string> {
    const docker = await this.api(call);
    const created = await this.call("POST /containers/create", call, DEADLINE.write, (abortSignal) =>
      // the name in the query and the body as given: dockerode would otherwise also copy every option into the query string
      docker.createContainer({ _query: { name }, _body: body, abortSignal } as unknown as Docker.ContainerCreateOptions),
    );
    return created.id;
  }

  async startContainer(id: string, call?: Call): Promise<"started" | "already"> {
    const docker = await this.api(call);
    try {
      await this.call(`POST /containers/${id}/start`, call, DEADLINE.write, (abortSignal) => docker.getContainer(id).start({ abortSignal }) as Promise<unknown>);
      return "started";
    } catch (e) {
      if (e instanceof EngineError && e.statusCode === 304) return "already";
      throw e;
    }
  }

  async stopContainer(id: string, timeoutS: number, call?: Call): Promise<"stopped" | "already"> {
    const docker = await this.api(call);
    try {
      await this.call(`POST /containers/${id}/stop`, call, stopDeadline(timeoutS), (abortSignal) => docker.getContainer(id).stop({ t: timeoutS, abortSignal }) as Promise<unknown>);
      return "stopped";
    } catch (e) {
      if (e instanceof EngineError && e.statusCode === 304) return "already";
      throw e;
    }
  }

  async removeContainer(id: string, call?: Call): Promise<void> {
    const docker = await this.api(call);
    await this.call(`DELETE /containers/${id}`, call, DEADLINE.write, (abortSignal) => docker.getContainer(id).remove({ abortSignal }) as Promise<unknown>);
  }

  async containerLogs(id: string, tail: number, call?: Call): Promise<string> {
    const docker = await this.api(call);
    const buf = await this.call(`GET /containers/${id}/logs`, call, DEADLINE.read, (abortSignal) =>
      docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail, abortSignal }),
    );
    return demuxFrames(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
  }

  async inspectImage(ref: string, call?: Call): Promise<ImageInfo | undefined> {
    const docker = await this.api(call);
    const what = `GET /images/${ref}/json`;
    try {
      // dockerode's image.inspect() takes no signal: the same request through its modem
      const data = await this.call(what, call, DEADLINE.read, (abortSignal) => dial(docker, { path: `/images/${ref}/json`, method: "GET", abortSignal, statusCodes: { 200: true, 404: "no such image", 500: "server error" } }));
      return this.parse(what, ImageSchema, data);
    } catch (e) {
      if (isEngineError(e, "absent")) return undefined;
      throw e;
    }
  }

  async listImages(call?: Call): Promise<ImageInfo[]> {
    const docker = await this.api(call);
    const data = await this.call("GET /images/json", call, DEADLINE.read, (abortSignal) => docker.listImages({ abortSignal }) as Promise<unknown>);
    return this.parse("GET /images/json", ImageSchema.array(), data);
  }

  async pullImage(ref: string, call?: Call): Promise<void> {
    const docker = await this.api(call);
    const what = `POST /images/create?fromImage=${ref}`;
    const stream = (await this.call(what, call, DEADLINE.write, (abortSignal) => docker.pull(ref, { abortSignal }) as Promise<unknown>)) as Readable;
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string; errorDetail?: { message?: string } }[]) => {
        const bad = out?.find((o) => o.error !== undefined);
        if (err || bad) reject(new EngineError(`${what}: ${err ? errorMessage(err) : (bad!.errorDetail?.message ?? bad!.error)}`, "http"));
        else resolve();
      });
    });
  }

  /** Resolves once the engine answered: the subscription is open (what happens after it is in the stream). */
  async events(query: EventsQuery, signal?: AbortSignal): Promise<AsyncIterable<EngineEvent>> {
    const docker = await this.api({ signal });
    const q = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
    // the caller's signal aborts the request until it is answered; then it destroys the stream, quietly: an abort of
    // the answered request would go through node's and docker-modem's error paths (~5 ms of CPU, at every action's end)
    const request = new AbortController();
    const abortRequest = (): void => request.abort();
    if (signal?.aborted) abortRequest();
    signal?.addEventListener("abort", abortRequest, { once: true });
    try {
      const stream = (await this.call("GET /events", { signal }, undefined, () => withOptions(docker, "getEvents", { ...q, abortSignal: request.signal }))) as Readable;
      return this.readEvents(stream, signal);
    } finally {
      signal?.removeEventListener("abort", abortRequest);
    }
  }

  private async *readEvents(stream: Readable, signal: AbortSignal | undefined): AsyncGenerator<EngineEvent, void, undefined> {
    const stop = (): void => void stream.destroy();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      for await (const value of jsonLines(stream)) yield this.parse("GET /events", EngineEventSchema, value);
    } catch (e) {
      if (e instanceof JsonLinesError) throw new EngineError(`GET /events on ${this.socketPath}: ${e.message}`, "unparsable", undefined, { cause: e });
      if (e instanceof EngineError) throw e;
      // the daemon went away (reset, premature close) or the signal fired: the stream ends
    } finally {
      signal?.removeEventListener("abort", stop);
      stream.destroy();
    }
  }
}

/** A GET on the socket: its status, body and Api-Version header. */
function get(socketPath: string, path: string, agent: http.Agent, signal: AbortSignal | undefined): Promise<{ status: number; body: string; apiVersion: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, agent, ...(signal ? { signal } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, apiVersion: res.headers["api-version"] as string | undefined }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** dockerode calls whose typings miss the options they take (abortSignal, a string since). */
function withOptions(docker: Docker, method: "version" | "getEvents", opts: object): Promise<unknown> {
  return (docker[method] as (o: object) => Promise<unknown>).call(docker, opts);
}

interface DialOptions {
  path: string;
  method: string;
  abortSignal: AbortSignal | undefined;
  statusCodes: Record<number, true | string>;
}

function dial(docker: Docker, opts: DialOptions): Promise<unknown> {
  const modem = docker.modem as { dial(o: DialOptions & { options: object }, cb: (err: unknown, data: unknown) => void): void };
  return new Promise((resolve, reject) => modem.dial({ ...opts, options: {} }, (err, data) => (err ? reject(err instanceof Error ? err : new Error(errorMessage(err))) : resolve(data))));
}
