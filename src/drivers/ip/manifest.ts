import { z } from "zod";
import { kw } from "../../config/keyword.js";
import type { DriverManifest } from "../driver.js";

const netmask = z.string().refine(
  (s) => (/^\d{1,2}$/.test(s) && Number(s) <= 32) || /^(\d{1,3}\.){3}\d{1,3}$/.test(s),
  "not a netmask (a prefix length like 24, or dotted like 255.255.255.0)",
);
const hostOrAddr = z.string().regex(/^[A-Za-z0-9.:-]+$/, "not an address or host name");
const ifname = z.string().regex(/^[A-Za-z0-9_.@:-]{1,15}$/, "not an interface name");

export const ipManifest: DriverManifest = {
  group: "ip",
  type: "",
  isDefault: true,
  keywords: [
    { name: "ipname", required: true, schema: hostOrAddr, text: "address or resolvable host name" },
    { name: "ipdev", required: true, schema: ifname, text: "interface to add the address to" },
    { name: "netmask", schema: netmask, text: "prefix length or dotted netmask (default: the one of the device's network, else 32)" },
    { name: "arping", schema: kw.bool(), default: "true", text: "announce the address with arping -U when arping exists" },
  ],
  label: (v) => `${v.ipname ?? ""}@${v.ipdev ?? ""}`,
  create: async (ctx, res, log) => new (await import("./ip.js")).IpAddress(ctx, res, log),
};
