// Each private dockerd gets its own Linux bridge (never docker0, which another
// daemon may delete) with the service's subnet: a short name hashed from the
// state dir, a /24 picked from 172.30.0.0/16 and remembered in the state dir.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ActionError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { CommandError, run } from "../../util/run.js";
import { formatCommand } from "../../util/shell-words.js";
import { pidAlive, readPidFile, sleep } from "./host.js";

/** 8 hex digits naming a state dir on this host: bridge name and exec root derive from it. */
export function stateHash(stateDir: string): string {
  return crypto.createHash("sha256").update(path.resolve(stateDir)).digest("hex").slice(0, 8);
}

/** `svc` + 8 hex = 11 characters, within the kernel's 15-character limit for interface names. */
export function bridgeName(stateDir: string): string {
  return `svc${stateHash(stateDir)}`;
}

/** The file in a service's state dir remembering its bridge subnet. */
export const bridgeCidrFile = (stateDir: string): string => path.join(stateDir, "bridge.cidr");

// ---- IPv4 arithmetic ---------------------------------------------------

export interface Ipv4Net {
  /** network address as an unsigned 32-bit number */
  network: number;
  prefix: number;
}

function ipToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** "172.30.4.0/24" (or any address inside it) → its network; undefined when malformed. */
export function parseCidr(cidr: string): Ipv4Net | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const ip = ipToNumber(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { network: (ip & maskOf(prefix)) >>> 0, prefix };
}

export const formatCidr = (n: Ipv4Net): string => `${numberToIp(n.network)}/${n.prefix}`;

export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const mask = maskOf(Math.min(a.prefix, b.prefix));
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** The bridge's own address (first host of the subnet) with its prefix, as `ip addr add` wants it. */
export function gatewayOf(cidr: string): string {
  const n = parseCidr(cidr);
  if (!n || n.prefix < 8 || n.prefix > 30) throw new ActionError(`bad bridge subnet "${cidr}" (expected an IPv4 network like 172.30.4.0/24, prefix 8 to 30)`);
  return `${numberToIp(n.network + 1)}/${n.prefix}`;
}

const POOL = parseCidr("172.30.0.0/16")!;

/** The first /24 of 172.30.0.0/16 overlapping none of the used networks. */
export function pickFreeCidr(used: readonly Ipv4Net[]): string | undefined {
  for (let i = 0; i < 256; i++) {
    const cand: Ipv4Net = { network: POOL.network + i * 256, prefix: 24 };
    if (!used.some((u) => overlaps(u, cand))) return formatCidr(cand);
  }
  return undefined;
}

// ---- the host's interfaces -----------------------------------------------

const IpAddrJson = z.array(
  z.object({
    ifname: z.string(),
    flags: z.array(z.string()).default([]),
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number() })).default([]),
  }),
);

export interface HostAddress {
  dev: string;
  net: Ipv4Net;
  cidr: string;
}

export interface HostLink {
  name: string;
  up: boolean;
  /** its IPv4 addresses */
  addresses: HostAddress[];
}

/** Every interface of the host with its IPv4 addresses (`ip -j addr`), optionally one device only. */
export async function hostLinks(log: Logger, dev?: string): Promise<HostLink[]> {
  const argv = dev ? ["ip", "-j", "addr", "show", "dev", dev] : ["ip", "-j", "addr"];
  const r = await run(log, argv, { quiet: true, check: false });
  if (r.exitCode !== 0) return [];
  const parsed = IpAddrJson.safeParse(JSON.parse(r.stdout || "[]"));
  if (!parsed.success) throw new ActionError(`unexpected output of ${argv.join(" ")}: ${parsed.error.message}`);
  return parsed.data.map((link) => ({
    name: link.ifname,
    up: link.flags.includes("UP"),
    addresses: link.addr_info.flatMap((a) => {
      const net = a.family === "inet" ? parseCidr(`${a.local}/${a.prefixlen}`) : undefined;
      return net ? [{ dev: link.ifname, net, cidr: `${a.local}/${a.prefixlen}` }] : [];
    }),
  }));
}

/** Every IPv4 address on the host (`ip -j addr`), optionally of one device. */
export async function hostIpv4Addresses(log: Logger, dev?: string): Promise<HostAddress[]> {
  return (await hostLinks(log, dev)).flatMap((l) => l.addresses);
}

