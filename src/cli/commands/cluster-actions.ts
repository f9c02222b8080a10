// The cluster's commands (SPEC §12), from any node: switch --to NODE,
// takeover, giveback, and start/stop of a whole cluster service, which ask
// the cluster (etcd) and follow it until the owner's agent has done it.
import fs from "node:fs";
import { UsageError } from "../../util/errors.js";
import { nodeConfFile, nodeName, type Paths } from "../../util/paths.js";
import type { ServiceManager } from "../../core/manager.js";
import type { ClusterClient, ClusterRequest } from "../../cluster/client.js";
import { forEachService, selectServices, type ActionInput, type ActionSpec, type CliOptions } from "../options.js";

const DEFAULT_WAIT_MS = 90_000;

/** The node's cluster client when node.conf has a [cluster] section (cheap when it has none). */
export async function attachCluster(manager: ServiceManager, paths: Paths): Promise<ClusterClient | undefined> {
  let text: string;
  try {
    text = fs.readFileSync(nodeConfFile(paths), "utf8");
  } catch {
    return undefined;
  }
  if (!/^\s*\[cluster\]/m.test(text)) return undefined;
  const [{ readClusterConfig }, { ClusterClient }] = await Promise.all([import("../../cluster/node-conf.js"), import("../../cluster/client.js")]);
  const cfg = readClusterConfig(paths, nodeName(process.env));
  if (!cfg) return undefined;
  const client = new ClusterClient(cfg, paths);
  manager.cluster = client;
  return client;
}

const waitOf = (opts: CliOptions): number => (opts.wait !== undefined ? Math.round(Number(opts.wait) * 1000) : DEFAULT_WAIT_MS);

/** Each selected cluster service asked for `what`, followed until done. */
export async function clusterRequest(input: ActionInput, cluster: ClusterClient, names: string[], what: ClusterRequest, to?: string): Promise<number> {
  return forEachService(names, async (n) => {
    const cfg = await input.manager.loadValid(n);
    if (!cluster.isClustered(n)) throw new UsageError(`${n} is not a cluster service (no topology in its [DEFAULT]): ${what} is for cluster services`);
    const line = await cluster.request(n, what, cfg, { to, waitMs: waitOf(input.opts), onProgress: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`${line}\n`);
    return 0;
  });
}

function requestAction(name: "switch" | "takeover" | "giveback", summary: string): ActionSpec {
  return {
    name,
    summary,
    configure: (cmd) => {
      if (name === "switch") cmd.option("--to <node>", "the node to run the service on");
      return cmd.option("--wait <seconds>", `how long to follow the cluster until it is done (default: ${DEFAULT_WAIT_MS / 1000})`);
    },
    async run(input) {
      const cluster = input.manager.cluster as ClusterClient | undefined;
      if (!cluster) throw new UsageError(`${name} needs a cluster: a [cluster] section in ${nodeConfFile(input.paths)}`);
      if (name === "switch" && !input.opts.to) throw new UsageError("switch needs --to NODE");
      if (name === "switch" && !cluster.cfg.nodes.includes(input.opts.to!)) throw new UsageError(`--to ${input.opts.to}: not a node of cluster ${cluster.cfg.name} (${cluster.cfg.nodes.join(", ")})`);
      return clusterRequest(input, cluster, await selectServices(input, true), name, input.opts.to);
    },
  };
}

export const clusterActions: ActionSpec[] = [
  requestAction("switch", "a cluster service: stop it on its node, start it on --to NODE"),
  requestAction("takeover", "a cluster service: bring it to this node"),
  requestAction("giveback", "a cluster service: back to the first node of its nodes"),
];
