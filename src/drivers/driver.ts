// What the executor and the status evaluator need of a resource driver.
import type { ResourceConfig } from "../config/service-config.js";
import type { Status, StatusLogEntry } from "../status/status.js";

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
