// `create`: a new config with the implicit [DEFAULT] keywords written out.
import fs from "node:fs";
import { ConfigError, UsageError } from "../util/errors.js";
import { configFile, nodeName, type Paths } from "../util/paths.js";
import { checkServiceName, configContext, createShortcut, ensureStateDir, writeConfigAtomic } from "./repository.js";
import { applyKeywordEdits, parseKwAssignment, type KeywordEdit } from "./edit.js";
import { parseIni, serializeIni } from "../config/ini.js";
import { parseServiceConfig } from "./service-config.js";

export interface CreateResult {
  file: string;
  implicit: { key: string; value: string }[];
  shortcut: string;
}

export function createService(paths: Paths, name: string, opts: { kw?: string[]; env?: string; launcher: string; nodename?: string }): CreateResult {
  checkServiceName(name);
  const file = configFile(paths, name);
  if (fs.existsSync(file)) throw new UsageError(`service ${name} already exists (${file})`);
  const node = opts.nodename ?? nodeName();
  const explicit: KeywordEdit[] = (opts.kw ?? []).map(parseKwAssignment);
  const implicit = [
    { key: "mode", value: "hosted" },
    { key: "service_type", value: (opts.env ?? "TST").toUpperCase() },
    { key: "nodes", value: node },
    { key: "autostart_node", value: node },
  ].filter((i) => !explicit.some((e) => e.section === "DEFAULT" && (e.key === i.key || (i.key === "service_type" && e.key === "env"))));
  const edits: KeywordEdit[] = [...implicit.map((i) => ({ section: "DEFAULT", key: i.key, value: i.value })), ...explicit];
  const text = serializeIni(applyKeywordEdits(parseIni(""), edits));
  // Validate before writing anything: a bad --kw or --env creates nothing.
  const cfg = parseServiceConfig(name, file, text, configContext(paths, name, node));
  if (cfg.problems.length) throw new ConfigError(cfg.problems);
  writeConfigAtomic(paths, name, text);
  ensureStateDir(paths, name);
  const shortcut = createShortcut(paths, name, opts.launcher);
  return { file, implicit, shortcut };
}
