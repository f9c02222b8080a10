// The API's routes (SPEC §10), for one scope: the root socket sees every
// service, a team socket only its group's (any other is 404, as if it did not
// exist). Every error is a JSON {"error": ...}.
import fs from "node:fs";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { stream, streamSSE } from "hono/streaming";
import type { HttpBindings } from "@hono/node-server";
import type { ServiceManager } from "../../core/manager.js";
import type { ServiceStatus } from "../../status/status.js";
import { readIntent } from "../../service/intent.js";
import { describeSelection } from "../../service/planner.js";
import { logFile, type Paths } from "../../util/paths.js";
import { SvcmgrError } from "../../util/errors.js";
import type { ActionQueue } from "../action-queue.js";
import { QueueFull } from "../action-queue.js";
import { toSse, type EventHub } from "../event-hub.js";
import type { AgentMetrics } from "../metrics.js";
import type { ServiceMonitor } from "../monitor.js";
import type { ActionHistory } from "../action-history.js";
import { openApiDocument } from "./openapi.js";
import { API_ACTIONS, ActionBody, CLUSTER_ACTIONS, SERVICE_NAME, describeZodError } from "./schemas.js";
import type { ClusterNode } from "../../cluster/node.js";
import type { Logger } from "../../util/log.js";

/** What the routes read of the agent. */
export interface ApiContext {
  readonly startedAt: number;
  readonly ready: boolean;
  readonly serviceCount: number;
  readonly manager: ServiceManager;
  readonly paths: Paths;
  readonly hub: EventHub;
  readonly actions: ActionQueue;
  readonly metrics: AgentMetrics;
  readonly version: string;
  /** the last actions of each service, whoever ran them */
  readonly history?: ActionHistory;
  /** this node's part of its cluster (SPEC §12), when it has one */
  readonly cluster?: ClusterNode;
  monitor(name: string): ServiceMonitor | undefined;
  /** the agent's own log (_agent.log): every action asked through the API, where from, and how it ended */
  readonly log?: Logger;
}

export interface Scope {
  /** may this socket see the service? */
  visible(service: string): boolean;
  /** where its requests come from, as the agent's log names it: "api.sock", "the team socket of group g" */
  via: string;
}

export const MAX_BODY = 64 * 1024;
const HEARTBEAT_MS = 15_000;
/** events written to a reader at once */
const SSE_BATCH = 256;

/** caller: who asked, when the scope alone does not say (the web names the token) */
type Env = { Bindings: HttpBindings & { caller?: string } };
const fail = (c: Context, status: 400 | 403 | 404 | 409 | 413 | 429 | 500, error: string) => c.json({ error }, status);

