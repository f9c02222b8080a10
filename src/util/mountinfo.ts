// /proc/self/mountinfo: what is mounted where, in mount order (a later entry
// on the same point hides an earlier one).
import fs from "node:fs";
import path from "node:path";

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

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/**
 * Lines such as `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue`:
 * six fields, optional ones, a lone "-", then type, source and super options.
 * Lines that do not have that shape are skipped.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      dev: f[2]!,
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      fsType: f[sep + 1]!,
      source: unescape(f[sep + 2]!),
    });
  }
  return out;
}

export function readMountInfo(file = "/proc/self/mountinfo"): MountEntry[] {
  return parseMountInfo(fs.readFileSync(file, "utf8"));
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
