// The CLI's way to the agent: one HTTP request on the agent's unix socket. No
// agent (no socket, nobody listening, not allowed): undefined, and the CLI
// works directly, as it does without an agent.
import http from "node:http";
import type { Paths } from "../util/paths.js";
import { apiSocket } from "../agent/files.js";

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
