// The agent idle with 50 services, each with one container on its own private
// dockerd (50 dockerds), against SPEC §9's "under 1 % of one core and under
// 100 MB". Baseline, measured over the same windows: an agent of an empty root.
//
// The 50 services are set up 4 at a time (daemon started by the docker
// passthrough, test image imported), started with one `start --parallel`, then
// the agent is started and left 10 s to settle (its boot, which finds every
// service up, and its first evaluations). Each run is then one 30 s window:
// CPU = utime + stime from /proc/<pid>/stat over the window, as % of one core;
// its children's (cutime + cstime: commands it ran and waited for) on their
// own row; memory = the highest VmRSS sampled every second in the window.
// Everything is removed right after (the memory of 50 dockerds is not left to
// the next benchmark).
import fs from "node:fs";
import path from "node:path";
import pLimit from "p-limit";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { Cleanup, measureUnit, svcmgr } from "../lib/env.js";
import type { Samples } from "../lib/measure.js";
import { containerService, cpuSeconds, rssMiB, setUpService, startAgent } from "../lib/agent.js";

const SERVICES = 50;
const WINDOW_MS = 30_000;
const SETTLE_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function window(pids: Record<string, number>, u: Samples): Promise<void> {
  const t0 = performance.now();
  const cpu0 = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([k, pid]) => [k, await cpuSeconds(pid)] as const)));
  const rss: Record<string, number> = {};
  while (performance.now() - t0 < WINDOW_MS) {
    for (const [k, pid] of Object.entries(pids)) rss[k] = Math.max(rss[k] ?? 0, rssMiB(pid));
    await sleep(Math.min(1000, WINDOW_MS - (performance.now() - t0)));
  }
  const s = (performance.now() - t0) / 1000;
  for (const [k, pid] of Object.entries(pids)) {
    const c = await cpuSeconds(pid);
    u.add(`${k} cpu`, ((c.self - cpu0[k]!.self) / s) * 100);
    u.add(`${k} children cpu`, ((c.children - cpu0[k]!.children) / s) * 100);
    u.add(`${k} rss`, Math.max(rss[k]!, rssMiB(pid)));
  }
}

export async function benchAgentIdle(cleanup: Cleanup, runs: number, log: (s: string) => void, s: Samples): Promise<void> {
  const local = new Cleanup();
  cleanup.add("the agent's idle benchmark", () => local.run(log));
  try {
    const root = local.root(makeTempRoot("svbagi-"));
    const empty = local.root(makeTempRoot("svbag0-"));
    // an agent refuses to start on a root without an etc dir (ENOENT from its watch of it)
    fs.mkdirSync(path.join(empty, "etc"));
    log(`agent: idle, setting up ${SERVICES} services with a private dockerd each`);
    const t0 = Date.now();
    const names = Array.from({ length: SERVICES }, (_, i) => `idle${String(i).padStart(2, "0")}.bench`);
    const limit = pLimit(4);
    await Promise.all(names.map((n) => limit(() => setUpService(root, n, containerService(root, n)))));
    await svcmgr(root, "-s", "idle*", "start", "--parallel");
    log(`agent: ${SERVICES} services up in ${((Date.now() - t0) / 1000).toFixed(0)} s; starting the agents`);
    const pids = { idle50: await startAgent(root, local), idle0: await startAgent(empty, local) };
    const status = await svcmgr(root, "daemon", "status");
    if (!status.includes(`${SERVICES} services watched`)) throw new Error(`the agent does not watch ${SERVICES} services: ${status.trim()}`);
    await sleep(SETTLE_MS);
    for (let i = 0; i < runs; i++) {
      await measureUnit(s, log, (u) => window(pids, u));
      log(`agent: idle window ${i + 1}/${runs}: ${s.get("idle50 cpu").at(-1)!.toFixed(2)} % of one core, ${s.get("idle50 rss").at(-1)!.toFixed(0)} MiB`);
    }
  } finally {
    log(`agent: idle, removing the ${SERVICES} services and their dockerds`);
    await local.run(log);
  }
}
