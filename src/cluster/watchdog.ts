// The node's watchdog (SPEC §12): a small process of its own, started by the
// agent and detached from it, that stops this node's failover containers when
// the agent has not renewed it in time. A paused or hung agent cannot fence
// itself; the watchdog can. The agent renews it after each good keepalive by
// rewriting <var>/_agent/watchdog.json with its deadline on the system's
// monotonic clock and the docker sockets of the failover services it owns.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { writeFileAtomicSync } from "../util/atomic.js";
import { lockHolder } from "../util/lock.js";
import { errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { pidAlive, procCmdline, readPidFile } from "../util/proc.js";
import type { Paths } from "../util/paths.js";
import { monoMs } from "./session.js";

export const LABEL_FENCE = "com.svcmgr.fence";

export interface WatchdogLease {
  agentPid: number;
  /** monotonic ms: the agent's own deadline (lease_ttl / 2 after its last good keepalive's send) */
  expires: number;
  /** the watchdog acts this long after `expires` (the agent fences itself first when it can) */
  graceMs: number;
  /** must be done by then (lease_ttl - 2 s after that keepalive) */
  stopBy: number;
  /** docker sockets of the failover services this node owns */
  sockets: string[];
}

export const watchdogFile = (p: Paths): string => path.join(p.var, "_agent", "watchdog.json");
export const watchdogPidFile = (p: Paths): string => path.join(p.var, "_agent", "watchdog.pid");
const POLL_MS = 100;
/** past the deadline, running failover containers are looked for this often */
const SWEEP_MS = 500;

export function renewWatchdog(paths: Paths, lease: WatchdogLease): void {
  writeFileAtomicSync(watchdogFile(paths), JSON.stringify(lease) + "\n", 0o600);
}

/** The agent has nothing to protect any more (clean stop, nothing owned). */
export function disarmWatchdog(paths: Paths): void {
  fs.rmSync(watchdogFile(paths), { force: true });
}

function readLease(paths: Paths): WatchdogLease | undefined {
  try {
    return JSON.parse(fs.readFileSync(watchdogFile(paths), "utf8")) as WatchdogLease;
  } catch {
    return undefined;
  }
}

export function watchdogPid(paths: Paths): number | undefined {
  const pid = readPidFile(watchdogPidFile(paths));
  if (pid === undefined || !pidAlive(pid)) return undefined;
  return procCmdline(pid).includes("watchdog") ? pid : undefined;
}

/** Start the node's watchdog unless one runs; it outlives the agent (its own session, no shared stdio). */
export function ensureWatchdog(paths: Paths, argv: readonly string[], env: NodeJS.ProcessEnv, outFile: string): number {
  const running = watchdogPid(paths);
  if (running) return running;
  const out = fs.openSync(outFile, "a");
  try {
    const child = spawn(argv[0]!, [...argv.slice(1)], { detached: true, stdio: ["ignore", out, out], env });
    child.unref();
    return child.pid!;
  } finally {
    fs.closeSync(out);
  }
}

/** Kill every running failover container on these sockets; what it killed, by socket. */
export async function fenceContainers(sockets: readonly string[], log: Logger, budgetS = 0): Promise<number> {
  const { DockerodeEngine } = await import("../drivers/container-docker/dockerode-engine.js");
  let killed = 0;
  await Promise.all(
    sockets.map(async (socket) => {
      if (!fs.existsSync(socket)) return;
      const engine = new DockerodeEngine(socket);
      try {
        const running = await engine.listContainers({ filters: { label: [LABEL_FENCE], status: ["running"] } }, { deadlineMs: 2000 });
        await Promise.all(
          running.map(async (c) => {
            await engine.stopContainer(c.Id, budgetS);
            killed++;
            log.warn(`fenced: container ${c.Names[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12)} on ${socket} stopped`);
          }),
        );
      } catch (e) {
        log.warn(`fence on ${socket}: ${errorMessage(e)}`);
      } finally {
        engine.close();
      }
    }),
  );
  return killed;
}

/** The watchdog's loop: until the agent is gone and nothing it owned can still run. */
export async function runWatchdog(paths: Paths, log: Logger, signal: AbortSignal): Promise<void> {
  fs.writeFileSync(watchdogPidFile(paths), `${process.pid}\n`, { mode: 0o644 });
  log.info(`watchdog running (pid ${process.pid})`);
  let fencedFor: number | undefined;
  let lastSweep = 0;
  try {
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const lease = readLease(paths);
      if (!lease) {
        if (!watchdogAgentAlive(paths)) break; // nothing armed, no agent: done
        continue;
      }
      const now = monoMs();
      if (now >= lease.expires + lease.graceMs && lease.sockets.length && (fencedFor !== lease.expires || now - lastSweep >= SWEEP_MS)) {
        // past the deadline: every failover container is killed, again at each sweep (a start the agent had begun before a pause may still land)
        const first = fencedFor !== lease.expires;
        if (first) log.warn(`agent (pid ${lease.agentPid}${pidAlive(lease.agentPid) ? "" : ", gone"}) has not renewed the watchdog for ${now - lease.expires} ms past its deadline: stopping the failover containers`);
        const n = await fenceContainers(lease.sockets, log, 0);
        const done = monoMs();
        if (first || n) log.warn(`fenced ${n} container${n === 1 ? "" : "s"}, ${done <= lease.stopBy ? `${lease.stopBy - done} ms before` : `${done - lease.stopBy} ms AFTER`} the lease could pass to another node`);
        fencedFor = lease.expires;
        lastSweep = done;
      }
      // the agent is gone and nothing of it can still run (fenced, or it owned no containers): done; a new agent starts a new watchdog
      if (!pidAlive(lease.agentPid) && !watchdogAgentAlive(paths) && (fencedFor === lease.expires || !lease.sockets.length)) {
        if (readLease(paths)?.agentPid === lease.agentPid) disarmWatchdog(paths);
        break;
      }
    }
  } finally {
    if (readPidFile(watchdogPidFile(paths)) === process.pid) fs.rmSync(watchdogPidFile(paths), { force: true });
    log.info("watchdog done");
  }
}

function watchdogAgentAlive(paths: Paths): boolean {
  const pid = lockHolder(path.join(paths.var, "_agent", "agent.pid"))?.pid;
  return pid !== undefined && pidAlive(pid);
}
