// What runs where in the cluster rig (test/support/cluster-rig.ts): asked of
// each node's private dockerd for the service, by its unix socket (a path,
// so reachable from the host's namespace), with a short deadline; sampled
// continuously to catch two nodes running a failover service at once.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface Sample {
  /** Date.now() when the sample was taken */
  t: number;
  nodes: string[];
  /** nodes whose dockerd did not answer in time */
  unknown: string[];
}

export interface Sampler {
  /** the samples so far (the same array stop() returns) */
  samples: Sample[];
  /** stop after one more sample begun after this call (the last sample is the state since); overlaps = samples with more than one node */
  stop(): Promise<{ samples: Sample[]; overlaps: number }>;
}

/** GET a JSON answer on a unix socket; rejects with "timeout" when nothing answers in time. */
export function unixGetJson(socketPath: string, urlPath: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: urlPath, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    });
    const timer = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** running: a container of svc runs (or is paused) on the node's <root>/var/<svc>/docker.sock; a dead or missing socket is not running. */
export async function runningOnDetail(nodes: readonly { name: string; root: string }[], svc: string, timeoutMs = 1000): Promise<{ running: string[]; unknown: string[] }> {
  const states = await Promise.all(
    nodes.map(async (n) => {
      const sock = path.join(n.root, "var", svc, "docker.sock");
      if (!fs.existsSync(sock)) return "down";
      try {
        const list = (await unixGetJson(sock, "/containers/json", timeoutMs)) as { State?: string }[];
        return list.some((c) => c.State === "running" || c.State === "paused") ? "running" : "down";
      } catch (e) {
        return (e as Error).message === "timeout" ? "unknown" : "down";
      }
    }),
  );
  const having = (s: string) => nodes.filter((_, i) => states[i] === s).map((n) => n.name);
  return { running: having("running"), unknown: having("unknown") };
}

export function startSampler(probe: () => Promise<{ running: string[]; unknown: string[] }>, everyMs: number): Sampler {
  const samples: Sample[] = [];
  let stopAt: number | undefined;
  const loop = (async () => {
    for (;;) {
      const t = Date.now();
      const d = await probe();
      samples.push({ t, nodes: d.running, unknown: d.unknown });
      if (stopAt !== undefined && t >= stopAt) return;
      await sleep(Math.max(0, everyMs - (Date.now() - t)));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopAt = Date.now();
      await loop;
      return { samples, overlaps: samples.filter((s) => s.nodes.length > 1).length };
    },
  };
}