export async function linkExists(log: Logger, name: string): Promise<boolean> {
  const r = await run(log, ["ip", "-br", "link", "show", "dev", name], { quiet: true, check: false });
  return r.exitCode === 0;
}

/**
 * Create the bridge with the subnet's first address and bring it up; a bridge
 * left by a crash is reused, its address fixed if the subnet changed. Refuses a
 * subnet another interface of the host already uses. Returns true when it
 * created the link.
 */
export async function ensureBridge(log: Logger, name: string, cidr: string): Promise<boolean> {
  const gw = gatewayOf(cidr);
  const want = parseCidr(cidr)!;
  // one listing tells the clashes, whether the bridge exists, and its addresses
  const links = await hostLinks(log);
  const clash = links.flatMap((l) => l.addresses).find((a) => a.dev !== name && overlaps(a.net, want));
  if (clash) throw new ActionError(`bridge subnet ${cidr} overlaps ${clash.cidr} on ${clash.dev}: set docker_bridge_cidr to a free subnet`);
  const mine = links.find((l) => l.name === name);
  const changes: string[][] = [];
  if (!mine) changes.push(["link", "add", name, "up", "type", "bridge"]);
  const current = mine?.addresses ?? [];
  if (!current.some((a) => a.cidr === gw)) {
    if (current.length > 0) changes.push(["addr", "flush", "dev", name]);
    changes.push(["addr", "add", gw, "dev", name]);
  }
  if (mine && !mine.up) changes.push(["link", "set", name, "up"]);
  await ipBatch(log, changes);
  return !mine;
}

/**
 * Several `ip` commands in one process (`ip -batch -`, which stops at the
 * first failure): one fork instead of one each. Each is logged as the command
 * a human would type.
 */
async function ipBatch(log: Logger, commands: string[][]): Promise<void> {
  if (commands.length === 0) return;
  if (commands.length === 1) {
    await run(log, ["ip", ...commands[0]!]);
    return;
  }
  for (const c of commands) log.info(formatCommand(["ip", ...c]));
  await run(log, ["ip", "-batch", "-"], { quiet: true, input: commands.map((c) => c.join(" ") + "\n").join("") });
}

export async function deleteBridge(log: Logger, name: string): Promise<void> {
  // one command: a bridge already gone is what was wanted
  const r = await run(log, ["ip", "link", "del", name], { check: false });
  if (r.exitCode !== 0 && (await linkExists(log, name))) throw new CommandError(r);
}

// ---- allocation ------------------------------------------------------------

