// The status algebra (SPEC §7): resource states, the OpenSVC merge rules, and
// the summary of a service (groups, avail, overall). Pure functions only.
import { START_ORDER, type ResourceGroup } from "../config/groups.js";

export type { ResourceGroup } from "../config/groups.js";

export type Status = "up" | "down" | "warn" | "n/a" | "stdby up" | "stdby down" | "undef";

export const STATUSES: readonly Status[] = ["up", "down", "warn", "n/a", "stdby up", "stdby down", "undef"];

export interface StatusLogEntry {
  level: "info" | "warn" | "error";
  message: string;
}

export interface ResourceStatus {
  rid: string;
  group: ResourceGroup;
  status: Status;
  label: string;
  log: StatusLogEntry[];
  optional: boolean;
  disabled: boolean;
  monitored: boolean;
  encap: boolean;
  standby: boolean;
  subset?: string;
  tags: string[];
}

export interface ServiceStatus {
  name: string;
  serviceType: string;
  /** "hosted" */
  mode: string;
  frozen: boolean;
  avail: Status;
  overall: Status;
  sync: Status;
  hb: Status;
  groups: Record<ResourceGroup, Status>;
  resources: ResourceStatus[];
  log: StatusLogEntry[];
  /** ISO 8601 */
  updatedAt: string;
}

/**
 * Merge two states, after OpenSVC's rcStatus / om3 core/status merge table:
 * undef and n/a are neutral, warn absorbs, up+down = warn, up + stdby up = up,
 * up + stdby down = warn, stdby up + stdby down = warn.
 *
 * Departures, both forced by keeping the operation closed over these seven
 * strings and associative:
 * - down + stdby down = "stdby down" as in OpenSVC (not "down").
 * - down + stdby up = "warn". OpenSVC answers a hidden state (STDBY_UP_WITH_DOWN,
 *   printed "stdby up") that later turns into warn when an "up" joins, whereas a
 *   plain "stdby up" + up is up. A seven-valued table cannot tell the two apart:
 *   with down + stdby up = "stdby up", (down ⊕ stdby up) ⊕ up = up but
 *   down ⊕ (stdby up ⊕ up) = warn. mergeAll recovers the exact OpenSVC answer.
 */
export function mergeStatus(a: Status, b: Status): Status {
  if (a === "undef") return b;
  if (b === "undef") return a;
  if (a === "n/a") return b;
  if (b === "n/a") return a;
  if (a === b) return a;
  if (a === "warn" || b === "warn") return "warn";
  const pair = new Set([a, b]);
  if (pair.has("up") && pair.has("stdby up")) return "up";
  if (pair.has("down") && pair.has("stdby down")) return "stdby down";
  return "warn";
}

function isStandbyState(s: Status): boolean {
  return s === "stdby up" || s === "stdby down";
}

/**
 * Fold a list of states from "n/a" — the one aggregation used for groups, avail,
 * optional and overall. Exactly OpenSVC's fold: the standby states are folded
 * apart and joined last, so a stopped service whose standby resources stay up
 * reads "stdby up" (not the "warn" the binary mergeStatus would give). The result
 * does not depend on the order of the list.
 */
export function mergeAll(list: Iterable<Status>): Status {
  let primary: Status = "n/a";
  let standby: Status = "n/a";
  for (const s of list) {
    if (isStandbyState(s)) standby = mergeStatus(standby, s);
    else primary = mergeStatus(primary, s);
  }
  if (primary === "down" && standby === "stdby up") return "stdby up";
  return mergeStatus(primary, standby);
}

export function hasWarning(log: readonly StatusLogEntry[]): boolean {
  return log.some((e) => e.level === "warn" || e.level === "error");
}

/**
 * A standby resource's state, as OpenSVC's Resource.status_stdby makes it:
 * up -> "stdby up", down -> "stdby down", anything else unchanged. The one
 * place where the drivers' up/down become standby states.
 */
export function standbyStatus(status: Status, standby: boolean): Status {
  if (!standby) return status;
  if (status === "up") return "stdby up";
  if (status === "down") return "stdby down";
  return status;
}

/**
 * The state a resource contributes, from its driver's answer. Disabled
 * resources are n/a (OpenSVC shows them so); a standby one is "stdby up" or
 * "stdby down". A warn/error log entry makes the resource warn — except when it
 * is down: there the message explains the down, which must stay down (the
 * tutorial's `down` + "# can not find container id" keeps avail `down`).
 * Idempotent, so that an already summarized resource can go through it again.
 */
export function effectiveStatus(r: { status: Status; disabled: boolean; standby?: boolean; log: readonly StatusLogEntry[] }): Status {
  if (r.disabled) return "n/a";
  const status = standbyStatus(r.status, r.standby === true);
  if (status !== "down" && status !== "stdby down" && hasWarning(r.log)) return "warn";
  return status;
}

export interface AggregateInput {
  status: Status;
  optional: boolean;
  disabled: boolean;
  standby?: boolean;
  log: readonly StatusLogEntry[];
}

/**
 * The avail of a set of resources. Disabled and optional resources are left out,
 * as in OpenSVC (1.9 group_status, om3 resourceStatusEval): an optional resource
 * never moves avail at all — which keeps SPEC's "cannot make avail worse than
 * warn" — and shows in its group column and in overall instead (see summarize).
 */
export function aggregate(resources: readonly AggregateInput[]): Status {
  return mergeAll(resources.filter((r) => !r.optional).map(effectiveStatus));
}

export interface SummarizeInput {
  name: string;
  serviceType: string;
  mode: string;
  frozen: boolean;
  resources: readonly ResourceStatus[];
  /** service-level messages; a warn/error entry makes overall warn */
  log?: readonly StatusLogEntry[];
  now?: Date;
}

/**
 * Summarize a service. Resources come in with their driver's answer and come
 * back with their effective status (what the tree shows and the groups fold).
 * As OpenSVC b2.1's Svc.group_status: a group folds all its resources, optional
 * or not; avail folds the resources that are not optional; a "stdby up" group
 * stays "stdby up" (b2.1 promotes avail and the optional sum to up on a running
 * service, not the groups — which changes no printed avail nor overall).
 * overall is every resource (avail's and the optional ones) + sync + hb + the
 * service log. One departure: OpenSVC folds avail and the optional sum to their
 * printed states before it adds them up for overall, and so forgets that a
 * "stdby up" met a down resource: down + stdby up with an up resource next to
 * it (optional on the other side) reads "up" there. svcmgr folds overall from
 * the resources themselves, and says "warn".
 */
export function summarize(input: SummarizeInput): ServiceStatus {
  const resources = input.resources.map((r) => ({ ...r, status: effectiveStatus(r) }));
  const avail = aggregate(resources);
  const groups = {} as Record<ResourceGroup, Status>;
  for (const g of START_ORDER) groups[g] = mergeAll(resources.filter((r) => r.group === g).map((r) => r.status));
  const sync: Status = "n/a";
  const hb: Status = "n/a";
  const log = [...(input.log ?? [])];
  const overall = mergeAll([...resources.map((r) => r.status), sync, hb, hasWarning(log) ? "warn" : "n/a"]);
  return {
    name: input.name,
    serviceType: input.serviceType,
    mode: input.mode,
    frozen: input.frozen,
    avail,
    overall,
    sync,
    hb,
    groups,
    resources,
    log,
    updatedAt: (input.now ?? new Date()).toISOString(),
  };
}
