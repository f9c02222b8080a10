// One action at a time per service: the host's lock file (util/lock.ts), with
// the message a user who waited with --waitlock needs.
import { acquireLock as acquireFileLock, type HeldLock } from "../util/lock.js";

export type { HeldLock } from "../util/lock.js";
export { lockHolder } from "../util/lock.js";

export function acquireLock(file: string, opts: { action: string; waitMs: number; pollMs?: number }): Promise<HeldLock> {
  return acquireFileLock(file, { ...opts, busyMessage: (who, f) => `service is busy: ${who} holds ${f}; waited ${Math.round(opts.waitMs / 1000)}s (--waitlock)` });
}
