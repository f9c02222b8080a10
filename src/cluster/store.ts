// What every cluster client (the agent, the CLI) reads and writes in etcd
// (SPEC §12): configs with a compare-and-swap, operators' intents and move
// requests, and the cluster's state as one snapshot.
import { parseIni } from "../config/ini.js";
import { ActionError, UsageError } from "../util/errors.js";
import type { ServiceConfig } from "../config/types.js";
import type { Status } from "../status/status.js";
import { EtcdClient, type KeyValue } from "./etcd.js";
import { Keys } from "./keys.js";
import type { ClusterConfig } from "./node-conf.js";

export type ClusterRequest = "start" | "stop" | "switch" | "takeover" | "giveback";

export interface Owner {
  node: string;
  slot: number;
  /** the owner key's create_revision: the fencing token */
  token: number;
  lease: string;
}

export interface NodeStatus {
  avail: Status;
  overall: Status;
  frozen: boolean;
  /** ISO 8601 */
  at: string;
}

export interface NodeRecord {
  name: string;
  lease: string;
  host: string;
  /** the node's var dir: two agents of the same name on one host differ by it */
  root: string;
  pid: number;
  since: string;
}

export interface ServiceView {
  config?: KeyValue;
  intent?: "up" | "down";
  target?: string;
  owners: Map<number, Owner>;
  status: Map<string, NodeStatus>;
}

export interface ClusterState {
  revision: number;
  nodes: Map<string, NodeRecord>;
  services: Map<string, ServiceView>;
}

/** Is this config text a cluster service's (topology set in [DEFAULT])? */
export function isClusterConfig(text: string): boolean {
  const doc = parseIni(text);
  return doc.sections.some((s) => s.name === "DEFAULT" && s.entries.some((e) => e.key.trim().toLowerCase() === "topology" && e.value.trim() !== ""));
}

/** [DEFAULT] nodes of a config text, as written (undefined: every node of the cluster) */
function configNodes(text: string): { nodes: string[]; line: number } | undefined {
  const doc = parseIni(text);
  const e = doc.sections.find((s) => s.name === "DEFAULT")?.entries.find((x) => x.key.trim().toLowerCase() === "nodes");
  if (!e) return undefined;
  return { nodes: e.value.split(/[\s,]+/).filter(Boolean), line: e.line };
}

/** A cluster service as the API's /v1/cluster and svcmon show it. */
export interface ClusterServiceView {
  name: string;
  topology: "failover" | "flex";
  /** flex: on how many nodes at once */
  flexTarget?: number;
  /** the nodes it may run on, in order of preference */
  candidates: string[];
  intent: "up" | "down";
  target?: string;
  owners: { node: string; token: number }[];
  nodes: Record<string, NodeStatus>;
}

export function clusterServiceView(name: string, v: ServiceView, clusterNodes: readonly string[]): ClusterServiceView {
  const text = v.config?.value ?? "";
  const defaults = parseIni(text).sections.find((s) => s.name === "DEFAULT")?.entries ?? [];
  const value = (k: string) => defaults.find((e) => e.key.trim().toLowerCase() === k)?.value.trim();
  const candidates = configNodes(text)?.nodes.filter((n) => clusterNodes.includes(n)) ?? [...clusterNodes];
  const flexTarget = Number(value("flex_target"));
  return {
    name,
    ...(value("topology") === "flex" ? { topology: "flex", flexTarget: Math.min(Number.isInteger(flexTarget) && flexTarget > 0 ? flexTarget : candidates.length, candidates.length) } : { topology: "failover" }),
    candidates,
    intent: v.intent ?? "down",
    ...(v.target !== undefined && { target: v.target }),
    owners: [...v.owners.values()].map((o) => ({ node: o.node, token: o.token })),
    nodes: Object.fromEntries([...v.status.entries()].sort(([a], [b]) => a.localeCompare(b))),
  };
}

const parseJson = <T>(s: string): T | undefined => {
  try {
    return JSON.parse(s) as T;
  } catch {
    return undefined;
  }
};

