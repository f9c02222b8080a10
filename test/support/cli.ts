// Run the built svcmgr launcher as a user would (the file itself, by its
// name or a shortcut's: /bin/sh reads its first lines), in a root of its own.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const LAUNCHER = path.resolve(import.meta.dirname, "../../bin/svcmgr.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliRoot {
  readonly root: string;
  constructor(prefix = "svc-cli-", readonly nodename = "deb1.opensvc.com") {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, SVCMGR_ROOT: this.root, SVCMGR_NODENAME: this.nodename, NO_COLOR: "1" };
    delete env.DOCKER_HOST;
    return env;
  }

  /** Run a program by the name it is invoked as: svcmgr, svcmon, allupservices, or a service shortcut. */
  run(args: string[], opts: { as?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
    const program = this.program(opts.as);
    const r = spawnSync(program, args, { env: { ...this.env, ...opts.env }, encoding: "utf8", input: opts.input });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  runAsync(args: string[], opts: { as?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    const child = spawn(this.program(opts.as), args, { env: { ...this.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  }

  /** the path of the program invoked by that name: the launcher, a shortcut, or a link to the launcher */
  program(as: string | undefined): string {
    if (!as || as === "svcmgr") return LAUNCHER;
    const shortcut = path.join(this.root, "bin", as);
    if (fs.existsSync(shortcut)) return shortcut;
    const link = path.join(this.root, "links", as);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync(LAUNCHER, link);
    return link;
  }

  file(rel: string): string {
    return path.join(this.root, rel);
  }

  read(rel: string): string {
    return fs.readFileSync(this.file(rel), "utf8");
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The tutorial text of a block, without its 8-space indentation. */
export function dedent(text: string): string {
  return text.replace(/^\n/, "").split("\n").map((l) => l.replace(/^ {8}/, "")).join("\n");
}

/** Is this process still running (not gone, not a zombie waiting to be reaped)? */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Like `command | head -1`: the command's first output is read and, once
 * it has been quiet for 250 ms (a log's backlog may come in several reads),
 * its stdout pipe closed; `runningAfterClose` says whether it still ran
 * 300 ms later; `meanwhile` runs then (something that makes it write again).
 * Resolves with its exit code (null: killed) and stderr. Its process group
 * is killed when it has not exited 10 s after each step, and always by the
 * end, so a test that fails leaves nothing running.
 */
export async function readFirstThenClose(argv: string[], env: NodeJS.ProcessEnv, meanwhile = (): void => {}): Promise<{ code: number | null; stderr: string; runningAfterClose: boolean }> {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone already
    }
  };
  const within = <T>(p: Promise<T>): Promise<T | undefined> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 10_000)));
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };
  try {
    const printed = await within(Promise.race([new Promise<true>((resolve) => child.stdout.once("data", () => resolve(true))), exited.then(() => false)]));
    if (!printed) return { code: null, stderr: `${stderr}(no output ${printed === false ? "before it exited" : "within 10 s"})`, runningAfterClose: false };
    // only what `meanwhile` makes it print is to meet the closed pipe: the rest of what it printed at once is read first
    let quiet: ReturnType<typeof setTimeout> | undefined;
    await within(
      new Promise<void>((resolve) => {
        const again = (): void => {
          clearTimeout(quiet);
          quiet = setTimeout(resolve, 250);
        };
        child.stdout.on("data", again);
        again();
      }),
    );
    clearTimeout(quiet);
    child.stdout.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const runningAfterClose = running(child.pid!);
    meanwhile();
    if ((await within(exited.then(() => true))) === undefined) killGroup();
    return { code: await exited, stderr, runningAfterClose };
  } finally {
    killGroup(); // its children too (runuser's node)
  }
}
