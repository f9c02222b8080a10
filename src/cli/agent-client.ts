// The CLI's way to the agent: one HTTP request on the agent's unix socket. No
// agent (no socket, nobody listening, not allowed): undefined, and the CLI
// works directly, as it does without an agent.
import http from "node:http";
import type { Paths } from "../util/paths.js";
import { apiSocket } from "../agent/files.js";
import type { ServiceStatus } from "../status/status.js";

export async function agentGet<T>(paths: Paths, urlPath: string, timeoutMs = 2000): Promise<{ status: number; body: T } | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: apiSocket(paths), path: urlPath, timeout: timeoutMs, agent: false }, (res) => {
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
  });
}

/**
 * The status of these services from the running agent's memory, exactly as a
 * live evaluation would give it (the agent's own fields left out); undefined
 * when no agent answers here (then the CLI evaluates itself).
 */
export async function agentStatuses(paths: Paths, names: readonly string[]): Promise<Map<string, ServiceStatus> | undefined> {
  const res = await agentGet<(ServiceStatus & { intent?: unknown; restarts?: unknown })[]>(paths, "/v1/services");
  if (res?.status !== 200 || !Array.isArray(res.body)) return undefined;
  const byName = new Map(res.body.map(({ intent: _i, restarts: _r, ...st }) => [st.name, st as ServiceStatus]));
  if (names.some((n) => !byName.has(n))) return undefined; // a service the agent does not know yet: evaluate here
  return new Map(names.map((n) => [n, byName.get(n)!]));
}