export class ClusterStore {
  readonly keys: Keys;
  readonly client: EtcdClient;

  constructor(readonly cfg: ClusterConfig) {
    this.keys = new Keys(cfg.name);
    this.client = new EtcdClient({ endpoints: cfg.endpoints });
  }

  emptyView(): ServiceView {
    return { owners: new Map(), status: new Map() };
  }

  /** Apply one key (put, or delete with value undefined) to a state. */
  apply(state: ClusterState, key: string, kv: KeyValue | undefined): string | undefined {
    const k = this.keys.parse(key);
    if (!k) return undefined;
    if (k.kind === "node") {
      const rec = kv && parseJson<Omit<NodeRecord, "name" | "lease">>(kv.value);
      if (kv && rec) state.nodes.set(k.sub!, { ...rec, name: k.sub!, lease: kv.lease });
      else state.nodes.delete(k.sub!);
      return undefined;
    }
    const svc = k.svc!;
    let v = state.services.get(svc);
    if (!v) state.services.set(svc, (v = this.emptyView()));
    if (k.kind === "config") v.config = kv;
    else if (k.kind === "intent") v.intent = kv?.value === "up" ? "up" : kv ? "down" : undefined;
    else if (k.kind === "target") v.target = kv?.value || undefined;
    else if (k.kind === "owner") {
      const slot = Number(k.sub);
      const o = kv && parseJson<{ node: string }>(kv.value);
      if (kv && o) v.owners.set(slot, { node: o.node, slot, token: kv.createRevision, lease: kv.lease });
      else v.owners.delete(slot);
    } else if (k.kind === "status") {
      const st = kv && parseJson<NodeStatus>(kv.value);
      if (st) v.status.set(k.sub!, st);
      else v.status.delete(k.sub!);
    }
    if (!v.config && !v.intent && !v.target && !v.owners.size && !v.status.size) state.services.delete(svc);
    return svc;
  }

  async snapshot(deadlineMs?: number): Promise<ClusterState> {
    const r = await this.client.range(this.keys.root, { prefix: true, deadlineMs });
    const state: ClusterState = { revision: r.header.revision, nodes: new Map(), services: new Map() };
    for (const kv of r.kvs) this.apply(state, kv.key, kv);
    return state;
  }

  /** A service's config nodes must be cluster nodes. */
  private checkNodes(name: string, text: string): void {
    const n = configNodes(text);
    if (!n) return;
    const unknown = n.nodes.filter((x) => !this.cfg.nodes.includes(x));
    if (unknown.length) throw new UsageError(`${name}.conf:${n.line}: [DEFAULT] nodes: ${unknown.join(", ")} ${unknown.length > 1 ? "are" : "is"} not in the cluster (${this.cfg.file}: nodes = ${this.cfg.nodes.join(" ")})`);
  }

