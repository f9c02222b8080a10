// The API's shapes as zod schemas: the same schemas validate the requests and
// make the OpenAPI document (z.toJSONSchema), so they are written once.
import { z } from "zod";
import { API_WAITLOCK_MAX_S } from "../limits.js";

export const SERVICE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
export const API_ACTIONS = ["start", "stop", "restart", "freeze", "thaw"] as const;
/** a cluster service's moves (SPEC §12): asked of the cluster, carried out by the owners' agents */
export const CLUSTER_ACTIONS = ["switch", "takeover", "giveback"] as const;

const list = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : v.split(",")).map((s) => s.trim()).filter(Boolean));

export const ActionBody = z
  .strictObject({
    rid: list.optional().describe("resource ids or driver groups (container#1, container), a list or a comma separated string"),
    tags: list.optional().describe("tag expressions: t1,t2 = or; t1+t2 = and"),
    subsets: list.optional(),
    force: z.boolean().optional().describe("act even on a frozen service"),
    disable_rollback: z.boolean().optional(),
    waitlock: z.number().min(0).max(API_WAITLOCK_MAX_S).optional().describe(`seconds to wait for another action on the service before failing (the CLI's --waitlock); default and most: ${API_WAITLOCK_MAX_S}`),
    to: z.string().optional().describe("switch: the node to run the cluster service on"),
  })
  .describe("what to act on; an empty body acts on the whole service");

export const ErrorBody = z.object({ error: z.string() });
export const ClusterAccepted = z.object({ requested: z.string(), target: z.string().optional() }).describe("a cluster service: the request is in etcd; follow it on /v1/cluster or /v1/events");
export const ActionAccepted = z.object({ id: z.string() });

export const ActionRecordSchema = z.object({
  id: z.string(),
  service: z.string(),
  action: z.enum([...API_ACTIONS]),
  state: z.enum(["queued", "running", "succeeded", "failed"]),
  exitCode: z.number().int().optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  endedAt: z.string().optional(),
  lines: z.array(z.object({ time: z.string(), level: z.string(), rid: z.string().optional(), msg: z.string() })),
});

const Status = z.enum(["up", "down", "warn", "n/a", "stdby up", "stdby down", "undef"]);
const LogEntry = z.object({ level: z.enum(["info", "warn", "error"]), message: z.string() });

export const ServiceSchema = z.object({
  name: z.string(),
  serviceType: z.string(),
  mode: z.string(),
  frozen: z.boolean(),
  avail: Status,
  overall: Status,
  sync: Status,
  hb: Status,
  groups: z.record(z.string(), Status),
  resources: z.array(
    z.object({
      rid: z.string(),
      group: z.string(),
      status: Status,
      label: z.string(),
      log: z.array(LogEntry),
      optional: z.boolean(),
      disabled: z.boolean(),
      monitored: z.boolean(),
      encap: z.boolean(),
      standby: z.boolean(),
      subset: z.string().optional(),
      tags: z.array(z.string()),
    }),
  ),
  log: z.array(LogEntry),
  updatedAt: z.string(),
  intent: z.record(z.string(), z.enum(["up", "down"])).describe("what the operators last asked for, per resource"),
  restarts: z.record(z.string(), z.object({ count: z.number().int(), exhausted: z.boolean() })),
});

export const AgentInfo = z.object({ pid: z.number().int(), ready: z.boolean(), startedAt: z.string(), uptimeS: z.number(), services: z.number().int() });

/** The first message of zod's error, naming the field: `rid: ...`, `unknown field "x"`. */
export function describeZodError(e: z.ZodError): string {
  const i = e.issues[0]!;
  if (i.code === "unrecognized_keys") return `unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")}`;
  return `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`;
}
