// A CLI process on a cluster node (SPEC §12): cluster configs written through
// etcd, operators' requests (start, stop, switch, takeover, giveback) written
// as keys that the agents carry out, then followed until they are done; the
// cluster's state for svcmon. A CLI never starts a cluster service itself:
// only the agent that owns it does.
import fs from "node:fs";
import type { ClusterHooks } from "../core/manager.js";
import type { ServiceConfig } from "../config/types.js";
import { ActionError } from "../util/errors.js";
import { configFile, type Paths } from "../util/paths.js";
import type { ClusterConfig } from "./node-conf.js";
import { ClusterStore, isClusterConfig, type ClusterRequest, type ClusterState } from "./store.js";

export type { ClusterRequest } from "./store.js";

export class ClusterClient implements ClusterHooks {
  readonly store: ClusterStore;

  constructor(
    readonly cfg: ClusterConfig,
    private readonly paths: Paths,
  ) {
    this.store = new ClusterStore(cfg);
  }

  isClustered(name: string, text?: string): boolean {
    if (text !== undefined) return isClusterConfig(text);
    try {
      return isClusterConfig(fs.readFileSync(configFile(this.paths, name), "utf8"));
    } catch {
      return false;
    }
  }

  admit(cfg: ServiceConfig): Promise<{ fence: string } | undefined> {
    return Promise.reject(new ActionError(`${cfg.name} is a cluster service: only the agent of its owner node starts it (svcmgr -s ${cfg.name} start asks the cluster)`));
  }

  writeConfig(name: string, edit: (current: string) => string, opts: { create: boolean }): Promise<string> {
    return this.store.writeConfig(name, edit, opts);
  }

  deleteConfig(name: string, opts: { force: boolean }): Promise<void> {
    return this.store.deleteConfig(name, opts);
  }

  snapshot(): Promise<ClusterState> {
    return this.store.snapshot(3000);
  }

  /** Ask, then follow the cluster until the request is carried out (resolves the line to print) or the time is up (throws). */
  async request(name: string, what: ClusterRequest, cfg: ServiceConfig, opts: { to?: string; waitMs: number; onProgress?: (line: string) => void }): Promise<string> {
    const target = await this.store.ask(cfg, what, opts.to);
    opts.onProgress?.(`${name}: asked the cluster to ${what === "switch" ? `switch to ${target}` : what === "stop" ? "stop it" : target ? `run it on ${target}` : "start it"}`);
    const deadline = Date.now() + opts.waitMs;
    let last = "";
    while (Date.now() < deadline) {
      const s = await this.snapshot().catch(() => undefined);
      const v = s?.services.get(name);
      if (s && v) {
        const owners = [...v.owners.values()];
        const upOn = [...v.status.entries()].filter(([, st]) => st.avail === "up" || st.avail === "warn").map(([n]) => n);
        const now = `owner ${owners.map((o) => o.node).join(", ") || "none"}, up on ${upOn.join(", ") || "no node"}`;
        if (now !== last) opts.onProgress?.(`${name}: ${now}`);
        last = now;
        if (what === "stop" && !owners.length && !upOn.length) return `${name}: stopped on every node`;
        if (what !== "stop") {
          const want = typeof target === "string" ? [target] : undefined;
          const placed = owners.filter((o) => (want ? want.includes(o.node) : true) && upOn.includes(o.node));
          const others = upOn.filter((n) => !owners.some((o) => o.node === n));
          if (placed.length >= this.placements(cfg, s) && !others.length) return `${name}: up on ${placed.map((o) => `${o.node} (fencing token ${o.token})`).join(", ")}`;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new ActionError(`${name}: ${what} not done within ${Math.round(opts.waitMs / 1000)}s (${last || "no state"}); the cluster keeps trying`);
  }
  /** how many nodes a start is done on: 1, or for flex its flex_target (at most the nodes of its nodes that are up) */
  private placements(cfg: ServiceConfig, s: ClusterState): number {
    if (cfg.defaults.values.topology !== "flex") return 1;
    const nodesOf = cfg.defaults.values.nodes?.filter((n) => this.cfg.nodes.includes(n)) ?? this.cfg.nodes;
    return Math.max(1, Math.min(cfg.defaults.values.flex_target ?? nodesOf.length, nodesOf.filter((n) => s.nodes.has(n)).length));
  }
}
