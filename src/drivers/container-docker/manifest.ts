import { z } from "zod";
import { kw, type KeywordDef } from "../../config/keyword.js";
import type { DriverManifest } from "../driver.js";
import { runArgsErrors } from "./run-args.js";
import { splitWords } from "../../util/shell-words.js";

const runArgs = z.string().superRefine((s, ctx) => {
  let words: string[];
  try {
    words = splitWords(s);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return;
  }
  for (const message of runArgsErrors(words)) ctx.addIssue({ code: "custom", message });
});

const keywords: KeywordDef[] = [
  { name: "run_image", aliases: ["image"], required: true, schema: kw.nonEmpty().refine((s) => !/\s/.test(s), "an image reference has no spaces"), text: "image to run (name:tag or id)" },
  { name: "run_command", aliases: ["command"], schema: kw.string(), text: "command and arguments, split like a shell does (never run through one)" },
  { name: "run_args", schema: runArgs, default: "", text: "docker run options, as `docker run` reads them (see the table of options below)" },
  { name: "start_timeout", schema: kw.duration(), default: "60s", text: "how long to wait for the container to be up and operational" },
  { name: "stop_timeout", schema: kw.duration(), default: "10s", text: "grace period of docker stop before the container is killed" },
  { name: "rm", schema: kw.bool(), default: "false", text: "remove the container on stop" },
];

export const containerDockerManifest: DriverManifest = {
  group: "container",
  type: "docker",
  isDefault: true,
  keywords,
  label: (v) => v.run_image ?? "",
  create: async (ctx, res, log) => new (await import("./container.js")).DockerContainer(ctx, res, log),
};
