// fs resource: a filesystem mounted on a mount point, checked before each
// mount, created by provision, and explained when it cannot be unmounted.
import fs from "node:fs";
import path from "node:path";
import type { ResourceConfig } from "../../config/types.js";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { run, type RunResult } from "../../util/run.js";
import { formatCommand, splitWords } from "../../util/shell-words.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";
import { readMountInfo, type MountEntry } from "../../util/mountinfo.js";
import { procComm } from "../../util/proc.js";
import { findExecutable } from "../../util/which.js";

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** "major:minor" of a block device (glibc's encoding of st_rdev), undefined for anything else. */
export function blockMajMin(dev: string): string | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(dev, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isBlockDevice()) return undefined;
  const r = st.rdev;
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}


const lastLines = (r: RunResult, n = 5): string => (r.stderr + r.stdout).trim().split("\n").slice(-n).join("\n");

/** Who holds files under a mount point: pids from `fuser -vm` (stdout), names from /proc. */
function describeHolders(r: RunResult, mnt: string): string[] {
  const pids = [...new Set([...r.stdout.matchAll(/(\d+)/g)].map((m) => Number(m[1])))];
  return pids.map((pid) => {
    const comm = procComm(pid) ?? "?"; // "?": gone meanwhile
    let cwd = "";
    try {
      const c = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (c === mnt || c.startsWith(`${mnt}/`)) cwd = `, cwd ${c}`;
    } catch {
      // not ours to read, or gone
    }
    return `${comm} (pid ${pid}${cwd})`;
  });
}

export class Filesystem implements ResourceDriver {
  private readonly mnt: string;
  private readonly devText: string;
  private readonly type: string;
  private readonly mntOpt: string | undefined;
  private readonly mkfsOpt: string | undefined;

  constructor(
    private readonly ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.mnt = path.resolve(cfg.text.mnt ?? "/");
    this.devText = cfg.text.dev ?? "";
    this.type = cfg.text.type ?? "";
    this.mntOpt = cfg.text.mnt_opt || undefined;
    this.mkfsOpt = cfg.text.mkfs_opt || undefined;
  }

  /** The device, with {disk#N.exposed_dev} resolved: only known while that disk is up. */
  private dev(): Promise<string> {
    return this.ctx.expandRuntimeRefs(this.devText);
  }

  private isOurs(m: MountEntry, dev: string): boolean {
    const mm = blockMajMin(dev);
    if (mm !== undefined) return m.dev === mm;
    return m.source === dev || (dev.startsWith("/") && realpathOr(m.source) === realpathOr(dev));
  }

  /** What is mounted at the mount point (the last one is on top). */
  private mountsAtMnt(mounts: MountEntry[]): MountEntry[] {
    if (!fs.existsSync(this.mnt)) return [];
    const real = realpathOr(this.mnt);
    return mounts.filter((m) => m.mountPoint === real);
  }

  private where(dev: string): string {
    return `fs(${dev} ${this.mnt})`;
  }

  async status(): Promise<ResourceState> {
    let dev: string;
    try {
      dev = await this.dev();
    } catch (e) {
      return { status: "down", log: [{ level: "info", message: errorMessage(e) }] };
    }
    const label = dev !== this.devText ? `${dev}@${this.mnt}` : undefined;
    const mounts = readMountInfo();
    const here = this.mountsAtMnt(mounts);
    if (here.some((m) => this.isOurs(m, dev))) return { status: "up", label, log: [] };
    if (here.length) {
      const other = here[here.length - 1]!;
      return { status: "warn", label, log: [{ level: "warn", message: `${this.mnt} has ${other.source} (${other.fsType}) mounted, not ${dev}` }] };
    }
    const elsewhere = mounts.filter((m) => this.isOurs(m, dev)).map((m) => m.mountPoint);
    return { status: "down", label, log: elsewhere.length ? [{ level: "info", message: `${dev} is mounted on ${elsewhere.join(", ")}` }] : [] };
  }

  async start(): Promise<boolean> {
    const dev = await this.dev();
    const here = this.mountsAtMnt(readMountInfo());
    if (here.some((m) => this.isOurs(m, dev))) {
      this.log.info(`${this.where(dev)} is already mounted`);
      return false;
    }
    if (here.length) throw new ActionError(`${this.mnt} already has ${here[here.length - 1]!.source} mounted: not mounting ${dev} over it`, this.cfg.rid);
    if (dev.startsWith("/") && !fs.existsSync(dev)) throw new ActionError(`${dev} does not exist (is its disk up?)`, this.cfg.rid);
    if (!fs.existsSync(this.mnt)) {
      this.log.info(formatCommand(["mkdir", "-p", this.mnt]));
      try {
        fs.mkdirSync(this.mnt, { recursive: true });
      } catch (e) {
        throw new ActionError(`cannot create mount point ${this.mnt}: ${errorMessage(e)}`, this.cfg.rid, e);
      }
    }
    await this.check(dev);
    const argv = ["mount", "-t", this.type, ...(this.mntOpt ? ["-o", this.mntOpt] : []), dev, this.mnt];
    const r = await run(this.log, argv, { check: false, timeoutMs: 120_000 });
    if (r.exitCode !== 0) throw new ActionError(`${formatCommand(argv)} exited ${r.exitCode}: ${lastLines(r)}`, this.cfg.rid);
    return true;
  }

