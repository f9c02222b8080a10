// One service watched by the agent (SPEC §9): its containers through its docker
// daemon's event stream, its other resources every monitor_interval, its state
// dir (actions, intents, the daemon's pid file) through inotify. It keeps the
// service's status current and brings a failed resource back to the state its
// operator asked for, through the same executor and lock as an operator.
import fs from "node:fs";
import { lockHolder } from "../actions/lock.js";
import { groupId } from "../util/group.js";
import type { ServiceManager } from "../core/manager.js";
import type { ServiceConfig } from "../config/types.js";
import { ServiceRuntime, writeStatusCache } from "../service/runtime.js";
import { readIntent } from "../service/intent.js";
import { serviceDocker } from "../drivers/container-docker/service-daemon.js";
import type { ResourceStatus, ServiceStatus, Status, StatusLogEntry } from "../status/status.js";
import { formatProblem, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { configFile, lockFile, stateDir, type Paths } from "../util/paths.js";
import { RestartBook } from "./restart-book.js";
import { LABEL_RID, LABEL_SERVICE } from "../drivers/container-docker/container.js";

export type AgentEvent =
  | { type: "restart"; service: string; rid: string; attempt: number; limit: number; reason: string }
  | { type: "restart_limit"; service: string; rid: string; limit: number }
  | { type: "daemon"; service: string; state: "up" | "down" }
  | { type: "config"; service: string; valid: boolean; problems?: string[] }
  /** an action of another process (the CLI), seen from its lock file */
  | { type: "action"; service: string; phase: "begin" | "end"; action: string; pid: number };

export interface MonitorHost {
  readonly manager: ServiceManager;
  readonly paths: Paths;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** the agent's own log */
  readonly log: Logger;
  now(): number;
  emit(e: AgentEvent): void;
  /** a cluster service is repaired by its owner only (SPEC §12) */
  mayRepair?(svc: string): boolean;
}

const UP: readonly Status[] = ["up", "stdby up", "warn"];
const DOWN: readonly Status[] = ["down", "stdby down"];
/** how long a repair waits for an operator's action to end before it gives up (it is tried again later) */
const REPAIR_WAIT_MS = 10 * 60_000;
/** a resubscription to a daemon that keeps closing its stream waits this long */
const RESUBSCRIBE_MS = 200;
/** a daemon that cannot be told running or stopped is probed again after this long */
const UNKNOWN_RETRY_MS = 1000;

/** Wait ms, or until the signal aborts, or `wake` is called; leaves no listener on the signal behind. */
function waitUnless(signal: AbortSignal, ms: number | undefined, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      if (t) clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = ms === undefined ? undefined : setTimeout(done, ms);
    t?.unref();
    signal.addEventListener("abort", done, { once: true });
    onWake?.(done);
  });
}
/** the restart book's entry for the service's docker daemon */
const DAEMON_KEY = "docker daemon";

interface Pending {
  reason: string;
  attempt: number;
  limit: number;
  action: "start" | "restart";
  timer: NodeJS.Timeout;
}

export class ServiceMonitor {
  private cfg: ServiceConfig | undefined;
  private rt: ServiceRuntime | undefined;
  private cfgMtime = -1;
  private problems: string[] = [];
  private readonly resources = new Map<string, ResourceStatus>();
  status: ServiceStatus | undefined;
  /** the intended state as last read (again on each change of intent.json) */
  intent: Record<string, "up" | "down"> = {};
  readonly book: RestartBook;
  private closed = false;
  private watchAbort: AbortController | undefined;
  private watchLoop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private tick: NodeJS.Timeout | undefined;
  private dirWatcher: fs.FSWatcher | undefined;
  private readonly pending = new Map<string, Pending>();
  /** rids whose repair is running: a failure seen meanwhile is that repair's business */
  private readonly inFlight = new Set<string>();
  private repairing: Promise<void> = Promise.resolve();
  /** evaluation requests coalesce: the rids asked for while one runs are evaluated right after it */
  private queued: Set<string> | "all" | undefined;
  private evaluating: Promise<void> | undefined;
  /** when an action of this agent last handed its final status over (adopt()): an evaluation begun before it is older */
  private adoptedAt = 0;
  private daemonUp: boolean | undefined;
  private lastEventTime: number | undefined;
  private readonly reasons = new Map<string, { reason: string; action: "start" | "restart" }>();
  private frozenActed = false;

