// GET /v1/openapi.json: the API described from the zod schemas it validates with.
import { z } from "zod";
import { API_ACTIONS, ActionAccepted, ActionBody, ActionRecordSchema, AgentInfo, ErrorBody, ServiceSchema } from "./schemas.js";

const json = (schema: z.ZodType, io: "input" | "output" = "output") => ({ "application/json": { schema: z.toJSONSchema(schema, { io, unrepresentable: "any" }) } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: "error", content: json(ErrorBody) }]));
const name = { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$" } };

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: { title: "svcmgr agent API", version, description: "The node agent's API (SPEC §10), on <var>/_agent/api.sock, the team sockets <var>/_agent/team/<group>.sock, and TCP with a token." },
    paths: {
      "/v1/agent": { get: { summary: "the agent: pid, uptime, services watched", responses: { "200": { description: "ok", content: json(AgentInfo) } } } },
      "/v1/services": { get: { summary: "every service this socket may see: svcmon columns, frozen, intent, restart counters", responses: { "200": { description: "ok", content: json(z.array(ServiceSchema)) } } } },
      "/v1/services/{name}": { get: { summary: "the status tree of a service", parameters: [name], responses: { "200": { description: "ok", content: json(ServiceSchema) }, ...errors(404) } } },
      "/v1/services/{name}/config": { get: { summary: "the parsed config", parameters: [name], responses: { "200": { description: "section -> keyword -> value", content: { "application/json": { schema: { type: "object" } } } }, ...errors(404, 409) } } },
      "/v1/services/{name}/actions/{action}": {
        post: {
          summary: "queue an action behind the service's lock",
          parameters: [name, { name: "action", in: "path", required: true, schema: { type: "string", enum: [...API_ACTIONS] } }],
          requestBody: { required: false, content: json(ActionBody, "input") },
          responses: { "202": { description: "queued", content: json(ActionAccepted) }, ...errors(400, 404, 409, 413) },
        },
      },
      "/v1/actions/{id}": { get: { summary: "an action's state, exit code and log lines (kept 1 hour after it ended)", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "ok", content: json(ActionRecordSchema) }, ...errors(404) } } },
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
      "/metrics": { get: { summary: "Prometheus text format", responses: { "200": { description: "metrics", content: { "text/plain": { schema: { type: "string" } } } } } } },
      "/v1/openapi.json": { get: { summary: "this document", responses: { "200": { description: "OpenAPI 3" } } } },
    },
  };
}
