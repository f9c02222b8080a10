// The planner: a pure function from a service's resources, an action and the
// selectors to an ordered plan (SPEC §6).
import { UsageError } from "../util/errors.js";
import { compareRids } from "../util/natural.js";
import { START_ORDER, isResourceGroup, type ResourceGroup } from "../config/groups.js";

export type PlanAction = "start" | "stop";

export interface PlanResource {
  rid: string;
  group: ResourceGroup;
  subset: string | undefined;
  tags: readonly string[];
  disabled: boolean;
  /** sorts before the rid inside a set: a filesystem's mount point, so nested mounts go up in path order */
  order?: string;
}

export interface PlanSubset {
  group: ResourceGroup;
  name: string;
  parallel: boolean;
}

export interface Selection {
  /** resource ids (container#1) or driver groups (container) */
  rids?: readonly string[];
  /** tag expressions: each element is an "or" term; "a+b" within a term means a and b */
  tags?: readonly string[];
  subsets?: readonly string[];
}

export interface PlanStage {
  group: ResourceGroup;
  /** undefined for the resources of the group that belong to no subset */
  subset: string | undefined;
  parallel: boolean;
  rids: string[];
}

export interface Plan {
  action: PlanAction;
  stages: PlanStage[];
}

export function isSelectionEmpty(sel: Selection): boolean {
  return !sel.rids?.length && !sel.tags?.length && !sel.subsets?.length;
}

/** A selection as the CLI's options say it: `--rid a,b --tags t`. */
export function describeSelection(sel: Selection): string {
  return [
    sel.rids?.length ? `--rid ${sel.rids.join(",")}` : "",
    sel.tags?.length ? `--tags ${sel.tags.join(",")}` : "",
    sel.subsets?.length ? `--subsets ${sel.subsets.join(",")}` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

/** The resources matching every given filter (rids, tags, subsets intersect). Disabled resources never match. */
export function selectResources<R extends PlanResource>(resources: readonly R[], sel: Selection): R[] {
  for (const rid of sel.rids ?? []) {
    const known = isResourceGroup(rid) || resources.some((r) => r.rid === rid);
    if (!known) {
      throw new UsageError(`--rid ${rid}: no such resource (resources: ${resources.map((r) => r.rid).sort(compareRids).join(", ") || "none"})`);
    }
  }
  const tagTerms = (sel.tags ?? []).map((t) => t.split("+").filter(Boolean));
  const picked = resources.filter(
    (r) =>
      !r.disabled &&
      (!sel.rids?.length || sel.rids.some((x) => x === r.rid || x === r.group)) &&
      (!tagTerms.length || tagTerms.some((all) => all.every((t) => r.tags.includes(t)))) &&
      (!sel.subsets?.length || (r.subset !== undefined && sel.subsets.includes(r.subset))),
  );
  if (picked.length === 0 && !isSelectionEmpty(sel)) {
    throw new UsageError(`no resource matches ${describeSelection(sel)}`);
  }
  return picked;
}

const byOrderThenRid = (a: PlanResource, b: PlanResource): number => compareRids(a.order ?? "", b.order ?? "") || compareRids(a.rid, b.rid);

function stagesInStartOrder(resources: readonly PlanResource[], subsets: readonly PlanSubset[]): PlanStage[] {
  const stages: PlanStage[] = [];
  for (const group of START_ORDER) {
    const members = resources.filter((r) => r.group === group);
    const loose = members.filter((r) => r.subset === undefined).sort(byOrderThenRid).map((r) => r.rid);
    if (loose.length) stages.push({ group, subset: undefined, parallel: false, rids: loose });
    // SPEC §6: subsets in alphanumeric order (plain string order: "10late" before "9early"), resources in natural order
    const names = [...new Set(members.flatMap((r) => (r.subset === undefined ? [] : [r.subset])))].sort();
    for (const name of names) {
      const rids = members.filter((r) => r.subset === name).sort(byOrderThenRid).map((r) => r.rid);
      const parallel = subsets.some((s) => s.group === group && s.name === name && s.parallel);
      stages.push({ group, subset: name, parallel, rids });
    }
  }
  return stages;
}

/** Start: ip → disk → fs → container → app, loose resources then subsets; stop: the exact reverse. */
export function planAction(
  resources: readonly PlanResource[],
  subsets: readonly PlanSubset[],
  action: PlanAction,
  sel: Selection = {},
): Plan {
  const stages = stagesInStartOrder(selectResources(resources, sel), subsets);
  if (action === "start") return { action, stages };
  return { action, stages: stages.reverse().map((s) => ({ ...s, rids: [...s.rids].reverse() })) };
}

export function formatPlan(svc: string, plan: Plan): string {
  if (plan.stages.length === 0) return `${svc}: nothing to ${plan.action}\n`;
  const lines = [`${svc}: ${plan.action} plan`];
  plan.stages.forEach((s, i) => {
    const what = s.subset === undefined ? s.group : `${s.group} subset ${s.subset}`;
    const how = s.rids.length > 1 ? (s.parallel ? "in parallel" : "one after the other") : "";
    lines.push(`  ${String(i + 1).padStart(2)}. ${what}${how ? ` (${how})` : ""}: ${s.rids.join(" ")}`);
  });
  return lines.join("\n") + "\n";
}
