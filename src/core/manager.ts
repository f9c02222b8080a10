// The service manager: the one API of svcmgr. The CLI and the agent are its two
// clients. It owns selection, the frozen skip, boot selection, config edits
// under the lock, delete and its guard, freeze/thaw, actions and status. It
// returns typed results, emits typed events, never prints and never chooses an
// exit code. Heavy modules (zod through the config parser, pino, drivers) are
// loaded by the methods that need them, so a CLI that only prints help stays fast.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { UsageError, SvcmgrError } from "../util/errors.js";
import { configFile, logFile, shortcutLink, stateDir, type Paths } from "../util/paths.js";
import type { LogRecord, LogSink, Logger } from "../util/log.js";
import { listServiceNames, resolveSelector } from "../service/names.js";
import type { ServiceConfig } from "../config/types.js";
import type { IniDocument } from "../config/ini.js";
import type { KeywordEdit } from "../service/edit.js";
import type { Selection } from "../service/planner.js";
import type { Status, ServiceStatus } from "../status/status.js";
import type { ServiceAction, ServiceActionOutcome } from "../actions/execute.js";
import { acquireLock } from "../actions/lock.js";
import type { CommandLine } from "../drivers/container-docker/passthrough.js";

export interface ManagerOptions {
  paths: Paths;
  /** this node's name (SVCMGR_NODENAME or the host name), passed in */
  nodename: string;
  /** the environment services act in (DOCKER_HOST for the host's daemon) */
  env: Readonly<Record<string, string | undefined>>;
  /** more sinks for every service's log lines (the CLI's stdout) */
  logSinks?: LogSink[];
}

/**
 * What a cluster (SPEC §12) adds to the manager: the admission of a cluster
 * service's start (this node owns it: its fencing token), and configs that
 * live in etcd, written with a compare-and-swap. Set by the agent or the CLI
 * when node.conf has a [cluster] section.
 */
export interface ClusterHooks {
  /** is this service's config kept in the cluster (with `text`: would this new config be) */
  isClustered(name: string, text?: string): boolean;
  /** refuses (throws an ActionError) or admits a start of a cluster service, with its fence */
  admit(cfg: ServiceConfig, action: ServiceAction): Promise<{ fence: string } | undefined>;
  /** change a cluster config through etcd; `edit` gets the current text and may be called again after a conflict */
  writeConfig(name: string, edit: (current: string) => string, opts: { create: boolean }): Promise<string>;
  deleteConfig(name: string, opts: { force: boolean }): Promise<void>;
}

export type ManagerEvent =
  | { type: "action"; phase: "begin"; service: string; action: ServiceAction; selection: Selection; repair: boolean }
  | { type: "action"; phase: "end"; service: string; action: ServiceAction; ok: boolean; error?: string; rolledBack: string[]; repair: boolean }
  | { type: "status"; service: string; rid?: string; from: Status | undefined; to: Status; frozen?: boolean }
  | { type: "log"; record: LogRecord };

export interface ActOptions {
  selection: Selection;
  dryRun?: boolean;
  disableRollback?: boolean;
  waitMs: number;
  /** act on a frozen service even in a mass action */
  force?: boolean;
  /** part of a mass action (no -s, or a glob): frozen services are skipped */
  mass?: boolean;
  concurrency?: number;
  /** one more sink for this action's log lines (the API keeps an action's lines) */
  logSink?: LogSink;
  /** the agent's repairs: intent left as the operator set it, and the action skipped if no longer wanted */
  repair?: { stillWanted: () => Promise<boolean>; lines: { rid: string; msg: string }[] };
}

export type ActResult =
  | ({ service: string; action: ServiceAction; kind: "done" } & ServiceActionOutcome)
  | { service: string; action: ServiceAction; kind: "frozen"; ok: true }
  | { service: string; action: ServiceAction; kind: "error"; ok: false; thrown: SvcmgrError };

export interface SelectOptions {
  /** names and globs, comma separated */
  selector?: string;
  /** only services whose overall status is one of these */
  status?: string[];
  /** state-changing actions on every service need status or all */
  all?: boolean;
  stateChanging: boolean;
}

export class ServiceManager {
  readonly paths: Paths;
  readonly nodename: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  private readonly events = new EventEmitter<{ event: [ManagerEvent] }>();
  private readonly extraSinks: LogSink[];
  /** the last status seen of each service, to emit changes (one entry per service: bounded by the services) */
  private readonly lastStatus = new Map<string, ServiceStatus>();
  /** set when this node is part of a cluster */
  cluster: ClusterHooks | undefined;
  /**
   * Set by the agent: the status an action ends with becomes its monitor's
   * (as the monitor keeps it) before its changes are told, so that whoever
   * asks for the service on those events gets what they say.
   */
  adoptActionStatus: ((st: ServiceStatus) => ServiceStatus) | undefined;

