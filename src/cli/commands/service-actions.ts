// The commands that act on services: start/stop/restart and their per-group
// forms, provision, boot, freeze/thaw, delete, docker, logs.
import { spawn } from "node:child_process";
import { UsageError } from "../../util/errors.js";
import type { ResourceGroup } from "../../config/groups.js";
import { count, forEachService, isMass, list, reportResult, selectServices, selection, useColor, waitMs, type ActionSpec, type CliOptions } from "../options.js";
import type { RemoteCli } from "../remote.js";
import type { ClusterClient } from "../../cluster/client.js";

/**
 * --parallel: how many services act at once. Not the CPU count: their actions
 * mostly wait (a stop its stop_timeout, a start its daemon), so 20 services
 * stop in about the time of one; the bound keeps the dockerds starting at once
 * (and their memory) in check.
 */
const PARALLEL_SERVICES = 32;

function resourceAction(name: string, summary: string, group?: ResourceGroup): ActionSpec {
  const action = name.startsWith("start") ? "start" : name.startsWith("stop") ? "stop" : (name as "restart" | "boot" | "provision");
  return {
    name,
    summary,
    configure: (cmd) =>
      cmd
        .option("--rid <rids>", "resource ids or driver groups, comma separated (container#1,ip)")
        .option("--tags <tags>", "resources with these tags (t1,t2 = or; t1+t2 = and)")
        .option("--subsets <subsets>", "resources of these subsets")
        .option("--dry-run", "print the plan without acting")
        .option("--disable-rollback", "leave what was started up when a start fails")
        .option("--force", "act even on frozen services")
        .option("--local", "act in this process even when the agent runs (root's start, stop and restart go to the running agent otherwise)")
        .option("--wait <seconds>", "a cluster service: how long to follow the cluster until it is done (default: 90)"),
    async run(input) {
      const { manager, opts } = input;
      waitMs(opts);
      const sel = selection(opts, group);
      const remote = action === "boot" || action === "provision" ? undefined : await input.remote();
      if (remote) {
        if (opts.dryRun) throw new UsageError("--dry-run reads the config, which only root may: run it as root");
        const body = { rid: sel.rids, tags: sel.tags, subsets: sel.subsets, force: opts.force === true, disable_rollback: opts.disableRollback === true };
        let code = 0;
        for (const n of remote.select(opts, true)) code = Math.max(code, await remote.act(n, action, body, useColor(opts)));
        return code;
      }
      const names = action === "boot" ? await manager.bootSelection(opts.service) : await selectServices(input, true);
      const dryRun = opts.dryRun === true;
      const cluster = manager.cluster as ClusterClient | undefined;
      const whole = !sel.rids && !sel.tags && !sel.subsets;
      const clustered = cluster ? names.filter((n) => cluster.isClustered(n)) : [];
      if (cluster && clustered.length && !dryRun) {
        // a cluster service is started and stopped by the cluster (its owner's agent), not here
        if (!whole) throw new UsageError(`${clustered.join(", ")}: a cluster service is started and stopped whole, by its owner's agent (--rid, --tags, --subsets are for node services)`);
        if (action !== "start" && action !== "stop") throw new UsageError(`${action}: not for a cluster service (${clustered.join(", ")}): stop, then start, or switch --to NODE`);
        const { clusterRequest } = await import("./cluster-actions.js");
        const local = names.filter((n) => !clustered.includes(n));
        let code = await clusterRequest(input, cluster, clustered, action);
        if (!local.length) return code;
        await manager.actMany(local, action, { selection: sel, waitMs: waitMs(opts), force: opts.force === true, mass: isMass(opts) }, (r) => (code = Math.max(code, reportResult(r, false))));
        return code;
      }
      let code = 0;
      await manager.actMany(
        names,
        action === "boot" ? "start" : action,
        {
          selection: sel,
          dryRun,
          disableRollback: opts.disableRollback === true,
          waitMs: waitMs(opts),
          force: opts.force === true,
          mass: isMass(opts),
          parallel: opts.parallel ? PARALLEL_SERVICES : 1,
        },
        (r) => (code = Math.max(code, reportResult(r, dryRun))),
      );
      return code;
    },
  };
}

async function remoteEach(remote: RemoteCli, opts: CliOptions, action: "freeze" | "thaw"): Promise<number> {
  let code = 0;
  for (const n of remote.select(opts, true)) code = Math.max(code, await remote.act(n, action, {}, false));
  return code;
}

