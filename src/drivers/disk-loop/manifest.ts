import { kw } from "../../config/keyword.js";
import type { DriverManifest } from "../driver.js";

export const diskLoopManifest: DriverManifest = {
  group: "disk",
  type: "loop",
  keywords: [
    { name: "file", required: true, schema: kw.absPath(), text: "backing file of the loop device" },
    { name: "size", schema: kw.size(), text: "size of the backing file created by provision (e.g. 100m)" },
  ],
  label: (v) => v.file ?? "",
  create: async (ctx, res, log) => new (await import("./loop.js")).LoopDisk(ctx, res, log),
};
