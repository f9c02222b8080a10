// GET /v1/openapi.json: the API described from the zod schemas it validates with.
import { z } from "zod";
import { API_ACTIONS, CLUSTER_ACTIONS, ActionAccepted, ActionBody, ActionRecordSchema, AgentInfo, ClusterAccepted, ErrorBody, ServiceSchema } from "./schemas.js";

const json = (schema: z.ZodType, io: "input" | "output" = "output") => ({ "application/json": { schema: z.toJSONSchema(schema, { io, unrepresentable: "any" }) } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: "error", content: json(ErrorBody) }]));
const name = { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$" } };

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "svcmgr agent API", version, description: "The node agent's API (SPEC §10), on <var>/_agent/api.sock, the team sockets <var>/_agent/team/<group>.sock, and TCP (the dashboard's address) with a token: Authorization: Bearer svc_..., or the session cookie of POST /v1/login (then with X-CSRF-Token from GET /v1/session on state-changing requests)." },
    paths: {
      "/v1/agent": { get: { summary: "the agent: pid, uptime, services watched", responses: { "200": { description: "ok", content: json(AgentInfo) } } } },
      "/v1/services": { get: { summary: "every service this socket may see: svcmon columns, frozen, intent, restart counters", responses: { "200": { description: "ok", content: json(z.array(ServiceSchema)) } } } },
      "/v1/services/{name}": { get: { summary: "the status tree of a service", parameters: [name], responses: { "200": { description: "ok", content: json(ServiceSchema) }, ...errors(404) } } },
      "/v1/services/{name}/config": { get: { summary: "the parsed config", parameters: [name], responses: { "200": { description: "section -> keyword -> value", content: { "application/json": { schema: { type: "object" } } } }, ...errors(404, 409) } } },
      "/v1/services/{name}/actions/{action}": {
        post: {
          summary: "queue an action behind the service's lock; for a cluster service, start, stop (whole), switch (to), takeover and giveback are asked of the cluster instead",
          parameters: [name, { name: "action", in: "path", required: true, schema: { type: "string", enum: [...API_ACTIONS, ...CLUSTER_ACTIONS] } }],
          requestBody: { required: false, content: json(ActionBody, "input") },
          responses: { "202": { description: "queued (an action id), or asked of the cluster", content: { "application/json": { schema: { oneOf: [z.toJSONSchema(ActionAccepted), z.toJSONSchema(ClusterAccepted)] } } } }, ...errors(400, 404, 409, 413) },
        },
      },
      "/v1/services/{name}/history": { get: { summary: "the service's last actions (whoever ran them: the agent, the API, the CLI), newest first, each with the log lines of its time span", parameters: [name], responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "array", items: { type: "object" } } } } }, ...errors(404) } } },
      "/v1/actions/{id}": {
        get: {
          summary: "an action's state, exit code and log lines (kept 1 hour after it ended); follow=1: its lines as JSON lines as they are written ({type: line, time, level, rid, msg}), then one {type: end, state, exitCode, error, refusal: what the CLI prints of an action refused before it ran}",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }, { name: "follow", in: "query", schema: { type: "string", enum: ["0", "1"] } }],
          responses: { "200": { description: "ok", content: { ...json(ActionRecordSchema), "application/x-ndjson": { schema: { type: "string" } } } }, ...errors(404) },
        },
      },
      "/v1/events": {
        get: {
          summary: "text/event-stream: status, action, restart, daemon, config events; Last-Event-ID resumes from a window of the last 2000",
          parameters: [{ name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } }],
          responses: { "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } } },
        },
      },
      "/v1/services/{name}/logs": {
        get: {
          summary: "the service log as JSON lines; follow=1 keeps the stream open",
          parameters: [name, { name: "follow", in: "query", schema: { type: "string", enum: ["0", "1"] } }, { name: "lines", in: "query", schema: { type: "integer", minimum: 0 } }, { name: "debug", in: "query", schema: { type: "string", enum: ["0", "1"] } }],
          responses: { "200": { description: "JSON lines", content: { "application/x-ndjson": { schema: { type: "string" } } } }, ...errors(404) },
        },
      },
      "/v1/login": { post: { summary: "TCP only: exchange a token for a session cookie (HttpOnly, SameSite=Strict, Secure under TLS); failed attempts are rate-limited per address", requestBody: { required: true, content: { "application/json": { schema: { type: "object", properties: { token: { type: "string" } }, required: ["token"] } } } }, responses: { "200": { description: "logged in: the session's group, expiry and CSRF token" }, ...errors(400, 401, 403, 429) } } },
      "/v1/session": { get: { summary: "TCP only: the session of the cookie (group, expiry, the CSRF token for X-CSRF-Token)", responses: { "200": { description: "ok" }, ...errors(401) } } },
      "/v1/logout": { post: { summary: "TCP only: end the session", responses: { "200": { description: "ok" }, ...errors(403) } } },
      "/metrics": { get: { summary: "Prometheus text format", responses: { "200": { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } } } } },
      "/v1/cluster": {
        get: {
          summary: "the cluster as this node sees it (SPEC §12): its nodes (up = an agent holds the name), and every cluster service this socket may see: intent, move target, owners with their fencing tokens, each node's status",
          responses: { "200": { description: "ok", content: { "application/json": { schema: { type: "object" } } } }, ...errors(404) },
        },
      },
      "/v1/openapi.json": { get: { summary: "this document", responses: { "200": { description: "OpenAPI 3" } } } },
    },
  };
}
