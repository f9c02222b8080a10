// ip resource: one IPv4 address plumbed on a host interface with iproute2,
// announced with a gratuitous ARP, and checked free on the network first.
import net from "node:net";
import { lookup } from "node:dns/promises";
import type { ResourceConfig } from "../../config/types.js";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { CommandError, run, type RunResult } from "../../util/run.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";
import { parseIpAddrJson, type IpLink } from "../../util/iproute.js";
import { netmaskToPrefix, sameNetwork } from "../../util/ipv4.js";
import { findExecutable } from "../../util/which.js";

/** The prefix to plumb `ip` with: the configured netmask, else the one of a device address in the same network, else 32. */
export function choosePrefix(ip: string, netmask: string | undefined, devAddrs: IpLink["addrs"]): number {
  if (netmask !== undefined && netmask !== "") return netmaskToPrefix(netmask);
  const same = devAddrs.filter((a) => a.local !== ip && sameNetwork(ip, a.local, a.prefixlen));
  return same.length ? Math.max(...same.map((a) => a.prefixlen)) : 32;
}

export async function resolveIpv4(name: string): Promise<string> {
  if (net.isIPv4(name)) return name;
  try {
    return (await lookup(name, { family: 4 })).address;
  } catch (e) {
    throw new ActionError(`cannot resolve ${name} to an IPv4 address: ${errorMessage(e)}`);
  }
}


type ArpingFlavour = "habets" | "iputils";
/** which arping the host has: a fact of the host, asked once per process (a failed probe is asked again) */
let arpingFlavourP: Promise<ArpingFlavour> | undefined;

/**
 * Debian's `arping` package ships Thomas Habets' arping (-i DEV, -S SRC, -0),
 * `iputils-arping` the other one (-I DEV, -s SRC, -D): their flags differ.
 */
function arpingFlavour(log: Logger): Promise<ArpingFlavour> {
  arpingFlavourP ??= run(log, ["arping", "--help"], { check: false, quiet: true, timeoutMs: 5000 }).then(
    (r) => (/Habets/i.test(r.stdout + r.stderr) ? "habets" : "iputils"),
    (e: unknown) => {
      arpingFlavourP = undefined; // never a rejected promise kept for the life of an agent
      throw e;
    },
  );
  return arpingFlavourP;
}

export class IpAddress implements ResourceDriver {
  private readonly ipname: string;
  private readonly dev: string;
  private readonly netmask: string | undefined;
  private readonly announce: boolean;
  private resolved: string | undefined;

  constructor(
    _ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.ipname = cfg.text.ipname ?? "";
    this.dev = cfg.text.ipdev ?? "";
    this.netmask = cfg.text.netmask;
    this.announce = cfg.values.arping !== false;
  }

  /** The address, resolved once per runtime (a failed lookup is retried next time). */
  private async address(): Promise<string> {
    this.resolved ??= await resolveIpv4(this.ipname);
    return this.resolved;
  }

  private async links(dev?: string): Promise<IpLink[] | undefined> {
    // No -4: it would hide links that have no IPv4 address yet.
    const argv = ["ip", "-j", "addr", "show", ...(dev ? ["dev", dev] : [])];
    const r = await run(this.log, argv, { check: false, quiet: true, timeoutMs: 10_000 });
    if (r.exitCode !== 0) {
      if (dev && /does not exist/i.test(r.stderr)) return undefined;
      throw new ActionError(new CommandError(r).message, this.cfg.rid);
    }
    return parseIpAddrJson(r.stdout);
  }

  /** Addresses of the configured device; undefined when it does not exist. */
  private async devAddrs(): Promise<IpLink["addrs"] | undefined> {
    const l = await this.links(this.dev);
    return l ? (l.find((x) => x.ifname === this.dev)?.addrs ?? []) : undefined;
  }

  async status(): Promise<ResourceState> {
    let ip: string;
    try {
      ip = await this.address();
    } catch (e) {
      return { status: "undef", log: [{ level: "error", message: errorMessage(e) }] };
    }
    const addrs = await this.devAddrs();
    if (!addrs) return { status: "down", log: [{ level: "warn", message: `device ${this.dev} does not exist` }] };
    return { status: addrs.some((a) => a.local === ip) ? "up" : "down", log: [] };
  }

