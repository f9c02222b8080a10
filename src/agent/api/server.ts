// The agent's listening sockets (SPEC §10): <var>/_agent/api.sock (0600, root:
// everything) and one <var>/_agent/team/<group>.sock (0660, root:group) per
// group named by a service's docker_socket_group, made and removed as services
// come and go. Each is a node:http server running the hono app of its scope.
import fs from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { createAdaptorServer } from "@hono/node-server";
import { groupId } from "../../util/group.js";
import type { Logger } from "../../util/log.js";
import { errorMessage } from "../../util/errors.js";
import { apiRoutes, type ApiContext, type Scope } from "./routes.js";

/** Bounds that keep a flood of clients from starving the others. */
const MAX_CONNECTIONS = 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export class Listener {
  private constructor(
    readonly socket: string,
    private readonly server: Server,
  ) {}

  static async open(ctx: ApiContext, scope: Scope, socket: string, owner: { gid: number; mode: number }): Promise<Listener> {
    const app = apiRoutes(ctx, scope);
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    server.maxConnections = MAX_CONNECTIONS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
    fs.rmSync(socket, { force: true }); // a dead agent's: this one holds the pid lock
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => resolve());
    });
    fs.chownSync(socket, 0, owner.gid);
    fs.chmodSync(socket, owner.mode);
    return new Listener(socket, server);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      fs.rmSync(this.socket, { force: true });
    });
  }
}

/** The team sockets, kept equal to the set of groups the services name. */
export class TeamSockets {
  private readonly open = new Map<string, Listener>();

  constructor(
    private readonly ctx: ApiContext,
    private readonly dir: string,
    private readonly groupOf: (service: string) => string | undefined,
    private readonly log: Logger,
  ) {}

  async sync(groups: Set<string>): Promise<void> {
    for (const [g, l] of this.open) {
      if (groups.has(g)) continue;
      this.open.delete(g);
      await l.close();
      this.log.info(`team socket of group ${g} removed: no service names it any more`);
    }
    for (const g of groups) {
      if (this.open.has(g) || g === "root") continue; // root has api.sock
      const gid = groupId(g);
      if (gid === undefined) {
        this.log.warn(`group ${g} does not exist: no team socket for it`);
        continue;
      }
      try {
        this.open.set(g, await Listener.open(this.ctx, { visible: (s) => this.groupOf(s) === g, via: `the team socket of group ${g}` }, path.join(this.dir, `${g}.sock`), { gid, mode: 0o660 }));
        this.log.info(`team socket of group ${g}: ${path.join(this.dir, `${g}.sock`)}`);
      } catch (e) {
        this.log.warn(`team socket of group ${g}: ${errorMessage(e)}`);
      }
    }
  }

  get groups(): string[] {
    return [...this.open.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((l) => l.close()));
    this.open.clear();
  }
}
