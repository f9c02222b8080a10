// /metrics in Prometheus text format (prom-client): the status of every service
// and resource (one series per state, 1 for the current one), restarts,
// actions by outcome and their durations. One registry per agent, no default
// process metrics' global state shared with anything else.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { STATUSES, type ServiceStatus } from "../status/status.js";

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly serviceStatus: Gauge;
  private readonly resourceStatus: Gauge;
  readonly restarts: Counter;
  readonly actions: Counter;
  readonly actionDuration: Histogram;

  constructor(private readonly statuses: () => Iterable<ServiceStatus>) {
    const registers = [this.registry];
    this.serviceStatus = new Gauge({
      name: "svcmgr_service_status",
      help: "1 for the overall status the service is in, 0 for the others",
      labelNames: ["service", "status"],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) for (const st of STATUSES) this.set({ service: s.name, status: st }, s.overall === st ? 1 : 0);
      },
    });
    this.resourceStatus = new Gauge({
      name: "svcmgr_resource_status",
      help: "1 for the status the resource is in, 0 for the others",
      labelNames: ["service", "rid", "status"],
      registers,
      collect() {
        this.reset();
        for (const s of statuses()) for (const r of s.resources) for (const st of STATUSES) this.set({ service: s.name, rid: r.rid, status: st }, r.status === st ? 1 : 0);
      },
    });
    this.restarts = new Counter({ name: "svcmgr_restarts_total", help: "restarts of failed resources by the agent", labelNames: ["service", "rid"], registers });
    this.actions = new Counter({ name: "svcmgr_actions_total", help: "actions that ended, by outcome", labelNames: ["service", "action", "outcome"], registers });
    this.actionDuration = new Histogram({
      name: "svcmgr_action_duration_seconds",
      help: "how long actions took, from their start to their end",
      labelNames: ["service", "action"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: "svcmgr_agent_" });
  }

  /** The text, with only the series of the services `visible` lets through (a team socket's view). */
  async text(visible: (service: string) => boolean): Promise<string> {
    const all = await this.registry.metrics();
    return all
      .split("\n")
      .filter((line) => {
        const m = /^[a-z_:]+\{[^}]*\bservice="([^"]*)"/.exec(line);
        return !m || visible(m[1]!);
      })
      .join("\n");
  }
}