  async preflight(): Promise<void> {
    const ip = await this.address();
    this.log.info(`checking ${ip} availability`);
    const all = await this.links();
    if (!all?.some((l) => l.ifname === this.dev)) throw new ActionError(`device ${this.dev} does not exist: cannot plumb ${ip} on it`, this.cfg.rid);
    const holder = all.find((l) => l.addrs.some((a) => a.local === ip));
    if (holder?.ifname === this.dev) return; // ours already: start() says "already up"
    if (holder) throw new ActionError(`${ip} is already in use (answers on ${holder.ifname})`, this.cfg.rid);
    if (await this.answersOnNetwork(ip)) throw new ActionError(`${ip} is already in use (answers on ${this.dev})`, this.cfg.rid);
  }

  /** Does some other host answer for `ip` on our device's network? ARP when possible, else ICMP. */
  private async answersOnNetwork(ip: string): Promise<boolean> {
    const opts = { check: false, quiet: true, timeoutMs: 10_000 };
    if (findExecutable("arping")) {
      const flavour = await arpingFlavour(this.log);
      let r: RunResult;
      let answered: boolean;
      let ran: boolean;
      if (flavour === "habets") {
        // -0: source 0.0.0.0, a duplicate address probe that needs no address on the device
        r = await run(this.log, ["arping", "-c", "1", "-w", "1", "-0", "-i", this.dev, ip], opts);
        answered = r.exitCode === 0 && /bytes from/.test(r.stdout);
        ran = /packets transmitted/.test(r.stdout);
      } else {
        // -D: duplicate address detection, exits 1 when somebody answers
        r = await run(this.log, ["arping", "-D", "-c", "1", "-w", "1", "-I", this.dev, ip], opts);
        answered = r.exitCode === 1 && /reply from/i.test(r.stdout);
        ran = /Sent \d+ probe/i.test(r.stdout);
      }
      if (answered) {
        const mac = /([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i.exec(r.stdout)?.[1];
        if (mac) this.log.info(`${ip} answers from ${mac}`);
        return true;
      }
      if (ran) return false;
      this.log.warn(`could not check ${ip} with arping: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ")}`);
      return false;
    }
    if (findExecutable("ping")) {
      const r = await run(this.log, ["ping", "-c", "1", "-W", "1", "-I", this.dev, ip], opts);
      return r.exitCode === 0;
    }
    this.log.warn(`neither arping nor ping is installed: ${ip} is not checked on the network`);
    return false;
  }

  async start(): Promise<boolean> {
    const ip = await this.address();
    const addrs = await this.devAddrs();
    if (!addrs) throw new ActionError(`device ${this.dev} does not exist: cannot plumb ${ip} on it`, this.cfg.rid);
    if (addrs.some((a) => a.local === ip)) {
      this.log.info(`${ip} is already up on ${this.dev}`);
      return false;
    }
    let prefix: number;
    try {
      prefix = choosePrefix(ip, this.netmask, addrs);
    } catch (e) {
      throw new ActionError(errorMessage(e), this.cfg.rid);
    }
    await this.exec(["ip", "addr", "add", `${ip}/${prefix}`, "dev", this.dev]);
    if (this.announce && findExecutable("arping")) await this.gratuitousArp(ip);
    return true;
  }

  /** Tell the neighbours' ARP caches where the address now lives; a failure is only a warning. */
  private async gratuitousArp(ip: string): Promise<void> {
    const flavour = await arpingFlavour(this.log);
    const argv =
      flavour === "habets"
        ? ["arping", "-U", "-c", "1", "-w", "1", "-i", this.dev, "-S", ip, ip]
        : ["arping", "-U", "-c", "1", "-I", this.dev, "-s", ip, ip];
    // Nobody answers an unsolicited ARP: Habets' arping then exits 1, which is fine.
    const r = await run(this.log, argv, { check: false, timeoutMs: 10_000 });
    const sent = flavour === "habets" ? /packets transmitted/.test(r.stdout) : r.exitCode === 0 || /Sent \d+ probe/i.test(r.stdout);
    if (!sent) this.log.warn(`gratuitous ARP for ${ip} not sent: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ")}`);
  }

  async stop(): Promise<boolean> {
    const ip = await this.address();
    const addrs = await this.devAddrs();
    const mine = addrs?.find((a) => a.local === ip);
    if (!mine) {
      this.log.info(addrs ? `${ip} is already down on ${this.dev}` : `device ${this.dev} does not exist: ${ip} is already down`);
      return false;
    }
    await this.exec(["ip", "addr", "del", `${ip}/${mine.prefixlen}`, "dev", this.dev]);
    return true;
  }

  private async exec(argv: string[]): Promise<void> {
    try {
      await run(this.log, argv, { timeoutMs: 30_000 });
    } catch (e) {
      throw new ActionError(errorMessage(e), this.cfg.rid, e);
    }
  }
}
