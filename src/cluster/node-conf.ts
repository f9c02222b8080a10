// The [cluster] section of <etc>/node.conf (SPEC §12): name, nodes,
// etcd_endpoints, lease_ttl. Checked like a service config; without the
// section, the node is on its own (SPEC §1–§11).
import { z } from "zod";
import { kw, type KeywordDef } from "../config/keyword.js";
import { checkNodeSection, readNodeConf } from "../config/node-section.js";
import { ConfigError } from "../util/errors.js";
import { nodeConfFile, type Paths } from "../util/paths.js";

export interface ClusterConfig {
  name: string;
  nodes: string[];
  /** this node's name, one of nodes */
  self: string;
  /** http://HOST:PORT, as written (the local member first, by convention) */
  endpoints: string[];
  /** ms */
  leaseTtlMs: number;
  file: string;
  /** the line of each keyword, for errors */
  lines: Record<string, number>;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** the smallest lease that leaves the owner time to stop (from lease_ttl / 2) before lease_ttl − 2 s */
const MIN_TTL_MS = 5000;

const endpointList = z.string().transform((s, ctx) => {
  const out: string[] = [];
  for (const word of s.split(/[\s,]+/).filter(Boolean)) {
    let u: URL;
    try {
      u = new URL(word);
    } catch {
      ctx.addIssue({ code: "custom", message: `"${word}" is not a URL (e.g. http://10.0.0.1:2379)` });
      continue;
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.port || (u.pathname !== "/" && u.pathname !== "")) {
      ctx.addIssue({ code: "custom", message: `"${word}" is not http(s)://HOST:PORT` });
      continue;
    }
    out.push(`${u.protocol}//${u.host}`);
  }
  if (!out.length && !s.trim()) ctx.addIssue({ code: "custom", message: "no endpoint" });
  return out;
});

export const CLUSTER_KEYWORDS: KeywordDef[] = [
  { name: "name", schema: z.string().regex(NAME, "not a cluster name (lower case letters, digits, dashes)"), required: true, text: "the cluster's name: its keys in etcd live under /svcmgr/<name>/" },
  { name: "nodes", schema: kw.list(), required: true, text: "the names of the cluster's nodes, in order" },
  { name: "etcd_endpoints", schema: endpointList, required: true, text: "client URLs of the etcd members, the local one first (http://127.0.0.1:2379 ...)" },
  {
    name: "lease_ttl",
    schema: kw.duration().pipe(z.number().min(MIN_TTL_MS, "at least 5s (an owner stops its services between lease_ttl / 2 and lease_ttl - 2s)")),
    default: "15s",
    text: "the TTL of each agent's etcd lease; a dead node's services move after it",
  },
];

/** The [cluster] section, checked; undefined when node.conf has none. Throws ConfigError. */
export function readClusterConfig(paths: Paths, self: string): ClusterConfig | undefined {
  const file = nodeConfFile(paths);
  const doc = readNodeConf(file);
  if (!doc) return undefined;
  const sec = checkNodeSection(file, doc, "cluster", CLUSTER_KEYWORDS);
  if (sec.line === undefined) return undefined;
  const { problems, lines } = sec;
  const v = sec.values as { name?: string; nodes?: string[]; etcd_endpoints?: string[]; lease_ttl?: number };
  const problem = (line: number, key: string, message: string) => problems.push({ file, line, section: "cluster", key, message });
  for (const def of CLUSTER_KEYWORDS) if (def.required && lines[def.name] === undefined) problem(sec.line, def.name, "required");
  if (v.nodes) {
    if (!v.nodes.length) problem(lines.nodes!, "nodes", "no node named");
    const seen = new Set<string>();
    for (const n of v.nodes) {
      if (!NAME.test(n)) problem(lines.nodes!, "nodes", `"${n}" is not a node name`);
      else if (seen.has(n)) problem(lines.nodes!, "nodes", `${n} is named twice: node names must be unique`);
      seen.add(n);
    }
    if (v.nodes.length && !v.nodes.includes(self)) problem(lines.nodes!, "nodes", `this node, ${self}, is not one of ${v.nodes.join(", ")} (SVCMGR_NODENAME or the host name)`);
  }
  if (problems.length) throw new ConfigError(problems);
  return { name: v.name!, nodes: v.nodes!, self, endpoints: v.etcd_endpoints!, leaseTtlMs: v.lease_ttl ?? 15_000, file, lines: { ...lines, cluster: sec.line } };
}
