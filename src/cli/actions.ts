// The action table: each action's options and handler. Handlers call the
// library and print; they return the exit code. The library is imported by the
// handlers when they run, not at start-up: `--version`, `--help` and `print
// config` load neither zod (config validation), pino (log files) nor drivers.
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import pLimit from "p-limit";
import { SvcmgrError, UsageError, errorText, formatProblem } from "../util/errors.js";
import { configFile, logFile, stateDir, shortcutLink, type Paths } from "../util/paths.js";
import type { Logger } from "../util/log.js";
import { listServiceNames, resolveSelector } from "../service/names.js";
import type { ServiceConfig } from "../service/service-config.js";
import type { editConfigText } from "../service/edit.js";
import { parseIni } from "../config/ini.js";
import { acquireLock } from "../actions/lock.js";
import { START_ORDER, type ResourceGroup } from "../config/groups.js";
import type { Selection } from "../service/planner.js";
import type { Status } from "../status/status.js";

export interface CliOptions {
  service?: string;
  status?: string;
  all?: boolean;
  waitlock?: string;
  parallel?: boolean;
  color?: "auto" | "always" | "never";
  format?: "table" | "json";
  rid?: string;
  tags?: string;
  subsets?: string;
  dryRun?: boolean;
  disableRollback?: boolean;
  force?: boolean;
  kw?: string[];
  param?: string;
  value?: string;
  env?: string;
  follow?: boolean;
  refresh?: boolean;
  watch?: boolean;
  interval?: string;
  lines?: string;
  debug?: boolean;
  eval?: boolean;
}

export interface ActionInput {
  paths: Paths;
  opts: CliOptions;
  args: string[];
  launcher: string;
}

export interface ActionSpec {
  name: string;
  summary: string;
  configure?(cmd: Command): void;
  run(input: ActionInput): Promise<number>;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const list = (s: string | undefined): string[] | undefined => s?.split(",").map((x) => x.trim()).filter(Boolean);

export function useColor(opts: CliOptions): boolean {
  return opts.color === "always" || ((opts.color ?? "auto") === "auto" && process.stdout.isTTY === true && !process.env.NO_COLOR);
}

/** `--format table|json`: anything else is a usage error, not a silent table. */
const formatOption = (cmd: Command) => cmd.createOption("--format <format>", "table or json").choices(["table", "json"]).default("table");

/** A whole number given on the command line (`--lines 20`). */
export function count(option: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${option} ${value}: expected a whole number`);
  return Number(value);
}

function waitMs(opts: CliOptions): number {
  const n = Number(opts.waitlock ?? "60");
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--waitlock ${opts.waitlock}: expected a number of seconds`);
  return n * 1000;
}

