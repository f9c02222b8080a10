// The subnet of a service's bridge: configured (docker_bridge_cidr), or the
// first free /24 of 172.30.0.0/16, remembered in the state dir and claimed
// host-wide so that no other service, of any SVCMGR_ROOT, takes it.
import fs from "node:fs";
import path from "node:path";
import { ActionError } from "../../util/errors.js";
import { formatCidr, overlaps, parseCidr, type Ipv4Net } from "../../util/ipv4.js";
import { withLock } from "../../util/lock.js";
import type { Logger } from "../../util/log.js";
import { hostIpv4Addresses } from "./bridge.js";

/** The file in a service's state dir remembering its bridge subnet. */
export const bridgeCidrFile = (stateDir: string): string => path.join(stateDir, "bridge.cidr");

const POOL = parseCidr("172.30.0.0/16")!;

/** The first /24 of 172.30.0.0/16 overlapping none of the used networks. */
export function pickFreeCidr(used: readonly Ipv4Net[]): string | undefined {
  for (let i = 0; i < 256; i++) {
    const cand: Ipv4Net = { network: POOL.network + i * 256, prefix: 24 };
    if (!used.some((u) => overlaps(u, cand))) return formatCidr(cand);
  }
  return undefined;
}

function readCidrFile(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, "utf8").trim();
    return parseCidr(text) ? text : undefined;
  } catch {
    return undefined;
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

const ALLOCATION_LOCK = { action: "bridge subnet allocation", waitMs: 10_000, pollMs: 20 };

/** Run fn under the host-wide allocation lock, or the root's when the host's cannot be written. */
function withAllocationLock<T>(runDir: string, stateRoot: string, fn: () => Promise<T>): Promise<T> {
  try {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o755 });
    fs.accessSync(runDir, fs.constants.W_OK);
    return withLock(path.join(runDir, "subnets.lock"), ALLOCATION_LOCK, fn);
  } catch {
    fs.mkdirSync(stateRoot, { recursive: true });
    return withLock(path.join(stateRoot, ".bridge-cidr.lock"), ALLOCATION_LOCK, fn);
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
