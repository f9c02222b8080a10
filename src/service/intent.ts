// The intended state of a service's resources (SPEC §9): what its operators
// last asked for, per resource, recorded by every action under the service's
// lock before it acts. The agent brings a resource back to this state and to
// nothing else.
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../util/atomic.js";
import { stateDir, type Paths } from "../util/paths.js";

export type Intent = "up" | "down";

export interface IntentFile {
  resources: Record<string, Intent>;
  /** ISO 8601 of the last change */
  updatedAt?: string;
}

export const intentFile = (paths: Paths, svc: string): string => path.join(stateDir(paths, svc), "intent.json");

/** The recorded intents (empty when nothing was ever asked, or the file is unreadable: then nothing is to be repaired). */
export function readIntent(paths: Paths, svc: string): IntentFile {
  try {
    const j = JSON.parse(fs.readFileSync(intentFile(paths, svc), "utf8")) as Partial<IntentFile>;
    const resources: Record<string, Intent> = {};
    for (const [rid, v] of Object.entries(j.resources ?? {})) if (v === "up" || v === "down") resources[rid] = v;
    return { resources, updatedAt: j.updatedAt };
  } catch {
    return { resources: {} };
  }
}

/** Record `intent` for these resources, keeping the others' (an action on --rid X says nothing of Y). */
export function recordIntent(paths: Paths, svc: string, rids: readonly string[], intent: Intent, now = new Date()): void {
  if (!rids.length) return;
  const cur = readIntent(paths, svc);
  for (const rid of rids) cur.resources[rid] = intent;
  writeFileAtomicSync(intentFile(paths, svc), JSON.stringify({ resources: cur.resources, updatedAt: now.toISOString() }) + "\n", 0o640);
}