function selection(opts: CliOptions, group?: ResourceGroup): Selection {
  const rids = list(opts.rid);
  for (const r of rids ?? []) {
    if (!/^[a-z]+(#[A-Za-z0-9_-]+)?$/.test(r)) throw new UsageError(`--rid ${r}: not a resource id (e.g. container#1) or a driver group (${START_ORDER.join(", ")})`);
  }
  if (group && rids?.some((r) => r !== group && !r.startsWith(`${group}#`))) {
    throw new UsageError(`--rid ${opts.rid}: the ${group} actions act on ${group} resources only`);
  }
  return { rids: group && !rids ? [group] : rids, tags: list(opts.tags), subsets: list(opts.subsets) };
}

/** The services an action applies to: -s, else every service (state-changing actions then need --status or --all). */
async function selectServices(input: ActionInput, stateChanging: boolean): Promise<string[]> {
  const { paths, opts } = input;
  waitMs(opts); // a bad --waitlock is refused before anything happens
  let names: string[];
  if (opts.service !== undefined) names = resolveSelector(paths, opts.service);
  else {
    if (stateChanging && !opts.status && !opts.all) {
      throw new UsageError("this action changes services: name them with -s, or select them with --status or --all");
    }
    names = listServiceNames(paths);
  }
  if (opts.status) {
    const wanted = list(opts.status) ?? [];
    const { statusOfMany } = await import("../core/evaluate.js");
    const statuses = await statusOfMany(paths, names, { refresh: false });
    names = names.filter((n) => wanted.includes(statuses.get(n)?.overall ?? "undef"));
  }
  return names;
}

async function serviceLogger(paths: Paths, name: string, opts: CliOptions): Promise<Logger> {
  const { Logger, fileSink, humanSink } = await import("../util/log.js");
  return new Logger([humanSink(process.stdout, { color: useColor(opts) }), fileSink(logFile(paths, name))], { svc: name });
}

/** Run fn on each service, one after the other or with --parallel; an error on one does not stop the others. */
async function forEachService(input: ActionInput, names: string[], fn: (name: string) => Promise<number>): Promise<number> {
  const limit = pLimit(input.opts.parallel ? Math.max(2, os.availableParallelism() * 2) : 1);
  const codes = await Promise.all(
    names.map((n) =>
      limit(async () => {
        try {
          return await fn(n);
        } catch (e) {
          if (!(e instanceof SvcmgrError)) throw e;
          process.stderr.write(errorText(e, n));
          return e.exitCode;
        }
      }),
    ),
  );
  return codes.reduce((a, b) => Math.max(a, b), 0);
}

function resourceAction(name: string, summary: string, group?: ResourceGroup): ActionSpec {
  const action = name.startsWith("start") ? "start" : name.startsWith("stop") ? "stop" : (name as "restart" | "boot" | "provision");
  return {
    name,
    summary,
    configure: (cmd) =>
      cmd
        .option("--rid <rids>", "resource ids or driver groups, comma separated (container#1,ip)")
        .option("--tags <tags>", "resources with these tags (t1,t2 = or; t1+t2 = and)")
        .option("--subsets <subsets>", "resources of these subsets")
        .option("--dry-run", "print the plan without acting")
        .option("--disable-rollback", "leave what was started up when a start fails")
        .option("--force", "act even on frozen services"),
    async run(input) {
      const names = action === "boot" ? await bootServices(input) : await selectServices(input, true);
      const { runServiceAction } = await import("../actions/execute.js");
      const { isFrozen } = await import("../service/repository.js");
      return forEachService(input, names, async (n) => {
        const mass = input.opts.service === undefined || /[*?,]/.test(input.opts.service);
        if (mass && isFrozen(input.paths, n) && !input.opts.force) {
          process.stdout.write(`${n}: frozen, skipped (thaw it or use --force)\n`);
          return 0;
        }
        const log = await serviceLogger(input.paths, n, input.opts);
        try {
          const ok = await runServiceAction(input.paths, n, action === "boot" ? "start" : action, {
            selection: selection(input.opts, group),
            dryRun: input.opts.dryRun === true,
            disableRollback: input.opts.disableRollback === true,
            waitMs: waitMs(input.opts),
            log,
            out: (s) => void process.stdout.write(s),
          });
          return ok ? 0 : 1;
        } finally {
          log.close();
        }
      });
    },
  };
}

async function bootServices(input: ActionInput): Promise<string[]> {
  const { nodeName } = await import("../util/paths.js");
  const { isFrozen, readServiceConfig } = await import("../service/repository.js");
  const me = nodeName();
  const names = input.opts.service ? resolveSelector(input.paths, input.opts.service) : listServiceNames(input.paths);
  return names.filter((n) => {
    const cfg = readServiceConfig(input.paths, n);
    const nodes = cfg.defaults.values.autostart_node;
    return Array.isArray(nodes) && nodes.includes(me) && !isFrozen(input.paths, n);
  });
}

function printConfigJson(cfg: ServiceConfig): unknown {
  return {
    DEFAULT: cfg.defaults.text,
    ...Object.fromEntries(cfg.resources.map((r) => [r.rid, { ...r.text }])),
    ...Object.fromEntries(cfg.subsets.map((s) => [s.section, { parallel: s.parallel }])),
  };
}

/** Edit one service's config under its config lock, so that concurrent `set`s lose no update. */
async function editConfig(input: ActionInput, name: string, change: Parameters<typeof editConfigText>[4]): Promise<void> {
  const { paths } = input;
  const { configContext, writeConfigAtomic } = await import("../service/repository.js");
  const { editConfigText } = await import("../service/edit.js");
  const lock = await acquireLock(path.join(stateDir(paths, name), "config.lock"), { action: "edit", waitMs: waitMs(input.opts) });
  try {
    const file = configFile(paths, name);
    const { text } = editConfigText(name, file, fs.readFileSync(file, "utf8"), configContext(paths, name), change);
    writeConfigAtomic(paths, name, text);
  } finally {
    lock.release();
  }
}

const statusActions: ActionSpec[] = [
  {
    name: "print_status",
    summary: "print status: the status tree of each service (--format json for machines)",
    configure: (cmd) => cmd.addOption(formatOption(cmd)).option("--refresh", "ignored: print status always evaluates live"),
    async run(input) {
      const names = await selectServices(input, false);
      const { evaluateService } = await import("../core/evaluate.js");
      const { renderStatusTree } = await import("../status/tree.js");
      const results = await Promise.all(names.map((n) => evaluateService(input.paths, n)));
      if (input.opts.format === "json") {
        process.stdout.write(JSON.stringify(names.length === 1 && input.opts.service && !/[*?,]/.test(input.opts.service) ? results[0] : results, null, 2) + "\n");
      } else {
        for (const s of results) process.stdout.write(renderStatusTree(s, { color: useColor(input.opts) }));
      }
      return 0;
    },
  },
];

export const actionTable: ActionSpec[] = [
  {
    name: "create",
    summary: "write a new service config with the implicit [DEFAULT] keywords and create its shortcut",
    configure: (cmd) =>
      cmd.option("--kw <SECTION.KEY=VALUE>", "keyword to set (repeatable)", collect).option("--env <type>", "service type: PRD, INT, DEV, TST …"),
    async run(input) {
      const name = input.opts.service;
      if (!name) throw new UsageError("create needs the service name: svcmgr create -s NAME");
      const { createService } = await import("../service/create.js");
      const names = name.split(",");
      for (const n of names) {
        const r = createService(input.paths, n, { kw: input.opts.kw, env: input.opts.env, launcher: input.launcher });
        for (const i of r.implicit) process.stdout.write(`Implicitly add [DEFAULT] ${i.key} = ${i.value}\n`);
      }
      return 0;
    },
  },
  resourceAction("start", "start the service's resources in order: ip, disk, fs, container, app", undefined),
  resourceAction("stop", "stop the service's resources in the reverse order", undefined),
  resourceAction("restart", "stop, then start", undefined),
  ...(["ip", "disk", "fs", "container", "app"] as const).flatMap((g) => [
    resourceAction(`start${g}`, `start the ${g} resources only (= start --rid ${g})`, g),
    resourceAction(`stop${g}`, `stop the ${g} resources only (= stop --rid ${g})`, g),
  ]),
  resourceAction("provision", "create what the resources need (loop disk files, filesystems) and start them", undefined),
  resourceAction("boot", "on node boot: start every service whose autostart_node is this node", undefined),
  ...statusActions,
  {
    name: "print_config",
    summary: "print config: the config as written (--format json for the parsed form)",
    configure: (cmd) => cmd.addOption(formatOption(cmd)),
    async run(input) {
      const names = await selectServices(input, false);
      if (input.opts.format === "json") {
        const { loadValidService } = await import("../service/repository.js");
        const out = Object.fromEntries(names.map((n) => [n, printConfigJson(loadValidService(input.paths, n))]));
        process.stdout.write(JSON.stringify(names.length === 1 ? out[names[0]!] : out, null, 2) + "\n");
        return 0;
      }
      for (const n of names) {
        // the file as written, valid or not: no need to parse it
        const file = configFile(input.paths, n);
        let text: string;
        try {
          text = fs.readFileSync(file, "utf8");
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`no such service: ${n} (no ${file})`);
          throw e;
        }
        process.stdout.write(text);
      }
      return 0;
    },
  },
  {
    name: "validate_config",
    summary: "validate config: check the config; one line per problem, exit 2 when invalid",
    async run(input) {
      const names = await selectServices(input, false);
      const { readServiceConfig } = await import("../service/repository.js");
      let code = 0;
      for (const n of names) {
        const cfg = readServiceConfig(input.paths, n);
        for (const p of cfg.problems) process.stderr.write(formatProblem(p) + "\n");
        if (cfg.problems.length) code = 2;
        else process.stdout.write(`${n}: valid\n`);
      }
      return code;
    },
  },
  {
    name: "get",
    summary: "print a keyword's value (--kw SECTION.KEY, or --param KEY for DEFAULT)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY>", "keyword to read", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)").option("--eval", "print the value with references expanded and defaults applied"),
    async run(input) {
      const specs = [...(input.opts.kw ?? []), ...(input.opts.param ? [`DEFAULT.${input.opts.param}`] : [])];
      if (!specs.length) throw new UsageError("get needs --kw SECTION.KEY");
      const names = await selectServices(input, false);
      const { readServiceConfig } = await import("../service/repository.js");
      const { parseKwPath, readKeyword } = await import("../service/edit.js");
      let code = 0;
      for (const n of names) {
        const cfg = readServiceConfig(input.paths, n);
        for (const spec of specs) {
          const { section, key } = parseKwPath(spec);
          const { known, value } = readKeyword(cfg, section, key, input.opts.eval === true);
          if (!known) throw new UsageError(`--kw ${spec}: unknown keyword`);
          if (value === undefined) {
            process.stderr.write(`${n}: ${spec} is not set\n`);
            code = 1;
          } else process.stdout.write(value + "\n");
        }
      }
      return code;
    },
  },
  {
    name: "set",
    summary: "set keywords (--kw SECTION.KEY=VALUE ..., or --param KEY --value VALUE)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY=VALUE>", "keyword to set (repeatable)", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)").option("--value <value>", "value for --param"),
    async run(input) {
      const { applyKeywordEdits, parseKwAssignment, parseKwPath } = await import("../service/edit.js");
      const edits = (input.opts.kw ?? []).map(parseKwAssignment);
      if (input.opts.param !== undefined) {
        if (input.opts.value === undefined) throw new UsageError("--param needs --value");
        edits.push({ ...parseKwPath(input.opts.param), value: input.opts.value });
      }
      if (!edits.length) throw new UsageError("set needs --kw SECTION.KEY=VALUE");
      const names = await selectServices(input, true);
      return forEachService(input, names, async (n) => {
        await editConfig(input, n, (doc) => applyKeywordEdits(doc, edits));
        return 0;
      });
    },
  },
  {
    name: "unset",
    summary: "remove keywords (--kw SECTION.KEY ..., or --param KEY)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY>", "keyword to remove (repeatable)", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)"),
    async run(input) {
      const { applyKeywordEdits, keywordEntry, parseKwPath } = await import("../service/edit.js");
      const { readServiceConfig } = await import("../service/repository.js");
      const edits = [...(input.opts.kw ?? []), ...(input.opts.param ? [input.opts.param] : [])].map((s) => ({ ...parseKwPath(s), value: undefined }));
      if (!edits.length) throw new UsageError("unset needs --kw SECTION.KEY");
      const names = await selectServices(input, true);
      return forEachService(input, names, async (n) => {
        const cfg = readServiceConfig(input.paths, n);
        for (const e of edits) if (!keywordEntry(cfg.doc, e.section, e.key)) throw new UsageError(`${e.section}.${e.key} is not set`);
        await editConfig(input, n, (doc) => applyKeywordEdits(doc, edits));
        return 0;
      });
    },
  },
  {
    name: "edit_config",
    summary: "edit config: open $EDITOR on the config; an invalid result is refused and the old file kept",
    async run(input) {
      const names = await selectServices(input, true);
      if (names.length !== 1) throw new UsageError("edit config works on one service: -s NAME");
      const n = names[0]!;
      const file = configFile(input.paths, n);
      const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-edit-")), path.basename(file));
      try {
        fs.copyFileSync(file, tmp);
        const editor = process.env.VISUAL || process.env.EDITOR || "vi";
        // EDITOR may carry arguments ("code -w"): split on spaces, run without a shell.
        const [cmd = "vi", ...args] = editor.split(/\s+/).filter(Boolean);
        const r = spawnSync(cmd, [...args, tmp], { stdio: "inherit" });
        if (r.status !== 0) throw new UsageError(`${editor} exited ${r.status ?? r.signal}: config unchanged`);
        const text = fs.readFileSync(tmp, "utf8");
        await editConfig(input, n, () => parseIni(text));
        process.stdout.write(`${n}: config saved\n`);
        return 0;
      } finally {
        fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
      }
    },
  },
  {
    name: "delete",
    summary: "remove the service (refused while a resource is up, unless --force); with --rid, remove those sections",
    configure: (cmd) => cmd.option("--rid <rids>", "sections to remove instead of the whole service").option("--force", "delete even if resources are up"),
    async run(input) {
      const names = await selectServices(input, true);
      const { classifySection } = await import("../service/service-config.js");
      const { removeSections } = await import("../service/edit.js");
      return forEachService(input, names, async (n) => {
        const rids = list(input.opts.rid);
        if (rids?.length) {
          for (const r of rids) if (classifySection(r).kind === "unknown" || r === "DEFAULT") throw new UsageError(`--rid ${r}: not a resource or subset section`);
          await editConfig(input, n, (doc) => removeSections(doc, rids));
          process.stdout.write(`${n}: removed ${rids.join(", ")}\n`);
          return 0;
        }
        const lock = await acquireLock(path.join(stateDir(input.paths, n), "action.lock"), { action: "delete", waitMs: waitMs(input.opts) });
        try {
          if (!input.opts.force) {
            const { evaluateService } = await import("../core/evaluate.js");
            const st = await evaluateService(input.paths, n);
            const up = st.resources.filter((r) => (["up", "warn", "stdby up"] as Status[]).includes(r.status)).map((r) => r.rid);
            if (up.length) throw new UsageError(`${n}: refusing to delete while ${up.join(", ")} ${up.length > 1 ? "are" : "is"} up: stop it first, or use --force`);
          }
          const file = configFile(input.paths, n);
          fs.rmSync(file, { force: true });
          fs.rmSync(`${file}.bak`, { force: true });
          fs.rmSync(shortcutLink(input.paths, n), { force: true });
        } finally {
          lock.release();
        }
        fs.rmSync(stateDir(input.paths, n), { recursive: true, force: true });
        process.stdout.write(`${n}: deleted\n`);
        return 0;
      });
    },
  },
  {
    name: "freeze",
    summary: "skip the service in mass actions and automatic restarts",
    async run(input) {
      const names = await selectServices(input, true);
      const { setFrozen } = await import("../service/repository.js");
      for (const n of names) process.stdout.write(`${n}: ${setFrozen(input.paths, n, true) ? "frozen" : "already frozen"}\n`);
      return 0;
    },
  },
  {
    name: "thaw",
    summary: "undo freeze",
    async run(input) {
      const names = await selectServices(input, true);
      const { setFrozen } = await import("../service/repository.js");
      for (const n of names) process.stdout.write(`${n}: ${setFrozen(input.paths, n, false) ? "thawed" : "not frozen"}\n`);
      return 0;
    },
  },
  {
    name: "logs",
    summary: "show the service's log (--follow to keep reading)",
    configure: (cmd) => cmd.option("--follow", "keep printing new lines").option("--lines <n>", "last lines only").option("--debug", "also the debug lines (status probes)"),
    async run(input) {
      const names = await selectServices(input, false);
      const { printLogs } = await import("./logs.js");
      return printLogs(input.paths, names, { follow: input.opts.follow === true, lines: input.opts.lines === undefined ? undefined : count("--lines", input.opts.lines), color: useColor(input.opts), debug: input.opts.debug === true });
    },
  },
  {
    name: "docker",
    summary: "run the docker CLI against the service's private daemon (started first if needed)",
    configure: (cmd) => cmd.argument("[args...]", "docker arguments").passThroughOptions().allowUnknownOption().helpOption(false),
    async run(input) {
      const names = input.opts.service ? resolveSelector(input.paths, input.opts.service) : [];
      if (names.length !== 1) throw new UsageError("docker needs exactly one service: svcmgr -s NAME docker ARGS...");
      const { dockerPassthrough } = await import("../drivers/container-docker/passthrough.js");
      const log = await serviceLogger(input.paths, names[0]!, input.opts);
      try {
        return await dockerPassthrough(input.paths, names[0]!, input.args, log);
      } finally {
        log.close();
      }
    },
  },
];
