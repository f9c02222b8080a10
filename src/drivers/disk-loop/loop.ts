// disk type loop: a regular file attached to a /dev/loopN block device.
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { ResourceConfig } from "../../config/types.js";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { run } from "../../util/run.js";
import { formatCommand } from "../../util/shell-words.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";

/** `/dev/loop3: [2049]:1234 (/srv/disk.img)` lines of `losetup -j FILE` → the devices. */
export function parseLosetupJ(out: string): string[] {
  return out
    .split("\n")
    .map((l) => /^(\/dev\/loop\d+):/.exec(l)?.[1])
    .filter((d): d is string => d !== undefined);
}

/** How long stop() waits for the kernel to detach a device another process briefly held open. */
const DETACH_WAIT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class LoopDisk implements ResourceDriver {
  private readonly file: string;
  private readonly size: number | undefined;

  constructor(
    _ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.file = cfg.text.file ?? "";
    this.size = typeof cfg.values.size === "number" ? cfg.values.size : undefined;
  }

  /** Loop devices backed by the file (losetup matches its device and inode, so a renamed file is still found). */
  private async attachments(): Promise<string[]> {
    if (!fs.existsSync(this.file)) return [];
    const r = await run(this.log, ["losetup", "-j", this.file], { check: false, quiet: true, timeoutMs: 10_000 });
    if (r.exitCode !== 0) throw new ActionError(`losetup -j ${this.file} failed: ${(r.stderr || r.stdout).trim()}`, this.cfg.rid);
    return parseLosetupJ(r.stdout);
  }

  async status(): Promise<ResourceState> {
    if (!fs.existsSync(this.file)) {
      return { status: "down", log: [{ level: "warn", message: `${this.file} does not exist (provision creates it${this.size ? "" : " once size is set"})` }] };
    }
    const devs = await this.attachments();
    const log: ResourceState["log"] = devs.length > 1 ? [{ level: "warn", message: `attached more than once: ${devs.join(", ")}` }] : [];
    return { status: devs.length ? "up" : "down", log };
  }

  async start(): Promise<boolean> {
    if (!fs.existsSync(this.file)) throw new ActionError(`${this.file} does not exist: run provision to create it${this.size ? "" : " (set size first)"}`, this.cfg.rid);
    const devs = await this.attachments();
    if (devs.length) {
      this.log.info(`${this.file} is already up on ${devs.join(", ")}`);
      return false;
    }
    try {
      const r = await run(this.log, ["losetup", "--find", "--show", this.file], { timeoutMs: 30_000 });
      if (!/^\/dev\/loop\d+$/.test(r.stdout.trim())) throw new Error(`losetup printed no loop device: ${r.stdout.trim()}`);
    } catch (e) {
      throw new ActionError(errorMessage(e), this.cfg.rid, e);
    }
    return true;
  }

  async stop(): Promise<boolean> {
    const devs = await this.attachments();
    if (!devs.length) {
      this.log.info(`${this.file} is already down`);
      return false;
    }
    for (const dev of devs) {
      try {
        await run(this.log, ["losetup", "-d", dev], { timeoutMs: 30_000 });
      } catch (e) {
        throw new ActionError(errorMessage(e), this.cfg.rid, e);
      }
    }
    // A device still open (a mounted fs) only gets autoclear: it stays attached until released.
    // A short-lived opener (udev, blkid, an LVM scan of every block device) lets go within moments,
    // and the kernel then detaches asynchronously: wait a little before calling it in use.
    let left = await this.attachments();
    for (const until = Date.now() + DETACH_WAIT_MS; left.length && Date.now() < until; left = await this.attachments()) await sleep(50);
    if (left.length) throw new ActionError(`${left.join(", ")} still attached to ${this.file}: is it in use (mounted, open)? it will detach once released`, this.cfg.rid);
    return true;
  }

  /** Create the backing file, sparse, when it does not exist. An existing file is never touched. */
  async provision(): Promise<void> {
    if (fs.existsSync(this.file)) {
      this.log.info(`${this.file} already exists, left as it is`);
      return;
    }
    if (!this.size) throw new ActionError(`cannot create ${this.file}: size is not set`, this.cfg.rid);
    const dir = path.dirname(this.file);
    try {
      if (!fs.existsSync(dir)) {
        this.log.info(formatCommand(["mkdir", "-p", dir]));
        await fsp.mkdir(dir, { recursive: true });
      }
      this.log.info(formatCommand(["truncate", "-s", String(this.size), this.file]));
      // "wx": fails if the file appeared meanwhile, so nothing is ever overwritten.
      const h = await fsp.open(this.file, "wx", 0o600);
      try {
        await h.truncate(this.size);
      } catch (e) {
        await h.close();
        await fsp.rm(this.file, { force: true }); // ours: leave no wrong-sized file behind
        throw e;
      }
      await h.close();
    } catch (e) {
      throw new ActionError(`cannot create ${this.file}: ${errorMessage(e)}`, this.cfg.rid, e);
    }
  }

  async exposedDevice(): Promise<string | undefined> {
    return (await this.attachments())[0];
  }
}
