// The one command runner: every command svcmgr runs goes through here, never
// through a shell, and is logged exactly as a line a human could paste.
import { execa } from "execa";
import type { Logger } from "./log.js";
import { formatCommand } from "./shell-words.js";

export interface RunOptions {
  /** fail with CommandError on a non-zero exit (default true) */
  check?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** read-only probes (status checks) are logged at debug level */
  quiet?: boolean;
}

export interface RunResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    super(`${formatCommand(result.argv)} exited ${result.exitCode}${detail ? `: ${detail}` : ""}`);
  }
}

export async function run(log: Logger, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty command");
  const level = opts.quiet ? "debug" : "info";
  log.log(level, formatCommand(argv));
  const r = await execa(file, args, {
    reject: false,
    stdin: opts.input === undefined ? "ignore" : "pipe",
    input: opts.input,
    timeout: opts.timeoutMs,
    env: opts.env,
    extendEnv: opts.env === undefined,
    stripFinalNewline: false,
  });
  const result: RunResult = {
    argv,
    exitCode: r.exitCode ?? (r.failed ? 127 : 0),
    stdout: typeof r.stdout === "string" ? r.stdout : "",
    stderr: typeof r.stderr === "string" ? r.stderr : "",
  };
  if (r.failed && r.exitCode === undefined) result.stderr ||= r.shortMessage ?? "command failed";
  const out = result.stdout + result.stderr;
  if (out.trim()) log.log(level, `output:\n${out}`);
  if ((opts.check ?? true) && result.exitCode !== 0) throw new CommandError(result);
  return result;
}
