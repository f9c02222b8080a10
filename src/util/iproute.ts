// The JSON of `ip -j addr [show dev DEV]` (iproute2): links, whether they are
// up, and their IPv4 addresses.
import { z } from "zod";

const IpAddrJson = z.array(
  z.object({
    ifname: z.string(),
    flags: z.array(z.string()).default([]),
    addr_info: z
      .array(z.object({ family: z.string().optional(), local: z.string().optional(), prefixlen: z.number().optional() }))
      .default([]),
  }),
);

export interface IpLink {
  ifname: string;
  up: boolean;
  /** its IPv4 addresses */
  addrs: { local: string; prefixlen: number }[];
}

/** Parse `ip -j addr` output (empty output is no link); throws on anything else than that JSON. */
export function parseIpAddrJson(json: string): IpLink[] {
  let data: unknown;
  try {
    data = JSON.parse(json.trim() === "" ? "[]" : json);
  } catch (e) {
    throw new Error(`unexpected output of ip -j addr: ${(e as Error).message}`, { cause: e });
  }
  const parsed = IpAddrJson.safeParse(data);
  if (!parsed.success) throw new Error(`unexpected output of ip -j addr: ${parsed.error.message}`);
  return parsed.data.map((l) => ({
    ifname: l.ifname,
    up: l.flags.includes("UP"),
    addrs: l.addr_info.flatMap((a) => (a.family === "inet" && a.local !== undefined ? [{ local: a.local, prefixlen: a.prefixlen ?? 32 }] : [])),
  }));
}
