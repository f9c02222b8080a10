/// <reference lib="dom" /> -- rowNames() runs in the browser
// What the dashboard tests share: a free loopback port, HTTP(S) requests to
// the agent's TCP listener, its event stream read with a token, the agent's
// pid (to kill it by pid if it does not stop).
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { Page } from "playwright-core";
import type { CliRoot } from "./cli.js";
import { onSse, type SseEvent } from "./sse.js";
import { pidAlive, signal, waitPidGone } from "../../src/util/proc.js";

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = unknown>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** the source address (127.0.0.x), for the per-address login limit */
  localAddress?: string;
  /** the CA to trust (a self-signed test certificate) */
  ca?: Buffer;
}

export function request(url: string, opts: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: opts.method ?? "GET", headers: opts.headers, agent: false, localAddress: opts.localAddress, ...(opts.ca && { ca: opts.ca }) }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** The agent's event stream over TCP with a token, collected. */
export function readEvents(url: string, token: string): { events: SseEvent[]; status: Promise<number>; close(): void } {
  const events: SseEvent[] = [];
  let req: http.ClientRequest;
  const status = new Promise<number>((resolve) => {
    req = http.get(`${url}v1/events`, { agent: false, headers: bearer(token) }, (res) => {
      resolve(res.statusCode ?? 0);
      onSse(res, (e) => events.push(e));
    });
    req.on("error", () => resolve(0));
  });
  return { events, status, close: () => req.destroy() };
}

export function agentPid(r: CliRoot): number | undefined {
  try {
    const pid = (JSON.parse(fs.readFileSync(r.file("var/_agent/agent.pid"), "utf8")) as { pid: number }).pid;
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** `daemon stop`, then SIGKILL by pid if it is still there. */
export async function stopAgent(r: CliRoot): Promise<void> {
  const pid = agentPid(r);
  r.run(["daemon", "stop"]);
  if (pid && pidAlive(pid)) {
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
  }
}

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

export interface FlagServiceOptions {
  defaults?: string[];
  resource?: string[];
  apps?: number;
  /** the app#N that cannot start (its start is /bin/false) */
  failing?: number[];
}

/** A service of app resources, each up while its flag file exists (no Docker needed). */
export function flagService(group: string, flag: (n: number) => string, { defaults = [], resource = [], apps = 1, failing = [] }: FlagServiceOptions): string {
  const lines = ["[DEFAULT]", `docker_socket_group = ${group}`, "autostart_node = nobody", ...defaults, ""];
  for (let n = 1; n <= apps; n++) {
    const fails = failing.includes(n);
    lines.push(`[app#${n}]`, `start = ${fails ? "/bin/false" : `/usr/bin/touch ${flag(n)}`}`, `stop = ${fails ? "/bin/true" : `/bin/rm -f ${flag(n)}`}`, `check = ${fails ? "/bin/false" : `/usr/bin/test -e ${flag(n)}`}`, ...resource, "");
  }
  return lines.join("\n");
}

/** A cell of the dashboard's svcmon table. */
export const cell = (page: Page, svc: string, col = "overall") => page.locator(`tr[data-name="${svc}"] td[data-col="${col}"]`);

/** The names of the table's rows that the filter shows. */
export const rowNames = (page: Page): Promise<(string | undefined)[]> => page.$$eval("#services tbody tr:not([hidden])", (rows) => rows.map((tr) => (tr as HTMLElement).dataset.name));