export const serviceActions: ActionSpec[] = [
  resourceAction("start", "start the service's resources in order: ip, disk, fs, container, app", undefined),
  resourceAction("stop", "stop the service's resources in the reverse order", undefined),
  resourceAction("restart", "stop, then start", undefined),
  ...(["ip", "disk", "fs", "container", "app"] as const).flatMap((g) => [
    resourceAction(`start${g}`, `start the ${g} resources only (= start --rid ${g})`, g),
    resourceAction(`stop${g}`, `stop the ${g} resources only (= stop --rid ${g})`, g),
  ]),
  resourceAction("provision", "create what the resources need (loop disk files, filesystems) and start them", undefined),
  resourceAction("boot", "on node boot: start every service whose autostart_node is this node", undefined),
  {
    name: "delete",
    summary: "remove the service (refused while a resource is up, unless --force); with --rid, remove those sections",
    configure: (cmd) => cmd.option("--rid <rids>", "sections to remove instead of the whole service").option("--force", "delete even if resources are up"),
    async run(input) {
      const names = await selectServices(input, true);
      const { manager, opts } = input;
      return forEachService(names, async (n) => {
        const rids = list(opts.rid);
        if (rids?.length) {
          await manager.removeSections(n, rids, waitMs(opts));
          process.stdout.write(`${n}: removed ${rids.join(", ")}\n`);
          return 0;
        }
        await manager.delete(n, { force: opts.force === true, waitMs: waitMs(opts) });
        process.stdout.write(`${n}: deleted\n`);
        return 0;
      });
    },
  },
  {
    name: "freeze",
    summary: "skip the service in mass actions and automatic restarts",
    async run(input) {
      const remote = await input.remote();
      if (remote) return remoteEach(remote, input.opts, "freeze");
      for (const n of await selectServices(input, true)) process.stdout.write(`${n}: ${(await input.manager.setFrozen(n, true)) ? "frozen" : "already frozen"}\n`);
      return 0;
    },
  },
  {
    name: "thaw",
    summary: "undo freeze",
    async run(input) {
      const remote = await input.remote();
      if (remote) return remoteEach(remote, input.opts, "thaw");
      for (const n of await selectServices(input, true)) process.stdout.write(`${n}: ${(await input.manager.setFrozen(n, false)) ? "thawed" : "not frozen"}\n`);
      return 0;
    },
  },
  {
    name: "logs",
    summary: "show the service's log (--follow to keep reading)",
    configure: (cmd) => cmd.option("--follow", "keep printing new lines").option("--lines <n>", "last lines only").option("--debug", "also the debug lines (status probes)"),
    async run(input) {
      const { opts } = input;
      const lines = opts.lines === undefined ? undefined : count("--lines", opts.lines);
      // a team member through the agent; root too, to follow the agent's stream of the log
      const remote = (await input.remote()) ?? (opts.follow ? await (await import("../remote.js")).RemoteCli.connect(input.paths, { streams: true }) : undefined);
      if (remote) return remote.logs(remote.select(opts, false), { follow: opts.follow === true, lines, color: useColor(opts), debug: opts.debug === true });
      const names = await selectServices(input, false);
      const { printLogs } = await import("../logs.js");
      return printLogs(input.paths, names, { follow: opts.follow === true, lines, color: useColor(opts), debug: opts.debug === true });
    },
  },
  {
    name: "docker",
    summary: "run the docker CLI against the service's private daemon (started first if needed)",
    configure: (cmd) => cmd.argument("[args...]", "docker arguments").passThroughOptions().allowUnknownOption().helpOption(false),
    async run({ manager, opts, args }) {
      const names = opts.service ? await manager.select({ selector: opts.service, stateChanging: false }) : [];
      if (names.length !== 1) throw new UsageError("docker needs exactly one service: svcmgr -s NAME docker ARGS...");
      const cmd = await manager.dockerCommand(names[0]!, args);
      const child = spawn(cmd.file, cmd.args, { stdio: "inherit", env: cmd.env });
      return new Promise((resolve) => {
        child.on("error", (e) => {
          process.stderr.write(`docker: ${e.message}\n`);
          resolve(127);
        });
        child.on("exit", (code, sig) => resolve(code ?? (sig ? 128 + 1 : 1)));
      });
    },
  },
];