  constructor(
    readonly name: string,
    private readonly host: MonitorHost,
  ) {
    this.book = new RestartBook(() => host.now());
  }

  private get log(): Logger {
    return this.host.log.child({ svc: this.name });
  }

  /** Load the config and begin watching; resolves after the first evaluation. */
  async start(): Promise<void> {
    this.watchStateDir();
    this.intent = readIntent(this.host.paths, this.name).resources;
    await this.reload();
  }

  /** The config changed (or is read the first time): rebuild what depends on it. An invalid config is reported and left alone. */
  async reload(): Promise<void> {
    if (this.closed) return;
    let mtime = -1;
    try {
      mtime = fs.statSync(configFile(this.host.paths, this.name)).mtimeMs;
    } catch {
      // removed: the agent closes this monitor
    }
    if (mtime === this.cfgMtime && this.cfg) return;
    this.cfgMtime = mtime;
    this.stopWatching();
    const cfg = await this.host.manager.readConfig(this.name);
    if (cfg.problems.length) {
      const problems = cfg.problems.map(formatProblem);
      if (problems.join("\n") !== this.problems.join("\n")) {
        this.log.warn(`invalid config, left alone until it is valid: ${problems.join("; ")}`);
        this.host.emit({ type: "config", service: this.name, valid: false, problems });
      }
      this.problems = problems;
      this.cfg = undefined;
      this.rt = undefined;
      this.status = this.summarizeInvalid(cfg);
      return;
    }
    if (this.problems.length) {
      this.log.info("config valid again: watched");
      this.host.emit({ type: "config", service: this.name, valid: true });
    }
    this.problems = [];
    this.cfg = cfg;
    this.rt = new ServiceRuntime(this.host.paths, cfg, this.log, this.host.env);
    this.resources.clear();
    this.book.forget(new Set([DAEMON_KEY, ...cfg.resources.map((r) => r.rid)]));
    await this.refresh("all");
    if (cfg.resources.some((r) => r.group === "container" && !r.disabled)) this.watchLoop = this.watchDocker();
    const others = cfg.resources.filter((r) => r.group !== "container" && !r.disabled).map((r) => r.rid);
    if (others.length) {
      this.tick = setInterval(() => void this.refresh(new Set(others)), cfg.defaults.values.monitor_interval ?? 10_000);
      this.tick.unref();
    }
  }

  private summarizeInvalid(cfg: ServiceConfig): ServiceStatus {
    const rt = new ServiceRuntime(this.host.paths, { ...cfg, resources: [] }, this.log, this.host.env);
    return rt.summarize([], cfg.problems.map((p) => ({ level: "error", message: `invalid config: ${formatProblem(p)}` })));
  }

  // --- watching -----------------------------------------------------------

