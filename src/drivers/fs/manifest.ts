import { z } from "zod";
import { kw } from "../../config/keyword.js";
import type { DriverManifest } from "../driver.js";

export const fsManifest: DriverManifest = {
  group: "fs",
  type: "",
  isDefault: true,
  keywords: [
    // In an fs section `type` is the filesystem type, as in fstab and the tutorials.
    { name: "type", required: true, schema: z.string().regex(/^[a-z0-9_.]+$/, "not a filesystem type"), text: "filesystem type (ext4, xfs …)" },
    { name: "mnt", required: true, schema: kw.absPath(), text: "mount point" },
    { name: "dev", required: true, runtimeRefs: true, schema: kw.nonEmpty().refine((s) => !s.includes("\n"), "must be one line"), text: "device, e.g. /dev/mapper/vg-lv or {disk#1.exposed_dev}" },
    { name: "mnt_opt", aliases: ["mnt_opts"], schema: z.string().regex(/^[A-Za-z0-9_=,.:/-]*$/, "not a mount option list"), text: "mount options (-o)" },
    { name: "mkfs_opt", schema: kw.string(), text: "options for mkfs when provisioning" },
  ],
  label: (v) => `${v.dev ?? ""}@${v.mnt ?? ""}`,
  create: async (ctx, res, log) => new (await import("./fs.js")).Filesystem(ctx, res, log),
};
