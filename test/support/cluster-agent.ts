// A node's svcmgr agent in the cluster rig (test/support/cluster-rig.ts):
// `svcmgr daemon run` in the node's namespace, its pid tracked, its output in
// a file of the rig kept for failure messages, stopped, killed, paused.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pidAlive, signal, waitPidGone } from "../../src/util/proc.js";
import { LAUNCHER } from "./cli.js";
import { spawnIn } from "./cluster-net.js";
import { unixGetJson } from "./cluster-watch.js";

export class NodeAgent {
  private pidOf: number | undefined;

  constructor(
    readonly node: { name: string; netns: string; root: string },
    /** the agent's stdout and stderr, appended over its runs */
    readonly outFile: string,
  ) {}

  get pid(): number | undefined {
    return this.pidOf !== undefined && pidAlive(this.pidOf) ? this.pidOf : undefined;
  }

  /** Start it; unless wait is false, until GET /v1/agent on its socket says ready. */
  async start(env: NodeJS.ProcessEnv, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<number> {
    if (this.pid) throw new Error(`the agent of ${this.node.name} already runs (pid ${this.pid})`);
    fs.appendFileSync(this.outFile, `--- rig: start ${new Date().toISOString()}\n`);
    const child = spawnIn(this.node.netns, [process.execPath, LAUNCHER, "daemon", "run", "--color", "never"], this.outFile, env);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start the agent of ${this.node.name}`);
    this.pidOf = pid;
    if (opts.wait === false) return pid;
    const sock = path.join(this.node.root, "var", "_agent", "api.sock");
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const r = await unixGetJson(sock, "/v1/agent", 1000).catch(() => undefined);
      if ((r as { ready?: boolean } | undefined)?.ready) return pid;
      if (!pidAlive(pid) || Date.now() > deadline) throw new Error(`the agent of ${this.node.name} did not come up${pidAlive(pid) ? "" : " (it exited)"}:\n${this.log()}`);
      await sleep(50);
    }
  }

  /** The tail of what it printed and of its log file. */
  log(lines = 30): string {
    const tail = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").slice(-lines).join("\n") : "(none)");
    const logFile = path.join(this.node.root, "log", "_agent.log");
    return `${this.outFile}:\n${tail(this.outFile)}\n${logFile}:\n${tail(logFile)}`;
  }

  /** SIGTERM (after SIGCONT, should it be paused) and wait; a hang is killed and thrown. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    signal(pid, "SIGCONT");
    signal(pid, "SIGTERM");
    if (await waitPidGone(pid, timeoutMs)) return;
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
    throw new Error(`the agent of ${this.node.name} did not exit within ${timeoutMs} ms of SIGTERM (killed):\n${this.log()}`);
  }

  async kill(): Promise<void> {
    const pid = this.pid;
    if (!pid) return;
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
  }

  pause(): void {
    const pid = this.pid;
    if (!pid) throw new Error(`no agent runs on ${this.node.name}`);
    signal(pid, "SIGSTOP");
  }

  resume(): void {
    const pid = this.pid;
    if (pid) signal(pid, "SIGCONT");
  }
}
