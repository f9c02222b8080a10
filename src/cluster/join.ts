// The checks before a node joins its cluster (SPEC §12, issue "bad input"):
// an etcd that nobody answers for, endpoints of two different etcd clusters,
// an etcd that is not the one this node joined before. Each is a clear error
// naming node.conf's line, and nothing is started. Also: the lease of this
// node's previous agent, adopted when it is still alive (a restarted agent
// does not make its services move).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import type { Paths } from "../util/paths.js";
import type { KeyValue } from "./etcd.js";
import type { ClusterStore } from "./store.js";

const recordFile = (p: Paths): string => path.join(p.var, "_agent", "etcd-cluster-id");

export function recordEtcdCluster(paths: Paths, id: string | undefined): void {
  if (id) fs.writeFileSync(recordFile(paths), `${id}\n`, { mode: 0o644 });
}

/** Resolves the lease of this node's previous agent when it may be adopted. Throws ConfigError. */
export async function checkJoin(store: ClusterStore, paths: Paths, log: Logger): Promise<string | undefined> {
  const cfg = store.cfg;
  const line = cfg.lines.etcd_endpoints ?? cfg.lines.cluster ?? 0;
  const fail = (message: string): never => {
    throw new ConfigError([{ file: cfg.file, line, section: "cluster", key: "etcd_endpoints", message }]);
  };
  const answers = await Promise.all(
    cfg.endpoints.map(async (ep) => {
      try {
        const st = await store.client.status(ep, 2000);
        return { ep, id: st.header.clusterId, leader: st.leader };
      } catch (e) {
        return { ep, error: errorMessage(e) };
      }
    }),
  );
  const up = answers.filter((a): a is { ep: string; id: string; leader: string } => "id" in a);
  if (!up.length) fail(`no etcd member answers: ${answers.map((a) => `${a.ep}: ${"error" in a ? a.error : "?"}`).join("; ")}`);
  for (const a of answers) if ("error" in a) log.warn(`etcd member ${a.ep} does not answer (${a.error})`);
  const ids = [...new Set(up.map((a) => a.id))];
  if (ids.length > 1) fail(`these endpoints belong to different etcd clusters: ${up.map((a) => `${a.ep} is cluster ${a.id}`).join(", ")}`);
  let before: string | undefined;
  try {
    before = fs.readFileSync(recordFile(paths), "utf8").trim();
  } catch {
    before = undefined;
  }
  if (before && before !== ids[0]) fail(`etcd at ${up[0]!.ep} is cluster ${ids[0]}, not the etcd cluster ${before} this node joined before (a wrong endpoint? remove ${recordFile(paths)} if the etcd cluster was rebuilt)`);
  if (!up.some((a) => a.leader !== "0")) fail(`the etcd members answer but have no leader: ${up.map((a) => a.ep).join(", ")}`);
  // a linearizable read: the cluster has a quorum
  await store.client.range(store.keys.root, { deadlineMs: 3000 }).catch((e: unknown) => fail(`etcd has no quorum: ${errorMessage(e)}`));
  let lease: string | undefined;
  try {
    lease = fs.readFileSync(path.join(paths.var, "_agent", "lease"), "utf8").trim() || undefined;
  } catch {
    lease = undefined;
  }
  if (!lease) return undefined;
  const mine = await store.client.get(store.keys.node(cfg.self)).catch(() => undefined);
  return mine?.lease === lease ? lease : undefined;
}

/**
 * The node key on `lease`: created (create_revision == 0), or taken over when
 * it is this root's own on an older lease (a lease that ended and whose keys
 * etcd has not removed yet, a predecessor's). Held by another agent (another
 * host or root): the error says who, naming node.conf's [cluster] line.
 */
export async function registerNode(store: ClusterStore, lease: string, paths: Paths): Promise<{ ok: true } | { ok: false; error: ConfigError }> {
  const cfg = store.cfg;
  const key = store.keys.node(cfg.self);
  const value = JSON.stringify({ host: os.hostname(), root: paths.var, pid: process.pid, since: new Date().toISOString() });
  let cur: KeyValue | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await store.client.txn(
      [cur ? { key, target: "MOD", modRevision: cur.modRevision } : { key, target: "CREATE", createRevision: 0 }],
      [{ put: { key, value, lease } }],
      [{ range: { key } }],
    );
    if (r.succeeded) return { ok: true };
    cur = r.ranges[0]?.[0];
    if (!cur) continue; // gone meanwhile: create it
    const rec = JSON.parse(cur.value) as { host?: string; root?: string };
    if (cur.lease !== lease && (rec.host !== os.hostname() || rec.root !== paths.var)) break;
  }
  const rec = cur ? (JSON.parse(cur.value) as { host?: string; root?: string; pid?: number }) : {};
  return {
    ok: false,
    error: new ConfigError([
      {
        file: cfg.file,
        line: cfg.lines.cluster ?? 0,
        section: "cluster",
        message: `node ${cfg.self} is already in cluster ${cfg.name}: an agent on host ${rec.host ?? "?"} (root ${rec.root ?? "?"}, pid ${rec.pid ?? "?"}) holds that name; two nodes cannot have the same name`,
      },
    ]),
  };
}
