// What /proc tells of a process: alive or a zombie, its program, its parent,
// when it started (to tell a live process from a reused pid); pid files and
// waiting for a pid to go.
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  /** clock ticks since boot, as text (may exceed 2^53 in theory) */
  startTime: string;
}

/**
 * `/proc/<pid>/stat`: "pid (comm) S ppid ...". comm may hold spaces and
 * parentheses, so the fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(" ");
  const ppid = Number(f[1]);
  if (!f[0] || !Number.isInteger(ppid) || f[19] === undefined) return undefined;
  return { state: f[0], ppid, startTime: f[19] };
}

export function procStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** Alive means: the process exists and is not a zombie waiting to be reaped. */
export function pidAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

export function procParent(pid: number): number | undefined {
  return procStat(pid)?.ppid;
}

/** The process start time, to tell a live owner from a reused pid. */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

export function procComm(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function procCmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
  } catch {
    return [];
  }
}

export function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** The pid written in a pid file, or undefined when the file is missing or garbled. */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Poll until the pid is gone; true when it went within the time. */
export async function waitPidGone(pid: number, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
