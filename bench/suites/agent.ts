// The node agent (SPEC §9): how fast it brings a dead container back, against
// Docker's own `--restart=always` on the same daemon; what it costs idle with
// 50 services (agent-idle.ts); svcmon and the API answering from its memory.
//
// Restart latency. One service with one container (`restart = 100`,
// `restart_delay = 100ms`, Docker's own first delay being 100 ms) and, on the
// same private daemon, a plain `docker run -d --restart=always --init`
// container with the same image and command. Each is killed the same way and
// timed from the kill to the daemon's `start` event of the container (the
// daemon's own timestamp; the event stream is subscribed before the kill).
//
// The kill: SIGKILL of the container's main process (its docker-init), as a
// crash would be. Not `docker kill`: Docker takes that for an operator's stop
// and does not apply its restart policy (docker.io 20.10: the --restart=always
// container stays exited); svcmgr restarts both alike (the `die` event, exit
// code 137).
//
// Both start from their first delay at every sample:
// - Docker doubles its delay at each restart and resets it only after 10 s up,
//   so its container is removed and run again before each sample (a new
//   container starts with the first delay), rather than waiting 10 s.
// - svcmgr's count (src/agent/restart-book.ts) is given back only after 60 s
//   up, and nothing else resets it: an operator's `start` or `restart` does
//   not (RestartBook.reset is never called), a config reload keeps it. The
//   book lives in the agent's memory, so the agent is restarted before each
//   sample (`svcmgr daemon restart`, not timed): a new agent has every count
//   at 0 and restarts nothing that is up. Each sample checks the service log
//   for a new "restart 1/100" line, i.e. that the first delay was the one used.
// Both then wait the same 1.5 s before the kill (the new agent subscribes to
// the daemon's events just after `daemon start` returns).
import fs from "node:fs";
import path from "node:path";
import http from "node:http";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { dockerCli } from "../../test/support/docker-fixture.js";
import { type Cleanup, measureUnit, SVCMON, svcmgr, svcmgrEnv, writeFile } from "../lib/env.js";
import { mustRun, row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { agentSocket, containerService, IMAGE, setUpService, socketOf, startAgent, watchStart } from "../lib/agent.js";
import { benchAgentIdle } from "./agent-idle.js";

const RESTART_SVC = "restart.bench";
const PLAIN = "plain.bench";
const SETTLE_MS = 1500;
const API_SERVICES = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mainPid(socket: string, name: string): Promise<number> {
  const [running, pid] = (await dockerCli(socket, ["inspect", "-f", "{{.State.Running}} {{.State.Pid}}", name])).trim().split(" ");
  if (running !== "true" || !(Number(pid) > 0)) throw new Error(`${name} is not running before its kill`);
  return Number(pid);
}

/** SIGKILL the container's main process: when (ms since the epoch), and ms from then to its next start event. */
async function killAndTime(socket: string, name: string): Promise<{ t0: number; ms: number }> {
  const pid = await mainPid(socket, name);
  const watch = await watchStart(socket, name);
  const t0 = Date.now();
  process.kill(pid, "SIGKILL");
  return { t0, ms: (await watch.next) - t0 };
}

/** The times (ms since the epoch) of the service log's "restart 1/100" lines: each is a restart from the first delay. */
function firstTries(root: string): number[] {
  const lines = fs.readFileSync(path.join(root, "log", `${RESTART_SVC}.log`), "utf8").split("\n");
  return lines.filter((l) => l.includes("restart 1/100: container died (exit code 137)")).map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
}

export async function benchRestart(cleanup: Cleanup, runs: number, log: (s: string) => void, s: Samples): Promise<void> {
  const root = cleanup.root(makeTempRoot("svbagr-"));
  await setUpService(root, RESTART_SVC, containerService(root, RESTART_SVC, ["restart = 100", "restart_delay = 100ms"]));
  await svcmgr(root, "-s", RESTART_SVC, "start");
  await startAgent(root, cleanup);
  const socket = socketOf(root, RESTART_SVC);
  const contenders: [string, (u: Samples) => Promise<void>][] = [
    [
      "svcmgr",
      async (u) => {
        await svcmgr(root, "daemon", "restart");
        await sleep(SETTLE_MS);
        const before = firstTries(root).length;
        const { t0, ms } = await killAndTime(socket, `${RESTART_SVC}.container.1`);
        u.add("svcmgr restart", ms);
        for (let t = 0; firstTries(root).length === before; t++) {
          if (t > 100) throw new Error("svcmgr's restart was not its first try (no new 'restart 1/100' line in the service log)");
          await sleep(20);
        }
        // the line is logged under the service's lock, just before the start request: detection, delay, lock, re-check
        u.add("svcmgr restart line", firstTries(root).at(-1)! - t0);
      },
    ],
    [
      "docker",
      async (u) => {
        await dockerCli(socket, ["rm", "-f", PLAIN]).catch(() => undefined);
        await dockerCli(socket, ["run", "-d", "--restart=always", "--init", "--name", PLAIN, IMAGE, "sleep", "86400"]);
        await sleep(SETTLE_MS);
        u.add("docker restart", (await killAndTime(socket, PLAIN)).ms);
        const count = (await dockerCli(socket, ["inspect", "-f", "{{.RestartCount}}", PLAIN])).trim();
        if (count !== "1") throw new Error(`docker's restart count is ${count}, not 1`);
      },
    ],
  ];
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) await measureUnit(s, log, contenders[(k + i) % contenders.length]![1]);
  }
  log(`agent: restart latency, ${runs} runs done`);
}

