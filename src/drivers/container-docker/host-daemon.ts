// docker_daemon_private = false, or no docker_data_dir (SPEC §4): the service's
// containers on the host's own dockerd, which svcmgr never starts, stops nor
// configures. Its socket is DOCKER_HOST when that names a unix socket, else
// /var/run/docker.sock.
import { ActionError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { DockerodeEngine } from "./dockerode-engine.js";
import { dockerCliArgs, probeEngine, type DaemonProbe, type DockerEngine } from "./engine.js";

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
  private readonly engine: DockerEngine;
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
    this.engine = new DockerodeEngine(this.socketPath);
  }

  /** Running, stopped (nothing listens on the socket), or unknown (no answer in time, no permission, ...). */
  probe(): Promise<DaemonProbe> {
    return probeEngine(this.engine);
  }

  /** Answers now? The first contact (GET /_ping) pins the client. */
  async isRunning(): Promise<boolean> {
    return (await this.probe()).state === "running";
  }

  /** Say once which keywords of the config this daemon does not take. */
  warnIgnored(log: Logger): void {
    if (this.ignored.length === 0 || this.warned) return;
    this.warned = true;
    log.warn(`${this.ignored.join(", ")} ignored: ${this.why}; the containers run on the host's docker daemon (${this.socketPath})`);
  }

  /** svcmgr does not start the host's daemon: it must already answer. */
  async start(_log?: Logger): Promise<void> {
    const p = await this.probe();
    if (p.state !== "running") {
      throw new ActionError(`the host's docker daemon does not answer on ${this.socketPath} (${this.why}: svcmgr does not start it): ${p.reason}`);
    }
  }

  /** Never stopped by svcmgr: other services and users share it. */
  async stop(_timeoutMs?: number, _log?: Logger): Promise<void> {}

  leftBehind(): boolean {
    return false;
  }

  client(): DockerEngine {
    if (this.engine.apiVersion === undefined) throw new ActionError(`the host's docker daemon on ${this.socketPath} was not reached yet`);
    return this.engine;
  }

  close(): void {
    this.engine.close();
  }

  cliArgs(): string[] {
    return dockerCliArgs(this.socketPath);
  }
}
