// Thin CLI wiring: parse the command line, call the library, print, choose the
// exit code. Heavy modules (docker, status evaluation) load only when needed.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { SvcmgrError, UsageError, errorMessage, errorText } from "../util/errors.js";
import { nodeConfFile, nodeName, resolvePaths, type Paths } from "../util/paths.js";
import { humanSink } from "../util/log.js";
import { ServiceManager } from "../core/manager.js";
import type { RemoteCli } from "./remote.js";
import { MULTI_WORD, actionWord, normalizeArgv, throughAgent } from "./argv.js";
import { suggest } from "../util/suggest.js";
import { mayNeedExtraCa, runAgainWithExtraCa } from "./deferred-ca.js";
import { dropOutputToClosedPipe } from "./output.js";
import { actionTable, useColor, type ActionSpec, type CliOptions } from "./actions.js";

const VERSION = "0.1.0";

/** the action this process ran (svcmon: "svcmon"), for the launcher's code cache (bin/load-bundle.cjs) */
let ran: string | undefined;
export const actionRan = (): string | undefined => ran;

export const launcherPath = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/svcmgr.js");

/** a multi-word action's second spelling: print_status is also print-status */
const actionAlias = (name: string): string | undefined => (name.includes("_") ? name.replace("_", "-") : undefined);

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option("-s, --service <selector>", "services: names and globs, comma separated (app1.*,app2.prd)")
    .option("--status <states>", "only services whose overall status is one of these (up,warn,down,n/a)")
    .option("--all", "act on every service (needed by state-changing actions without -s or --status)")
    // no defaults here: optsWithGlobals() would let the program's default hide the action's value
    .option("--waitlock <seconds>", "how long to wait for another action on the same service (default: 60)")
    .option("--parallel", "act on the selected services at once instead of one after the other")
    .addOption(new Option("--color <when>", "colorize output (default: auto)").choices(["auto", "always", "never"]));
}

/**
 * The program, with only the action this command line names when it names
 * one (commander builds each action's options when it is registered: ~3 ms
 * for all of them, at every start); with all of them for help, a misspelled
 * action or a first word alone; with none for `--version` alone.
 */
function buildProgram(paths: Paths, out: { code: number }, args: readonly string[]): Command {
  const program = addCommonOptions(new Command("svcmgr"))
    .description("host service manager for Docker: one INI file per service, ordered start and stop, rollback, status, a private docker daemon per service")
    .version(VERSION, "--version")
    .usage("[-s SELECTOR] [--status up,warn,...] ACTION [options]")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText("after", "\nMulti-word actions may be written with a space or an underscore: print status = print_status.\nExit codes: 0 success, 1 an action failed, 2 usage or configuration error.");
  const word = actionWord(args);
  const named = actionTable.find((spec) => spec.name === word || actionAlias(spec.name) === word);
  if (named) registerAction(program, named, paths, out);
  else if (word !== undefined || !args.includes("--version")) {
    for (const spec of actionTable) registerAction(program, spec, paths, out);
    registerFirstWords(program);
  }
  return program;
}

/** `print`, `validate`, `edit` alone or with a misspelled second word: name the multi-word actions they begin. */
function registerFirstWords(program: Command): void {
  for (const first of new Set([...MULTI_WORD].map((a) => a.split("_")[0]!))) {
    const seconds = [...MULTI_WORD].filter((a) => a.startsWith(`${first}_`)).map((a) => a.slice(first.length + 1));
    program
      .command(first, { hidden: true })
      .argument("[words...]")
      .allowUnknownOption()
      .helpOption(false)
      .action((words: string[]) => {
        const typed = [first, ...words.slice(0, 1)].join(" ");
        const hint = words[0] === undefined ? undefined : suggest(words[0], seconds);
        const choices = (hint ? [hint] : seconds).map((w) => `${first} ${w}`);
        throw new UsageError(`unknown action "${typed}": did you mean ${choices.join(" or ")}?`);
      });
  }
}

function registerAction(program: Command, spec: ActionSpec, paths: Paths, out: { code: number }): void {
  const cmd = addCommonOptions(program.command(spec.name).description(spec.summary)).exitOverride();
  const alias = actionAlias(spec.name);
  if (alias) cmd.alias(alias);
  spec.configure?.(cmd);
  cmd.action(async (...args: unknown[]) => {
    ran = spec.name;
    const command = args[args.length - 1] as Command;
    const opts = command.optsWithGlobals<CliOptions>();
    const manager = new ServiceManager({ paths, nodename: nodeName(process.env), env: process.env, logSinks: [humanSink(process.stdout, { color: useColor(opts) })] });
    await attachCluster(manager, paths);
    let remote: Promise<RemoteCli | undefined> | undefined;
    const connect = () => (remote ??= throughAgent() ? import("./remote.js").then((m) => m.RemoteCli.connect(paths)) : Promise.resolve(undefined));
    out.code = await spec.run({ paths, manager, remote: connect, opts, args: command.args, launcher: launcherPath() });
  });
}

function buildSvcmon(paths: Paths, out: { code: number }): Command {
  return new Command("svcmon")
    .description("one row per service: the status of each resource group, avail, overall, frozen")
    .version(VERSION, "--version")
    .option("-s, --service <selector>", "services: names and globs, comma separated")
    .option("--refresh", "evaluate every service now instead of reading the status cache")
    .option("--watch", "redraw every few seconds until interrupted")
    .option("--interval <seconds>", "redraw period of --watch", "2")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .addOption(new Option("--color <when>", "colorize output").choices(["auto", "always", "never"]).default("auto"))
    .exitOverride()
    .action(async (opts: CliOptions) => {
      ran = "svcmon";
      const { runSvcmon } = await import("./svcmon.js");
      out.code = await runSvcmon(paths, opts);
    });
}

/** node.conf with [cluster] (SPEC §12): the manager writes cluster configs through etcd. Loaded only then. */
async function attachCluster(manager: ServiceManager, paths: Paths): Promise<void> {
  if (!fs.existsSync(nodeConfFile(paths))) return;
  await (await import("./commands/cluster-actions.js")).attachCluster(manager, paths);
}

/** `deferredCa`: the launcher kept NODE_EXTRA_CA_CERTS from this node's start-up (see deferred-ca.ts). */
export async function main(argv: readonly string[], launch: { deferredCa?: string | undefined } = {}): Promise<number> {
  const { program: which, args } = normalizeArgv(argv[1] ?? "svcmgr", argv.slice(2));
  dropOutputToClosedPipe();
  const paths = resolvePaths();
  if (launch.deferredCa !== undefined && mayNeedExtraCa(paths)) return runAgainWithExtraCa(argv);
  const out = { code: 0 };
  const program = which === "svcmon" ? buildSvcmon(paths, out) : buildProgram(paths, out, args);
  program.configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => write(s) });
  if (which === "svcmgr" && args.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(args, { from: "user" });
    return out.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      return 2; // commander already printed the message (unknown option, action, missing value)
    }
    if (e instanceof SvcmgrError) {
      process.stderr.write(errorText(e, program.name()));
      return e.exitCode;
    }
    process.stderr.write(`${program.name()}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : errorMessage(e)}\n`);
    return 1;
  }
}