/** 200 cheap services: an app resource whose check is /bin/true (not booted: autostart elsewhere). */
function generateCheap(root: string): string[] {
  const names: string[] = [];
  for (let i = 0; i < API_SERVICES; i++) {
    const name = `app${String(i).padStart(3, "0")}.bench`;
    writeFile(path.join(root, "etc", `${name}.conf`), ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", "start = /bin/true", "stop = /bin/true", "check = /bin/true", ""].join("\n"));
    names.push(name);
  }
  return names;
}

/** GET on the agent's socket from this process (no client start-up): ms to the whole answer, and the answer. */
function apiGet(socket: string, urlPath: string): Promise<{ ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ socketPath: socket, path: urlPath, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, body }) : reject(new Error(`GET ${urlPath}: ${res.statusCode}`))));
    });
    req.on("error", reject);
  });
}

async function benchApi(cleanup: Cleanup, runs: number, log: (s: string) => void, s: Samples): Promise<void> {
  const withAgent = cleanup.root(makeTempRoot("svbaga-"));
  const without = cleanup.root(makeTempRoot("svbagn-"));
  generateCheap(withAgent);
  generateCheap(without);
  await startAgent(withAgent, cleanup);
  const sock = agentSocket(withAgent);
  const known = (JSON.parse((await apiGet(sock, "/v1/services")).body) as { name: string }[]).length;
  // fewer, and svcmon would not take the agent's answer (it evaluates itself when the agent misses a service)
  if (known !== API_SERVICES) throw new Error(`the agent knows ${known} services, not ${API_SERVICES}`);
  await mustRun([SVCMON, "--refresh"], { env: svcmgrEnv(without) });
  const curl = (urlPath: string) => ["curl", "-sf", "-o", "/dev/null", "--unix-socket", sock, `http://x${urlPath}`];
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      // a fresh cache for the agent-less svcmon (an entry older than 60 s would be evaluated again)
      await mustRun([SVCMON, "--refresh"], { env: svcmgrEnv(without) });
      const lines = async (root: string, key: string): Promise<void> => {
        const r = await timeProcess([SVCMON], { env: svcmgrEnv(root) });
        if (r.stdout.trim().split("\n").length !== API_SERVICES + 3) throw new Error(`svcmon printed ${r.stdout.split("\n").length} lines for ${API_SERVICES} services`);
        u.add(key, r.ms);
      };
      const order = i % 2 ? [without, withAgent] : [withAgent, without];
      for (const root of order) await lines(root, root === withAgent ? "svcmon agent" : "svcmon cache");
      u.add("curl services", (await timeProcess(curl("/v1/services"))).ms);
      u.add("curl agent", (await timeProcess(curl("/v1/agent"))).ms);
      u.add("get services", (await apiGet(sock, "/v1/services")).ms);
      u.add("get agent", (await apiGet(sock, "/v1/agent")).ms);
    });
  }
  log(`agent: svcmon and API, ${runs} runs done`);
}

export async function benchAgent(cleanup: Cleanup, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const s = new Samples();
  log("agent: restart latency, svcmgr's agent against docker --restart=always on the same daemon");
  await benchRestart(cleanup, runs, log, s);
  await benchAgentIdle(cleanup, runs, log, s);
  log(`agent: svcmon over ${API_SERVICES} services through the agent, and its API`);
  await benchApi(cleanup, runs * 2, log, s);
  const under = (ms: number) => ({ text: `< ${ms} ms`, check: (m: number) => m < ms });
  const rows: ResultRow[] = [
    row(s, "agent", "restart of a killed container (kill -> start)", "svcmgr restart", { name: "docker --restart=always", key: "docker restart" }, undefined, "information: no target"),
    row(s, "agent", "restart: kill -> its 'restart 1/100' log line", "svcmgr restart line", undefined, undefined, "information: where the time goes"),
    { ...row(s, "agent", "idle, 50 services: CPU (% of one core)", "idle50 cpu", { name: "agent, no service", key: "idle0 cpu" }, { text: "< 1 %", check: (m) => m < 1 }), unit: "%" },
    { ...row(s, "agent", "idle, 50 services: CPU of its children", "idle50 children cpu", undefined, undefined, "information"), unit: "%" },
    { ...row(s, "agent", "idle, 50 services: memory (VmRSS, max)", "idle50 rss", { name: "agent, no service", key: "idle0 rss" }, { text: "< 100 MB", check: (m) => m * 1.048576 < 100 }), unit: "MiB" },
    row(s, "agent", `svcmon, ${API_SERVICES} services, through the agent`, "svcmon agent", { name: "from the cache, no agent", key: "svcmon cache" }, under(500)),
    row(s, "agent", `GET /v1/services (${API_SERVICES}), curl`, "curl services", { name: "curl GET /v1/agent", key: "curl agent" }, under(50)),
    row(s, "agent", `GET /v1/services (${API_SERVICES}), in-process client`, "get services", { name: "GET /v1/agent", key: "get agent" }, undefined, "information"),
  ];
  return { samples: s, rows };
}
