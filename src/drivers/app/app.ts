// app resource: the operator's start/stop/check commands. They are split into
// words and run without a shell, so `;`, `$(...)` and backticks reach the
// program literally; whoever wants a shell writes `sh -c '...'`.
import type { ResourceConfig } from "../../config/types.js";
import { ActionError, errorMessage } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { run, type RunResult } from "../../util/run.js";
import { formatCommand, splitWords } from "../../util/shell-words.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";

type Which = "start" | "stop" | "check";

type Outcome = RunResult;

const tail = (r: RunResult, n = 5): string => (r.stdout + r.stderr).trim().split("\n").slice(-n).join("\n");

export class AppScripts implements ResourceDriver {
  private readonly timeoutMs: number;

  constructor(
    private readonly ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.timeoutMs = typeof cfg.values.timeout === "number" ? cfg.values.timeout : 60_000;
  }

  private argv(which: Which): string[] | undefined {
    const text = this.cfg.text[which];
    if (text === undefined || text.trim() === "") return undefined;
    try {
      return splitWords(text);
    } catch (e) {
      throw new ActionError(`${which} = ${text}: ${errorMessage(e)}`, this.cfg.rid);
    }
  }

  private exec(argv: string[], quiet: boolean): Promise<Outcome> {
    return run(this.log, argv, { check: false, quiet, timeoutMs: this.timeoutMs, env: { SVCMGR_SVCNAME: this.ctx.service, SVCMGR_RID: this.cfg.rid } });
  }

  private failure(argv: string[], r: Outcome): string {
    const what = r.timedOut ? `timed out after ${this.timeoutMs / 1000}s` : `exited ${r.exitCode}`;
    const out = tail(r);
    return `${formatCommand(argv)} ${what}${out ? `: ${out}` : ""}`;
  }

  /** up / down / warn from the check command's exit code; undefined without a check command. */
  private async probe(): Promise<ResourceState | undefined> {
    const argv = this.argv("check");
    if (!argv) return undefined;
    const r = await this.exec(argv, true);
    if (r.exitCode === 0) return { status: "up", log: [] };
    if (r.exitCode === 1 && !r.timedOut) return { status: "down", log: [] };
    return { status: "warn", log: [{ level: "warn", message: `check ${this.failure(argv, r)}` }] };
  }

  async status(): Promise<ResourceState> {
    try {
      return (await this.probe()) ?? { status: "n/a", log: [] };
    } catch (e) {
      return { status: "undef", log: [{ level: "error", message: errorMessage(e) }] };
    }
  }

  async start(): Promise<boolean> {
    return this.act("start", "up");
  }

  async stop(): Promise<boolean> {
    return this.act("stop", "down");
  }

  private async act(which: "start" | "stop", target: "up" | "down"): Promise<boolean> {
    const argv = this.argv(which);
    const before = await this.probe();
    if (before?.status === target) {
      this.log.info(`already ${target} (${formatCommand(this.argv("check") ?? [])} exited ${target === "up" ? 0 : 1})`);
      return false;
    }
    if (!argv) {
      this.log.info(`no ${which} command`);
      return false;
    }
    const r = await this.exec(argv, false);
    if (r.exitCode !== 0) throw new ActionError(this.failure(argv, r), this.cfg.rid);
    return true;
  }
}
