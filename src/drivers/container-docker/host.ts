// Small read-only probes of the host (/proc, /etc/group) used by the private
// daemon and by the tests' clean-up: is a pid alive and which program is it,
// what is mounted where.
import fs from "node:fs";
import path from "node:path";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Alive means: the process exists and is not a zombie waiting to be reaped. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // "pid (comm) S ..." — comm may hold spaces and parentheses, the state follows the last ")"
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X" && state !== "";
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

export function procParent(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
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

export interface MountEntry {
  id: number;
  parentId: number;
  /** major:minor of the filesystem */
  dev: string;
  /** the directory of the filesystem that is mounted (not "/" for bind mounts) */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** /proc/self/mountinfo, in mount order (a later entry on the same point hides an earlier one). */
export function readMountInfo(file = "/proc/self/mountinfo"): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const [left = "", right = ""] = line.split(" - ");
    const f = left.split(" ");
    const r = right.split(" ");
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      dev: f[2] ?? "",
      root: unescapeMount(f[3] ?? ""),
      mountPoint: unescapeMount(f[4] ?? ""),
      fsType: r[0] ?? "",
      source: unescapeMount(r[1] ?? ""),
    });
  }
  return out;
}

/** Mount points at or below dir, deepest and latest first (the order to unmount them in). */
export function mountsUnder(dir: string, mounts: MountEntry[] = readMountInfo()): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mounts
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.mountPoint === dir || m.mountPoint.startsWith(prefix))
    .sort((a, b) => b.m.mountPoint.split("/").length - a.m.mountPoint.split("/").length || b.i - a.i)
    .map(({ m }) => m.mountPoint);
}

/**
 * Is the top mount on dir a bind of dir onto itself? dockerd makes its data
 * root such a mount (to set shared propagation) when the host's mounts are
 * private, and a dockerd killed by SIGKILL leaves it behind. A filesystem a
 * user mounted there has another device or another root, so it never matches.
 */
export function isSelfBindMount(dir: string, mounts: MountEntry[] = readMountInfo()): boolean {
  const top = mounts.filter((m) => m.mountPoint === dir).at(-1);
  if (!top) return false;
  const parent = mounts.find((m) => m.id === top.parentId);
  if (!parent || parent.dev !== top.dev) return false;
  return top.root === path.posix.join(parent.root, path.posix.relative(parent.mountPoint, dir));
}

/** gid of a group given by name or number, from /etc/group; undefined when unknown. */
export function groupId(group: string, groupFile = "/etc/group"): number | undefined {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = fs.readFileSync(groupFile, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

export { findExecutable, withSbinPath } from "../../util/which.js";