  /** inotify on the state dir: an action ending (its lock removed), an intent recorded, a freeze, a daemon's pid file. */
  private watchStateDir(): void {
    const dir = stateDir(this.host.paths, this.name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    this.dirWatcher = fs.watch(dir, { persistent: false }, (_event, file) => {
      if (!file || file.endsWith(".tmp") || file.startsWith("status.json")) return;
      if (file === "docker.pid" || file === "docker.sock") this.wake?.();
      const ownAction = file === "action.lock" ? this.lockChanged() : this.lockSeen === undefined && this.ownLock();
      if (file === "intent.json") this.intent = readIntent(this.host.paths, this.name).resources;
      // an action of this agent's hands its final status over when it ends (adopt()): a look at what it is doing meanwhile is not needed
      if ((file === "action.lock" || file === "intent.json" || file === "frozen") && !ownAction) void this.refresh("all");
    });
    this.dirWatcher.on("error", (e) => this.log.warn(`state dir watch: ${errorMessage(e)}`));
  }

  private lockSeen: { pid: number; action: string } | undefined;
  /** an action of this agent ended (adopt()) and the watch has not yet seen its lock go */
  private ownEnded = false;

  /** Is the service's lock held by this agent (an action it runs: the API's, a repair)? */
  private ownLock(): boolean {
    return lockHolder(lockFile(this.host.paths, this.name))?.pid === process.pid;
  }

  /** An action of another process begins or ends: its lock file appears or goes. True: the lock is this agent's own, or was until just now. */
  private lockChanged(): boolean {
    const holder = lockHolder(lockFile(this.host.paths, this.name));
    const ownEnded = this.ownEnded;
    this.ownEnded = false;
    if (holder?.pid === process.pid) return true;
    const prev = this.lockSeen;
    // gone, and the last action on it was this agent's (its status was handed over as its lock went): nothing to look at
    if (!holder && !prev && ownEnded) return true;
    if (holder && holder.pid !== process.pid && holder.pid !== prev?.pid) {
      if (prev) this.host.emit({ type: "action", service: this.name, phase: "end", action: prev.action, pid: prev.pid });
      this.lockSeen = { pid: holder.pid, action: holder.action };
      this.host.emit({ type: "action", service: this.name, phase: "begin", action: holder.action, pid: holder.pid });
    } else if (!holder && prev) {
      this.lockSeen = undefined;
      this.host.emit({ type: "action", service: this.name, phase: "end", action: prev.action, pid: prev.pid });
      this.operatorActed();
    }
    return false;
  }

  /** An operator acted on the service (the CLI, the API): every resource's tries start again, monitor_action may run again. */
  operatorActed(): void {
    for (const r of this.cfg?.resources ?? []) this.book.reset(r.rid);
    this.book.reset(DAEMON_KEY);
    this.frozenActed = false;
  }

  /** The group whose team socket sees this service (docker_socket_group, else docker if it exists, else root). */
  get socketGroup(): string | undefined {
    if (!this.cfg) return undefined;
    return this.cfg.defaults.text.docker_socket_group ?? (groupId("docker") !== undefined ? "docker" : "root");
  }

  /**
   * Subscribe to the daemon's events before listing (an evaluation), so that
   * nothing that happens in between is missed; resubscribe with `since` after
   * the stream ends; a stream ending with the daemon gone is the daemon's death.
   */
  private async watchDocker(): Promise<void> {
    const abort = (this.watchAbort = new AbortController());
    const rt = this.rt!;
    const docker = serviceDocker(rt);
    const containers = new Set(rt.config.resources.filter((r) => r.group === "container").map((r) => r.rid));
    const filters = { type: ["container"], label: [`${LABEL_SERVICE}=${this.name}`] };
    while (!abort.signal.aborted) {
      const probe = await docker.probe();
      if (probe.state === "unknown") {
        // cannot tell (a hung daemon, a timeout): not a death; look again in a while
        this.log.debug(`docker daemon: ${probe.reason}`);
        await waitUnless(abort.signal, UNKNOWN_RETRY_MS);
        continue;
      }
      if (probe.state === "stopped") {
        if (this.daemonUp) await this.daemonDied(containers);
        this.daemonUp = false;
        await waitUnless(abort.signal, undefined, (wake) => (this.wake = wake));
        this.wake = undefined;
        continue;
      }
      try {
        const events = await docker.engine().events({ ...(this.lastEventTime !== undefined ? { since: this.lastEventTime } : {}), filters }, abort.signal);
        // while the stream is open the daemon answers: a look on an event is an inspect, without a ping first
        docker.streaming(true);
        // subscribed before listing: what happens during the listing arrives as events
        if (this.daemonUp === false) this.host.emit({ type: "daemon", service: this.name, state: "up" });
        this.daemonUp = true;
        this.book.observe(DAEMON_KEY, true);
        const listing = this.refresh(containers);
        for await (const ev of events) {
          this.lastEventTime = ev.time;
          const rid = ev.Actor.Attributes[LABEL_RID];
          if (!rid || !containers.has(rid)) continue;
          const unhealthy = ev.Action.startsWith("health_status: unhealthy");
          if (ev.Action === "die") this.reasons.set(rid, { reason: `container died (exit code ${ev.Actor.Attributes.exitCode ?? "?"})`, action: "start" });
          else if (ev.Action === "oom") this.reasons.set(rid, { reason: "container was killed out of memory", action: "start" });
          else if (unhealthy) this.reasons.set(rid, { reason: "container unhealthy", action: "restart" });
          void this.refresh(new Set([rid]), unhealthy ? rid : undefined);
        }
        await listing;
      } catch (e) {
        if (abort.signal.aborted) break;
        this.log.debug(`docker events: ${errorMessage(e)}`);
      } finally {
        docker.streaming(false);
      }
      if (!abort.signal.aborted) await waitUnless(abort.signal, RESUBSCRIBE_MS);
    }
  }

  /**
   * A dead private dockerd is started again with the containers that should
   * run on it, whatever their own restart counts: the daemon died, not they.
   * Its tries: the most any of its containers has (at least one), the
   * shortest delay, given back after 60 s up like a resource's.
   */
  private async daemonDied(containers: Set<string>): Promise<void> {
    this.log.warn("docker daemon died");
    this.host.emit({ type: "daemon", service: this.name, state: "down" });
    this.book.observe(DAEMON_KEY, false);
    const cfg = this.cfg;
    if (!cfg || (await this.host.manager.isFrozen(this.name)) || (this.host.mayRepair && !this.host.mayRepair(this.name))) return void this.refresh(containers);
    const intent = readIntent(this.host.paths, this.name).resources;
    const wanted = cfg.resources.filter((r) => containers.has(r.rid) && !r.disabled && intent[r.rid] === "up");
    if (wanted.length) {
      const limit = Math.max(1, ...wanted.map((r) => r.values.restart as number));
      const delay = Math.min(...wanted.map((r) => r.values.restart_delay as number));
      const d = this.book.decide(DAEMON_KEY, limit, delay);
      if (d.kind === "restart") {
        const timer = setTimeout(() => this.repairDue(), d.delayMs);
        timer.unref();
        for (const r of wanted) {
          const prev = this.pending.get(r.rid);
          if (prev) clearTimeout(prev.timer);
          this.pending.set(r.rid, { reason: "docker daemon died", attempt: d.attempt, limit: d.limit, action: "start", timer });
        }
      } else if (d.kind === "exhausted" && d.firstTime) this.log.warn(`docker daemon: restart limit reached (${d.limit}/${d.limit})`);
    }
    void this.refresh(containers);
  }

  private stopWatching(): void {
    this.watchAbort?.abort();
    this.watchAbort = undefined;
    this.wake?.();
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.rt?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching();
    this.dirWatcher?.close();
    await Promise.allSettled([this.watchLoop, this.evaluating, this.repairing]);
  }

  // --- evaluation ---------------------------------------------------------

  /** Evaluate these resources (or all), then act on what is not as intended. `unhealthy`: a running container the engine calls unhealthy. */
  refresh(rids: Set<string> | "all", unhealthy?: string): Promise<void> {
    if (this.closed || !this.rt) return Promise.resolve();
    if (unhealthy) void this.failed(unhealthy);
    if (this.queued === "all" || rids === "all") this.queued = "all";
    else this.queued = new Set([...(this.queued ?? []), ...rids]);
    this.evaluating ??= (async () => {
      while (this.queued && this.rt && !this.closed) {
        const which = this.queued;
        this.queued = undefined;
        await this.evaluateNow(which === "all" ? undefined : which);
      }
    })().finally(() => (this.evaluating = undefined));
    return this.evaluating;
  }

  private async evaluateNow(rids: Set<string> | undefined): Promise<void> {
    const rt = this.rt!;
    const startedAt = Date.now();
    let fresh: ResourceStatus[];
    try {
      fresh = await rt.evaluateResources(rids);
    } catch (e) {
      this.log.warn(`evaluation failed: ${errorMessage(e)}`);
      return;
    }
    if (rt !== this.rt) return; // reloaded meanwhile
    // an action of this agent ended while this one looked: its status, taken over, is the newer one (nothing to repair on what this saw before)
    if (startedAt < this.adoptedAt) return;
    const status = this.keep(rt, fresh);
    this.host.manager.noteStatus(status);
    await writeStatusCache(this.host.paths, status, { startedAt }).catch((e: unknown) => this.log.debug(`status cache: ${errorMessage(e)}`));
    await this.reconcile(fresh);
  }

  /**
   * The status an action of this agent ended with (its last look, newer than
   * any evaluation of this monitor's under way): kept as this monitor's own,
   * annotated as an evaluation is, and returned so.
   */
  adopt(st: ServiceStatus): ServiceStatus {
    const rt = this.rt;
    if (this.closed || !rt) return st;
    this.adoptedAt = Date.now();
    // its lock was released just before (runServiceAction): the watch's word of that is not another process's action
    this.ownEnded = true;
    return this.keep(rt, st.resources);
  }

  /** These resources' statuses kept, and the service's status made again from every one kept (in config order). */
  private keep(rt: ServiceRuntime, resources: readonly ResourceStatus[]): ServiceStatus {
    for (const r of resources) this.resources.set(r.rid, r);
    const ordered = rt.config.resources.map((r) => this.resources.get(r.rid)).filter((r): r is ResourceStatus => r !== undefined);
    return (this.status = rt.summarize(ordered.map((r) => this.annotated(r)), this.serviceLog()));
  }

  /** A resource's status with the agent's word on it: its restart limit reached. */
  private annotated(r: ResourceStatus): ResourceStatus {
    const c = this.book.counters(r.rid);
    if (!c.exhausted) return r;
    return { ...r, log: [...r.log, { level: "info", message: `restart limit reached (${c.count}/${c.count})` }] };
  }

  private serviceLog(): StatusLogEntry[] {
    return [...this.resources.keys()].filter((rid) => this.book.counters(rid).exhausted).map((rid) => ({ level: "warn", message: `${rid}: restart limit reached` }));
  }

  /** Bring back what is down but asked to be up; never on a frozen service. */
  private async reconcile(fresh: ResourceStatus[]): Promise<void> {
    const cfg = this.cfg;
    if (!cfg) return;
    for (const r of fresh) this.book.observe(r.rid, UP.includes(r.status));
    if (await this.host.manager.isFrozen(this.name)) return;
    if (this.host.mayRepair && !this.host.mayRepair(this.name)) return;
    const intent = readIntent(this.host.paths, this.name).resources;
    for (const r of fresh) {
      if (intent[r.rid] !== "up" || r.disabled) continue;
      if (DOWN.includes(r.status)) await this.failed(r.rid);
    }
  }

  // --- restarts -----------------------------------------------------------

  private async failed(rid: string): Promise<void> {
    const res = this.cfg?.resources.find((r) => r.rid === rid);
    if (!res || this.pending.has(rid) || this.inFlight.has(rid)) return;
    const { reason, action } = this.reasons.get(rid) ?? { reason: `${rid} found down`, action: "start" as const };
    const limit = res.values.restart as number;
    const d = this.book.decide(rid, limit, res.values.restart_delay as number);
    if (d.kind === "none") return;
    if (d.kind === "exhausted") {
      if (!d.firstTime) return;
      this.log.child({ rid }).warn(`restart limit reached (${d.limit}/${d.limit}): ${reason}`);
      this.host.emit({ type: "restart_limit", service: this.name, rid, limit: d.limit });
      if (res.monitored && this.cfg?.defaults.values.monitor_action === "freezestop" && !this.frozenActed) await this.freezeStop(rid);
      void this.refresh(new Set([rid]));
      return;
    }
    const timer = setTimeout(() => this.repairDue(), d.delayMs);
    timer.unref();
    this.pending.set(rid, { reason, attempt: d.attempt, limit: d.limit, action, timer });
  }

  /** Every repair due now, in one action (the executor orders them as a start would). */
  private repairDue(): void {
    this.repairing = this.repairing.then(async () => {
      if (this.closed || !this.pending.size) return;
      const due = [...this.pending.entries()];
      this.pending.clear();
      for (const [rid, p] of due) {
        clearTimeout(p.timer);
        this.inFlight.add(rid);
      }
      for (const action of ["restart", "start"] as const) {
        const batch = due.filter(([, p]) => p.action === action);
        if (batch.length) await this.repair(action, batch);
      }
    });
  }

  private async repair(action: "start" | "restart", batch: [string, Pending][]): Promise<void> {
    const rids = batch.map(([rid]) => rid);
    const lines = batch.map(([rid, p]) => ({ rid, msg: `restart ${p.attempt}/${p.limit}: ${p.reason}` }));
    const r = await this.host.manager.act(this.name, action, {
      selection: { rids },
      waitMs: REPAIR_WAIT_MS,
      repair: {
        lines,
        stillWanted: async () => {
          if (!(await this.stillWanted(rids, action))) {
            for (const [rid] of batch) this.book.refund(rid); // back meanwhile: the try is not counted
            return false;
          }
          for (const [rid, p] of batch) {
            this.log.child({ rid }).info(`restart ${p.attempt}/${p.limit}: ${p.reason}`);
            this.host.emit({ type: "restart", service: this.name, rid, attempt: p.attempt, limit: p.limit, reason: p.reason });
            this.reasons.delete(rid);
          }
          return true;
        },
      },
    });
    if (!r.ok) this.log.warn(`restart of ${rids.join(", ")} failed${r.kind === "done" && r.error ? `: ${r.error}` : r.kind === "error" ? `: ${r.thrown.message}` : ""}`);
    for (const rid of rids) this.inFlight.delete(rid);
    await this.refresh(new Set(rids)); // still down (the repair failed, or it died again meanwhile): the next try
  }

  /** Under the service's lock, after an operator's action that went first: is the repair still wanted? */
  private async stillWanted(rids: string[], action: "start" | "restart"): Promise<boolean> {
    if (this.closed || !this.rt || (await this.host.manager.isFrozen(this.name))) return false;
    if (this.host.mayRepair && !this.host.mayRepair(this.name)) return false;
    const intent = readIntent(this.host.paths, this.name).resources;
    const wanted = rids.filter((rid) => intent[rid] === "up");
    if (!wanted.length) return false;
    if (action === "restart") return true;
    const now = await this.rt.evaluateResources(new Set(wanted));
    return now.some((r) => DOWN.includes(r.status));
  }

  /** monitor_action = freezestop: once the monitored resource's restarts are used up. */
  private async freezeStop(rid: string): Promise<void> {
    this.frozenActed = true;
    this.log.warn(`monitor_action freezestop: ${rid} used up its restarts, freezing and stopping the service`);
    await this.host.manager.setFrozen(this.name, true);
    await this.host.manager.act(this.name, "stop", { selection: {}, waitMs: REPAIR_WAIT_MS });
  }
}
