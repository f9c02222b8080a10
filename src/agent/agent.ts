// The node agent (SPEC §9): one process per root that keeps every service in
// the state its operators asked for. It holds one ServiceManager (the same API
// the CLI uses), one ServiceMonitor per service, the boot of the node, and the
// API socket. Everything it starts (dockerds, containers) is detached from it:
// stopping or killing the agent stops nothing.
import fs from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { ServiceManager } from "../core/manager.js";
import { acquireLock, type HeldLock } from "../actions/lock.js";
import { ActionError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { Paths } from "../util/paths.js";
import { lockHolder } from "../actions/lock.js";
import { ServiceMonitor, type AgentEvent } from "./monitor.js";
import { agentDir, agentPidFile, apiSocket, bootIdRecord } from "./files.js";
import { Listener, TeamSockets } from "./api/server.js";
import type { ApiContext } from "./api/routes.js";
import { EventHub } from "./event-hub.js";
import { ActionQueue } from "./action-queue.js";
import { AgentMetrics } from "./metrics.js";
import type { ManagerEvent } from "../core/manager.js";
import { ActionHistory } from "./action-history.js";
import type { ListenConfig } from "./listen-config.js";
import type { WebListener } from "./api/web.js";
import type { ClusterConfig } from "../cluster/node-conf.js";
import type { ClusterNode } from "../cluster/node.js";

export interface AgentOptions {
  paths: Paths;
  nodename: string;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** where the kernel says which boot this is */
  bootIdFile?: string;
  now?: () => number;
  /** serve the API and the dashboard on TCP too (SPEC §11) */
  listen?: ListenConfig;
  /** node.conf's [cluster] (SPEC §12), and how to run the node's watchdog */
  cluster?: { cfg: ClusterConfig; watchdogArgv: string[] };
}

export const VERSION = "0.1.0";

export class Agent implements ApiContext {
  readonly manager: ServiceManager;
  readonly startedAt = Date.now();
  /** booted and every service watched: `daemon start` returns then */
  ready = false;
  private readonly monitors = new Map<string, ServiceMonitor>();
  private lock: HeldLock | undefined;
  private etcWatcher: fs.FSWatcher | undefined;
  private api: Listener | undefined;
  private teams: TeamSockets | undefined;
  private web: WebListener | undefined;
  readonly hub = new EventHub();
  readonly actions: ActionQueue;
  readonly metrics: AgentMetrics;
  readonly history: ActionHistory;
  readonly version = VERSION;
  private unsubscribe: (() => void) | undefined;
  /** start times of the actions in progress, for their duration */
  private readonly actionStarts = new Map<string, number>();
  private syncing: Promise<void> = Promise.resolve();
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(e: AgentEvent) => void>();
  readonly now: () => number;
  /** this node's part of its cluster, when node.conf has one */
  cluster: ClusterNode | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.manager = new ServiceManager({ paths: opts.paths, nodename: opts.nodename, env: opts.env });
    this.now = opts.now ?? (() => performance.now());
    this.actions = new ActionQueue(this.manager);
    this.history = new ActionHistory(this.hub, opts.paths);
    this.metrics = new AgentMetrics(() => [...this.monitors.values()].flatMap((m) => (m.status ? [m.status] : [])));
  }

  get paths(): Paths {
    return this.opts.paths;
  }

  get log(): Logger {
    return this.opts.log;
  }

  get serviceCount(): number {
    return this.monitors.size;
  }

  onEvent(fn: (e: AgentEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One agent per root: the pid file is a lock; a second agent refuses and names the first. */
  async start(): Promise<void> {
    fs.mkdirSync(agentDir(this.paths), { recursive: true, mode: 0o755 });
    fs.mkdirSync(this.paths.etc, { recursive: true, mode: 0o755 }); // a node with no service yet: watched all the same
    try {
      this.lock = await acquireLock(agentPidFile(this.paths), { action: "agent", waitMs: 0 });
    } catch {
      const holder = lockHolder(agentPidFile(this.paths));
      throw new ActionError(`an agent already runs for this root (pid ${holder?.pid ?? "?"}, since ${holder?.since ?? "?"})`);
    }
    try {
      if (this.opts.cluster) {
        // joined first: a bad cluster (no etcd, a name taken, the wrong etcd) stops the agent before it starts anything
        const { ClusterNode } = await import("../cluster/node.js");
        const node = new ClusterNode({
          cfg: this.opts.cluster.cfg,
          paths: this.paths,
          manager: this.manager,
          log: this.log,
          watchdogArgv: this.opts.cluster.watchdogArgv,
          env: { ...this.opts.env },
          onChange: (svc) => this.hub.publish("cluster", svc, {}),
        });
        await node.join();
        this.cluster = node;
      }
      this.unsubscribe = this.manager.on((e) => this.fromManager(e));
      this.manager.adoptActionStatus = (st) => this.monitors.get(st.name)?.adopt(st) ?? st;
      this.api = await Listener.open(this, { visible: () => true, via: "api.sock" }, apiSocket(this.paths), { gid: 0, mode: 0o600 });
      this.teams = new TeamSockets(this, path.join(agentDir(this.paths), "team"), (s) => this.monitors.get(s)?.socketGroup, this.log);
      if (this.opts.listen) {
        const { WebListener } = await import("./api/web.js");
        this.web = await WebListener.open(this, { listen: this.opts.listen, agentDir: agentDir(this.paths), paths: this.paths, nodename: this.opts.nodename, log: this.log, groupOf: (s) => this.monitors.get(s)?.socketGroup });
      }
      await this.bootOnce();
      this.etcWatcher = fs.watch(this.paths.etc, { persistent: false }, (_e, file) => {
        if (file?.endsWith(".conf")) this.scheduleSync();
      });
      this.etcWatcher.on("error", (e) => this.log.warn(`config dir watch: ${errorMessage(e)}`));
      await this.sync();
      this.ready = true;
      this.log.info(`agent running (pid ${process.pid}, ${this.monitors.size} service${this.monitors.size === 1 ? "" : "s"} watched)`);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Stop watching and serving; every service, dockerd and container keeps running. */
  async stop(): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.etcWatcher?.close();
    this.history.close();
    this.hub.closeAll();
    await this.web?.close();
    await this.api?.close();
    await this.teams?.close();
    this.unsubscribe?.();
    this.manager.adoptActionStatus = undefined;
    await this.syncing;
    await this.cluster?.close();
    await Promise.all([...this.monitors.values()].map((m) => m.close()));
    this.monitors.clear();
    this.lock?.release();
    this.lock = undefined;
  }

  /** The status of every watched service, from memory. */
  statuses(): { name: string; monitor: ServiceMonitor }[] {
    return [...this.monitors.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, monitor]) => ({ name, monitor }));
  }

  monitor(name: string): ServiceMonitor | undefined {
    return this.monitors.get(name);
  }

  emit(e: AgentEvent): void {
    const { type, service, ...data } = e;
    this.hub.publish(type, service, data);
    if (e.type === "restart") this.metrics.restarts.inc({ service: e.service, rid: e.rid });
    for (const fn of this.listeners) fn(e);
  }

  /** The manager's events (the agent's own actions, the status it evaluates) on the event stream and in the metrics. */
  private fromManager(e: ManagerEvent): void {
    if (e.type === "log") return;
    if (e.type === "status") {
      this.hub.publish("status", e.service, { rid: e.rid, from: e.from, to: e.to, ...(e.frozen !== undefined && { frozen: e.frozen }) });
      return;
    }
    const key = `${e.service} ${e.action}`;
    if (e.phase === "begin") {
      this.actionStarts.set(key, performance.now());
      this.hub.publish("action", e.service, { phase: "begin", action: e.action, selection: e.selection, repair: e.repair, pid: process.pid });
      return;
    }
    const t0 = this.actionStarts.get(key);
    this.actionStarts.delete(key);
    if (!e.repair) this.monitors.get(e.service)?.operatorActed();
    if (t0 !== undefined) this.metrics.actionDuration.observe({ service: e.service, action: e.action }, (performance.now() - t0) / 1000);
    this.metrics.actions.inc({ service: e.service, action: e.action, outcome: e.ok ? "succeeded" : "failed" });
    this.hub.publish("action", e.service, { phase: "end", action: e.action, ok: e.ok, error: e.error, rolledBack: e.rolledBack, repair: e.repair, pid: process.pid });
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.sync();
    }, 100);
  }

  /** One monitor per service config: new ones watched, removed ones dropped, changed ones reloaded. */
  private sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      const names = new Set(this.manager.list());
      this.history.retain(names);
      for (const [name, m] of this.monitors) {
        if (!names.has(name)) {
          this.monitors.delete(name);
          await m.close();
          this.log.info(`${name}: config removed, no longer watched`);
        }
      }
      const limit = pLimit(8);
      await Promise.all(
        [...names].map((name) =>
          limit(async () => {
            const known = this.monitors.get(name);
            try {
              if (known) await known.reload();
              else {
                const m = new ServiceMonitor(name, { manager: this.manager, paths: this.paths, env: this.opts.env, log: this.log, now: this.now, emit: (e) => this.emit(e), mayRepair: (svc) => this.cluster?.mayRepair(svc) ?? true });
                this.monitors.set(name, m);
                await m.start();
              }
            } catch (e) {
              this.log.warn(`${name}: ${errorMessage(e)}`);
            }
          }),
        ),
      );
      this.cluster?.refreshAll();
      const groups = new Set([...this.monitors.values()].map((m) => m.socketGroup).filter((g): g is string => g !== undefined));
      await this.teams?.sync(groups);
    });
    return this.syncing;
  }

  /** `boot` once per node boot (the kernel's boot id remembered), services in parallel. */
  private async bootOnce(): Promise<void> {
    let bootId: string;
    try {
      bootId = fs.readFileSync(this.opts.bootIdFile ?? "/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch (e) {
      this.log.warn(`cannot read the boot id, boot skipped: ${errorMessage(e)}`);
      return;
    }
    const record = bootIdRecord(this.paths);
    let seen: string | undefined;
    try {
      seen = fs.readFileSync(record, "utf8").trim();
    } catch {
      seen = undefined;
    }
    if (seen === bootId) return;
    // remembered first: a crash during the boot never boots twice
    fs.writeFileSync(path.join(record), bootId + "\n", { mode: 0o644 });
    // a cluster service is placed by the cluster, not by a node's boot
    const names = (await this.manager.bootSelection()).filter((n) => !this.cluster?.isClustered(n));
    this.log.info(`node boot ${bootId}: starting ${names.length ? names.join(", ") : "nothing"}`);
    const results = await this.manager.actMany(names, "start", { selection: {}, waitMs: 60_000, parallel: 8 });
    for (const r of results) if (!r.ok) this.log.warn(`boot: ${r.service} failed to start`);
  }
}
