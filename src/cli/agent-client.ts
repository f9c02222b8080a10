// The CLI's way to the agent: HTTP requests on the agent's unix sockets. No
// agent (no socket, nobody listening, not allowed): undefined, and the CLI
// works directly, as it does without an agent.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import type { Paths } from "../util/paths.js";
import { agentDir, apiSocket } from "../agent/files.js";
import type { ServiceStatus } from "../status/status.js";

export interface Reply<T> {
  status: number;
  body: T;
}

/** One JSON request on a socket; undefined when nothing answers there. */
export function agentRequest<T>(socketPath: string, method: string, urlPath: string, body?: unknown, timeoutMs = 5000): Promise<Reply<T> | undefined> {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath, method, path: urlPath, timeout: timeoutMs, agent: false, headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(undefined));
    req.end(data);
  });
}

/** GET on the agent's socket; undefined at once when there is no socket (no agent: nothing to connect to, and no http client to load). */
export const agentGet = <T>(paths: Paths, urlPath: string, timeoutMs = 2000): Promise<Reply<T> | undefined> =>
  fs.existsSync(apiSocket(paths)) ? agentRequest<T>(apiSocket(paths), "GET", urlPath, undefined, timeoutMs) : Promise.resolve(undefined);

/** The lines of a streamed answer (JSON lines, or an event stream), until it ends or `signal` aborts. */
export async function* agentLines(socketPath: string, urlPath: string, signal?: AbortSignal, headers: Record<string, string> = {}): AsyncGenerator<string> {
  const res = await new Promise<http.IncomingMessage | undefined>((resolve) => {
    const req = http.get({ socketPath, path: urlPath, agent: false, headers, signal }, resolve);
    req.on("error", () => resolve(undefined));
  });
  if (!res || res.statusCode !== 200) return;
  const lines = readline.createInterface({ input: res, crlfDelay: Infinity });
  try {
    for await (const l of lines) yield l;
  } catch {
    // aborted, or the agent went away
  } finally {
    lines.close();
    res.destroy();
  }
}

/** A service as the agent shows it, without the agent's own fields: what a live evaluation gives. */
export function asStatus(v: ServiceStatus & { intent?: unknown; restarts?: unknown }): ServiceStatus {
  const { intent, restarts, ...st } = v;
  return st;
}

/**
 * The status of these services from the running agent's memory, exactly as a
 * live evaluation would give it; undefined when no agent answers here (then
 * the CLI evaluates itself).
 */
export async function agentStatuses(paths: Paths, names: readonly string[]): Promise<Map<string, ServiceStatus> | undefined> {
  const res = await agentGet<ServiceStatus[]>(paths, "/v1/services");
  if (res?.status !== 200 || !Array.isArray(res.body)) return undefined;
  const byName = new Map(res.body.map((v) => [v.name, asStatus(v)]));
  if (names.some((n) => !byName.has(n))) return undefined; // a service the agent does not know yet: evaluate here
  return new Map(names.map((n) => [n, byName.get(n)!]));
}

/** The agent's sockets this process may open: api.sock for root, the team sockets of its groups otherwise. */
export function openableSockets(paths: Paths): string[] {
  const dir = path.join(agentDir(paths), "team");
  const candidates = [apiSocket(paths), ...(fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".sock")).map((f) => path.join(dir, f)) : [])];
  return candidates.filter((s) => {
    try {
      fs.accessSync(s, fs.constants.R_OK | fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  });
}
