// The executor: runs the planner's plan. Subsets marked parallel run their
// members at once (bounded); a start pushes an undo step only after a real
// change, and a failed start replays those steps in reverse, going on past a
// failing step. A resource can also fail after its start returned (a
// container that exits at once, seen by the target's watch, and by its last
// look at the end of the start): once one has, no further member begins, and
// the start fails and rolls back as if that start had thrown.
import pLimit from "p-limit";
import { ActionError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { lockFile, type Paths } from "../util/paths.js";
import { ensureStateDir } from "../service/repository.js";
import { recordIntent } from "../service/intent.js";
import type { ServiceConfig } from "../config/types.js";
import type { ServiceStatus } from "../status/status.js";
import { planAction, type Plan, type PlanAction, type Selection } from "../service/planner.js";
import { ServiceRuntime } from "../service/runtime.js";
import { acquireLock } from "./lock.js";
import type { ResourceDriver } from "../drivers/driver.js";

export interface ActionOptions {
  selection: Selection;
  dryRun: boolean;
  disableRollback: boolean;
  waitMs: number;
  log: Logger;
  /** the environment the service acts in (DOCKER_HOST for the host's daemon) */
  env: Readonly<Record<string, string | undefined>>;
  /** members of a parallel subset acting at once */
  concurrency?: number;
  /** record the intended state (SPEC §9): an operator's action does, the agent's repairs do not */
  recordIntent?: boolean;
  /** checked under the lock before acting (the agent's repair: is it still wanted?); false skips the action */
  stillWanted?: () => Promise<boolean>;
  /**
   * Checked under the lock before anything starts (a cluster service: this node
   * owns it, with a valid deadline and the newest token); throws an ActionError
   * to refuse. Its fence goes to the drivers.
   */
  admit?: (action: ServiceAction) => Promise<{ fence: string } | undefined>;
}

interface UndoStep {
  rid: string;
  undo: () => Promise<unknown>;
}

export interface PlanOutcome {
  ok: boolean;
  failed: { rid: string; error: string }[];
  rolledBack: string[];
  rollbackFailed: string[];
}

/** What the executor needs of a service: its drivers, its logger, and the hook that undoes what its drivers share. ServiceRuntime is one. */
export interface PlanTarget {
  readonly log: Logger;
  drivers(): Promise<Map<string, ResourceDriver>>;
  afterRollback(): Promise<void>;
  /** resources that failed after their start returned, reported (and logged) by the target as they come */
  lateFailures?(): readonly { rid: string; error: string }[];
  /** before the next ordered start (the next member of a serial subset, the next stage): the late failures seen so far are reported */
  checkpoint?(): Promise<void>;
  /** the end of a start that went through: the last look, after which every late failure is reported */
  settleStart?(): Promise<void>;
  /** after settleStart: what this start found up and went down since (a stop still under way), to start again */
  wentDown?(): readonly string[];
}

/** Run a plan on a service. */
export async function executePlan(rt: PlanTarget, plan: Plan, opts: { rollback: boolean; concurrency?: number; provision?: boolean }): Promise<PlanOutcome> {
  const undo: UndoStep[] = [];
  const failed: PlanOutcome["failed"] = [];
  const limit = pLimit(opts.concurrency ?? 8);
  const drivers = await rt.drivers();
  const late = (): readonly { rid: string; error: string }[] => (plan.action === "start" ? (rt.lateFailures?.() ?? []) : []);
  const stopped = (): boolean => failed.length > 0 || late().length > 0;
  /** may the next ordered start begin? */
  const goOn = async (): Promise<boolean> => {
    if (plan.action === "start" && !stopped()) await rt.checkpoint?.();
    return !stopped();
  };
  if (plan.action === "start") {
    // checks that must pass before anything is touched (an address already in use)
    for (const stage of plan.stages) {
      for (const rid of stage.rids) {
        try {
          await drivers.get(rid)!.preflight?.();
        } catch (e) {
          rt.log.child({ rid }).error(errorMessage(e));
          return { ok: false, failed: [{ rid, error: errorMessage(e) }], rolledBack: [], rollbackFailed: [] };
        }
      }
    }
  }
  const one = async (rid: string): Promise<void> => {
    const d = drivers.get(rid)!;
    try {
      if (opts.provision && plan.action === "start") await d.provision?.();
      const changed = plan.action === "start" ? await d.start() : await d.stop();
      if (changed && plan.action === "start") undo.push({ rid, undo: () => d.stop() });
    } catch (e) {
      const log = rt.log.child({ rid });
      if (d.cfg.optional) {
        log.warn(`optional resource failed to ${plan.action}: ${errorMessage(e)}`);
        return;
      }
      log.error(errorMessage(e));
      failed.push({ rid, error: errorMessage(e) });
      // a start that failed half-way leaves its resource up (a container running but never healthy): undo it too
      if (plan.action === "start" && opts.rollback) {
        const st = await d.status().catch(() => undefined);
        if (st && (st.status === "up" || st.status === "warn" || st.status === "stdby up")) undo.push({ rid, undo: () => d.stop() });
      }
    }
  };
  for (const stage of plan.stages) {
    if (stage.parallel && stage.rids.length > 1) {
      if (await goOn()) await Promise.all(stage.rids.map((rid) => limit(() => one(rid))));
    } else for (const rid of stage.rids) if (await goOn()) await one(rid);
    if (stopped()) break;
  }
  if (plan.action === "start" && !stopped()) {
    await rt.settleStart?.();
    // found up, then gone down under this start (a killed stop's last containers): started again, in plan order, once
    const again = new Set(rt.wentDown?.() ?? []);
    if (again.size) {
      for (const rid of plan.stages.flatMap((s) => s.rids).filter((r) => again.has(r))) if (await goOn()) await one(rid);
      if (!stopped()) await rt.settleStart?.();
    }
  }
  // a resource that failed after its start is down: a failure, with nothing of its own to undo
  for (const l of late()) {
    if (failed.some((f) => f.rid === l.rid)) continue;
    failed.push(l);
    undo.splice(0, undo.length, ...undo.filter((u) => u.rid !== l.rid));
  }
  const rolledBack: string[] = [];
  const rollbackFailed: string[] = [];
  if (failed.length && plan.action === "start" && opts.rollback && undo.length) {
    rt.log.info(`rollback: stopping ${undo.map((u) => u.rid).reverse().join(", ")}`);
    for (const step of [...undo].reverse()) {
      try {
        await step.undo();
        rolledBack.push(step.rid);
      } catch (e) {
        rt.log.child({ rid: step.rid }).error(`rollback step failed, going on: ${errorMessage(e)}`);
        rollbackFailed.push(step.rid);
      }
    }
  }
  // what the drivers share (the docker daemon this start brought up) goes down again with them
  if (failed.length && plan.action === "start" && opts.rollback) await rt.afterRollback();
  return { ok: failed.length === 0, failed, rolledBack, rollbackFailed };
}

export function failureSummary(action: PlanAction, o: PlanOutcome): string {
  const parts = [`${action} failed: ${o.failed.map((f) => `${f.rid}: ${f.error}`).join("; ")}`];
  if (o.rolledBack.length) parts.push(`rolled back: ${o.rolledBack.join(", ")}`);
  if (o.rollbackFailed.length) parts.push(`rollback failed on: ${o.rollbackFailed.join(", ")}`);
  return parts.join("; ");
}

export type ServiceAction = PlanAction | "restart" | "provision";

export interface ServiceActionOutcome extends PlanOutcome {
  /** the plans, in order (restart: stop then start) */
  plans: Plan[];
  /** one line saying what failed and what was rolled back, when !ok */
  error?: string;
  /** the status evaluated after the action (not for a dry run) */
  status?: ServiceStatus;
  /** set when stillWanted said no: nothing was done */
  skipped?: "not wanted";
}

const planRids = (plans: Plan[], action: PlanAction): string[] => plans.filter((p) => p.action === action).flatMap((p) => p.stages.flatMap((s) => s.rids));

/** start / stop / restart / provision of one service, under its lock, the status cache written after. */
export async function runServiceAction(paths: Paths, cfg: ServiceConfig, action: ServiceAction, opts: ActionOptions): Promise<ServiceActionOutcome> {
  const name = cfg.name;
  const resources = cfg.resources.map((r) => ({ rid: r.rid, group: r.group, subset: r.subset, tags: r.tags, disabled: r.disabled, order: r.group === "fs" ? r.text.mnt : undefined }));
  // provision = a start that first creates what each resource needs (loop file, filesystem)
  const actions: PlanAction[] = action === "restart" ? ["stop", "start"] : action === "provision" ? ["start"] : [action];
  const plans = actions.map((a) => planAction(resources, cfg.subsets, a, opts.selection));
  const outcome: ServiceActionOutcome = { ok: true, plans, failed: [], rolledBack: [], rollbackFailed: [] };
  if (opts.dryRun) return outcome;
  ensureStateDir(paths, name);
  const lock = await acquireLock(lockFile(paths, name), { action, waitMs: opts.waitMs });
  const rt = new ServiceRuntime(paths, cfg, opts.log, opts.env);
  rt.killed = lock.killed;
  try {
    if (lock.tookOverFrom !== undefined) opts.log.warn(`took over the lock left by dead process ${lock.tookOverFrom}`);
    if (opts.stillWanted && !(await opts.stillWanted())) {
      outcome.skipped = "not wanted";
      return outcome;
    }
    const final = plans[plans.length - 1]!.action;
    if (opts.admit && plans.some((p) => p.action === "start")) rt.cluster = await opts.admit(action);
    // recorded before acting, under the lock: the agent never sees a stop's containers down with "up" still asked
    if (opts.recordIntent) recordIntent(paths, name, planRids(plans, final), final === "start" ? "up" : "down");
    const rollback = !opts.disableRollback && cfg.defaults.values.rollback !== false;
    for (const plan of plans) {
      const o = await executePlan(rt, plan, { rollback, concurrency: opts.concurrency, provision: action === "provision" });
      if (!o.ok) {
        Object.assign(outcome, o, { error: failureSummary(plan.action, o) });
        opts.log.error(outcome.error!);
        // a start that failed and was rolled back leaves its resources down on purpose: the agent must not fight the rollback
        if (opts.recordIntent && plan.action === "start" && rollback) recordIntent(paths, name, [...o.rolledBack, ...o.failed.map((f) => f.rid)], "down");
        break;
      }
    }
  } catch (e) {
    if (!(e instanceof ActionError)) throw e;
    Object.assign(outcome, { ok: false, error: e.message, failed: [{ rid: e.rid ?? name, error: e.message }] });
    opts.log.error(e.message);
  } finally {
    outcome.status = await rt.refreshStatusCache().catch((e: unknown) => {
      opts.log.warn(`status not evaluated: ${errorMessage(e)}`);
      return undefined;
    });
    rt.close();
    lock.release();
  }
  return outcome;
}
