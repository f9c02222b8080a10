// docker_daemon_private = false, or no docker_data_dir (SPEC §4): the service's
// containers on the host's own dockerd, which svcmgr never starts, stops nor
// configures. Its socket is DOCKER_HOST when that names a unix socket, else
// /var/run/docker.sock.
import type Docker from "dockerode";
import { ActionError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { createDockerClient, dockerCliArgs, pinApiVersion, socketRequest } from "./daemon.js";

export const HOST_DOCKER_SOCKET = "/var/run/docker.sock";

/** The host daemon's socket: DOCKER_HOST=unix:///path, else the default one. Any other DOCKER_HOST is refused. */
export function hostDockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return HOST_DOCKER_SOCKET;
  const m = /^unix:\/\/(\/.+)$/.exec(host);
  if (!m) throw new ActionError(`DOCKER_HOST=${host}: svcmgr talks to the host's docker daemon on a unix socket only (unix:///path)`);
  return m[1]!;
}

export class HostDockerDaemon {
  /** not the service's own: never started, stopped or cleaned up by svcmgr */
  readonly shared = true;
  readonly socketPath: string;
  private apiVersion: string | undefined;
  private docker: Docker | undefined;
  private warned = false;

  /**
   * `why`: why the service is on the host's daemon, for the messages;
   * `ignored`: keywords of a private daemon set in the config, which the
   * host's daemon does not take (said at each start)
   */
  constructor(
    env: NodeJS.ProcessEnv = process.env,
    private readonly why = "docker_daemon_private = false",
    private readonly ignored: readonly string[] = [],
  ) {
    this.socketPath = hostDockerSocket(env);
  }

  /** Answers /_ping now? Its Api-Version header (or GET /version) pins the client. */
  async isRunning(): Promise<boolean> {
    try {
      const ping = await socketRequest(this.socketPath, "/_ping", 1000);
      if (ping.status !== 200 || ping.body.trim() !== "OK") return false;
      let api = ping.headers["api-version"];
      if (typeof api !== "string") {
        const v = await socketRequest(this.socketPath, "/version", 5000);
        api = (JSON.parse(v.body) as { ApiVersion?: string }).ApiVersion;
      }
      if (typeof api !== "string") return false;
      const pinned = pinApiVersion(api);
      if (pinned !== this.apiVersion) this.docker = undefined;
      this.apiVersion = pinned;
      return true;
    } catch {
      return false;
    }
  }

  /** Say once which keywords of the config this daemon does not take. */
  warnIgnored(log: Logger): void {
    if (this.ignored.length === 0 || this.warned) return;
    this.warned = true;
    log.warn(`${this.ignored.join(", ")} ignored: ${this.why}; the containers run on the host's docker daemon (${this.socketPath})`);
  }

  /** svcmgr does not start the host's daemon: it must already answer. */
  async start(_log?: Logger): Promise<void> {
    if (!(await this.isRunning())) {
      throw new ActionError(`the host's docker daemon does not answer on ${this.socketPath} (${this.why}: svcmgr does not start it)`);
    }
  }

  /** Never stopped by svcmgr: other services and users share it. */
  async stop(_timeoutMs?: number, _log?: Logger): Promise<void> {}

  leftBehind(): boolean {
    return false;
  }

  client(): Docker {
    if (this.apiVersion === undefined) throw new ActionError(`the host's docker daemon on ${this.socketPath} was not reached yet`);
    this.docker ??= createDockerClient(this.socketPath, this.apiVersion);
    return this.docker;
  }

  cliArgs(): string[] {
    return dockerCliArgs(this.socketPath);
  }
}
