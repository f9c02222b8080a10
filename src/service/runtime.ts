// A service at action or status time: its config, its drivers, its private
// docker daemon (one per service, created on first use) and its status cache.
import fsp from "node:fs/promises";
import pLimit from "p-limit";
import type { ServiceConfig } from "../config/service-config.js";
import type { ResourceDriver, ResourceState } from "../drivers/driver.js";
import { createDriver } from "../drivers/factory.js";
import { ActionError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { stateDir, statusCacheFile, type Paths } from "../util/paths.js";
import { ensureStateDir, isFrozen } from "./repository.js";
import { summarize, type ResourceStatus, type ServiceStatus } from "../status/status.js";
import type { ServiceDaemon } from "../drivers/container-docker/service-daemon.js";
import { writeFileAtomic } from "../util/atomic.js";

export class ServiceRuntime {
  private driversP: Promise<Map<string, ResourceDriver>> | undefined;
  private daemonP: Promise<ServiceDaemon> | undefined;
  /** set when this action started the private daemon, so that a failed start can stop it again */
  daemonStartedHere = false;

  constructor(
    readonly paths: Paths,
    readonly cfg: ServiceConfig,
    readonly log: Logger,
  ) {}

  get name(): string {
    return this.cfg.name;
  }

  get stateDir(): string {
    return stateDir(this.paths, this.cfg.name);
  }

  drivers(): Promise<Map<string, ResourceDriver>> {
    this.driversP ??= (async () => {
      const list = await Promise.all(this.cfg.resources.map(async (r) => [r.rid, await createDriver(this, r)] as const));
      return new Map(list);
    })();
    return this.driversP;
  }

  /** The service's private docker daemon (not started: call start() or ensureRunning()). */
  dockerDaemon(): Promise<ServiceDaemon> {
    this.daemonP ??= (async () => {
      const { daemonFor } = await import("../drivers/container-docker/service-daemon.js");
      return daemonFor(this);
    })();
    return this.daemonP;
  }

  /**
   * Stop the private daemon when no container of it runs any more ("no more
   * container handled by docker daemon. shut it down"). With onlyIfStartedHere,
   * a daemon someone else started (e.g. for `docker pull`) is left alone.
   */
  async stopIdleDaemon(onlyIfStartedHere = false, log?: Logger): Promise<void> {
    if (!this.daemonP || (onlyIfStartedHere && !this.daemonStartedHere)) return;
    const daemon = await this.daemonP;
    if (daemon.shared) return; // the host's: never stopped by svcmgr
    if (!(await daemon.isRunning())) {
      // a daemon left half-stopped or half-started by a killed action, or the litter of a dead one
      if (daemon.leftBehind()) await daemon.stop(undefined, log);
      return;
    }
    const running = await daemon.client().listContainers();
    if (running.length === 0) await daemon.stop(undefined, log);
  }

  /** Expand references only known at action time, such as {disk#1.exposed_dev}. */
  async expandRuntimeRefs(text: string): Promise<string> {
    const refs = [...text.matchAll(/\{([a-z]+#[A-Za-z0-9_-]+)\.exposed_dev\}/g)];
    let out = text;
    for (const [whole, rid] of refs) {
      const driver = (await this.drivers()).get(rid!);
      const dev = await driver?.exposedDevice?.();
      if (!dev) throw new ActionError(`${whole}: ${rid} exposes no device (is it up?)`, rid);
      out = out.replace(whole, dev);
    }
    return out;
  }

  /** Evaluate every resource (in parallel), summarize, write the status cache. */
  async evaluate(): Promise<ServiceStatus> {
    const startedAt = Date.now();
    const drivers = await this.drivers();
    const limit = pLimit(16);
    const resources = await Promise.all(
      this.cfg.resources.map((r) =>
        limit(async (): Promise<ResourceStatus> => {
          let st: ResourceState;
          if (r.disabled) st = { status: "n/a", log: [] };
          else {
            try {
              st = await drivers.get(r.rid)!.status();
            } catch (e) {
              st = { status: "undef", log: [{ level: "error", message: errorMessage(e) }] };
            }
          }
          return {
            rid: r.rid,
            group: r.group,
            status: st.status,
            label: st.label ?? r.manifest.label(r.text),
            log: st.log,
            optional: r.optional,
            disabled: r.disabled,
            monitored: r.monitored,
            encap: false,
            standby: r.standby,
            subset: r.subset,
            tags: r.tags,
          };
        }),
      ),
    );
    const status = summarize({
      name: this.name,
      serviceType: this.cfg.defaults.values.service_type ?? "TST",
      mode: this.cfg.defaults.values.mode ?? "hosted",
      frozen: isFrozen(this.paths, this.name),
      resources,
    });
    await writeStatusCache(this.paths, status, startedAt);
    return status;
  }

  async refreshStatusCache(): Promise<void> {
    await this.evaluate();
  }
}

/**
 * Write the status cache, unless it already holds the result of an evaluation
 * that began after this one (a `print status` begun during an action and
 * ending after it must not replace the action's final status). `startedAt`:
 * when this evaluation began (epoch ms). Returns whether it was written.
 */
export async function writeStatusCache(paths: Paths, status: ServiceStatus, startedAt = Date.now()): Promise<boolean> {
  const file = statusCacheFile(paths, status.name);
  ensureStateDir(paths, status.name);
  try {
    const prev = (JSON.parse(await fsp.readFile(file, "utf8")) as { evaluationStart?: unknown }).evaluationStart;
    if (typeof prev === "number" && prev > startedAt) return false;
  } catch {
    // none yet, or unreadable: replace it
  }
  await writeFileAtomic(file, JSON.stringify({ ...status, evaluationStart: startedAt }), 0o640);
  return true;
}