export function apiRoutes(ctx: ApiContext, scope: Scope): Hono<Env> {
  const app = new Hono<Env>();
  /** the service named in the path, if this socket may see it */
  const known = (name: string): string | undefined => (SERVICE_NAME.test(name) && ctx.manager.list().includes(name) && scope.visible(name) ? name : undefined);

  const view = async (name: string) => {
    const m = ctx.monitor(name);
    const status: ServiceStatus = m?.status ?? (await ctx.manager.status(name, { refresh: false }));
    const restarts = Object.fromEntries(status.resources.map((r) => [r.rid, m?.book.counters(r.rid) ?? { count: 0, exhausted: false }]));
    return { ...status, intent: m?.intent ?? readIntent(ctx.paths, name).resources, restarts };
  };

  app.get("/v1/agent", (c) => c.json({ pid: process.pid, ready: ctx.ready, startedAt: new Date(ctx.startedAt).toISOString(), uptimeS: Math.round((Date.now() - ctx.startedAt) / 1000), services: ctx.serviceCount }));
  app.get("/v1/cluster", (c) => (ctx.cluster ? c.json(ctx.cluster.view((s) => scope.visible(s))) : fail(c, 404, "this node is not in a cluster (no [cluster] in node.conf)")));
  app.get("/v1/openapi.json", (c) => c.json(openApiDocument(ctx.version)));

  app.get("/v1/services", async (c) => c.json(await Promise.all(ctx.manager.list().filter((n) => scope.visible(n)).map(view))));
  app.get("/v1/services/:name", async (c) => {
    const name = known(c.req.param("name"));
    return name ? c.json(await view(name)) : fail(c, 404, `no such service: ${c.req.param("name")}`);
  });
  app.get("/v1/services/:name/config", async (c) => {
    const name = known(c.req.param("name"));
    if (!name) return fail(c, 404, `no such service: ${c.req.param("name")}`);
    try {
      return c.json(await ctx.manager.configJson(name));
    } catch (e) {
      if (e instanceof SvcmgrError) return fail(c, 409, e.message);
      throw e;
    }
  });

  app.post(
    "/v1/services/:name/actions/:action",
    bodyLimit({ maxSize: MAX_BODY, onError: (c) => fail(c, 413, `request body over ${MAX_BODY} bytes`) }),
    async (c) => {
      const name = known(c.req.param("name"));
      if (!name) return fail(c, 404, `no such service: ${c.req.param("name")}`);
      const action = c.req.param("action");
      const isMove = (CLUSTER_ACTIONS as readonly string[]).includes(action);
      if (!(API_ACTIONS as readonly string[]).includes(action) && !isMove) return fail(c, 404, `no such action: ${action} (one of ${[...API_ACTIONS, ...CLUSTER_ACTIONS].join(", ")})`);
      const text = await c.req.text();
      let raw: unknown = {};
      if (text.trim()) {
        try {
          raw = JSON.parse(text);
        } catch {
          return fail(c, 400, "the body is not JSON");
        }
      }
      const body = ActionBody.safeParse(raw);
      if (!body.success) return fail(c, 400, describeZodError(body.error));
      const whole = !body.data.rid && !body.data.tags && !body.data.subsets;
      const clustered = ctx.cluster?.isClustered(name) === true;
      if (isMove && !clustered) return fail(c, 409, `${action}: ${name} is not a cluster service`);
      const via = c.env.caller ?? scope.via;
      if (clustered && (isMove || ((action === "start" || action === "stop") && whole))) {
        try {
          const target = await ctx.cluster.ask(name, action as "start" | "stop" | (typeof CLUSTER_ACTIONS)[number], body.data.to);
          ctx.log?.info(`${name}: ${action} asked through ${via}: handed to the cluster${target ? ` (to ${target})` : ""}`);
          return c.json({ requested: action, ...(target && { target }) }, 202);
        } catch (e) {
          if (e instanceof SvcmgrError) return fail(c, e.exitCode === 2 ? 400 : 409, e.message);
          throw e;
        }
      }
      if (body.data.to !== undefined) return fail(c, 400, `"to" is for switch only`);
      try {
        const selection = { rids: body.data.rid, tags: body.data.tags, subsets: body.data.subsets };
        const rec = ctx.actions.submit(
          name,
          action as (typeof API_ACTIONS)[number],
          {
            selection,
            force: body.data.force,
            disableRollback: body.data.disable_rollback,
            waitMs: body.data.waitlock === undefined ? undefined : body.data.waitlock * 1000,
          },
          (r) => ctx.log?.[r.state === "succeeded" ? "info" : "warn"](`${name}: ${action} ${r.state}${r.error ? `: ${r.error}` : ""} (action ${r.id}, asked through ${via})`),
        );
        ctx.log?.info(`${name}: ${action}${whole ? "" : ` of ${describeSelection(selection)}`} asked through ${via} (action ${rec.id})`);
        return c.json({ id: rec.id }, 202);
      } catch (e) {
        if (e instanceof QueueFull) return fail(c, 429, e.message);
        throw e;
      }
    },
  );
  app.get("/v1/services/:name/history", (c) => {
    const name = known(c.req.param("name"));
    return name ? c.json(ctx.history?.last(name) ?? []) : fail(c, 404, `no such service: ${c.req.param("name")}`);
  });
  app.get("/v1/actions/:id", (c) => {
    const rec = ctx.actions.get(c.req.param("id"));
    if (!rec || !scope.visible(rec.service)) return fail(c, 404, `no such action: ${c.req.param("id")}`);
    if (c.req.query("follow") !== "1") return c.json(rec);
    // followed (what the CLI prints an action it handed over with): its lines as they come, then its end, as JSON lines
    c.header("Content-Type", "application/x-ndjson");
    return stream(c, async (out) => {
      const abort = new AbortController();
      out.onAbort(() => abort.abort());
      for await (const p of ctx.actions.follow(rec.id, abort.signal) ?? []) await out.write(JSON.stringify(p) + "\n");
    });
  });

  app.get("/v1/events", (c) => {
    const last = Number(c.req.header("Last-Event-ID") ?? c.req.query("since") ?? NaN);
    const sub = ctx.hub.subscribe((e) => scope.visible(e.service), Number.isFinite(last) ? last : undefined);
    // a reader too slow for its queue is cut off here, whatever its socket's writes are waiting for
    const socket = c.env.incoming.socket;
    return streamSSE(c, async (sse) => {
      const heartbeat = setInterval(() => void sse.write(": ping\n\n"), HEARTBEAT_MS);
      heartbeat.unref();
      sse.onAbort(() => ctx.hub.unsubscribe(sub));
      try {
        while (!sse.aborted && !sub.dropped) {
          if (!sub.queue.length) {
            await new Promise<void>((resolve) => (sub.notify = resolve));
            sub.notify = undefined;
            continue;
          }
          // what is queued goes out in one write (the data is one line of JSON: no field splitting needed)
          const batch = sub.queue.splice(0, SSE_BATCH);
          await sse.write(batch.map(toSse).join(""));
        }
      } finally {
        clearInterval(heartbeat);
        ctx.hub.unsubscribe(sub);
        if (sub.dropped) socket.destroy();
      }
    });
  });

  app.get("/v1/services/:name/logs", (c) => {
    const name = known(c.req.param("name"));
    if (!name) return fail(c, 404, `no such service: ${c.req.param("name")}`);
    const follow = c.req.query("follow") === "1";
    // debug lines (status probes) only when asked for, as `logs` shows them; `lines` counts what is shown
    const debug = c.req.query("debug") === "1";
    const shown = (l: string): boolean => {
      if (debug || !l.trim()) return l.trim() !== "";
      try {
        return ((JSON.parse(l) as { level?: number }).level ?? 30) >= 30;
      } catch {
        return true;
      }
    };
    const lines = c.req.query("lines") === undefined ? undefined : Number(c.req.query("lines"));
    if (lines !== undefined && !(Number.isInteger(lines) && lines >= 0)) return fail(c, 400, "lines: expected a whole number");
    const file = logFile(ctx.paths, name);
    c.header("Content-Type", "application/x-ndjson");
    return stream(c, async (out) => {
      let text = "";
      try {
        text = fs.readFileSync(file, "utf8");
      } catch {
        // no log yet
      }
      let offset = Buffer.byteLength(text);
      const kept = text.split("\n").filter(shown);
      for (const l of lines === undefined ? kept : kept.slice(-lines)) await out.write(l + "\n");
      if (!follow) return;
      let wake: (() => void) | undefined;
      fs.mkdirSync(ctx.paths.log, { recursive: true });
      const watcher = fs.watch(ctx.paths.log, { persistent: false }, (_e, f) => f === `${name}.log` && wake?.());
      out.onAbort(() => wake?.());
      try {
        while (!out.aborted) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, HEARTBEAT_MS).unref();
          });
          let size = 0;
          try {
            size = fs.statSync(file).size;
          } catch {
            continue;
          }
          if (size < offset) offset = 0; // rotated
          if (size === offset) continue;
          const fd = fs.openSync(file, "r");
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          fs.closeSync(fd);
          offset = size;
          const fresh = buf.toString("utf8").split("\n").filter(shown);
          if (fresh.length) await out.write(fresh.join("\n") + "\n");
        }
      } finally {
        watcher.close();
      }
    });
  });

  app.get("/metrics", async (c) => c.text(await ctx.metrics.text((s) => scope.visible(s)), 200, { "Content-Type": ctx.metrics.registry.contentType }));

  app.notFound((c) => fail(c, 404, `no such endpoint: ${c.req.method} ${c.req.path}`));
  app.onError((e, c) => fail(c, 500, e.message));
  return app;
}
