// The agent's part of the cluster (SPEC §12): it joins (checks, lease, node
// key), mirrors cluster configs to <etc>, publishes what it sees of each
// cluster service, and runs the failover rules: take a free owner key in
// `nodes` order, start under the fencing token, give the key back after a
// stop, and stop everything at once when its own deadline passes.
import fs from "node:fs";
import path from "node:path";
import type { ClusterHooks, ServiceManager } from "../core/manager.js";
import type { ServiceConfig } from "../config/types.js";
import { usesPrivateDaemon } from "../config/types.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { ActionError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { configFile, stateDir, type Paths } from "../util/paths.js";
import type { EtcdClient, WatchEvent } from "./etcd.js";
import type { ClusterConfig } from "./node-conf.js";
import { LeaseSession, monoMs } from "./session.js";
import { ClusterStore, clusterView, isClusterConfig, type ClusterRequest, type ClusterState, type ClusterView, type Owner } from "./store.js";

export type { ClusterView } from "./store.js";
import { disarmWatchdog, ensureWatchdog, fenceContainers, renewWatchdog } from "./watchdog.js";
import { checkJoin, recordEtcdCluster, registerNode } from "./join.js";
import { mirrorConfig } from "./mirror.js";
import { StatusPublisher } from "./publish.js";

export interface ClusterNodeOptions {
  cfg: ClusterConfig;
  paths: Paths;
  manager: ServiceManager;
  log: Logger;
  /** how to run the watchdog: [node, svcmgr.js, "daemon", "watchdog"] */
  watchdogArgv: string[];
  env: NodeJS.ProcessEnv;
  /** the cluster's state changed (a service's keys, or a node came or went: service "") */
  onChange?: (svc: string) => void;
}

/** a node that failed to start a service leaves it to the others this long */
const FAILED_COOLDOWN_MS = 30_000;
/** the rank wait of SPEC §12: a node of rank r waits r × 1 s */
const RANK_WAIT_MS = 1000;
const WAIT_MS = 60_000;
/** a watch etcd has not confirmed by then is started again on another member */
const WATCH_CREATE_MS = 3000;

export class ClusterNode implements ClusterHooks {
  readonly store: ClusterStore;
  readonly session: LeaseSession;
  state: ClusterState = { revision: 0, nodes: new Map(), services: new Map() };
  private readonly abort = new AbortController();
  private watching: Promise<void> = Promise.resolve();
  private watchAbort: AbortController | undefined;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** the token each owned service was started under by this agent */
  private readonly started = new Map<string, number>();
  private readonly failedAt = new Map<string, number>();
  /** the highest fencing token seen per owner key (a service's slot: a flex service's slots have tokens of their own) */
  private readonly highest = new Map<string, number>();
  /** the docker socket of each service this node started, for the watchdog */
  private readonly sockets = new Map<string, string | undefined>();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** the node key holds this agent's current lease */
  private registered = false;
  private registering: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** watches in a row that failed or were never confirmed */
  private watchFailures = 0;

  private readonly publisher: StatusPublisher;

  constructor(private readonly opts: ClusterNodeOptions) {
    this.store = new ClusterStore(opts.cfg);
    this.session = new LeaseSession(this.store.client, opts.cfg.leaseTtlMs, opts.log);
    this.publisher = new StatusPublisher(this.store, opts.log, (svc) => opts.manager.lastStatusOf(svc), () => this.session.lease);
  }

  get self(): string {
    return this.opts.cfg.self;
  }
  private get client(): EtcdClient {
    return this.store.client;
  }
  private get log(): Logger {
    return this.opts.log;
  }
  private get leaseFile(): string {
    return path.join(this.opts.paths.var, "_agent", "lease");
  }

