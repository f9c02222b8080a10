// The agent's API on its unix socket (SPEC §10): HTTP/1.1 and JSON, served by
// hono through @hono/node-server on a plain node:http server.
import fs from "node:fs";
import type { Server } from "node:http";
import { Hono } from "hono";
import { createAdaptorServer } from "@hono/node-server";
import type { ServiceStatus } from "../status/status.js";
import { readIntent } from "../service/intent.js";
import type { ServiceManager } from "../core/manager.js";
import type { Paths } from "../util/paths.js";
import type { ServiceMonitor } from "./monitor.js";

/** What the API reads of the agent. */
export interface AgentState {
  readonly startedAt: number;
  readonly ready: boolean;
  readonly serviceCount: number;
  readonly manager: ServiceManager;
  readonly paths: Paths;
  monitor(name: string): ServiceMonitor | undefined;
}

export interface ApiServer {
  close(): Promise<void>;
}

/** A service as the API shows it: its status, and what the agent knows of it (intent, restarts). */
export interface ServiceView extends ServiceStatus {
  intent: Record<string, "up" | "down">;
  restarts: Record<string, { count: number; exhausted: boolean }>;
}

async function view(agent: AgentState, name: string): Promise<ServiceView | undefined> {
  const m = agent.monitor(name);
  const status = m?.status ?? (agent.manager.list().includes(name) ? await agent.manager.status(name, { refresh: false }) : undefined);
  if (!status) return undefined;
  const restarts = Object.fromEntries(status.resources.map((r) => [r.rid, m?.book.counters(r.rid) ?? { count: 0, exhausted: false }]));
  return { ...status, intent: readIntent(agent.paths, name).resources, restarts };
}

export function apiApp(agent: AgentState): Hono {
  const app = new Hono();
  app.get("/v1/agent", (c) => c.json({ pid: process.pid, ready: agent.ready, startedAt: new Date(agent.startedAt).toISOString(), uptimeS: Math.round((Date.now() - agent.startedAt) / 1000), services: agent.serviceCount }));
  app.get("/v1/services", async (c) => {
    const names = agent.manager.list();
    return c.json((await Promise.all(names.map((n) => view(agent, n)))).filter(Boolean));
  });
  app.get("/v1/services/:name", async (c) => {
    const v = await view(agent, c.req.param("name"));
    return v ? c.json(v) : c.json({ error: `no such service: ${c.req.param("name")}` }, 404);
  });
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => c.json({ error: e.message }, 500));
  return app;
}

export async function startApi(agent: AgentState, socket: string): Promise<ApiServer> {
  const app = apiApp(agent);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  fs.rmSync(socket, { force: true }); // a dead agent's: this one holds the pid lock
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fs.rmSync(socket, { force: true });
      }),
  };
}
