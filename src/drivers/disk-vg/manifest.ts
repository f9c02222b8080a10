import { z } from "zod";
import { kw } from "../../config/keyword.js";
import type { DriverManifest } from "../driver.js";

export const diskVgManifest: DriverManifest = {
  group: "disk",
  type: "vg",
  keywords: [
    { name: "name", aliases: ["vgname"], required: true, schema: z.string().regex(/^[A-Za-z0-9+_.-]+$/, "not a volume group name"), text: "volume group name" },
    // The tutorial's configs carry it; svcmgr does no SCSI reservation, so only false is accepted.
    { name: "scsireserv", schema: kw.bool().refine((v) => !v, "SCSI persistent reservations are not supported"), default: "false", text: "must be false: svcmgr places no SCSI reservation" },
  ],
  label: (v) => v.name ?? "",
  create: async (ctx, res, log) => new (await import("./vg.js")).VolumeGroup(ctx, res, log),
};