  /** Check the filesystem before mounting it, as the tutorial does with e2fsck -p. */
  private async check(dev: string): Promise<void> {
    if (/^ext[234]$/.test(this.type)) {
      const argv = ["e2fsck", "-p", dev];
      const r = await run(this.log, argv, { check: false, timeoutMs: 30 * 60_000 });
      // fsck exit bits: 1 errors corrected, 2 reboot advised, 4 and above: left uncorrected or failed.
      if (r.exitCode >= 4) throw new ActionError(`${formatCommand(argv)} exited ${r.exitCode}, not mounting: ${lastLines(r)} (repair by hand: e2fsck ${dev})`, this.cfg.rid);
      if (r.exitCode & 2) this.log.warn(`e2fsck corrected ${dev} and advises a reboot`);
    } else if (this.type === "xfs") {
      if (!findExecutable("xfs_repair")) {
        this.log.info(`xfs_repair is not installed: ${dev} not checked`);
        return;
      }
      const argv = ["xfs_repair", "-n", dev];
      const r = await run(this.log, argv, { check: false, timeoutMs: 30 * 60_000 });
      if (r.exitCode !== 0) throw new ActionError(`${formatCommand(argv)} exited ${r.exitCode}, not mounting: ${lastLines(r)} (repair by hand: xfs_repair ${dev})`, this.cfg.rid);
    }
  }

  async stop(): Promise<boolean> {
    let dev: string;
    try {
      dev = await this.dev();
    } catch (e) {
      // Without the device we cannot tell our mount from another one: touch nothing.
      if (!this.mountsAtMnt(readMountInfo()).length) {
        this.log.info(`${this.where(this.devText)} is already umounted`);
        return false;
      }
      throw new ActionError(`cannot tell whether what is mounted on ${this.mnt} is ours: ${errorMessage(e)}`, this.cfg.rid, e);
    }
    const mounts = readMountInfo();
    const here = this.mountsAtMnt(mounts);
    if (!here.some((m) => this.isOurs(m, dev))) {
      if (here.length) this.log.warn(`${this.mnt} has ${here[here.length - 1]!.source} mounted, not ${dev}: left alone`);
      else this.log.info(`${this.where(dev)} is already umounted`);
      return false;
    }
    const r = await run(this.log, ["umount", this.mnt], { check: false, timeoutMs: 120_000 });
    if (r.exitCode === 0) return true;
    if (!/busy/i.test(r.stderr)) throw new ActionError(`umount ${this.mnt} exited ${r.exitCode}: ${lastLines(r)}`, this.cfg.rid);
    const real = realpathOr(this.mnt);
    const below = mounts.filter((m) => m.mountPoint.startsWith(`${real}/`)).map((m) => m.mountPoint);
    const why: string[] = [];
    if (below.length) why.push(`mounted below it: ${below.join(", ")}`);
    if (findExecutable("fuser")) {
      const holders = describeHolders(await run(this.log, ["fuser", "-vm", this.mnt], { check: false, quiet: true, timeoutMs: 60_000 }), real);
      if (holders.length) why.push(`used by ${holders.join(", ")}`);
    } else why.push("install psmisc (fuser) to see which processes use it");
    throw new ActionError(`umount ${this.mnt}: target is busy${why.length ? `: ${why.join("; ")}` : ""}`, this.cfg.rid);
  }

  /** Make the filesystem, only on a device where blkid finds none: never formats over data. */
  async provision(): Promise<void> {
    const dev = await this.dev();
    if (!dev.startsWith("/")) {
      this.log.info(`${dev} is not a device: nothing to format for a ${this.type} filesystem`);
      return;
    }
    if (!fs.existsSync(dev)) throw new ActionError(`${dev} does not exist (is its disk up?)`, this.cfg.rid);
    // -p probes the device itself (no cache); exit 2 means no signature at all.
    const probe = await run(this.log, ["blkid", "-p", "-o", "export", dev], { check: false, quiet: true, timeoutMs: 60_000 });
    if (probe.exitCode === 0) {
      const found = /^(?:TYPE|PTTYPE)=(.*)$/m.exec(probe.stdout)?.[1] ?? "a";
      if (found !== this.type) this.log.warn(`${dev} holds ${found} data, not ${this.type}: left as it is`);
      else this.log.info(`${dev} already has a ${found} filesystem, left as it is`);
      return;
    }
    if (probe.exitCode !== 2) throw new ActionError(`blkid -p ${dev} exited ${probe.exitCode} (conflicting signatures? see wipefs ${dev}): ${lastLines(probe)}`, this.cfg.rid);
    const mkfs = `mkfs.${this.type}`;
    if (!findExecutable(mkfs)) throw new ActionError(`${mkfs} is not installed: cannot create the ${this.type} filesystem on ${dev}`, this.cfg.rid);
    let opts: string[];
    try {
      opts = splitWords(this.mkfsOpt ?? "");
    } catch (e) {
      throw new ActionError(`mkfs_opt: ${errorMessage(e)}`, this.cfg.rid);
    }
    const argv = [mkfs, ...opts, dev];
    const r = await run(this.log, argv, { check: false, timeoutMs: 30 * 60_000 });
    if (r.exitCode !== 0) throw new ActionError(`${formatCommand(argv)} exited ${r.exitCode}: ${lastLines(r)}`, this.cfg.rid);
  }
}