  /**
   * Change a config through etcd with a compare-and-swap on its revision: a
   * conflicting edit of another node makes this one apply again to the new
   * text, so that no update is lost. Resolves the text written.
   */
  async writeConfig(name: string, edit: (current: string) => string, opts: { create: boolean }): Promise<string> {
    const key = this.keys.config(name);
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.client.get(key);
      if (opts.create && cur) throw new UsageError(`${name} already exists in cluster ${this.cfg.name}`);
      if (!opts.create && !cur) throw new ActionError(`${name} is not a service of cluster ${this.cfg.name} (no config in etcd)`);
      const text = edit(cur?.value ?? "");
      this.checkNodes(name, text);
      if (!isClusterConfig(text)) throw new UsageError(`${name}: a cluster service keeps its topology (delete it to make it a node's own again)`);
      const r = await this.client.txn([cur ? { key, target: "MOD", modRevision: cur.modRevision } : { key, target: "CREATE", createRevision: 0 }], [{ put: { key, value: text } }]);
      if (r.succeeded) return text;
    }
    throw new ActionError(`${name}: the config kept changing under this edit (20 tries): try again`);
  }

  async deleteConfig(name: string, opts: { force: boolean }): Promise<void> {
    const state = await this.snapshot();
    const owners = [...(state.services.get(name)?.owners.values() ?? [])];
    if (owners.length && !opts.force) throw new UsageError(`refusing to delete while it runs on ${owners.map((o) => o.node).join(", ")}: stop it first, or use --force`);
    // every node's status of it too: a deleted service leaves no rows behind (owner keys stay with their owner's lease)
    const ops = [this.keys.config(name), this.keys.intent(name), this.keys.target(name)].map((key) => ({ delete: { key } }));
    await this.client.txn([], [...ops, { delete: { key: this.keys.status(name, ""), prefix: true } }]);
  }

  /**
   * An operator's request, checked, written: start (on the first live node,
   * or here with orchestrate = no), stop, switch --to, takeover (here),
   * giveback (the first of its nodes). Resolves the node asked for, if any.
   */
  async ask(cfg: ServiceConfig, what: ClusterRequest, to?: string): Promise<string | undefined> {
    const name = cfg.name;
    const nodesOf = cfg.defaults.values.nodes?.filter((n) => this.cfg.nodes.includes(n)) ?? this.cfg.nodes;
    let target: string | undefined | null;
    if (what === "switch") {
      if (!to) throw new UsageError("switch needs --to NODE");
      target = to;
    } else if (what === "takeover") target = this.cfg.self;
    else if (what === "giveback") target = nodesOf[0];
    else if (what === "start") target = (cfg.defaults.values.orchestrate ?? "no") === "no" ? this.cfg.self : undefined;
    else target = null;
    if (cfg.defaults.values.topology === "flex" && (what === "switch" || what === "takeover" || what === "giveback")) throw new UsageError(`${what}: ${name} is a flex service (it runs on ${cfg.defaults.values.flex_target ?? nodesOf.length} nodes at once)`);
    if (typeof target === "string") {
      if (!nodesOf.includes(target)) throw new UsageError(`${what}: ${target} is not one of ${name}'s nodes (${nodesOf.join(", ")})`);
      const live = await this.client.get(this.keys.node(target), 3000);
      if (!live) throw new ActionError(`${what}: node ${target} has no agent in cluster ${this.cfg.name} now`);
    }
    await this.request(name, { intent: what === "stop" ? "down" : "up", target: what === "stop" ? null : target });
    return target ?? undefined;
  }

  /** An operator's wish: intent up or down, and (or) the node it should run on. */
  async request(name: string, req: { intent: "up" | "down"; target?: string | null }): Promise<void> {
    const ops = [{ put: { key: this.keys.intent(name), value: req.intent } }, ...(req.target === null ? [{ delete: { key: this.keys.target(name) } }] : req.target !== undefined ? [{ put: { key: this.keys.target(name), value: req.target } }] : [])];
    await this.client.txn([], ops);
  }
}

export interface ClusterView {
  name: string;
  self: string;
  leaseTtlS: number;
  lease: string | undefined;
  /** how long this node may still run its failover services without a new keepalive */
  deadlineLeftMs: number;
  nodes: { name: string; up: boolean; host?: string; since?: string }[];
  services: ClusterServiceView[];
}

/** The cluster as one node sees it (GET /v1/cluster, svcmon, daemon status); `services`: the ones to show. */
export function clusterView(cfg: ClusterConfig, state: ClusterState, services: readonly string[], session: { lease: string | undefined; deadlineLeftMs: number }): ClusterView {
  return {
    name: cfg.name,
    self: cfg.self,
    leaseTtlS: cfg.leaseTtlMs / 1000,
    ...session,
    nodes: cfg.nodes.map((n) => {
      const rec = state.nodes.get(n);
      return { name: n, up: rec !== undefined, ...(rec && { host: rec.host, since: rec.since }) };
    }),
    services: [...services].sort().map((s) => clusterServiceView(s, state.services.get(s)!, cfg.nodes)),
  };
}
