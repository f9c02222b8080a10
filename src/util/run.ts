// The one command runner: every command svcmgr runs goes through here, never
// through a shell, and is logged exactly as a line a human could paste.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { Logger } from "./log.js";
import { formatCommand } from "./shell-words.js";

export interface RunOptions {
  /** fail with CommandError on a non-zero exit (default true) */
  check?: boolean;
  timeoutMs?: number;
  /** added to (not replacing) svcmgr's own environment */
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
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    const how = result.timedOut ? "timed out" : `exited ${result.exitCode}`;
    super(`${formatCommand(result.argv)} ${how}${detail ? `: ${detail}` : ""}`);
  }
}

let seq = 0;

export async function run(log: Logger, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty command");
  const level = opts.quiet ? "debug" : "info";
  log.log(level, formatCommand(argv));
  // Output goes to files, not pipes: a command that leaves a process in the
  // background (an app's start script) must not keep us waiting for EOF.
  const out = path.join(os.tmpdir(), `svcmgr-run-${process.pid}-${++seq}`);
  try {
    const r = await execa(file, args, {
      reject: false,
      stdin: opts.input === undefined ? "ignore" : "pipe",
      input: opts.input,
      stdout: { file: `${out}.out` },
      stderr: { file: `${out}.err` },
      timeout: opts.timeoutMs,
      forceKillAfterDelay: 2000,
      env: opts.env,
    });
    const read = (f: string): string => {
      try {
        return fs.readFileSync(f, "utf8");
      } catch {
        return "";
      }
    };
    const result: RunResult = {
      argv,
      exitCode: r.exitCode ?? (r.timedOut ? 124 : 127),
      stdout: read(`${out}.out`),
      stderr: read(`${out}.err`),
      timedOut: r.timedOut,
    };
    if (r.failed && r.exitCode === undefined && !r.timedOut) result.stderr ||= r.shortMessage ?? "command failed";
    const text = result.stdout + result.stderr;
    if (text.trim()) log.log(level, `output:\n${text}`);
    if (result.timedOut) log.warn(`timed out after ${(opts.timeoutMs ?? 0) / 1000}s`);
    if ((opts.check ?? true) && result.exitCode !== 0) throw new CommandError(result);
    return result;
  } finally {
    fs.rmSync(`${out}.out`, { force: true });
    fs.rmSync(`${out}.err`, { force: true });
  }
}
