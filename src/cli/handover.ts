// The root CLI hands its start, stop and restart to the agent when one runs
// (SPEC §9, §10): the agent, already up, runs the action behind the service's
// lock as it runs the API's and its own, and the CLI follows it and prints
// what it prints when it acts itself (action-follow.ts). The agent's action
// queue is then the one place a service's actions are ordered, and the command
// skips the CLI's own start-up: bin/svcmgr.js loads this small module (its own
// bundle, dist/bundle/handover.cjs) before the whole CLI, and loads the CLI
// only when this gives the command back.
//
// Given back (undefined), before anything is asked of the agent, when the
// command is not one the agent's API takes as it is: a user who is not root
// (the CLI goes through the team sockets: remote.ts), an option other than
// -s/--rid/--tags/--subsets/--force/--disable-rollback/--waitlock/--color
// (`--local` says: here; --parallel, --dry-run, --help ...), no -s, a bad
// value, a cluster node (node.conf: the cluster moves its services), a
// selector that names nothing, no agent answering. Once the agent has taken
// an action, the command is the agent's: an interrupt (Ctrl-C) stops the
// following, not the action.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { nodeConfFile, resolvePaths } from "../util/paths.js";
import { listServiceNames, matchSelector } from "../service/names.js";
import { apiSocket } from "../agent/files.js";
import { API_WAITLOCK_MAX_S } from "../agent/limits.js";
import { normalizeArgv } from "./argv.js";
import { selection, useColor, waitMs } from "./options.js";

/** the actions the agent takes from the root CLI (bin/svcmgr.js has the same three words, to load this module for them only) */
const HANDED_OVER = new Set(["start", "stop", "restart"]);

interface Command {
  action: "start" | "stop" | "restart";
  service: string;
  body: { rid?: readonly string[]; tags?: readonly string[]; subsets?: readonly string[]; force: boolean; disable_rollback: boolean; waitlock: number };
  color: boolean;
}

/** The command, when the agent may take it as it is. */
function handOverCommand(argv: readonly string[]): Command | undefined {
  const { program, args } = normalizeArgv(argv[1] ?? "svcmgr", argv.slice(2));
  if (program !== "svcmgr") return undefined;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        service: { type: "string", short: "s" },
        rid: { type: "string" },
        tags: { type: "string" },
        subsets: { type: "string" },
        force: { type: "boolean" },
        "disable-rollback": { type: "boolean" },
        waitlock: { type: "string" },
        color: { type: "string" },
      },
    });
  } catch {
    return undefined; // an option the agent's API has no field for: the CLI's own (and its own errors)
  }
  const { values: v, positionals } = parsed;
  const action = positionals[0];
  if (positionals.length !== 1 || !action || !HANDED_OVER.has(action) || !v.service) return undefined;
  if (v.color !== undefined && !["auto", "always", "never"].includes(v.color)) return undefined;
  let sel, wait;
  try {
    sel = selection({ rid: v.rid, tags: v.tags, subsets: v.subsets });
    wait = waitMs({ waitlock: v.waitlock });
  } catch {
    return undefined; // a bad --rid or --waitlock: the CLI says what is wrong with it
  }
  if (wait > API_WAITLOCK_MAX_S * 1000) return undefined; // longer than the API waits
  return {
    action: action as Command["action"],
    service: v.service,
    body: { rid: sel.rids, tags: sel.tags, subsets: sel.subsets, force: v.force === true, disable_rollback: v["disable-rollback"] === true, waitlock: wait / 1000 },
    color: useColor({ color: v.color as "auto" | "always" | "never" | undefined }),
  };
}

/** The command's exit code once the agent has run it; undefined: the CLI runs it (see above). */
export async function handOver(argv: readonly string[]): Promise<number | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  // no agent socket, the common case without an agent: one stat, before the command line is parsed (~3 ms, node's parseArgs and stdout's tty)
  const paths = resolvePaths();
  const socket = apiSocket(paths);
  if (!fs.existsSync(socket) || fs.existsSync(nodeConfFile(paths))) return undefined;
  const cmd = handOverCommand(argv);
  if (!cmd) return undefined;
  let names: string[];
  try {
    names = matchSelector(listServiceNames(paths), cmd.service);
  } catch {
    return undefined; // names nothing: the CLI's error
  }
  let following: string | undefined;
  const interrupted = (): void => {
    if (following) process.stderr.write(`\nsvcmgr: interrupted; the agent carries on with ${following}'s ${cmd.action} (svcmgr -s ${following} print status)\n`);
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  try {
    return await actEach(socket, names, cmd, (name) => (following = name));
  } finally {
    process.off("SIGINT", interrupted);
  }
}

/** One after the other, as the CLI acts on many services; undefined when the agent refused the first one (nothing done yet). */
async function actEach(socket: string, names: readonly string[], cmd: Command, following: (name: string) => void): Promise<number | undefined> {
  // node's http client (~5 ms to load) only when there is an agent to ask: a command given back costs its checks alone
  const [{ agentRequest }, { followAction }] = await Promise.all([import("./agent-client.js"), import("./action-follow.js")]);
  let code = 0;
  for (const [i, name] of names.entries()) {
    const res = await agentRequest<{ id?: string; error?: string }>(socket, "POST", `/v1/services/${name}/actions/${cmd.action}`, cmd.body);
    if (res?.status !== 202 || !res.body.id) {
      // the first one refused (no agent there, a service it does not know yet): all of it is the CLI's, as without an agent
      if (i === 0) return undefined;
      process.stderr.write(`${name}: ${res?.body.error ?? "the agent did not answer"}\n`);
      code = Math.max(code, 1);
      continue;
    }
    following(name);
    code = Math.max(code, await followAction(socket, name, cmd.action, res.body.id, cmd.color));
  }
  return code;
}
