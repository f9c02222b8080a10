import { z } from "zod";
import { kw } from "../../config/keyword.js";
import { splitWords } from "../../util/shell-words.js";
import type { DriverManifest } from "../driver.js";

/** A command line, split like a shell does (never run through one): an unterminated quote is a config error. */
const command = z.string().superRefine((s, ctx) => {
  try {
    if (splitWords(s).length === 0) ctx.addIssue({ code: "custom", message: "empty command" });
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

export const appManifest: DriverManifest = {
  group: "app",
  type: "",
  isDefault: true,
  keywords: [
    { name: "start", schema: command, text: "command starting the application" },
    { name: "stop", schema: command, text: "command stopping the application" },
    { name: "check", schema: command, text: "status command: exit 0 = up, 1 = down, other = warn" },
    { name: "timeout", schema: kw.duration(), default: "60s", text: "time limit of each command" },
  ],
  label: (v) => v.start ?? v.check ?? "",
  create: async (ctx, res, log) => new (await import("./app.js")).AppScripts(ctx, res, log),
};
