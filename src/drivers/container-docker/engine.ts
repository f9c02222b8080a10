// The Docker Engine API as svcmgr uses it: a small interface of its own, so
// that the container driver runs against a fake in unit tests and the agent
// can watch a daemon's events. One implementation: dockerode-engine.ts.
// Every call has a deadline (none on the event stream); an engine error says
// what kind it is, so that "cannot tell" is never taken for "down".
import { z } from "zod";
import { errorMessage } from "../../util/errors.js";

/** The newest Engine API this code was tested against (Debian's dockerd 20.10). */
export const NEWEST_TESTED_API = "1.41";

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

/** `docker -H unix://SOCKET`: the CLI prefix used to log the equivalent of every API call. */
export function dockerCliArgs(socketPath: string): string[] {
  return ["docker", "-H", `unix://${socketPath}`];
}

/**
 * What went wrong with a call:
 * - `absent`: no such container or image (HTTP 404)
 * - `not-running`: nothing listens on the socket (no socket file, connection refused)
 * - `timeout`: no answer within the call's deadline
 * - `aborted`: the caller's signal fired
 * - `denied`: no permission on the socket
 * - `http`: the daemon refused the call (another HTTP status)
 * - `unparsable`: an answer of an unexpected shape
 * - `io`: any other transport error (connection reset, ...)
 */
export type EngineErrorKind = "absent" | "not-running" | "timeout" | "aborted" | "denied" | "http" | "unparsable" | "io";

export class EngineError extends Error {
  constructor(
    message: string,
    readonly kind: EngineErrorKind,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isEngineError = (e: unknown, kind: EngineErrorKind): e is EngineError => e instanceof EngineError && e.kind === kind;

/** Per call: the caller's signal and/or a deadline replacing the call's default one. */
export interface Call {
  signal?: AbortSignal;
  deadlineMs?: number;
}

const labels = z.record(z.string(), z.string()).nullish();

export const ContainerInspectSchema = z.object({
  Id: z.string(),
  Name: z.string().optional(),
  Config: z.object({
    Image: z.string(),
    Labels: labels,
    Healthcheck: z.object({ Test: z.array(z.string()).nullish() }).nullish(),
    StopTimeout: z.number().nullish(),
  }),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    ExitCode: z.number(),
    Pid: z.number(),
    Health: z.object({ Status: z.string() }).nullish(),
  }),
});
export type ContainerInspect = z.infer<typeof ContainerInspectSchema>;

export const ContainerSummarySchema = z.object({ Id: z.string(), Names: z.array(z.string()).default([]), Image: z.string(), State: z.string(), Labels: labels });
export type ContainerSummary = z.infer<typeof ContainerSummarySchema>;

/** GET /images/{ref}/json (with its Config) or an entry of GET /images/json (without) */
export const ImageSchema = z.object({ Id: z.string(), RepoTags: z.array(z.string()).nullish(), Config: z.object({ Healthcheck: z.object({ Test: z.array(z.string()).nullish() }).nullish() }).nullish() });
export type ImageInfo = z.infer<typeof ImageSchema>;

export const VersionSchema = z.object({ ApiVersion: z.string(), Version: z.string() });
export type EngineVersion = z.infer<typeof VersionSchema>;

/** One event of GET /events, e.g. Type "container", Action "die" or "health_status: unhealthy". */
export const EngineEventSchema = z.object({
  Type: z.string(),
  Action: z.string(),
  Actor: z.object({ ID: z.string().default(""), Attributes: z.record(z.string(), z.string()).default({}) }),
  time: z.number(),
  timeNano: z.number(),
});
export type EngineEvent = z.infer<typeof EngineEventSchema>;

export interface EventsQuery {
  /** unix seconds (or a docker timestamp string): events since then, from the daemon's last 256 */
  since?: number | string;
  until?: number | string;
  /** e.g. { type: ["container"], event: ["die", "oom", "health_status"] } */
  filters?: Record<string, string[]>;
}

/** POST /containers/create: what svcmgr sets (run_args' options and its own), as the API spells it. */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[] | null;
  Labels?: Record<string, string>;
  /** seconds a stop waits before KILL, for docker stop and for a restarted daemon's clean-up */
  StopTimeout?: number;
  HostConfig?: object;
  [key: string]: unknown;
}

export interface DockerEngine {
  readonly socketPath: string;
  /** the API version calls are pinned to: min(daemon's, NEWEST_TESTED_API), known after the first ping() or version() */
  readonly apiVersion: string | undefined;
  /** GET /_ping answers OK within the deadline (default 2 s), else throws; its Api-Version header pins the API version. */
  ping(call?: Call): Promise<void>;
  /** GET /version; pins the API version of every later call. */
  version(call?: Call): Promise<EngineVersion>;
  listContainers(opts?: { all?: boolean; filters?: Record<string, string[]> }, call?: Call): Promise<ContainerSummary[]>;
  /** undefined when there is no such container */
  inspectContainer(id: string, call?: Call): Promise<ContainerInspect | undefined>;
  /** Create it; resolves its id. An absent image throws kind `absent`. */
  createContainer(name: string, body: ContainerCreateBody, call?: Call): Promise<string>;
  /** "already" when it was running (HTTP 304) */
  startContainer(id: string, call?: Call): Promise<"started" | "already">;
  /** Stop, KILL after timeoutS; "already" when it was not running (HTTP 304). */
  stopContainer(id: string, timeoutS: number, call?: Call): Promise<"stopped" | "already">;
  removeContainer(id: string, call?: Call): Promise<void>;
  /** The last lines of its output (stdout and stderr), as text. */
  containerLogs(id: string, tail: number, call?: Call): Promise<string>;
  /** undefined when there is no such image */
  inspectImage(ref: string, call?: Call): Promise<ImageInfo | undefined>;
  listImages(call?: Call): Promise<ImageInfo[]>;
  /** POST /images/create?fromImage=REF: pull from its registry, to the end of the progress stream */
  pullImage(ref: string, call?: Call): Promise<void>;
  /**
   * GET /events as parsed events. Ends when the daemon goes away (restart,
   * kill) or the signal fires; throws an EngineError when it cannot connect
   * or the stream holds something else than events. No deadline.
   */
  /** Subscribe: resolves once the engine answered (subscribe before listing, and nothing in between is lost), with the events until the daemon goes away or `signal` aborts. */
  events(query: EventsQuery, signal?: AbortSignal): Promise<AsyncIterable<EngineEvent>>;
  /** Forget the pinned API version (the daemon is restarted: it may be another one). */
  reset(): void;
  close(): void;
}

/** What can be said of a daemon now. */
export type DaemonProbe = { state: "running" } | { state: "stopped"; reason: string } | { state: "unknown"; reason: string };

/** A status probe's deadline: long enough for a loaded host, short enough for `print status`. */
export const PROBE_DEADLINE_MS = 3000;

/**
 * Does the daemon on this engine answer? GET /_ping (the first one pins the
 * API version). Only "nothing listens on the socket" is `stopped`; a timeout,
 * a refused permission or a strange answer is `unknown`, with the reason.
 */
export async function probeEngine(engine: DockerEngine, deadlineMs = PROBE_DEADLINE_MS): Promise<DaemonProbe> {
  try {
    await engine.ping({ deadlineMs });
    if (engine.apiVersion === undefined) await engine.version({ deadlineMs });
    return { state: "running" };
  } catch (e) {
    if (isEngineError(e, "not-running")) return { state: "stopped", reason: e.message };
    return { state: "unknown", reason: errorMessage(e) };
  }
}
