// `svcmgr daemon run|start|stop|status|restart` (SPEC §9).
import { spawn } from "node:child_process";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../../util/errors.js";
import { nodeName } from "../../util/paths.js";
import { humanSink } from "../../util/log.js";
import { lockHolder } from "../../actions/lock.js";
import { agentDir, agentLogFile, agentOutFile, agentPidFile } from "../../agent/files.js";
import { formatOption, useColor, type ActionInput, type ActionSpec, type CliOptions } from "../options.js";
import type { ListenFlags } from "../../agent/listen-config.js";

/** --listen ADDR:PORT [--tls-cert F --tls-key F] (SPEC §11), as given */
const listenFlags = (input: ActionInput): ListenFlags => input.opts as CliOptions & ListenFlags;
const listenArgs = (f: ListenFlags): string[] => [...(f.listen ? ["--listen", f.listen] : []), ...(f.tlsCert ? ["--tls-cert", f.tlsCert] : []), ...(f.tlsKey ? ["--tls-key", f.tlsKey] : [])];

const SUBCOMMANDS = ["run", "start", "stop", "status", "restart", "token"] as const;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 60_000;
const EXIT_GRACE_MS = 10_000;

async function run(input: ActionInput): Promise<number> {
  const [{ Agent }, { Logger }, { fileSink }, { resolveListen }] = await Promise.all([import("../../agent/agent.js"), import("../../util/log.js"), import("../../util/log-file.js"), import("../../agent/listen-config.js")]);
  const listen = resolveListen(input.paths, listenFlags(input));
  const log = new Logger([humanSink(process.stdout, { color: useColor(input.opts) }), fileSink(agentLogFile(input.paths))], { svc: "agent" });
  const agent = new Agent({ paths: input.paths, nodename: nodeName(process.env), env: process.env, log, bootIdFile: process.env.SVCMGR_BOOT_ID_FILE, listen });
  await agent.start();
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  log.info("stopping the agent: services, dockerds and containers keep running");
  await agent.stop();
  log.info("agent stopped");
  log.close();
  // an action of the API still waiting for a service's lock is given up after this grace
  setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
  return 0;
}

async function start(input: ActionInput): Promise<number> {
  const [{ agentGet }, { resolveListen }] = await Promise.all([import("../agent-client.js"), import("../../agent/listen-config.js")]);
  const listen = resolveListen(input.paths, listenFlags(input)); // a bad address or certificate: exit 2 here, not in the background
  const holder = lockHolder(agentPidFile(input.paths));
  if (holder) {
    process.stdout.write(`agent already running (pid ${holder.pid})\n`);
    return 0;
  }
  fs.mkdirSync(agentDir(input.paths), { recursive: true, mode: 0o755 });
  const out = fs.openSync(agentOutFile(input.paths), "w", 0o640);
  // its own session: the agent outlives this command and its terminal
  const child = spawn(process.execPath, [input.launcher, "daemon", "run", "--color", "never", ...listenArgs(listenFlags(input))], { detached: true, stdio: ["ignore", out, out], env: process.env });
  fs.closeSync(out);
  let exited: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await agentGet<{ ready?: boolean }>(input.paths, "/v1/agent", 500))?.body.ready) {
      process.stdout.write(`agent started (pid ${child.pid})${listen ? `, dashboard on ${(await import("../../agent/listen-config.js")).listenUrl(listen)}` : ""}\n`);
      return 0;
    }
    if (exited !== undefined) break;
    await sleep(20);
  }
  const tail = fs.readFileSync(agentOutFile(input.paths), "utf8").trim().split("\n").slice(-10).join("\n");
  process.stderr.write(`svcmgr: the agent did not come up${exited !== undefined ? ` (it exited ${exited})` : ""}:\n${tail}\n`);
  return 1;
}

async function stop(input: ActionInput): Promise<number> {
  const holder = lockHolder(agentPidFile(input.paths));
  if (!holder) {
    process.stdout.write("agent not running\n");
    return 0;
  }
  process.kill(holder.pid, "SIGTERM");
  // gone once its pid file holds no live agent (an exited agent may stay a zombie a while here)
  const gone = (): boolean => lockHolder(agentPidFile(input.paths))?.pid !== holder.pid;
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (!gone() && Date.now() < deadline) await sleep(20);
  if (!gone()) {
    process.stderr.write(`svcmgr: the agent (pid ${holder.pid}) did not exit within ${STOP_TIMEOUT_MS / 1000}s\n`);
    return 1;
  }
  process.stdout.write(`agent stopped (pid ${holder.pid}); services keep running\n`);
  return 0;
}

function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

async function status(input: ActionInput): Promise<number> {
  const { agentGet } = await import("../agent-client.js");
  const holder = lockHolder(agentPidFile(input.paths));
  const info = holder ? await agentGet<{ pid: number; uptimeS: number; services: number }>(input.paths, "/v1/agent") : undefined;
  if (!holder) {
    process.stdout.write("agent not running\n");
    return 3;
  }
  if (!info || info.status !== 200) {
    process.stdout.write(`agent running (pid ${holder.pid}, since ${holder.since}), its API does not answer\n`);
    return 0;
  }
  process.stdout.write(`agent running (pid ${info.body.pid}, up ${duration(info.body.uptimeS)}, ${info.body.services} service${info.body.services === 1 ? "" : "s"} watched)\n`);
  return 0;
}

export const daemonActions: ActionSpec[] = [
  {
    name: "daemon",
    summary: "the node agent: daemon run (foreground) | start | stop | status | restart | token create|list|revoke",
    configure: (cmd) =>
      cmd
        .argument("<subcommand>", SUBCOMMANDS.join(", "))
        .argument("[args...]", "token: create, list, revoke ID")
        .option("--listen <addr:port>", "run, start: serve the API and the dashboard on TCP too (default: listen in <etc>/node.conf)")
        .option("--tls-cert <file>", "run, start: PEM certificate for HTTPS on --listen")
        .option("--tls-key <file>", "run, start: PEM private key of --tls-cert")
        .option("--group <group>", "token create: the token sees and acts on this group's services only")
        .option("--ttl <duration>", "token create: the token expires after this long (30d, 12h)")
        .addOption(formatOption(cmd)),
    async run(input) {
      const sub = input.args[0];
      if (sub !== "token" && input.args.length > 1) throw new UsageError(`daemon ${sub}: unexpected argument ${input.args[1]}`);
      switch (sub) {
        case "run":
          return run(input);
        case "start":
          return start(input);
        case "stop":
          return stop(input);
        case "status":
          return status(input);
        case "token":
          return (await import("./daemon-token.js")).tokenCommand(input);
        case "restart": {
          const code = await stop(input);
          return code === 0 ? start(input) : code;
        }
        default:
          throw new UsageError(`daemon ${sub ?? ""}: expected one of ${SUBCOMMANDS.join(", ")}`);
      }
    },
  },
];
