// What every command handler shares: the parsed options, the input a handler
// gets (the manager among it), and the parsers of option values.
import type { Command } from "commander";
import { SvcmgrError, UsageError, errorText } from "../util/errors.js";
import type { Paths } from "../util/paths.js";
import { START_ORDER, type ResourceGroup } from "../config/groups.js";
import type { Selection } from "../service/planner.js";
import type { ActResult, ServiceManager } from "../core/manager.js";
import { formatPlan } from "../service/planner.js";
import type { RemoteCli } from "./remote.js";

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
  /** cluster requests: the node to switch to, how long to follow (seconds) */
  to?: string;
  wait?: string;
}

export interface ActionInput {
  paths: Paths;
  manager: ServiceManager;
  /** the agent's team sockets, for a user who is not root while the agent runs (else undefined: work directly) */
  remote(): Promise<RemoteCli | undefined>;
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

export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
export const list = (s: string | undefined): string[] | undefined => s?.split(",").map((x) => x.trim()).filter(Boolean);

export function useColor(opts: CliOptions): boolean {
  return opts.color === "always" || ((opts.color ?? "auto") === "auto" && process.stdout.isTTY === true && !process.env.NO_COLOR);
}

/** `--format table|json`: anything else is a usage error, not a silent table. */
export const formatOption = (cmd: Command) => cmd.createOption("--format <format>", "table or json").choices(["table", "json"]).default("table");

/** A whole number given on the command line (`--lines 20`). */
export function count(option: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${option} ${value}: expected a whole number`);
  return Number(value);
}

export function waitMs(opts: CliOptions): number {
  const n = Number(opts.waitlock ?? "60");
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--waitlock ${opts.waitlock}: expected a number of seconds`);
  return n * 1000;
}

export function selection(opts: CliOptions, group?: ResourceGroup): Selection {
  const rids = list(opts.rid);
  for (const r of rids ?? []) {
    if (!/^[a-z]+(#[A-Za-z0-9_-]+)?$/.test(r)) throw new UsageError(`--rid ${r}: not a resource id (e.g. container#1) or a driver group (${START_ORDER.join(", ")})`);
  }
  if (group && rids?.some((r) => r !== group && !r.startsWith(`${group}#`))) {
    throw new UsageError(`--rid ${opts.rid}: the ${group} actions act on ${group} resources only`);
  }
  return { rids: group && !rids ? [group] : rids, tags: list(opts.tags), subsets: list(opts.subsets) };
}

/** The services a command applies to (-s, --status, --all), a bad --waitlock refused first. */
export function selectServices(input: ActionInput, stateChanging: boolean): Promise<string[]> {
  waitMs(input.opts);
  return input.manager.select({ selector: input.opts.service, status: list(input.opts.status), all: input.opts.all, stateChanging });
}

/** -s names several services or a glob, or is absent: a mass action. */
export const isMass = (opts: CliOptions): boolean => opts.service === undefined || /[*?,]/.test(opts.service);

/** Print one service's action result as the CLI always has; its exit code. */
export function reportResult(r: ActResult, dryRun: boolean): number {
  if (r.kind === "frozen") {
    process.stdout.write(`${r.service}: frozen, skipped (thaw it or use --force)\n`);
    return 0;
  }
  if (r.kind === "error") {
    process.stderr.write(errorText(r.thrown, r.service));
    return r.thrown.exitCode;
  }
  if (dryRun) for (const p of r.plans) process.stdout.write(formatPlan(r.service, p)); // --dry-run
  return r.ok ? 0 : 1;
}

/** Run fn on each service, one after the other; an expected error on one is printed and does not stop the others. */
export async function forEachService(names: string[], fn: (name: string) => Promise<number>): Promise<number> {
  let code = 0;
  for (const n of names) {
    try {
      code = Math.max(code, await fn(n));
    } catch (e) {
      if (!(e instanceof SvcmgrError)) throw e;
      process.stderr.write(errorText(e, n));
      code = Math.max(code, e.exitCode);
    }
  }
  return code;
}