function readCidrFile(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return parseCidr(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file holding its owner's pid; a lock whose owner died is taken over. */
async function withLockFile<T>(file: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = readPidFile(file);
      if (owner === undefined || !pidAlive(owner)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) throw new ActionError(`timed out waiting for ${file} (held by pid ${owner})`);
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}

// Services of one process allocating at once (parallel starts) queue here; other processes queue on the lock file.
let allocationQueue: Promise<unknown> = Promise.resolve();

/**
 * Host-wide claims on automatic subnets, shared by every SVCMGR_ROOT:
 * `<runDir>/subnets/172.30.4.0-24` is a symlink to the state dir that holds
 * that subnet. A claim is live while that state dir's bridge.cidr still names
 * the subnet; any other claim (the service or its root deleted, the subnet
 * changed) is stale and removed. /run is cleared at boot; each start claims
 * its subnet again.
 */
const claimsDir = (runDir: string): string => path.join(runDir, "subnets");
const claimName = (cidr: string): string => cidr.replace("/", "-");

function claimOwner(runDir: string, cidr: string): string | undefined {
  try {
    return fs.readlinkSync(path.join(claimsDir(runDir), claimName(cidr)));
  } catch {
    return undefined;
  }
}

/** Live claims of other state dirs (stale ones are removed on the way). */
function liveClaims(runDir: string, except: string): { cidr: string; owner: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(claimsDir(runDir));
  } catch {
    return [];
  }
  const live: { cidr: string; owner: string }[] = [];
  for (const name of names) {
    const cidr = name.replace("-", "/");
    const owner = claimOwner(runDir, cidr);
    if (!owner || !parseCidr(cidr)) continue;
    if (readCidrFile(bridgeCidrFile(owner)) !== cidr) {
      fs.rmSync(path.join(claimsDir(runDir), name), { force: true });
      continue;
    }
    if (path.resolve(owner) !== path.resolve(except)) live.push({ cidr, owner });
  }
  return live;
}

/**
 * Claim `cidr` for stateDir host-wide. Where /run/svcmgr is not writable (a
 * user without rights there evaluating a status), the claim is skipped: the
 * start, run as root, claims it.
 */
export function claimBridgeCidr(runDir: string, stateDir: string, cidr: string): void {
  const link = path.join(claimsDir(runDir), claimName(cidr));
  if (claimOwner(runDir, cidr) === path.resolve(stateDir)) return;
  try {
    fs.mkdirSync(claimsDir(runDir), { recursive: true, mode: 0o755 });
    const tmp = `${link}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(path.resolve(stateDir), tmp);
    fs.renameSync(tmp, link);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS") throw e;
  }
}

/** Run fn under the host-wide allocation lock, or the root's when the host's cannot be written. */
function withAllocationLock<T>(runDir: string, stateRoot: string, fn: () => Promise<T>): Promise<T> {
  try {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o755 });
    fs.accessSync(runDir, fs.constants.W_OK);
    return withLockFile(path.join(runDir, "subnets.lock"), fn);
  } catch {
    fs.mkdirSync(stateRoot, { recursive: true });
    return withLockFile(path.join(stateRoot, ".bridge-cidr.lock"), fn);
  }
}

/**
 * The service's bridge subnet: the one kept in `<stateDir>/bridge.cidr`, or
 * else the first /24 of 172.30.0.0/16 that no other service keeps (under
 * stateRoot, or claimed by a service of another root on this host) and no host
 * interface uses, written there for next time. A kept subnet that a service of
 * another root has claimed meanwhile (after a reboot cleared the claims) is
 * given up for a free one: it was chosen automatically, nobody configured it.
 */
export async function allocateBridgeCidr(stateRoot: string, stateDir: string, log: Logger, runDir: string): Promise<string> {
  const mine = readCidrFile(bridgeCidrFile(stateDir));
  const heldElsewhere = (cidr: string): string | undefined => {
    const owner = claimOwner(runDir, cidr);
    return owner && path.resolve(owner) !== path.resolve(stateDir) && readCidrFile(bridgeCidrFile(owner)) === cidr ? owner : undefined;
  };
  if (mine && !heldElsewhere(mine)) {
    claimBridgeCidr(runDir, stateDir, mine);
    return mine;
  }
  const task = allocationQueue.then(() =>
    withAllocationLock(runDir, stateRoot, async () => {
      fs.mkdirSync(stateRoot, { recursive: true });
      const again = readCidrFile(bridgeCidrFile(stateDir));
      if (again) {
        const other = heldElsewhere(again);
        if (!other) {
          claimBridgeCidr(runDir, stateDir, again);
          return again;
        }
        log.info(`bridge subnet ${again} is now held by ${other}: picking another one`);
      }
      const used: Ipv4Net[] = [];
      for (const d of fs.readdirSync(stateRoot, { withFileTypes: true })) {
        if (!d.isDirectory() || path.resolve(stateRoot, d.name) === path.resolve(stateDir)) continue;
        const other = readCidrFile(bridgeCidrFile(path.join(stateRoot, d.name)));
        if (other) used.push(parseCidr(other)!);
      }
      for (const c of liveClaims(runDir, stateDir)) used.push(parseCidr(c.cidr)!);
      if (again) used.push(parseCidr(again)!);
      for (const a of await hostIpv4Addresses(log)) used.push(a.net);
      const cidr = pickFreeCidr(used);
      if (!cidr) throw new ActionError("no free /24 left in 172.30.0.0/16 for the service's bridge: set docker_bridge_cidr");
      writeBridgeCidr(stateDir, cidr);
      claimBridgeCidr(runDir, stateDir, cidr);
      return cidr;
    }),
  );
  allocationQueue = task.catch(() => undefined);
  return task;
}

/** Remember the subnet a service's bridge uses, so no other service takes it. */
export function writeBridgeCidr(stateDir: string, cidr: string): void {
  const file = bridgeCidrFile(stateDir);
  if (readCidrFile(file) === cidr) return;
  fs.mkdirSync(stateDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${cidr}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}
