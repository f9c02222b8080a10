// svcmgr run by a team member (not root) while the agent runs (SPEC §10): the
// commands go through the team sockets the user may open, and print exactly
// what the root CLI prints. A service the user's sockets do not show does not
// exist for them: "no such service", exit 2.
import { UsageError } from "../util/errors.js";
import type { Paths } from "../util/paths.js";
import { matchSelector } from "../service/names.js";
import type { ServiceStatus } from "../status/status.js";
import { agentLines, agentRequest, asStatus, openableSockets } from "./agent-client.js";
import { formatLogLine } from "./logs.js";
import { followAction } from "./action-follow.js";
import { throughAgent } from "./argv.js";
import { outputClosed } from "./output.js";

export class RemoteCli {
  private constructor(private readonly where: Map<string, { socket: string; status: ServiceStatus }>) {}

  /**
   * Through the agent, for a user who is not root and may open one of its
   * sockets; else undefined (the CLI works directly). `streams`: root too, for
   * what the agent streams (logs --follow, svcmon --watch).
   */
  static async connect(paths: Paths, opts: { streams?: boolean } = {}): Promise<RemoteCli | undefined> {
    if (!throughAgent(opts.streams)) return undefined;
    const where = new Map<string, { socket: string; status: ServiceStatus }>();
    let answered = false;
    for (const socket of openableSockets(paths)) {
      const res = await agentRequest<ServiceStatus[]>(socket, "GET", "/v1/services");
      if (res?.status !== 200 || !Array.isArray(res.body)) continue;
      answered = true;
      for (const v of res.body) where.set(v.name, { socket, status: asStatus(v) });
    }
    return answered ? new RemoteCli(where) : undefined;
  }

  /** -s, else every service the sockets show (state-changing actions then need --status or --all). */
  select(opts: { service?: string; status?: string; all?: boolean }, stateChanging: boolean): string[] {
    const all = [...this.where.keys()].sort();
    let names: string[];
    if (opts.service !== undefined) names = matchSelector(all, opts.service);
    else {
      if (stateChanging && !opts.status && !opts.all) throw new UsageError("this action changes services: name them with -s, or select them with --status or --all");
      names = all;
    }
    if (opts.status) {
      const wanted = opts.status.split(",").map((s) => s.trim());
      names = names.filter((n) => wanted.includes(this.where.get(n)!.status.overall));
    }
    return names;
  }

  /** A socket the agent's event stream can be read from. */
  get eventSocket(): string | undefined {
    return this.where.values().next().value?.socket;
  }

  statuses(names: readonly string[]): ServiceStatus[] {
    return names.map((n) => this.where.get(n)!.status);
  }

  /** Queue the action, print its lines as they come, as the root CLI prints them; its exit code. */
  async act(name: string, action: string, body: Record<string, unknown>, color: boolean): Promise<number> {
    const { socket } = this.where.get(name)!;
    const res = await agentRequest<{ id?: string; error?: string }>(socket, "POST", `/v1/services/${name}/actions/${action}`, body);
    if (!res || res.status !== 202 || !res.body.id) {
      const error = res?.body.error ?? "the agent did not answer";
      process.stderr.write(`${name}: ${error}\n`);
      return res?.status === 404 || res?.status === 400 ? 2 : 1;
    }
    return followAction(socket, name, action, res.body.id, color);
  }

  /** The services' logs, as `logs` prints them; followed from the agent's stream. */
  async logs(names: string[], opts: { follow: boolean; lines?: number; color: boolean; debug: boolean }): Promise<number> {
    const follows = names.map(async (n) => {
      const q = new URLSearchParams({ ...(opts.follow ? { follow: "1" } : {}), ...(opts.debug ? { debug: "1" } : {}), ...(opts.lines !== undefined ? { lines: String(opts.lines) } : {}) });
      for await (const line of agentLines(this.where.get(n)!.socket, `/v1/services/${n}/logs?${q.toString()}`, outputClosed())) {
        const out = formatLogLine(line, opts.color, opts.debug);
        if (out !== undefined) process.stdout.write(out + "\n");
      }
    });
    await Promise.all(follows);
    return 0;
  }
}
