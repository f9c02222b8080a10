// start / stop of the second tutorial's complex orchestration service: seven
// containers, #1 (subset 00database), then #2-#5 at once (01appservers,
// parallel = true), then #6 and #7 one after the other (02webservers).
//
// The contenders, each run through the same cycle on the same private daemon:
//   svcmgr          `svcmgr -s busybox.opensvc.com start|stop`, no agent running:
//                   the CLI acts itself
//   agent           the same command with the root's agent up, which takes it
//                   (src/cli/handover.ts); the agent is started before each of
//                   its cycles and warmed by one start and stop through it (not
//                   timed), and stopped after it, so that the other contenders
//                   run without it
//   curl            bench/curl-floor.ts: one curl per create and start call
//                   svcmgr makes, same order and parallelism, nothing else
//   floor           bench/floor.ts, the Node floor: the Engine API calls of
//                   svcmgr's earlier design (inspect, create + start, inspect
//                   per container, and its 50 ms check on the main process
//                   that the container did not exit at once), same order and
//                   parallelism, the same daemon steps
//   floor-nocheck   the Node floor without that check
//   dockerode       the Node floor with the create and start calls alone
//                   (--bare): the curl floor's calls made through dockerode
//   nodehttp        bench/node-http-floor.cjs: the curl floor's calls made by
//                   node's own http client, no library, no bundle
//   compose         Debian's docker-compose 1.29, `depends_on` giving the order
//                   (`up -d` the first time, `start` later, `stop`); for a cold
//                   start a plain dockerd with the same flags is started first
//                   (floor daemon-up), and its stop includes the daemon's shutdown
//                   (floor daemon-down), as svcmgr's does
//
// The cycle: cold first start (`run`), stop, cold later start, stop, warm later
// start, stop, warm first start, stop. Warm: the daemon is already up, started
// through `svcmgr -s X docker info`. Cold: it is down.
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { bridgeName, gatewayOf, hostIpv4Addresses } from "../../src/drivers/container-docker/bridge.js";
import { overlaps, parseCidr } from "../../src/util/ipv4.js";
import { execRootFor } from "../../src/drivers/container-docker/daemon.js";
import { pidAlive, procCmdline, readPidFile } from "../../src/util/proc.js";
import { createRequest } from "../../src/drivers/container-docker/run-args.js";
import { pinApiVersion } from "../../src/drivers/container-docker/engine.js";
import { Logger } from "../../src/util/log.js";
import { makeTempRoot, RUN_DIR } from "../../test/support/docker-fixture.js";
import { startImageRegistry } from "../../test/support/registry-images.js";
import type { FloorSpec } from "../floor.js";
import { writeCurlFloor, type CurlFloor } from "../curl-floor.js";
import { floorEnv, measureUnit, NODE, REPO, svcmgr, svcmgrArgv, svcmgrEnv, writeFile, type Cleanup } from "../lib/env.js";
import { medianInterval, mustRun, pairedRow, row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { agentPid, agentSocket, stopAgent } from "../lib/agent.js";

export const SVC = "busybox.opensvc.com";
const IMAGE_REF = "opensvc/busybox:date";
const N = 7;
const SUBSETS: { subset: string; parallel: boolean; members: number[] }[] = [
  { subset: "00database", parallel: false, members: [1] },
  { subset: "01appservers", parallel: true, members: [2, 3, 4, 5] },
  { subset: "02webservers", parallel: false, members: [6, 7] },
];
/** the Node floor's window for a container's command to exit at once (svcmgr's, until it watched die events instead) */
export const SETTLE_MS = 50;

export interface OrchestrationEnv {
  root: string;
  state: string;
  socket: string;
  image: string;
  floor: string;
  /** the spec file of each Node contender (floor.ts, node-http-floor.cjs); the floor's also serves daemon-up and daemon-down */
  specs: Record<NodeTool, string>;
  /** the API version svcmgr pins its calls to on this daemon */
  api: string;
  composeFile: string;
  curl: CurlFloor;
  docker: Docker;
}

type NodeTool = "floor" | "floor-nocheck" | "dockerode" | "nodehttp";
type Tool = "svcmgr" | "agent" | "curl" | NodeTool | "compose";
const TOOLS: Tool[] = ["svcmgr", "agent", "curl", "floor", "floor-nocheck", "dockerode", "nodehttp", "compose"];
const NODE_HTTP_FLOOR = path.join(REPO, "bench", "node-http-floor.cjs");

/**
 * A subnet outside svcmgr's pool (172.30.0.0/16) and unused on the host: the
 * tests running alongside allocate from the pool in roots of their own, and
 * could take a /24 this benchmark's bridge leaves free between a stop and the
 * next start.
 */
async function freeBenchSubnet(): Promise<string> {
  const used = (await hostIpv4Addresses(new Logger([]))).map((a) => a.net);
  for (let i = 0; i < 256; i++) {
    const cidr = `10.213.${i}.0/24`;
    if (!used.some((u) => overlaps(u, parseCidr(cidr)!))) return cidr;
  }
  throw new Error("no free /24 in 10.213.0.0/16 for the benchmark's bridge");
}

function serviceConfig(root: string, image: string, bridgeCidr: string): string {
  const container = (n: number, subset: string): string[] => [`[container#${n}]`, "type = docker", `run_image = ${image}`, "run_command = sleep 3600", "run_args = --init", `subset = ${subset}`, ""];
  return [
    "[DEFAULT]",
    "service_type = DEV",
    `docker_data_dir = ${root}/data/{name}`,
    `docker_bridge_cidr = ${bridgeCidr}`,
    "",
    ...container(1, "00database"),
    ...[2, 3, 4, 5].flatMap((n) => container(n, "01appservers")),
    "[subset#container.docker:01appservers]",
    "parallel = true",
    "",
    ...container(6, "02webservers"),
    ...container(7, "02webservers"),
    "[subset#container.docker:02webservers]",
    "parallel = false",
    "",
  ].join("\n");
}

function composeFile(image: string): string {
  const deps: Record<number, number[]> = { 1: [], 2: [1], 3: [1], 4: [1], 5: [1], 6: [2, 3, 4, 5], 7: [6] };
  const lines = ['version: "2.4"', "services:"];
  for (let n = 1; n <= N; n++) {
    lines.push(`  c${n}:`, `    image: ${image}`, "    command: sleep 3600", "    init: true", "    network_mode: bridge", `    container_name: compose.container.${n}`);
    if (deps[n]!.length) lines.push("    depends_on:", ...deps[n]!.map((d) => `      - c${d}`));
  }
  return lines.join("\n") + "\n";
}

const names = (tool: Tool): string[] => Array.from({ length: N }, (_, i) => `${tool === "svcmgr" || tool === "agent" ? SVC : tool === "floor-nocheck" ? "floor" : tool}.container.${i + 1}`);

function daemonPid(e: OrchestrationEnv): number | undefined {
  const pid = readPidFile(path.join(e.state, "docker.pid"));
  return pid !== undefined && pidAlive(pid) ? pid : undefined;
}

export async function setupOrchestration(cleanup: Cleanup, floorLauncher: string, log: (s: string) => void): Promise<OrchestrationEnv> {
  log("orchestration: local registry, service config, image pulled into the service's daemon");
  const registry = await startImageRegistry([{ ref: IMAGE_REF }]);
  cleanup.add("image registry", () => registry.stop());
  const root = cleanup.root(makeTempRoot("svbench-"));
  cleanup.add("the agent contender's agent", () => stopAgent(root));
  const image = registry.image(IMAGE_REF);
  const bridgeCidr = await freeBenchSubnet();
  writeFile(path.join(root, "etc", `${SVC}.conf`), serviceConfig(root, image, bridgeCidr));
  await svcmgr(root, "-s", SVC, "docker", "pull", image);
  const state = path.join(root, "var", SVC);
  const socket = path.join(state, "docker.sock");
  const pid = readPidFile(path.join(state, "docker.pid"));
  if (pid === undefined) throw new Error("the service's daemon is not up after docker pull");
  // the exact command line svcmgr started its daemon with: the floor's plain dockerd gets the same flags
  const argv = procCmdline(pid);
  const { body: options } = createRequest(["--init"], { name: "floor", image, command: ["sleep", "3600"], labels: [] }, { env: {} });
  const spec = (tool: Tool, settleMs: number): FloorSpec => ({
    socket,
    stages: SUBSETS.map((s) => ({ parallel: s.parallel, names: s.members.map((m) => names(tool)[m - 1]!) })),
    create: Object.fromEntries(
      names(tool).map((n, i) => [n, { ...options, Image: image, Cmd: ["sleep", "3600"], Labels: { "com.svcmgr.service": "floor", "com.svcmgr.rid": `container#${i + 1}`, "com.svcmgr.config-hash": "floor" } }]),
    ) as unknown as FloorSpec["create"],
    settleMs,
    daemon: { argv, pidFile: path.join(state, "docker.pid"), logFile: path.join(state, "dockerd.log"), execRoot: execRootFor(RUN_DIR, state), bridge: bridgeName(state), gateway: gatewayOf(bridgeCidr) },
  });
  const specs = {} as Record<NodeTool, string>;
  for (const tool of ["floor", "floor-nocheck", "dockerode", "nodehttp"] as const) {
    specs[tool] = path.join(root, `${tool}.json`);
    writeFile(specs[tool], JSON.stringify(spec(tool, tool === "floor" ? SETTLE_MS : 0), null, 2));
  }
  const compose = path.join(root, "compose", "docker-compose.yml");
  writeFile(compose, composeFile(image));
  const docker = new Docker({ socketPath: socket });
  // the API version svcmgr pins its calls to: min(the daemon's, the newest it was tested with)
  const api = pinApiVersion(((await docker.version()) as { ApiVersion: string }).ApiVersion);
  const curl = writeCurlFloor(path.join(root, "curl"), spec("curl", 0), api);
  return { root, state, socket, image, floor: floorLauncher, specs, api, composeFile: compose, curl, docker };
}

// ---- the states a measurement starts from (not timed) ----------------------

async function daemonUp(e: OrchestrationEnv): Promise<void> {
  if (daemonPid(e) === undefined) await svcmgr(e.root, "-s", SVC, "docker", "info");
}

async function removeAllContainers(e: OrchestrationEnv): Promise<void> {
  for (const c of await e.docker.listContainers({ all: true })) await e.docker.getContainer(c.Id).remove({ force: true });
}

/** daemon down, no container: svcmgr's stop shuts an idle daemon down. */
async function coldAbsent(e: OrchestrationEnv): Promise<void> {
  await daemonUp(e);
  await removeAllContainers(e);
  await svcmgr(e.root, "-s", SVC, "stop");
  if (daemonPid(e) !== undefined) throw new Error("the daemon is still up after an idle stop");
}

async function warmAbsent(e: OrchestrationEnv): Promise<void> {
  await daemonUp(e);
  await removeAllContainers(e);
}

async function assertRunning(e: OrchestrationEnv, tool: Tool): Promise<void> {
  const running = new Set((await e.docker.listContainers()).flatMap((c) => c.Names.map((n) => n.replace(/^\//, ""))));
  const missing = names(tool).filter((n) => !running.has(n));
  if (missing.length) throw new Error(`${tool}: not running after its start: ${missing.join(", ")}`);
}

function assertDaemonDown(e: OrchestrationEnv, tool: Tool): void {
  if (daemonPid(e) !== undefined) throw new Error(`${tool}: the daemon is still up after its stop`);
}

// ---- the contenders ---------------------------------------------------------

function composeArgv(e: OrchestrationEnv, ...args: string[]): string[] {
  return ["docker-compose", "--no-ansi", "-p", "bench", "-f", e.composeFile, ...args];
}

function composeEnv(e: OrchestrationEnv): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: `unix://${e.socket}`, COMPOSE_INTERACTIVE_NO_CLI: "1" };
}

/** A run of the Node floor program (floor.ts) on `spec`. */
async function floorMs(e: OrchestrationEnv, spec: string, ...args: string[]): Promise<number> {
  return (await timeProcess([NODE, e.floor, spec, ...args], { env: floorEnv() })).ms;
}

/** For a cold start of a contender that does not start the daemon itself: the Node floor's daemon-up first. */
const daemonUpMs = (e: OrchestrationEnv, cold: boolean): Promise<number> => (cold ? floorMs(e, e.specs.floor, "daemon-up") : Promise.resolve(0));

async function timeStart(e: OrchestrationEnv, tool: Tool, first: boolean, cold: boolean): Promise<number> {
  const mode = first ? "run" : "start";
  switch (tool) {
    case "svcmgr":
    case "agent":
      return (await timeProcess(svcmgrArgv("-s", SVC, "start"), { env: svcmgrEnv(e.root) })).ms;
    case "curl":
      return (await daemonUpMs(e, cold)) + (await timeProcess(["/bin/sh", first ? e.curl.run : e.curl.start])).ms;
    case "floor":
    case "floor-nocheck":
    case "dockerode":
      return floorMs(e, e.specs[tool], mode, ...(tool === "dockerode" ? ["--bare"] : []), ...(cold ? ["--cold"] : []));
    case "nodehttp":
      return (await daemonUpMs(e, cold)) + (await timeProcess([NODE, NODE_HTTP_FLOOR, e.specs.nodehttp, e.api, mode], { env: floorEnv() })).ms;
    case "compose":
      return (await daemonUpMs(e, cold)) + (await timeProcess(composeArgv(e, ...(first ? ["up", "-d"] : ["start"])), { env: composeEnv(e) })).ms;
  }
}

async function timeStop(e: OrchestrationEnv, tool: Tool): Promise<number> {
  switch (tool) {
    case "svcmgr":
    case "agent":
      return (await timeProcess(svcmgrArgv("-s", SVC, "stop"), { env: svcmgrEnv(e.root) })).ms;
    case "curl":
      return (await timeProcess(["/bin/sh", e.curl.stop])).ms + (await floorMs(e, e.specs.floor, "daemon-down"));
    case "floor":
    case "floor-nocheck":
    case "dockerode":
    case "nodehttp":
      return floorMs(e, e.specs[tool], "stop");
    case "compose":
      return (await timeProcess(composeArgv(e, "stop"), { env: composeEnv(e) })).ms + (await floorMs(e, e.specs.floor, "daemon-down"));
  }
}

/** One full cycle of one contender; samples keyed `<tool> <what>`. */
async function cycle(e: OrchestrationEnv, tool: Tool, s: Samples): Promise<void> {
  const start = async (what: string, first: boolean, cold: boolean): Promise<void> => {
    s.add(`${tool} ${what}`, await timeStart(e, tool, first, cold));
    await assertRunning(e, tool);
    s.add(`${tool} stop`, await timeStop(e, tool));
    assertDaemonDown(e, tool);
  };
  if (tool === "agent") await agentUp(e);
  else if (agentPid(e.root) !== undefined) throw new Error(`${tool}: the agent contender's agent still runs`);
  try {
    await coldAbsent(e);
    await start("run cold", true, true);
    await start("start cold", false, true);
    await daemonUp(e);
    await start("start warm", false, false);
    await warmAbsent(e);
    await start("run warm", true, false);
  } finally {
    if (tool === "agent") await stopAgent(e.root);
  }
}

/** The root's agent, up and warmed by a start and a stop through it (the code of a start compiled, as in an agent that has run for a while). */
async function agentUp(e: OrchestrationEnv): Promise<void> {
  await svcmgr(e.root, "daemon", "start");
  if (agentPid(e.root) === undefined) throw new Error("daemon start returned but no agent runs");
  await svcmgr(e.root, "-s", SVC, "start");
  await svcmgr(e.root, "-s", SVC, "stop");
  const by = (JSON.parse(await mustRun(["curl", "-sf", "--unix-socket", agentSocket(e.root), `http://agent/v1/services/${SVC}/history`])) as { by: string }[])[0]?.by;
  if (by !== "agent") throw new Error(`the agent contender's stop was not the agent's (by ${by})`);
}

export async function benchOrchestration(e: OrchestrationEnv, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const warmup = new Samples();
  log("orchestration: one warm-up cycle per contender (not counted)");
  for (const tool of TOOLS) await measureUnit(warmup, log, (u) => cycle(e, tool, u));
  const s = new Samples();
  for (let i = 0; i < runs; i++) {
    // rotate the order, so that a load change hits every contender alike
    const order = TOOLS.map((_, k) => TOOLS[(k + i) % TOOLS.length]!);
    for (const tool of order) await measureUnit(s, log, (u) => cycle(e, tool, u));
    log(`orchestration: cycle ${i + 1}/${runs} done (${order.join(", ")})`);
  }
  await warmAbsent(e);
  const rows: ResultRow[] = [];
  const lt = (x: number) => ({ text: `<= ${x}x floor`, check: (_m: number, r: number | undefined) => r !== undefined && r <= x });
  const faster = { text: ">= 1.5x faster than compose", check: (_m: number, r: number | undefined) => r !== undefined && r <= 1 / 1.5 };
  for (const what of ["run warm", "run cold", "start warm", "start cold", "stop"]) {
    // the target against the bare calls: with the daemon up (cold, the curl floor's daemon start-up is a node process)
    const curlTarget = what.endsWith("warm") ? lt(1.05) : undefined;
    // sample i of every contender is from cycle i (the contenders take turns within it): paired by cycle
    rows.push(pairedRow(s, "orchestration", `svcmgr ${what}`, `svcmgr ${what}`, { name: "curl floor", key: `curl ${what}` }, curlTarget, curlTarget ? undefined : "information"));
    rows.push(pairedRow(s, "orchestration", `svcmgr, agent up ${what}`, `agent ${what}`, { name: "curl floor", key: `curl ${what}` }, curlTarget, curlTarget ? "the command handed to the running agent" : "information: the command handed to the running agent"));
    rows.push(row(s, "orchestration", `svcmgr ${what}`, `svcmgr ${what}`, { name: "floor", key: `floor ${what}` }, lt(1.15)));
    rows.push(row(s, "orchestration", `svcmgr ${what}`, `svcmgr ${what}`, { name: "docker-compose", key: `compose ${what}` }, faster));
    if (what !== "stop") {
      rows.push(row(s, "orchestration", `svcmgr ${what}`, `svcmgr ${what}`, { name: "floor without the exit-at-once check", key: `floor-nocheck ${what}` }, undefined, "information: what the check costs"));
      // where the margin over the bare calls goes: node itself, then dockerode, then svcmgr
      rows.push(row(s, "orchestration", `node http ${what}`, `nodehttp ${what}`, { name: "curl floor", key: `curl ${what}` }, undefined, "information: node's boot and http client"));
      rows.push(row(s, "orchestration", `dockerode ${what}`, `dockerode ${what}`, { name: "node http floor", key: `nodehttp ${what}` }, undefined, "information: what dockerode adds"));
      rows.push(row(s, "orchestration", `svcmgr ${what}`, `svcmgr ${what}`, { name: "bare dockerode floor", key: `dockerode ${what}` }, undefined, "information: what svcmgr adds to dockerode"));
    }
  }
  return { samples: s, rows };
}

/** how long a daemon just brought up is left alone before a paired start: the start measures a daemon that is up, not one still starting */
const PAIR_SETTLE_MS = 500;

/**
 * `--only pairs`: the later start and the first start with the daemon up,
 * svcmgr and the curl floor back to back, `pairs` times, the one that goes
 * first alternating. Each of the two gets the same state (the daemon brought
 * up and left alone for PAIR_SETTLE_MS; for a later start its containers
 * created and stopped, for a first start none), at nearly the same moment,
 * so that a change of the machine's load hits both alike. The median of the
 * pair-by-pair ratios comes beside the ratio of the medians.
 */
export async function benchPairs(e: OrchestrationEnv, pairs: number, log: (s: string) => void, ours: "svcmgr" | "agent" = "svcmgr"): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const tools = [ours, "curl"] as const;
  const suite = ours === "agent" ? "pairs-agent" : "pairs";
  if (ours === "agent") {
    log(`${suite}: the root's agent up for the whole suite, warmed by a start and a stop through it`);
    await agentUp(e);
  }
  try {
    return await pairsOf(e, pairs, log, tools, suite);
  } finally {
    if (ours === "agent") await stopAgent(e.root);
  }
}

async function pairsOf(e: OrchestrationEnv, pairs: number, log: (s: string) => void, tools: readonly ["svcmgr" | "agent", "curl"], suite: string): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const [ours] = tools;
  log(`${suite}: both services' containers created, then stopped (not timed)`);
  await warmAbsent(e);
  await mustRun(svcmgrArgv("-s", SVC, "start"), { env: svcmgrEnv(e.root) });
  await mustRun(["/bin/sh", e.curl.run]);
  for (const tool of tools) await assertRunning(e, tool);
  await mustRun(["/bin/sh", e.curl.stop]);
  await mustRun(svcmgrArgv("-s", SVC, "stop"), { env: svcmgrEnv(e.root) });
  assertDaemonDown(e, "svcmgr");
  const s = new Samples();
  // the later starts first, on the containers the last pair's first starts created; then none for the first starts
  const kinds = [
    { what: "start warm", first: false },
    { what: "run warm", first: true },
  ] as const;
  for (let i = 0; i < pairs; i++) {
    await measureUnit(s, log, async (u) => {
      for (const { what, first } of kinds) {
        if (first) await warmAbsent(e);
        const ms: Record<string, number> = {};
        for (const tool of i % 2 ? [...tools].reverse() : tools) {
          await daemonUp(e);
          await sleep(PAIR_SETTLE_MS);
          ms[tool] = await timeStart(e, tool, first, false);
          await assertRunning(e, tool);
          await timeStop(e, tool);
          assertDaemonDown(e, tool);
        }
        u.add(`${ours} ${what}`, ms[ours]!);
        u.add(`curl ${what}`, ms.curl!);
        u.add(`${ours} / curl ${what}`, ms[ours]! / ms.curl!);
      }
    });
    if ((i + 1) % 10 === 0) log(`${suite}: ${i + 1}/${pairs} done`);
  }
  await warmAbsent(e);
  const lt = (check: (median: number, ratio: number | undefined) => boolean) => ({ text: "<= 1.05x floor", check });
  const name = ours === "agent" ? "svcmgr, agent up" : "svcmgr";
  // how far one run's noise leaves each figure: a 95 % interval, the pairs drawn again
  const rows: ResultRow[] = kinds.flatMap(({ what }) => [
    pairedRow(s, suite, `${name} ${what}`, `${ours} ${what}`, { name: "curl floor", key: `curl ${what}` }, lt((_m, r) => r !== undefined && r <= 1.05)),
    { ...row(s, suite, `${name} ${what} / curl floor, pair by pair`, `${ours} / curl ${what}`, undefined, lt((m) => m <= 1.05), "the median of the pairs' ratios"), unit: "x", interval: medianInterval(s.get(`${ours} / curl ${what}`)) },
  ]);
  return { samples: s, rows };
}

/** Seven containers up on the service's daemon (for the status benchmarks). */
export async function upForStatus(e: OrchestrationEnv): Promise<void> {
  await warmAbsent(e);
  await mustRun(svcmgrArgv("-s", SVC, "start"), { env: svcmgrEnv(e.root) });
  await assertRunning(e, "svcmgr");
}