  /** Join: every check first (nothing is started when one fails), then the lease, the node key, the configs, the watch. */
  async join(): Promise<void> {
    const adopt = await checkJoin(this.store, this.opts.paths, this.log);
    await this.session.open(adopt);
    writeFileAtomicSync(this.leaseFile, `${this.session.lease}\n`, 0o600);
    await this.register(true);
    recordEtcdCluster(this.opts.paths, (await this.client.status(this.client.endpoints[0]!, 2000).catch(() => undefined))?.header.clusterId);
    this.session.on("renewed", () => this.renewed());
    this.session.on("expired", () => void this.expired());
    this.session.on("lost", () => void this.leaseLost());
    this.session.on("regained", () => this.restartWatch());
    this.state = await this.store.snapshot();
    this.mirrorAll();
    this.unsubscribe = this.opts.manager.on((e) => {
      if (e.type === "status" && this.isClustered(e.service)) {
        this.publisher.soon(e.service);
        if (!e.rid) this.evaluate(e.service);
      }
    });
    this.watching = this.watchLoop();
    // a backstop: a watch can hang on a member that was cut off (no keepalive on an HTTP stream), so the state is compared once per lease_ttl
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.cfg.leaseTtlMs);
    this.resyncTimer.unref();
    this.opts.manager.cluster = this;
    ensureWatchdog(this.opts.paths, this.opts.watchdogArgv, this.opts.env, path.join(this.opts.paths.var, "_agent", "watchdog.out"));
    this.renewed();
    this.log.info(`joined cluster ${this.opts.cfg.name} as ${this.self} (lease ${this.session.lease}, ttl ${this.opts.cfg.leaseTtlMs / 1000}s, ${this.state.nodes.size} node${this.state.nodes.size === 1 ? "" : "s"} up)`);
    for (const svc of this.clusterServices()) this.evaluate(svc);
  }

  /** The node key on the current lease (see registerNode); at join, a name held by another agent ends the join. */
  private async register(atJoin: boolean): Promise<void> {
    if (!this.session.lease) return; // granted again soon: the next keepalive registers
    const r = await registerNode(this.store, this.session.lease, this.opts.paths);
    if (r.ok) {
      this.registered = true;
      if (!atJoin) {
        this.log.info(`cluster: node ${this.self} registered again (lease ${this.session.lease})`);
        this.refreshAll(); // the statuses went with the old lease
      }
      return;
    }
    if (!atJoin) {
      this.log.warn(`cluster: ${r.error.message}: not registered, tried again at the next keepalive`);
      return;
    }
    await this.session.close(true);
    throw r.error;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.watchAbort?.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.publisher.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.unsubscribe?.();
    await this.watching;
    await Promise.allSettled([...this.chains.values()]);
    // the lease is not revoked: a new agent adopts it, and until then the watchdog guards this node's services
    await this.session.close(false);
    if (!this.ownedHere().length) disarmWatchdog(this.opts.paths);
  }

  // --- the view ------------------------------------------------------------

  private clusterServices(): string[] {
    return [...this.state.services.entries()].filter(([, v]) => v.config).map(([s]) => s);
  }

  isClustered(name: string, text?: string): boolean {
    if (text !== undefined) return isClusterConfig(text);
    if (this.state.services.get(name)?.config) return true;
    try {
      return isClusterConfig(fs.readFileSync(configFile(this.opts.paths, name), "utf8"));
    } catch {
      return false;
    }
  }

  /** the owner keys held by this agent's current lease */
  ownedHere(): Owner[] {
    return [...this.state.services.values()].flatMap((v) => [...v.owners.values()]).filter((o) => o.node === this.self && o.lease === this.session.lease);
  }

  private mine(svc: string): Owner | undefined {
    return [...(this.state.services.get(svc)?.owners.values() ?? [])].find((o) => o.node === this.self && o.lease === this.session.lease);
  }

  private noteToken(key: string, token: number): void {
    if (token > (this.highest.get(key) ?? 0)) this.highest.set(key, token);
  }

  private async watchLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      if (this.watchFailures === 0) this.client.preferLocal(); // the local member first (the others may be cut off), unless it just failed
      const ac = (this.watchAbort = new AbortController());
      const signal = AbortSignal.any([ac.signal, this.abort.signal]);
      // a member that takes the request but never answers it: given up, and the next member tried
      let noAnswerFired = false;
      const noAnswer = setTimeout(() => {
        noAnswerFired = true;
        this.log.debug("cluster watch: not created in time, trying another member");
        this.client.rotate();
        ac.abort();
      }, WATCH_CREATE_MS);
      try {
        const created = (): void => {
          clearTimeout(noAnswer);
          this.watchFailures = 0;
        };
        await this.client.watch(this.store.keys.root, { prefix: true, fromRevision: this.state.revision + 1, signal, onCreated: created }, (evs, rev) => this.onEvents(evs, rev));
      } catch (e) {
        this.log.debug(`cluster watch: ${errorMessage(e)}`);
      } finally {
        clearTimeout(noAnswer);
      }
      if (!this.abort.signal.aborted && !ac.signal.aborted) this.watchFailures++;
      else if (ac.signal.aborted && this.watchFailures === 0 && noAnswerFired) this.watchFailures++;
      if (this.abort.signal.aborted) break;
      await new Promise((r) => setTimeout(r, 300));
      // whatever was missed: the state again, from a fresh snapshot
      try {
        this.state = await this.store.snapshot(2000);
        this.mirrorAll();
        this.opts.onChange?.(""); // what changed meanwhile was not seen as events: the views ask again
        for (const svc of this.clusterServices()) this.evaluate(svc);
      } catch (e) {
        this.log.debug(`cluster snapshot: ${errorMessage(e)}`);
      }
    }
  }

  /** What the rules depend on: nodes, intents, targets, owners. */
  private digest(state: ClusterState): string {
    const nodes = [...state.nodes.entries()].map(([n, r]) => `${n}@${r.lease}`).sort();
    const svcs = [...state.services.entries()].map(([s, v]) => `${s}:${v.config?.modRevision ?? 0}:${v.intent ?? ""}:${v.target ?? ""}:${[...v.owners.values()].map((o) => `${o.node}/${o.token}`).join(",")}`).sort();
    return JSON.stringify([nodes, svcs]);
  }

  /** The state from a snapshot, when the watch missed something: adopted, acted on, and the watch started again. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    const snap = await this.store.snapshot(2000).catch(() => undefined);
    if (!snap || this.closed || this.digest(snap) === this.digest(this.state)) return;
    this.log.info("cluster: the watch missed changes: state taken from etcd again, watch restarted");
    this.state = snap;
    this.mirrorAll();
    this.opts.onChange?.("");
    for (const svc of this.clusterServices()) this.evaluate(svc);
    this.restartWatch();
  }

  /** After a partition, the watch may hang on a member that was cut off: start it again. */
  private restartWatch(): void {
    this.watchAbort?.abort();
  }

  private onEvents(evs: WatchEvent[], revision: number): void {
    const touched = new Set<string>();
    const touchedAll = new Set<string>();
    let nodesChanged = false;
    for (const ev of evs) {
      const kv = ev.type === "put" ? ev.kv : undefined;
      const k = this.store.keys.parse(ev.kv.key);
      if (k?.kind === "node") nodesChanged = true;
      if (k?.kind === "owner" && kv) this.noteToken(ev.kv.key, kv.createRevision);
      const svc = this.store.apply(this.state, ev.kv.key, kv);
      if (k?.kind === "config" && svc) this.mirror(svc);
      if (svc && k?.kind !== "status") touched.add(svc);
    }
    this.state.revision = Math.max(this.state.revision, revision);
    if (nodesChanged) this.opts.onChange?.("");
    for (const ev of evs) {
      const k = this.store.keys.parse(ev.kv.key);
      if (k?.svc) touchedAll.add(k.svc);
    }
    for (const svc of touchedAll) this.opts.onChange?.(svc);
    for (const svc of nodesChanged ? this.clusterServices() : touched) this.evaluate(svc);
  }

  // --- configs ------------------------------------------------------------

  private mirrorAll(): void {
    for (const svc of this.clusterServices()) this.mirror(svc);
  }

  private mirror(svc: string): void {
    mirrorConfig(this.opts.paths, svc, this.state.services.get(svc)?.config, this.log);
  }

  writeConfig(name: string, edit: (current: string) => string, opts: { create: boolean }): Promise<string> {
    return this.store.writeConfig(name, edit, opts);
  }

  deleteConfig(name: string, opts: { force: boolean }): Promise<void> {
    return this.store.deleteConfig(name, opts);
  }

  // --- admission: checked before every start of a cluster service -----------

  async admit(cfg: ServiceConfig): Promise<{ fence: string }> {
    const svc = cfg.name;
    const refuse = (why: string): never => {
      throw new ActionError(`${svc}: not started on ${this.self}: ${why}`);
    };
    if (this.session.checkExpiry() || !this.session.isValid()) refuse("no valid lease deadline (etcd not reached in time)");
    const mine = this.mine(svc);
    if (!mine) {
      const others = [...(this.state.services.get(svc)?.owners.values() ?? [])].map((o) => o.node);
      refuse(others.length ? `it is owned by ${others.join(", ")} (use switch --to ${this.self}, or takeover)` : "this node does not own it (start it through the cluster: svcmgr -s NAME start)");
    }
    const key = this.store.keys.owner(svc, mine!.slot);
    if (mine!.token < (this.highest.get(key) ?? 0)) refuse(`fencing token ${mine!.token} is older than ${this.highest.get(key)}`);
    const r = await this.client.txn([{ key, target: "CREATE", createRevision: mine!.token }, { key, target: "LEASE", lease: mine!.lease }], [], [], 1000).catch((e: unknown) => refuse(`ownership not confirmed by etcd: ${errorMessage(e)}`));
    if (!r.succeeded) refuse(`etcd no longer gives it to this node (token ${mine!.token})`);
    if (!this.session.isValid()) refuse("the lease deadline passed while etcd confirmed");
    return { fence: String(mine!.token) };
  }

  /** the agent's restarts of a cluster service: only by its owner, within its deadline */
  mayRepair(svc: string): boolean {
    if (!this.isClustered(svc)) return true;
    return this.session.isValid() && this.mine(svc) !== undefined && this.started.get(svc) === this.mine(svc)!.token;
  }

  // --- the rules -----------------------------------------------------------

  /** Evaluate a service's placement, one evaluation at a time per service (asked again while one runs: once more after it). */
  evaluate(svc: string): void {
    if (this.closed) return;
    if (this.chains.has(svc)) {
      this.again.add(svc);
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.again.delete(svc);
        try {
          await this.decide(svc);
        } catch (e) {
          this.log.warn(`${svc}: ${errorMessage(e)}`);
        }
      } while (this.again.has(svc) && !this.closed);
    };
    this.chains.set(
      svc,
      run().finally(() => this.chains.delete(svc)),
    );
  }

  private async localConfig(svc: string): Promise<ServiceConfig | undefined> {
    const cfg = await this.opts.manager.readConfig(svc).catch(() => undefined);
    return cfg && !cfg.problems.length && cfg.defaults.values.topology ? cfg : undefined;
  }

  private localUp(svc: string): boolean {
    const st = this.opts.manager.lastStatusOf(svc);
    return st !== undefined && st.resources.some((r) => r.status === "up" || r.status === "warn" || r.status === "stdby up");
  }

  private async decide(svc: string): Promise<void> {
    const v = this.state.services.get(svc);
    const cfg = await this.localConfig(svc);
    if (!v?.config || !cfg) return;
    const nodesOf = cfg.defaults.values.nodes?.filter((n) => this.opts.cfg.nodes.includes(n)) ?? this.opts.cfg.nodes;
    const flex = cfg.defaults.values.topology === "flex";
    const slots = flex ? Math.min(cfg.defaults.values.flex_target ?? nodesOf.length, nodesOf.length) : 1;
    const live = nodesOf.filter((n) => this.state.nodes.has(n));
    const mine = this.mine(svc);
    if (mine) {
      const moveAway = !flex && v.target !== undefined && v.target !== this.self && live.includes(v.target);
      if (v.intent !== "up" || moveAway || !nodesOf.includes(this.self)) return this.release(svc, mine, v.intent !== "up" ? "stopped by an operator" : moveAway ? `moving to ${v.target}` : "this node is no longer in its nodes");
      // without a valid deadline nothing starts (the expiry's fence has run or runs now)
      if (this.started.get(svc) !== mine.token && this.session.isValid()) await this.startOwned(svc, mine);
      if (v.target === this.self && this.started.get(svc) === mine.token) {
        // the move is done: its request goes (unless a new one came meanwhile)
        const key = this.store.keys.target(svc);
        const t = await this.client.get(key).catch(() => undefined);
        if (t?.value === this.self) await this.client.txn([{ key, target: "MOD", modRevision: t.modRevision }], [{ delete: { key } }]).catch(() => undefined);
      }
      return;
    }
    this.started.delete(svc);
    if (this.localUp(svc)) {
      // running here without a key (a lost lease, a missed stop; for flex: a copy beyond its slots): stopped at once
      await this.fence(svc, "running here without owning it");
    }
    if (v.intent !== "up" || !nodesOf.includes(this.self) || !this.session.isValid()) return;
    if (v.owners.size >= slots) return;
    if (Date.now() - (this.failedAt.get(svc) ?? -Infinity) < FAILED_COOLDOWN_MS) return;
    let delay: number | undefined;
    if (v.target !== undefined && !flex) {
      if (v.target === this.self) delay = 0;
      else if (live.includes(v.target)) return; // moving to another node
    }
    if (delay === undefined) {
      const orch = cfg.defaults.values.orchestrate ?? "no";
      const holders = new Set([...v.owners.values()].map((o) => o.node));
      const candidates = live.filter((n) => !holders.has(n));
      if (orch === "ha") delay = Math.max(0, candidates.indexOf(this.self)) * RANK_WAIT_MS;
      else if (orch === "start" && nodesOf[0] === this.self) delay = 0;
      else return;
    }
    this.takeLater(svc, delay, slots);
  }

  private takeLater(svc: string, delay: number, slots: number): void {
    if (this.timers.has(svc)) return;
    const t = setTimeout(() => {
      this.timers.delete(svc);
      void this.take(svc, slots).catch((e: unknown) => this.log.warn(`${svc}: ${errorMessage(e)}`));
    }, delay);
    this.timers.set(svc, t);
  }

  /** Take a free owner key (create_revision == 0, on our lease), then start. */
  private async take(svc: string, slots: number): Promise<void> {
    const v = this.state.services.get(svc);
    if (this.closed || !v || v.intent !== "up" || this.mine(svc) || !this.session.isValid()) return;
    for (let slot = 0; slot < slots; slot++) {
      if (v.owners.has(slot)) continue;
      const key = this.store.keys.owner(svc, slot);
      const r = await this.client.txn([{ key, target: "CREATE", createRevision: 0 }], [{ put: { key, value: JSON.stringify({ node: this.self }), lease: this.session.lease } }], [], 1500);
      if (!r.succeeded) continue;
      const owner: Owner = { node: this.self, slot, token: r.header.revision, lease: this.session.lease! };
      v.owners.set(slot, owner);
      this.noteToken(key, owner.token);
      this.log.info(`${svc}: owner now (fencing token ${owner.token})`);
      this.evaluate(svc);
      return;
    }
  }

  private async startOwned(svc: string, mine: Owner): Promise<void> {
    const cfg = await this.localConfig(svc);
    this.sockets.set(svc, cfg && this.socketOf(cfg));
    this.renewed(); // the watchdog knows this service's socket before anything of it runs
    const r = await this.opts.manager.act(svc, "start", { selection: {}, waitMs: WAIT_MS });
    if (r.ok) {
      if (!this.session.isValid() || this.mine(svc)?.token !== mine.token) {
        // the deadline passed or the key went while it started (a pause in the middle): not ours to run
        await this.fence(svc, "the deadline passed during its start");
        return;
      }
      this.started.set(svc, mine.token);
      this.renewed();
      return;
    }
    this.failedAt.set(svc, Date.now());
    const why = r.kind === "error" ? r.thrown.message : r.kind === "done" ? (r.error ?? "failed") : "?";
    this.log.warn(`${svc}: start failed here (${why}): owner key given back for another node`);
    await this.release(svc, mine, "its start failed");
  }

  /** Stop here, then give the key back (the next owner starts after this stop, never during it). */
  private async release(svc: string, mine: Owner, why: string): Promise<void> {
    this.log.info(`${svc}: ${why}: stopping, then giving the owner key back`);
    this.started.delete(svc);
    const r = await this.opts.manager.act(svc, "stop", { selection: {}, waitMs: WAIT_MS });
    if (!r.ok) {
      this.log.warn(`${svc}: stop failed: the owner key is kept (nothing else may start it)`);
      return;
    }
    const key = this.store.keys.owner(svc, mine.slot);
    await this.client.txn([{ key, target: "CREATE", createRevision: mine.token }], [{ delete: { key } }]);
    this.state.services.get(svc)?.owners.delete(mine.slot);
    this.renewed();
  }

  /** Stop a service's containers now (docker stop with what is left of the budget, then kill), then the rest of it. */
  private async fence(svc: string, why: string): Promise<void> {
    this.started.delete(svc);
    const cfg = await this.localConfig(svc);
    const socket = cfg && this.socketOf(cfg);
    const budgetS = Math.max(0, Math.floor((this.session.stopBy - monoMs() - 500) / 1000));
    this.log.warn(`${svc}: ${why}: stopping it now`);
    if (socket) {
      const n = await fenceContainers([socket], this.log.child({ svc }), budgetS);
      const left = Math.round(this.session.stopBy - monoMs());
      if (n) this.log.warn(`${svc}: ${n} container${n === 1 ? "" : "s"} stopped, ${left >= 0 ? `${left} ms before` : `${-left} ms AFTER`} the lease could pass to another node`);
    }
    const r = await this.opts.manager.act(svc, "stop", { selection: {}, waitMs: WAIT_MS });
    if (!r.ok) this.log.warn(`${svc}: the stop after the fence failed`);
  }

  /** lease_ttl / 2 without a good keepalive: every failover service owned here stops now. */
  private async expired(): Promise<void> {
    const owned = [...this.state.services.entries()].filter(([, v]) => [...v.owners.values()].some((o) => o.node === this.self)).map(([s]) => s);
    const running = this.clusterServices().filter((s) => this.localUp(s) || owned.includes(s));
    await Promise.all(running.map((s) => this.fence(s, "lease deadline passed")));
  }

  private async leaseLost(): Promise<void> {
    await this.expired();
    this.registered = false;
    writeFileAtomicSync(this.leaseFile, `${this.session.lease}\n`, 0o600);
    await this.register(false).catch((e: unknown) => this.log.warn(`cluster: ${errorMessage(e)}`));
    this.restartWatch();
  }

  private socketOf(cfg: ServiceConfig): string | undefined {
    if (!cfg.resources.some((r) => r.group === "container")) return undefined;
    if (usesPrivateDaemon(cfg.defaults.values)) return path.join(stateDir(this.opts.paths, cfg.name), "docker.sock");
    const host = this.opts.env.DOCKER_HOST;
    return host?.startsWith("unix://") ? host.slice(7) : "/var/run/docker.sock";
  }

  /** After each good keepalive: the watchdog's new deadline, with the sockets of what this node owns. */
  private renewed(): void {
    if (this.closed) return;
    if (!this.registered && !this.registering && this.session.lease) {
      this.registering = this.register(false)
        .catch((e: unknown) => this.log.debug(`cluster: ${errorMessage(e)}`))
        .finally(() => (this.registering = undefined));
    }
    const sockets = new Set<string>();
    for (const [svc, v] of this.state.services) {
      if (![...v.owners.values()].some((o) => o.node === this.self)) continue;
      const s = this.sockets.get(svc);
      if (s) sockets.add(s);
    }
    const ttl = this.opts.cfg.leaseTtlMs;
    renewWatchdog(this.opts.paths, { agentPid: process.pid, expires: this.session.validUntil, graceMs: Math.max(100, Math.min(500, (ttl / 2 - 2000) / 2)), stopBy: this.session.stopBy, sockets: [...sockets] });
  }


  // --- what this node sees, for the others ------------------------------------

  /** The cluster as this agent sees it (the API's /v1/cluster, `daemon status`). */
  view(visible: (svc: string) => boolean = () => true): ClusterView {
    const services = this.clusterServices().filter(visible);
    return clusterView(this.opts.cfg, this.state, services, { lease: this.session.lease, deadlineLeftMs: Math.round(this.session.validUntil - monoMs()) });
  }

  /** An operator's request through the API: written to etcd; the owners' agents carry it out. */
  async ask(svc: string, what: ClusterRequest, to?: string): Promise<string | undefined> {
    return this.store.ask(await this.opts.manager.loadValid(svc), what, to);
  }

  /** After the agent evaluated its services: publish what it sees of each cluster service, and act on it. */
  refreshAll(): void {
    for (const svc of this.clusterServices()) {
      this.publisher.soon(svc);
      this.evaluate(svc);
    }
  }
}