  constructor(opts: ManagerOptions) {
    this.paths = opts.paths;
    this.nodename = opts.nodename;
    this.env = opts.env;
    this.extraSinks = opts.logSinks ?? [];
  }

  on(fn: (e: ManagerEvent) => void): () => void {
    this.events.on("event", fn);
    return () => this.events.off("event", fn);
  }

  private emit(e: ManagerEvent): void {
    this.events.emit("event", e);
  }

  // --- selection ----------------------------------------------------------

  list(): string[] {
    return listServiceNames(this.paths);
  }

  /** The services an action applies to: the selector, else every service (state-changing actions then need status or all). */
  async select(opts: SelectOptions): Promise<string[]> {
    let names: string[];
    if (opts.selector !== undefined) names = resolveSelector(this.paths, opts.selector);
    else {
      if (opts.stateChanging && !opts.status && !opts.all) {
        throw new UsageError("this action changes services: name them with -s, or select them with --status or --all");
      }
      names = this.list();
    }
    if (opts.status) {
      const statuses = await this.statusOfMany(names, { refresh: false });
      names = names.filter((n) => opts.status!.includes(statuses.get(n)?.overall ?? "undef"));
    }
    return names;
  }

  /** `boot`: the services whose autostart_node is this node, frozen ones left out. */
  async bootSelection(selector?: string): Promise<string[]> {
    const names = selector ? resolveSelector(this.paths, selector) : this.list();
    const out: string[] = [];
    for (const n of names) {
      const cfg = await this.readConfig(n);
      const nodes = cfg.defaults.values.autostart_node;
      if (Array.isArray(nodes) && nodes.includes(this.nodename) && !(await this.isFrozen(n))) out.push(n);
    }
    return out;
  }

  // --- configs ------------------------------------------------------------

  async readConfig(name: string): Promise<ServiceConfig> {
    const { readServiceConfig } = await import("../service/repository.js");
    return readServiceConfig(this.paths, name, this.nodename);
  }

  /** The config, refusing an invalid one (ConfigError). */
  async loadValid(name: string): Promise<ServiceConfig> {
    const { loadValidService } = await import("../service/repository.js");
    return loadValidService(this.paths, name, this.nodename);
  }

  /** The parsed config (`print config --format json`): section -> keyword -> value. Refuses an invalid config. */
  async configJson(name: string): Promise<Record<string, unknown>> {
    const cfg = await this.loadValid(name);
    return {
      DEFAULT: cfg.defaults.text,
      ...Object.fromEntries(cfg.resources.map((r) => [r.rid, { ...r.text }])),
      ...Object.fromEntries(cfg.subsets.map((s) => [s.section, { parallel: s.parallel }])),
    };
  }

