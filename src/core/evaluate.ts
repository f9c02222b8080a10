// Live status evaluation and the status cache svcmon reads.
import fs from "node:fs";
import pLimit from "p-limit";
import { configFile, statusCacheFile, type Paths } from "../util/paths.js";
import { Logger } from "../util/log.js";
import { formatProblem } from "../util/errors.js";
import { isFrozen, readServiceConfig } from "../service/repository.js";
import { ServiceRuntime, writeStatusCache } from "../service/runtime.js";
import { summarize, type ServiceStatus } from "../status/status.js";

/** A cache entry older than this is re-evaluated by svcmon. */
export const CACHE_TTL_MS = 60_000;

export interface EvaluateOptions {
  nodename?: string;
  env?: Readonly<Record<string, string | undefined>>;
  log?: Logger;
}

export async function evaluateService(paths: Paths, name: string, opts: EvaluateOptions = {}): Promise<ServiceStatus> {
  const cfg = readServiceConfig(paths, name, opts.nodename);
  if (cfg.problems.length) {
    // An invalid config still shows up, as a warning naming the problems.
    const status = summarize({
      name,
      serviceType: cfg.defaults.values.service_type ?? "TST",
      mode: "hosted",
      frozen: isFrozen(paths, name),
      resources: [],
      log: cfg.problems.map((p) => ({ level: "error" as const, message: `invalid config: ${formatProblem(p)}` })),
    });
    await writeStatusCache(paths, status).catch(() => false); // a reader never fails for a cache it cannot write
    return status;
  }
  const rt = new ServiceRuntime(paths, cfg, opts.log ?? new Logger([], { svc: name }), opts.env ?? {});
  try {
    return await rt.refreshStatusCache();
  } finally {
    rt.close();
  }
}

export function readStatusCache(paths: Paths, name: string): { status: ServiceStatus; fresh: boolean } | undefined {
  const file = statusCacheFile(paths, name);
  try {
    const st = fs.statSync(file);
    const status = JSON.parse(fs.readFileSync(file, "utf8")) as ServiceStatus & { evaluationStart?: number };
    delete status.evaluationStart; // the cache's own bookkeeping, not part of the status
    const cfgMtime = fs.statSync(configFile(paths, name)).mtimeMs;
    const fresh = st.mtimeMs >= cfgMtime && Date.now() - st.mtimeMs < CACHE_TTL_MS;
    status.frozen = isFrozen(paths, name);
    return { status, fresh };
  } catch {
    return undefined;
  }
}

/** Status of many services: the cache first, stale or missing entries evaluated in parallel. */
export async function statusOfMany(paths: Paths, names: readonly string[], opts: { refresh: boolean; concurrency?: number } & EvaluateOptions): Promise<Map<string, ServiceStatus>> {
  const out = new Map<string, ServiceStatus>();
  const stale: string[] = [];
  for (const n of names) {
    const cached = opts.refresh ? undefined : readStatusCache(paths, n);
    if (cached?.fresh) out.set(n, cached.status);
    else stale.push(n);
  }
  const limit = pLimit(opts.concurrency ?? 16);
  await Promise.all(stale.map((n) => limit(async () => void out.set(n, await evaluateService(paths, n, opts)))));
  return new Map(names.map((n) => [n, out.get(n)!]));
}
