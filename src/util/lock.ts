// A lock file between processes of this host (one action at a time per
// service, one subnet allocation at a time). The lock is a file linked into
// place holding the owner's pid and process start time; a lock whose owner is
// gone (killed, crashed, or its pid reused by another process) is taken over.
// proper-lockfile was considered: it detects dead owners by mtime staleness,
// which needs a refresh timer in every holder and seconds of delay; a pid check
// is exact and immediate on a single host.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ActionError } from "./errors.js";
import { removeStaleTemps } from "./atomic.js";
import { pidAlive, processStartTime } from "./proc.js";

interface LockOwner {
  pid: number;
  start: string;
  action: string;
  since: string;
  /** the actions of killed owners before this one, latest first (carried over by each taker) */
  killed?: KilledAction[];
}

/** An action whose process died holding the lock: what it asked others (a daemon) may still be under way. */
export interface KilledAction {
  pid: number;
  action: string;
  since: string;
}

/** how many killed actions a lock carries over */
const KILLED_KEPT = 4;

function readOwner(file: string): LockOwner | undefined | "unreadable" {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let owner: unknown;
  try {
    owner = JSON.parse(text);
  } catch {
    return "unreadable";
  }
  // half-written, or another format (a bare pid): taken over once old, as garbage
  const o = owner as Partial<LockOwner> | null;
  return typeof o === "object" && o !== null && typeof o.pid === "number" && typeof o.start === "string" ? (o as LockOwner) : "unreadable";
}

function isAlive(owner: LockOwner): boolean {
  // a zombie (killed, not yet reaped by an init that reaps late) holds nothing
  return pidAlive(owner.pid) && processStartTime(owner.pid) === owner.start;
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function tryCreate(file: string, owner: LockOwner): boolean {
  // Write a complete temp file and link it into place: link fails if the lock
  // exists, and readers never see a half-written lock.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(owner), { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Remove a dead owner's lock, under a short guard so that two takers never remove each other's new lock. */
function takeOver(file: string, dead: string): void {
  const guard = `${file}.takeover`;
  if (ageMs(guard) > 10_000) fs.rmSync(guard, { force: true }); // a taker killed inside the guard
  let fd: number;
  try {
    fd = fs.openSync(guard, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return; // someone else is taking over: retry later
    throw e;
  }
  try {
    let current: string | undefined;
    try {
      current = fs.readFileSync(file, "utf8");
    } catch {
      current = undefined;
    }
    if (current === dead) fs.rmSync(file, { force: true });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(guard, { force: true });
  }
}

export interface HeldLock {
  release(): void;
  /** set when the lock of a dead process was taken over */
  tookOverFrom: number | undefined;
  /** the killed actions before this one (the dead owner's, then those it had taken over), latest first */
  killed: readonly KilledAction[];
}

export interface LockOptions {
  /** what the holder does, recorded in the lock and named to those who wait */
  action: string;
  waitMs: number;
  pollMs?: number;
  /** the error message when the wait is over; default: `timed out after N ms waiting for FILE, held by WHO` */
  busyMessage?: (holder: string, file: string) => string;
}

/** Take the lock, waiting up to waitMs for a live holder; throws an ActionError when the time is up. */
export async function acquireLock(file: string, opts: LockOptions): Promise<HeldLock> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const me: LockOwner = { pid: process.pid, start: processStartTime(process.pid) ?? "", action: opts.action, since: new Date().toISOString() };
  const deadline = Date.now() + opts.waitMs;
  let tookOverFrom: number | undefined;
  for (;;) {
    if (tryCreate(file, me)) {
      removeStaleTemps(file); // the temp files of takers killed before their link
      let released = false;
      return {
        tookOverFrom,
        killed: me.killed ?? [],
        release() {
          if (released) return;
          released = true;
          const owner = readOwner(file);
          if (owner !== "unreadable" && owner?.pid === me.pid && owner.start === me.start) fs.rmSync(file, { force: true });
        },
      };
    }
    const owner = readOwner(file);
    if (owner === "unreadable" ? ageMs(file) > 2000 : owner !== undefined && !isAlive(owner)) {
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch {
        continue; // gone meanwhile: retry
      }
      takeOver(file, text);
      if (owner !== "unreadable" && owner) {
        tookOverFrom = owner.pid;
        // recorded in this lock too: killed in turn, this action hands them on
        me.killed = [{ pid: owner.pid, action: owner.action, since: owner.since }, ...(Array.isArray(owner.killed) ? owner.killed : [])].slice(0, KILLED_KEPT);
      }
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner && owner !== "unreadable" ? `pid ${owner.pid} (${owner.action} since ${owner.since})` : "another process";
      const message = opts.busyMessage?.(who, file) ?? `timed out after ${opts.waitMs} ms waiting for ${file}, held by ${who}`;
      throw new ActionError(message);
    }
    await sleep(opts.pollMs ?? 50);
  }
}

/** Run fn holding the lock; released however fn ends. */
export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(file, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** The live holder of a lock file, if any (a dead owner's or unreadable file is no holder). */
export function lockHolder(file: string): { pid: number; action: string; since: string } | undefined {
  const owner = readOwner(file);
  if (owner === undefined || owner === "unreadable" || !isAlive(owner)) return undefined;
  return { pid: owner.pid, action: owner.action, since: owner.since };
}