  /** The config as written, valid or not. */
  configText(name: string): string {
    const file = configFile(this.paths, name);
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`no such service: ${name} (no ${file})`);
      throw e;
    }
  }

  async create(name: string, opts: { kw?: string[]; env?: string; launcher: string }) {
    const { createService } = await import("../service/create.js");
    const created = createService(this.paths, name, { ...opts, nodename: this.nodename });
    const text = this.configText(name);
    if (this.cluster?.isClustered(name, text)) {
      try {
        await this.cluster.writeConfig(name, () => text, { create: true });
      } catch (e) {
        fs.rmSync(configFile(this.paths, name), { force: true });
        fs.rmSync(shortcutLink(this.paths, name), { force: true });
        throw e;
      }
    }
    return created;
  }

  /** Change one service's config under its config lock, so that concurrent edits lose no update; the result is validated before it is written. */
  async editConfig(name: string, change: (doc: IniDocument) => IniDocument, waitMs: number): Promise<void> {
    const { configContext, writeConfigAtomic } = await import("../service/repository.js");
    const { editConfigText } = await import("../service/edit.js");
    const lock = await acquireLock(path.join(stateDir(this.paths, name), "config.lock"), { action: "edit", waitMs });
    try {
      const file = configFile(this.paths, name);
      const edit = (current: string): string => editConfigText(name, file, current, configContext(this.paths, name, this.nodename), change).text;
      const local = this.configText(name);
      if (this.cluster?.isClustered(name) || this.cluster?.isClustered(name, edit(local))) {
        // through etcd: the edit applies to the cluster's current text, again after a conflict (no lost update)
        const text = await this.cluster.writeConfig(name, edit, { create: !this.cluster.isClustered(name) });
        writeConfigAtomic(this.paths, name, text);
        return;
      }
      writeConfigAtomic(this.paths, name, edit(local));
    } finally {
      lock.release();
    }
  }

  async setKeywords(name: string, edits: readonly KeywordEdit[], waitMs: number): Promise<void> {
    const { applyKeywordEdits, keywordEntry } = await import("../service/edit.js");
    const unset = edits.filter((e) => e.value === undefined);
    if (unset.length) {
      const cfg = await this.readConfig(name);
      for (const e of unset) if (!keywordEntry(cfg.doc, e.section, e.key)) throw new UsageError(`${e.section}.${e.key} is not set`);
    }
    await this.editConfig(name, (doc) => applyKeywordEdits(doc, edits), waitMs);
  }

  /** Replace the config by a new text (edit config): refused, the old file kept, when invalid. */
  async replaceConfig(name: string, text: string, waitMs: number): Promise<void> {
    const { parseIni } = await import("../config/ini.js");
    await this.editConfig(name, () => parseIni(text), waitMs);
  }

  async removeSections(name: string, rids: string[], waitMs: number): Promise<void> {
    const { classifySection } = await import("../service/service-config.js");
    const { removeSections } = await import("../service/edit.js");
    for (const r of rids) if (classifySection(r).kind === "unknown" || r === "DEFAULT") throw new UsageError(`--rid ${r}: not a resource or subset section`);
    await this.editConfig(name, (doc) => removeSections(doc, rids), waitMs);
  }

  /** Remove the service: refused while any resource is up, unless force. */
  async delete(name: string, opts: { force?: boolean; waitMs: number }): Promise<void> {
    const lock = await acquireLock(path.join(stateDir(this.paths, name), "action.lock"), { action: "delete", waitMs: opts.waitMs });
    try {
      if (!opts.force) {
        const st = await this.status(name, { refresh: true });
        const up = st.resources.filter((r) => (["up", "warn", "stdby up"] as Status[]).includes(r.status)).map((r) => r.rid);
        if (up.length) throw new UsageError(`refusing to delete while ${up.join(", ")} ${up.length > 1 ? "are" : "is"} up: stop it first, or use --force`);
      }
      if (this.cluster?.isClustered(name)) await this.cluster.deleteConfig(name, { force: opts.force === true });
      const file = configFile(this.paths, name);
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.bak`, { force: true });
      fs.rmSync(shortcutLink(this.paths, name), { force: true });
    } finally {
      lock.release();
    }
    fs.rmSync(stateDir(this.paths, name), { recursive: true, force: true });
    this.lastStatus.delete(name);
  }

  async isFrozen(name: string): Promise<boolean> {
    const { isFrozen } = await import("../service/repository.js");
    return isFrozen(this.paths, name);
  }

  /** Freeze (true) or thaw (false); resolves whether it changed anything. */
  async setFrozen(name: string, frozen: boolean): Promise<boolean> {
    const { setFrozen } = await import("../service/repository.js");
    resolveSelector(this.paths, name);
    return setFrozen(this.paths, name, frozen);
  }

  /** A keyword's value as written, or with references expanded and defaults applied. */
  async getKeyword(name: string, section: string, key: string, evaluate: boolean): Promise<{ known: boolean; value: string | undefined }> {
    const { readKeyword } = await import("../service/edit.js");
    return readKeyword(await this.readConfig(name), section, key, evaluate);
  }

  // --- actions ------------------------------------------------------------

  /** The logger of a service's action: its log file, the manager's events, the caller's sinks. Close it after. */
  async serviceLogger(name: string, extra: LogSink[] = []): Promise<Logger> {
    const [{ Logger }, { fileSink }] = await Promise.all([import("../util/log.js"), import("../util/log-file.js")]);
    const events: LogSink = { write: (record) => this.emit({ type: "log", record }) };
    return new Logger([...this.extraSinks, ...extra, fileSink(logFile(this.paths, name)), events], { svc: name });
  }

  /** start / stop / restart / provision / boot's start of one service. Never throws for an expected failure: the result says it. */
  async act(name: string, action: ServiceAction, opts: ActOptions): Promise<ActResult> {
    try {
      if (opts.mass && !opts.force && (await this.isFrozen(name))) return { service: name, action, kind: "frozen", ok: true };
      const cfg = await this.loadValid(name);
      const { runServiceAction } = await import("../actions/execute.js");
      const log = await this.serviceLogger(name, opts.logSink ? [opts.logSink] : []);
      if (!opts.dryRun) this.emit({ type: "action", phase: "begin", service: name, action, selection: opts.selection, repair: opts.repair !== undefined });
      try {
        const outcome = await runServiceAction(this.paths, cfg, action, {
          selection: opts.selection,
          dryRun: opts.dryRun === true,
          disableRollback: opts.disableRollback === true,
          waitMs: opts.waitMs,
          log,
          env: this.env,
          concurrency: opts.concurrency,
          recordIntent: !opts.repair,
          admit: this.cluster?.isClustered(name) ? (a) => this.cluster!.admit(cfg, a) : undefined,
          stillWanted: opts.repair
            ? async () => {
                const wanted = await opts.repair!.stillWanted();
                // the repair's reason, in the service's log, only when it is carried out
                if (wanted) for (const l of opts.repair!.lines) log.child({ rid: l.rid }).info(l.msg);
                return wanted;
              }
            : undefined,
        });
        if (!opts.dryRun) {
          this.emit({ type: "action", phase: "end", service: name, action, ok: outcome.ok, error: outcome.error, rolledBack: outcome.rolledBack, repair: opts.repair !== undefined });
          if (outcome.status) this.noteStatus(this.adoptActionStatus?.(outcome.status) ?? outcome.status);
        }
        return { service: name, action, kind: "done", ...outcome };
      } finally {
        log.close();
      }
    } catch (e) {
      if (e instanceof SvcmgrError) return { service: name, action, kind: "error", ok: false, thrown: e };
      throw e;
    }
  }

  /** The same action on many services, one after the other or `parallel` at once: every service's outcome is reported, whatever the others did. */
  async actMany(names: string[], action: ServiceAction, opts: ActOptions & { parallel?: number }, onResult?: (r: ActResult) => void): Promise<ActResult[]> {
    const limit = pLimit(Math.max(1, opts.parallel ?? 1));
    return Promise.all(
      names.map((n) =>
        limit(async () => {
          const r = await this.act(n, action, opts);
          onResult?.(r);
          return r;
        }),
      ),
    );
  }

  /** The command line of the docker CLI on the service's daemon (started first if needed). */
  async dockerCommand(name: string, args: string[]): Promise<CommandLine> {
    const cfg = await this.loadValid(name);
    const [{ ServiceRuntime }, { dockerCommand }] = await Promise.all([import("../service/runtime.js"), import("../drivers/container-docker/passthrough.js")]);
    const log = await this.serviceLogger(name);
    const rt = new ServiceRuntime(this.paths, cfg, log, this.env);
    try {
      return await dockerCommand(rt, args, log);
    } finally {
      rt.close();
      log.close();
    }
  }

  // --- status -------------------------------------------------------------

  /** A service's status: evaluated live with refresh, else from a fresh cache entry when there is one. */
  async status(name: string, opts: { refresh: boolean }): Promise<ServiceStatus> {
    return (await this.statusOfMany([name], opts)).get(name)!;
  }

  /** Status of many services: the cache first, stale or missing entries (all, with refresh) evaluated in parallel. */
  async statusOfMany(names: readonly string[], opts: { refresh: boolean }): Promise<Map<string, ServiceStatus>> {
    const { statusOfMany } = await import("./evaluate.js");
    const out = await statusOfMany(this.paths, names, { refresh: opts.refresh, nodename: this.nodename, env: this.env });
    for (const st of out.values()) this.noteStatus(st);
    return out;
  }

  /** The last status seen of a service (the agent's, from memory). */
  lastStatusOf(name: string): ServiceStatus | undefined {
    return this.lastStatus.get(name);
  }

  /** Remember a service's status and emit what changed since the last one seen (the agent's evaluations come in here too). */
  noteStatus(st: ServiceStatus): void {
    const prev = this.lastStatus.get(st.name);
    this.lastStatus.set(st.name, st);
    if (!prev) return;
    if (prev.overall !== st.overall) this.emit({ type: "status", service: st.name, from: prev.overall, to: st.overall });
    // frozen or thawed: an event of its own, so that live views see it
    if (prev.frozen !== st.frozen) this.emit({ type: "status", service: st.name, from: prev.overall, to: st.overall, frozen: st.frozen });
    const before = new Map(prev.resources.map((r) => [r.rid, r.status]));
    for (const r of st.resources) {
      const from = before.get(r.rid);
      if (from !== r.status) this.emit({ type: "status", service: st.name, rid: r.rid, from, to: r.status });
    }
  }
}
