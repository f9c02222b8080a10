// svcmon: one row per service, from the status cache (stale entries refreshed).
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../util/errors.js";
import { nodeConfFile, nodeName, type Paths } from "../util/paths.js";
import { ServiceManager } from "../core/manager.js";
import { renderClusterTable, renderSvcmonTable, svcmonJson, type ClusterRow } from "../status/svcmon.js";
import type { ClusterView } from "../cluster/node.js";
import type { CliOptions } from "./actions.js";
import { agentGet, agentLines, agentStatuses } from "./agent-client.js";
import { outputClosed } from "./output.js";

/** The cluster as the agent sees it, or as etcd says when the agent does not answer; undefined: no cluster. */
async function clusterView(paths: Paths, names: readonly string[]): Promise<ClusterView | undefined> {
  if (!fs.existsSync(nodeConfFile(paths))) return undefined;
  const fromAgent = await agentGet<ClusterView>(paths, "/v1/cluster");
  let view: ClusterView | undefined = fromAgent?.status === 200 ? fromAgent.body : undefined;
  if (!fromAgent) {
    const { readClusterConfig } = await import("../cluster/node-conf.js");
    const cfg = readClusterConfig(paths, nodeName(process.env));
    if (!cfg) return undefined;
    const { ClusterStore, clusterServiceView } = await import("../cluster/store.js");
    const state = await new ClusterStore(cfg).snapshot(3000);
    view = {
      name: cfg.name,
      self: cfg.self,
      leaseTtlS: cfg.leaseTtlMs / 1000,
      lease: undefined,
      deadlineLeftMs: 0,
      nodes: cfg.nodes.map((n) => ({ name: n, up: state.nodes.has(n) })),
      services: [...state.services.entries()]
        .filter(([, v]) => v.config)
        .map(([s, v]) => clusterServiceView(s, v, cfg.nodes)),
    };
  }
  if (!view) return undefined;
  return { ...view, services: view.services.filter((s) => names.includes(s.name)) };
}

function clusterTable(view: ClusterView): string {
  const up = new Set(view.nodes.filter((n) => n.up).map((n) => n.name));
  const rows: ClusterRow[] = view.services.flatMap((s) =>
    view.nodes.map((n) => {
      const owner = s.owners.find((o) => o.node === n.name);
      const st = s.nodes[n.name];
      return { service: s.name, node: n.name, owner: owner !== undefined, token: owner?.token, avail: st?.avail, overall: st?.overall, frozen: st?.frozen, nodeUp: up.has(n.name) };
    }),
  );
  const nodes = view.nodes.map((n) => `${n.name}${n.name === view.self ? " (this node)" : ""} ${n.up ? "up" : "down"}`).join(", ");
  return renderClusterTable(`cluster ${view.name}: ${nodes}`, rows);
}

export async function runSvcmon(paths: Paths, opts: CliOptions): Promise<number> {
  const manager = new ServiceManager({ paths, nodename: nodeName(process.env), env: process.env });
  const { RemoteCli } = await import("./remote.js");
  const remote = await RemoteCli.connect(paths);
  const names = remote ? remote.select(opts, false) : await manager.select({ selector: opts.service, stateChanging: false });
  const draw = async (refresh: boolean): Promise<string> => {
    if (remote) {
      const fresh = (await RemoteCli.connect(paths)) ?? remote; // each frame from the agent's memory
      const rows = fresh.statuses(names.filter((n) => fresh.select({}, false).includes(n)));
      return opts.format === "json" ? JSON.stringify(svcmonJson(rows), null, 2) + "\n" : renderSvcmonTable(rows);
    }
    // the agent's memory when it runs (always current); --refresh asks for a live evaluation here
    const statuses = (!opts.refresh && (await agentStatuses(paths, names))) || (await manager.statusOfMany(names, { refresh }));
    const rows = [...statuses.values()];
    const cluster = await clusterView(paths, names);
    if (opts.format === "json") return JSON.stringify({ ...svcmonJson(rows), ...(cluster && { cluster }) }, null, 2) + "\n";
    return renderSvcmonTable(rows) + (cluster ? `\n${clusterTable(cluster)}` : "");
  };
  if (!opts.watch) {
    process.stdout.write(await draw(opts.refresh === true));
    return 0;
  }
  const interval = Number(opts.interval ?? 2);
  if (!Number.isFinite(interval) || interval <= 0) throw new UsageError(`--interval ${opts.interval}: expected a number of seconds`);
  const period = Math.max(0.5, interval) * 1000;
  let stop = false;
  let wake: (() => void) | undefined;
  const quit = (): void => {
    stop = true;
    wake?.();
  };
  process.once("SIGINT", quit);
  outputClosed().addEventListener("abort", quit, { once: true }); // svcmon --watch | head
  // with the agent, a redraw as soon as something changes: its event stream
  const streams = remote ?? (await RemoteCli.connect(paths, { streams: true }));
  const ac = new AbortController();
  if (streams?.eventSocket) {
    void (async () => {
      for await (const line of agentLines(streams.eventSocket!, "/v1/events", ac.signal)) if (line.startsWith("event:")) wake?.();
    })();
  }
  let first = true;
  while (!stop) {
    const frame = await draw(first ? opts.refresh === true : true);
    first = false;
    // Redraw in place: cursor home, clear screen, frame.
    process.stdout.write(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  svcmon --watch (every ${period / 1000}s${streams ? ", and at each event" : ""}, ^C to quit)\n\n${frame}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, period); // keeps the process alive between frames
    });
    if (!stop) await sleep(100); // a burst of events: one redraw
  }
  ac.abort();
  return 0;
}
