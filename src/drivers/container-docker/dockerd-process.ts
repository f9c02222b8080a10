// The dockerd process itself: spawned detached with its output appended to
// dockerd.log, waited for until /_ping answers, stopped with TERM then KILL.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ActionError } from "../../util/errors.js";
import { readFrom } from "../../util/file-tail.js";
import type { Logger } from "../../util/log.js";
import { pidAlive, procComm, signal, waitPidGone } from "../../util/proc.js";
import { withSbinPath } from "../../util/which.js";
import type { DockerEngine } from "./engine.js";

const POLL_MS = 10;
const STOP_POLL_MS = 10;
/** dockerd's last log line of a clean shutdown (cmd/dockerd/daemon.go), before its containerd supervisor's wait */
const SHUTDOWN_COMPLETE = "Daemon shutdown complete";

export interface SpawnedDockerd {
  pid: number | undefined;
  /** where this run's output begins in the log file */
  logOffset: number;
  /** "exited with code 1", "was killed by SIGKILL", ... once node saw it go */
  exit(): string | undefined;
  exited: Promise<void>;
}

/** Spawn dockerd detached (it outlives svcmgr), stdout and stderr appended to logFile. */
export function spawnDockerd(argv: string[], logFile: string): SpawnedDockerd {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: withSbinPath(process.env.PATH ?? "") };
  // under a systemd unit of Type=notify, dockerd would report readiness in svcmgr's name
  delete env.NOTIFY_SOCKET;
  const out = fs.openSync(logFile, "a", 0o640);
  const logOffset = fs.fstatSync(out).size;
  let exit: string | undefined;
  const child = (() => {
    try {
      return spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", out, out], env });
    } finally {
      fs.closeSync(out);
    }
  })();
  const exited = new Promise<void>((resolve) => {
    child.on("exit", (code, sig) => {
      exit = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      resolve();
    });
    child.on("error", (e) => {
      exit = `could not be run: ${e.message}`;
      resolve();
    });
  });
  child.unref();
  return { pid: child.pid, logOffset, exit: () => exit, exited };
}

/** Poll /_ping every 10 ms until it answers, the process is gone, or the time is up. */
export async function waitReady(engine: DockerEngine, gone: () => boolean, timeoutMs: number): Promise<"ready" | "gone" | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await engine.ping({ deadlineMs: 1000 }).then(() => true, () => false)) return "ready";
    if (gone()) return "gone";
    if (Date.now() >= deadline) return "timeout";
    await sleep(POLL_MS);
  }
}

/** TERM, then KILL after 5 s: for a dockerd whose start is given up. */
export async function killDockerd(pid: number): Promise<void> {
  if (!pidAlive(pid)) return;
  signal(pid, "SIGTERM");
  if (!(await waitPidGone(pid, 5000))) {
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
  }
}

/**
 * TERM to dockerd, KILL after timeoutMs; then its containerd (which dies with
 * it) is made sure of. Resolves false when KILL was needed: the containers may
 * then still run and must be cleaned up.
 */
export async function terminateDockerd(log: Logger, pid: number, ctrPid: number | undefined, logFile: string, logOffset: number, timeoutMs: number): Promise<boolean> {
  let clean = true;
  log.info(`kill ${pid}`);
  signal(pid, "SIGTERM");
  if (!(await waitShutdown(log, pid, ctrPid, logFile, logOffset, timeoutMs))) {
    log.warn(`docker daemon pid ${pid} still running ${timeoutMs} ms after TERM`);
    log.info(`kill -KILL ${pid}`);
    signal(pid, "SIGKILL");
    clean = false;
    if (!(await waitPidGone(pid, 5000))) throw new ActionError(`docker daemon pid ${pid} survived SIGKILL`);
  }
  // containerd dies with dockerd (parent-death signal); make sure before its sockets go
  if (ctrPid !== undefined && procComm(ctrPid) === "containerd" && !(await waitPidGone(ctrPid, 2000))) {
    log.info(`kill -KILL ${ctrPid}`);
    signal(ctrPid, "SIGKILL");
    await waitPidGone(ctrPid, 5000);
  }
  return clean;
}

/**
 * Wait for dockerd to exit after TERM. Its shutdown proper takes a few ms and
 * ends with "Daemon shutdown complete" in its log; it then stops its
 * containerd and polls once a second for it to be gone, so it exits ~1 s
 * after TERM doing nothing. Once both are seen (the line, written after the
 * TERM, and its containerd gone), that wait is cut short with KILL.
 */
async function waitShutdown(log: Logger, pid: number, ctrPid: number | undefined, logFile: string, logOffset: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(STOP_POLL_MS);
    // containerd reaped by dockerd (not a zombie left to init, which a next start would take for a live containerd)
    const ctrGone = ctrPid === undefined || !fs.existsSync(`/proc/${ctrPid}`) || procComm(ctrPid) !== "containerd";
    if (ctrGone && readFrom(logFile, logOffset).includes(SHUTDOWN_COMPLETE) && pidAlive(pid)) {
      log.info(`kill -KILL ${pid}   # shutdown complete, containerd gone: skip dockerd's last 1 s wait`);
      signal(pid, "SIGKILL");
      return waitPidGone(pid, 5000, STOP_POLL_MS);
    }
  }
  return true;
}
