// A service at action or status time: its config, its drivers, the objects its
// drivers share (the private docker daemon) and its status cache. It is the
// DriverContext the drivers see.
import fs from "node:fs";
import fsp from "node:fs/promises";
import pLimit from "p-limit";
import type { ServiceConfig } from "../config/types.js";
import type { DriverContext, ResourceDriver, ResourceState, ServiceShared } from "../drivers/driver.js";
import { findManifest } from "../drivers/registry.js";
import { ActionError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { stateDir, statusCacheFile, type Paths } from "../util/paths.js";
import { ensureStateDir, isFrozen } from "./repository.js";
import { summarize, type ResourceStatus, type ServiceStatus, type StatusLogEntry } from "../status/status.js";
import { writeFileAtomic, writeFileAtomicSync } from "../util/atomic.js";

export class ServiceRuntime implements DriverContext {
  private driversP: Promise<Map<string, ResourceDriver>> | undefined;
  private readonly sharedObjects = new Map<string, ServiceShared>();
  /** the cluster's admission of this action (its fencing token), set under the lock before acting */
  cluster: { fence: string } | undefined;
  private readonly late: { rid: string; error: string }[] = [];
  /** the final evaluation of a start that succeeded, for the status cache */
  private kept: { status: ServiceStatus; startedAt: number } | undefined;
  /** set by the action from its lock: the killed actions before it */
  killed: readonly { action: string; since: string }[] = [];

  constructor(
    readonly paths: Paths,
    readonly config: ServiceConfig,
    readonly log: Logger,
    readonly env: Readonly<Record<string, string | undefined>> = {},
  ) {}

  get service(): string {
    return this.config.name;
  }

  get stateDir(): string {
    return stateDir(this.paths, this.config.name);
  }

  drivers(): Promise<Map<string, ResourceDriver>> {
    this.driversP ??= (async () => {
      const list = await Promise.all(
        this.config.resources.map(async (r) => {
          const manifest = findManifest(r.group, r.manifest.type);
          if (!manifest) throw new ActionError(`no driver for ${r.group} type ${r.manifest.type}`, r.rid);
          return [r.rid, await manifest.create(this, r, this.log.child({ rid: r.rid }))] as const;
        }),
      );
      return new Map(list);
    })();
    return this.driversP;
  }

  async driver(rid: string): Promise<ResourceDriver | undefined> {
    return (await this.drivers()).get(rid);
  }

  shared<T extends ServiceShared>(key: string, make: () => T): T {
    let o = this.sharedObjects.get(key);
    if (!o) this.sharedObjects.set(key, (o = make()));
    return o as T;
  }

  startFailed(rid: string, error: string): void {
    if (this.late.some((l) => l.rid === rid)) return;
    if (this.config.resources.find((r) => r.rid === rid)?.optional) {
      this.log.child({ rid }).warn(`optional resource failed to start: ${error}`);
      return;
    }
    this.late.push({ rid, error });
    this.log.child({ rid }).error(error);
  }

  /** What startFailed() reported so far, in order. */
  lateFailures(): readonly { rid: string; error: string }[] {
    return this.late;
  }

  /** Before the next ordered start: every late failure seen so far is reported. */
  async checkpoint(): Promise<void> {
    for (const o of this.sharedObjects.values()) await o.checkpoint?.();
  }

  /**
   * The end of a start: the final status evaluation (kept for the status
   * cache), in which the containers just started are looked at once more,
   * then every late failure seen is in lateFailures().
   */
  async settleStart(): Promise<void> {
    const startedAt = Date.now();
    const status = await this.evaluate();
    for (const o of this.sharedObjects.values()) await o.settle?.();
    this.kept = this.late.length ? undefined : { status, startedAt };
  }

  /** Resources this start found up that went down since (told by settleStart): to start again. */
  wentDown(): string[] {
    return [...this.sharedObjects.values()].flatMap((o) => o.wentDown?.() ?? []);
  }

  /** After a rolled-back start: each shared object takes down what it brought up for it. */
  async afterRollback(): Promise<void> {
    this.kept = undefined;
    for (const o of this.sharedObjects.values()) {
      await o.afterRollback?.().catch((e: unknown) => this.log.error(`rollback: ${errorMessage(e)}`));
    }
  }

  close(): void {
    for (const o of this.sharedObjects.values()) o.close?.();
    this.sharedObjects.clear();
  }

  /** Expand references only known at action time, such as {disk#1.exposed_dev}. */
  async expandRuntimeRefs(text: string): Promise<string> {
    const refs = [...text.matchAll(/\{([a-z]+#[A-Za-z0-9_-]+)\.exposed_dev\}/g)];
    let out = text;
    for (const [whole, rid] of refs) {
      const dev = await (await this.driver(rid!))?.exposedDevice?.();
      if (!dev) throw new ActionError(`${whole}: ${rid} exposes no device (is it up?)`, rid);
      out = out.replace(whole, dev);
    }
    return out;
  }

  /** Evaluate these resources (every one by default), in parallel. */
  async evaluateResources(rids?: ReadonlySet<string>): Promise<ResourceStatus[]> {
    const drivers = await this.drivers();
    const limit = pLimit(16);
    return Promise.all(
      this.config.resources
        .filter((r) => !rids || rids.has(r.rid))
        .map((r) =>
          limit(async (): Promise<ResourceStatus> => {
            let st: ResourceState;
            if (r.disabled) st = { status: "n/a", log: [] };
            else {
              try {
                st = await drivers.get(r.rid)!.status();
              } catch (e) {
                // an observation that failed is "cannot tell", never "down"
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
  }

  /** The service's status from its resources' (in config order), with service-level messages. */
  summarize(resources: ResourceStatus[], log: StatusLogEntry[] = []): ServiceStatus {
    return summarize({
      name: this.service,
      serviceType: this.config.defaults.values.service_type ?? "TST",
      mode: this.config.defaults.values.mode ?? "hosted",
      frozen: isFrozen(this.paths, this.service),
      resources,
      log,
    });
  }

  /** Evaluate every resource and summarize. */
  async evaluate(): Promise<ServiceStatus> {
    return this.summarize(await this.evaluateResources());
  }

  /** Evaluate (or take the final evaluation of the start just done) and write the status cache (skipped, with a debug line, when the state dir is not writable). */
  async refreshStatusCache(): Promise<ServiceStatus> {
    const kept = this.kept;
    this.kept = undefined;
    const startedAt = kept?.startedAt ?? Date.now();
    const status = kept?.status ?? (await this.evaluate());
    await writeStatusCache(this.paths, status, { startedAt, sync: true }).catch((e: unknown) => this.log.debug(`status cache not written: ${errorMessage(e)}`));
    return status;
  }
}

/**
 * Write the status cache, unless it already holds the result of an evaluation
 * that began after this one (a `print status` begun during an action and
 * ending after it must not replace the action's final status). `startedAt`:
 * when this evaluation began (epoch ms, now by default). Returns whether it
 * was written. `sync`: one service's cache at the end of an action or of a `print status`
 * (a small file, written as the service's other state files are: ~1.5 ms
 * sooner than through fs/promises, which such a command does not load
 * otherwise); svcmon --refresh and the agent's monitor write theirs
 * asynchronously, so that many services' writes overlap.
 */
export async function writeStatusCache(paths: Paths, status: ServiceStatus, { startedAt = Date.now(), sync = false }: { startedAt?: number; sync?: boolean } = {}): Promise<boolean> {
  const file = statusCacheFile(paths, status.name);
  ensureStateDir(paths, status.name);
  try {
    const prev = (JSON.parse(sync ? fs.readFileSync(file, "utf8") : await fsp.readFile(file, "utf8")) as { evaluationStart?: unknown }).evaluationStart;
    if (typeof prev === "number" && prev > startedAt) return false;
  } catch {
    // none yet, or unreadable: replace it
  }
  const text = JSON.stringify({ ...status, evaluationStart: startedAt });
  if (sync) writeFileAtomicSync(file, text, 0o640);
  else await writeFileAtomic(file, text, 0o640);
  return true;
}
