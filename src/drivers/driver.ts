// The driver boundary: what the executor and the status evaluator need of a
// resource driver, and the narrow context a driver gets from its service.
// Drivers see this context, never the runtime class that implements it.
import type { KeywordManifest } from "../config/manifest.js";
import type { ResourceConfig, ServiceConfig } from "../config/types.js";
import type { Status, StatusLogEntry } from "../status/status.js";
import type { Logger } from "../util/log.js";
import type { Paths } from "../util/paths.js";

export interface ResourceState {
  status: Status;
  /** replaces the manifest's label in the status tree (e.g. `760b01810910@ubuntu:14.04`) */
  label?: string;
  log: StatusLogEntry[];
}

export interface ResourceDriver {
  readonly cfg: ResourceConfig;
  status(): Promise<ResourceState>;
  /** Bring the resource up. Resolves true when it changed something (and so must be undone on rollback), false when it was already up. */
  start(): Promise<boolean>;
  /** Bring the resource down. Resolves true when it changed something. */
  stop(): Promise<boolean>;
  /** Checks before anything of the action is touched (e.g. an address already used elsewhere). */
  preflight?(): Promise<void>;
  /** Create what the resource needs to exist (a loop disk's file, a filesystem); run by `provision`. */
  provision?(): Promise<void>;
  /** The block device a disk exposes once up, for `{disk#1.exposed_dev}` references. */
  exposedDevice?(): Promise<string | undefined>;
}

/**
 * An object shared by the drivers of one service for one runtime (an action or
 * a status evaluation), e.g. the service's docker daemon. The runtime knows
 * these hooks only, never what the object is.
 */
export interface ServiceShared {
  /** After a failed start was rolled back: take down what this object brought up for that start. */
  afterRollback?(): Promise<void>;
  /** Before the next ordered start of an action: every failure seen so far is reported (DriverContext.startFailed). */
  checkpoint?(): Promise<void>;
  /** The end of a start, after the final status evaluation: every failure this object watches for has been reported. */
  settle?(): Promise<void>;
  /** Resources found up by this start that went down since (a stop still under way): it starts them again. */
  wentDown?(): string[];
  /** The runtime is done: close clients and streams. */
  close?(): void;
}

/** What a driver may use of its service. */
export interface DriverContext {
  readonly service: string;
  readonly config: ServiceConfig;
  readonly paths: Paths;
  readonly stateDir: string;
  /** the environment the service acts in (DOCKER_HOST for the host's daemon), passed in, never process.env */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** the service's logger (drivers get their own, named after their rid, too) */
  readonly log: Logger;
  /**
   * The actions of killed svcmgr processes whose lock this action took over,
   * latest first: what they asked of a daemon may still be under way (a
   * killed stop's `docker stop`, which dockerd carries on).
   */
  readonly killed: readonly { action: string; since: string }[];
  /** Expand references only known at action time, such as {disk#1.exposed_dev}. */
  expandRuntimeRefs(text: string): Promise<string>;
  /** Another resource's driver (a docker data dir on a filesystem of the service). */
  driver(rid: string): Promise<ResourceDriver | undefined>;
  /**
   * Set for the start of a cluster service (SPEC §12): the fencing token its
   * containers are stamped with (a container of an older token is made again),
   * and missing images are pulled.
   */
  readonly cluster?: { readonly fence: string };
  /** The object kept under `key` for this runtime, made by `make` on first use. */
  shared<T extends ServiceShared>(key: string, make: () => T): T;
  /**
   * A resource whose start already returned has failed since, during the
   * same action (a container that exited at once): the action fails and
   * rolls back. Logged at once; reported once per rid.
   */
  startFailed(rid: string, error: string): void;
}

/** A driver's manifest: its keywords (for the config layer) and how it makes its driver. */
export interface DriverManifest extends KeywordManifest {
  /** Loaded lazily, so commands that never touch a driver (print config, svcmon from the cache) stay fast. */
  create(ctx: DriverContext, res: ResourceConfig, log: Logger): Promise<ResourceDriver>;
}
