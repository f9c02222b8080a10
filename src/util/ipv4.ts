// IPv4 arithmetic on unsigned 32-bit numbers: addresses, netmasks, networks.
// Division instead of >>> where a shift by 32 could occur (JS shifts by 32 are shifts by 0).

export interface Ipv4Net {
  /** network address as an unsigned 32-bit number */
  network: number;
  prefix: number;
}

/** "192.0.2.7" → its number; undefined unless four decimal parts of 0 to 255. */
export function parseIpv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** parseIpv4 that throws `not an IPv4 address: …`. */
export function ipv4ToInt(ip: string): number {
  const n = parseIpv4(ip);
  if (n === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** "172.30.4.0/24" (or any address inside it) → its network; undefined when malformed. */
export function parseCidr(cidr: string): Ipv4Net | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const ip = parseIpv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { network: (ip & maskOf(prefix)) >>> 0, prefix };
}

export const formatCidr = (n: Ipv4Net): string => `${formatIpv4(n.network)}/${n.prefix}`;

export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const mask = maskOf(Math.min(a.prefix, b.prefix));
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
}

/** Are two addresses in one network of that prefix length? */
export function sameNetwork(a: string, b: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4ToInt(a) / size) === Math.floor(ipv4ToInt(b) / size);
}

/** `24` or `255.255.255.0` → 24; a dotted mask with holes (255.0.255.0) is refused. */
export function netmaskToPrefix(mask: string): number {
  if (/^\d{1,2}$/.test(mask)) {
    const n = Number(mask);
    if (n > 32) throw new Error(`netmask ${mask}: a prefix length is at most 32`);
    return n;
  }
  const bits = ipv4ToInt(mask).toString(2).padStart(32, "0");
  if (!/^1*0*$/.test(bits)) throw new Error(`netmask ${mask} is not contiguous`);
  return bits.indexOf("0") === -1 ? 32 : bits.indexOf("0");
}
