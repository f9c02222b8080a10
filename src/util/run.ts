// The one command runner: every command svcmgr runs goes through here, never
// through a shell, and is logged exactly as a line a human could paste.
import { ActionError } from "./errors.js";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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

/** A command that failed: an expected failure (exit 1, its message, no stack trace), wherever it surfaces. */
export class CommandError extends ActionError {
  constructor(readonly result: RunResult) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
    const how = result.timedOut ? "timed out" : `exited ${result.exitCode}`;
    super(`${formatCommand(result.argv)} ${how}${detail ? `: ${detail}` : ""}`);
    this.name = "CommandError";
  }
}

let seq = 0;

/** Children still running when svcmgr exits are killed, not left behind. */
const running = new Set<ChildProcess>();
let exitHook = false;

interface Exit {
  code: number | null;
  timedOut: boolean;
  error?: Error;
}

/**
 * Spawn without a shell, stdout and stderr to files, stdin ignored or fed
 * `input`; after `timeoutMs`, TERM, then KILL 2 s later. Node's own
 * child_process: execa cost ~20 ms of loading for what this needs.
 */
function spawnToFiles(file: string, args: string[], opts: RunOptions, fds: readonly [number, number]): Promise<Exit> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: [opts.input === undefined ? "ignore" : "pipe", fds[0], fds[1]], env: { ...process.env, ...opts.env } });
    } catch (e) {
      resolve({ code: null, timedOut: false, error: e as Error });
      return;
    }
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => {
        for (const c of running) c.kill("SIGKILL");
      });
    }
    running.add(child);
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
            killer = setTimeout(() => child.kill("SIGKILL"), 2000);
          }, opts.timeoutMs);
    const done = (exit: Exit): void => {
      clearTimeout(timer);
      clearTimeout(killer);
      running.delete(child);
      resolve(exit);
    };
    child.once("error", (error) => done({ code: null, timedOut, error }));
    child.once("exit", (code) => done({ code, timedOut }));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on("error", () => undefined); // a command that does not read its input
      child.stdin.end(opts.input);
    }
  });
}

/** Linux's O_TMPFILE (with O_DIRECTORY): node's fs.constants does not name it. */
const O_TMPFILE = 0o20200000;
let tmpfileWorks = true;

/**
 * A file with no name for a command's output: nothing appears in any
 * directory, and nothing is left behind if svcmgr is killed while the command
 * runs (the kernel frees it with its last descriptor). Where the file system
 * cannot make one, a named file is unlinked as soon as it is opened.
 */
function anonymousFile(): number {
  const dir = os.tmpdir();
  if (tmpfileWorks) {
    try {
      return fs.openSync(dir, fs.constants.O_RDWR | O_TMPFILE, 0o600);
    } catch {
      tmpfileWorks = false;
    }
  }
  const name = path.join(dir, `svcmgr-run-${process.pid}-${++seq}`);
  const fd = fs.openSync(name, "wx+", 0o600);
  fs.rmSync(name, { force: true });
  return fd;
}

function readAll(fd: number): string {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return "";
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = fs.readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.toString("utf8", 0, got);
}

export async function run(log: Logger, argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error("run: empty command");
  const level = opts.quiet ? "debug" : "info";
  log.log(level, formatCommand(argv));
  // Output goes to files, not pipes: a command that leaves a process in the
  // background (an app's start script) must not keep us waiting for EOF, nor
  // get SIGPIPE later when it writes to a pipe we closed.
  const fds = [anonymousFile(), anonymousFile()] as const;
  try {
    const r = await spawnToFiles(file, args, opts, fds);
    const result: RunResult = {
      argv,
      exitCode: r.code ?? (r.timedOut ? 124 : 127),
      stdout: readAll(fds[0]),
      stderr: readAll(fds[1]),
      timedOut: r.timedOut,
    };
    if (r.error) result.stderr ||= r.error.message;
    const text = result.stdout + result.stderr;
    if (text.trim()) log.log(level, `output:\n${text}`);
    if (result.timedOut) log.warn(`timed out after ${(opts.timeoutMs ?? 0) / 1000}s`);
    if ((opts.check ?? true) && result.exitCode !== 0) throw new CommandError(result);
    return result;
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}
