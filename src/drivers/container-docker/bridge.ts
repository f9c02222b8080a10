// Each private dockerd gets its own Linux bridge (never docker0, which another
// daemon may delete) with the service's subnet (subnets.ts): a short name
// hashed from the state dir, created with the subnet's first address and
// deleted once the daemon is gone.
import crypto from "node:crypto";
import path from "node:path";
import { ActionError, errorMessage } from "../../util/errors.js";
import { parseIpAddrJson, type IpLink } from "../../util/iproute.js";
import { formatIpv4, overlaps, parseCidr, type Ipv4Net } from "../../util/ipv4.js";
import type { Logger } from "../../util/log.js";
import { CommandError, run } from "../../util/run.js";
import { formatCommand } from "../../util/shell-words.js";

/** 8 hex digits naming a state dir on this host: bridge name and exec root derive from it. */
export function stateHash(stateDir: string): string {
  return crypto.createHash("sha256").update(path.resolve(stateDir)).digest("hex").slice(0, 8);
}

/** `svc` + 8 hex = 11 characters, within the kernel's 15-character limit for interface names. */
export function bridgeName(stateDir: string): string {
  return `svc${stateHash(stateDir)}`;
}

/** The bridge's own address (first host of the subnet) with its prefix, as `ip addr add` wants it. */
export function gatewayOf(cidr: string): string {
  const n = parseCidr(cidr);
  if (!n || n.prefix < 8 || n.prefix > 30) throw new ActionError(`bad bridge subnet "${cidr}" (expected an IPv4 network like 172.30.4.0/24, prefix 8 to 30)`);
  return `${formatIpv4(n.network + 1)}/${n.prefix}`;
}

// ---- the host's interfaces -----------------------------------------------

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
  let links: IpLink[];
  try {
    links = parseIpAddrJson(r.stdout);
  } catch (e) {
    throw new ActionError(`${argv.join(" ")}: ${errorMessage(e)}`);
  }
  return links.map((link) => ({
    name: link.ifname,
    up: link.up,
    addresses: link.addrs.flatMap((a) => {
      const net = parseCidr(`${a.local}/${a.prefixlen}`);
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
