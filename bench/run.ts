// Every benchmark, one command:  npm run bench   (= node --import tsx bench/run.ts)
//
// Options: --runs N (default 5; pairs 3x, daemon and status 2x, cli 4x as many, mass N/2;
//          agent: N restarts each, N idle windows of 30 s, 2N svcmon/API runs),
//          --only orchestration,pairs,pairs-agent,daemon,status,cli,mass,agent,api   --json FILE (all samples)
//          --no-setup (skip scripts/setup.sh and the docker-compose check)
//          --calm C (before each unit of measurement, wait up to 3 min until
//                    fewer than C CPUs were busy over the last 2 s)
//
// Prints, for each benchmark, the median of the runs and its ratio to the
// baseline measured in the same run, then whether each target holds.
// Everything a benchmark starts is cleaned up, also on failure or ^C.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { findExecutable } from "../src/util/which.js";
import { nodeBundleOptions } from "../scripts/bundle-options.js";
import { Cleanup, REPO, setCalm, sweepStaleRoots } from "./lib/env.js";
import { formatTable, load1, machine, mustRun, type ResultRow, type Samples } from "./lib/measure.js";
import { benchOrchestration, benchPairs, setupOrchestration, upForStatus } from "./suites/orchestration.js";
import { benchDaemon } from "./suites/daemon.js";
import { benchStatus } from "./suites/status.js";
import { benchCli } from "./suites/cli.js";
import { benchMass, setupMass } from "./suites/mass.js";
import { benchAgent } from "./suites/agent.js";
import { benchApi } from "./suites/api.js";

const SUITES = ["orchestration", "pairs", "pairs-agent", "daemon", "status", "cli", "mass", "agent", "api"] as const;
type Suite = (typeof SUITES)[number];
/** the suites that run on the orchestration service's private daemon (set up once for all of them) */
const DOCKER_SUITES: readonly Suite[] = ["orchestration", "pairs", "pairs-agent", "daemon", "status", "mass"];

function parseArgs(argv: string[]): { runs: number; only: Set<Suite>; json?: string; setup: boolean; calm?: number } {
  let runs = 5;
  let calm: number | undefined;
  let only = new Set<Suite>(SUITES);
  let json: string | undefined;
  let setup = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--only") only = new Set((argv[++i] ?? "").split(",").filter((x): x is Suite => (SUITES as readonly string[]).includes(x)));
    else if (a === "--json") json = argv[++i];
    else if (a === "--no-setup") setup = false;
    else if (a === "--calm") calm = Number(argv[++i]);
    else throw new Error(`unknown option ${a} (--runs N, --only ${SUITES.join(",")}, --json FILE, --no-setup, --calm BUSY_CPUS)`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs wants a positive integer");
  if (calm !== undefined && !(calm > 0)) throw new Error("--calm wants a number of busy CPUs, e.g. 0.5");
  return { runs, only, ...(json ? { json } : {}), setup, ...(calm !== undefined ? { calm } : {}) };
}

const log = (s: string): void => void process.stderr.write(`[bench ${new Date().toLocaleTimeString()}] ${s}\n`);

/** The build svcmgr's launcher runs, and docker-compose for the comparison (Debian package docker-compose). */
async function setup(): Promise<void> {
  log("setup: scripts/setup.sh (packages, npm, build)");
  await mustRun(["bash", path.join(REPO, "scripts/setup.sh")], { cwd: REPO });
  if (!findExecutable("docker-compose")) {
    if (process.getuid?.() !== 0) throw new Error("docker-compose is missing: apt-get install docker-compose (as root)");
    log("setup: installing Debian's docker-compose");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-compose"];
    await mustRun(install, { env }).catch(async () => {
      await mustRun(["apt-get", "update", "-qq"], { env });
      await mustRun(install, { env });
    });
  }
}

/**
 * bench/floor.ts packaged as svcmgr's CLI is (scripts/bundle-options.ts: one
 * CommonJS file with dockerode inside, its unused heavy dependencies loaded
 * lazily, run through bin/load-bundle.cjs and its V8 code cache, written by
 * the first run), so that packaging makes no difference between the two.
 * Returns the launcher to run with node (CommonJS, like svcmgr's). Written next to node_modules, where
 * the lazy dependencies resolve from.
 */
async function buildFloor(): Promise<string> {
  const dir = path.join(REPO, "node_modules", ".cache", "svcmgr-bench");
  const bundle = path.join(dir, "floor.cjs");
  await build({ ...nodeBundleOptions("cjs"), entryPoints: [path.join(REPO, "bench", "floor.ts")], outfile: bundle });
  fs.rmSync(`${bundle}.cache`, { force: true });
  // CommonJS, as svcmgr's own launcher (bin/svcmgr.js) is: an ES module entry would cost node ~5 ms more before the first call (its ES module loader)
  const launcher = path.join(dir, "floor-launch.cjs");
  fs.writeFileSync(
    launcher,
    [
      '"use strict";',
      `const loaded = require(${JSON.stringify(path.join(REPO, "bin", "load-bundle.cjs"))}).loadBundle(${JSON.stringify(bundle)});`,
      "void loaded.exports.done.then(() => loaded.saveCache());",
      "",
    ].join("\n"),
  );
  return launcher;
}

/** bench/daemon-probe.ts as a plain ESM program (it times its operation itself). */
async function buildProbe(): Promise<string> {
  const out = path.join(REPO, "node_modules", ".cache", "svcmgr-bench", "daemon-probe.mjs");
  await build({ ...nodeBundleOptions("esm"), entryPoints: [path.join(REPO, "bench", "daemon-probe.ts")], outfile: out });
  return out;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0 && [...DOCKER_SUITES, "agent" as const].some((x) => opts.only.has(x))) {
    throw new Error("the docker benchmarks need root (dockerd, bridges, mounts): run as root or --only cli");
  }
  if (opts.setup) await setup();
  setCalm(opts.calm);
  await sweepStaleRoots((s) => console.error(s));
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanup.run(log).finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const rows: ResultRow[] = [];
  const all: Record<string, Samples> = {};
  const started = new Date();
  const loads: number[] = [load1()];
  try {
    const floor = await buildFloor();
    const probe = await buildProbe();
    const needDocker = DOCKER_SUITES.some((x) => opts.only.has(x));
    const orch = needDocker ? await setupOrchestration(cleanup, floor, log) : undefined;
    if (orch && opts.only.has("orchestration")) {
      const r = await benchOrchestration(orch, opts.runs, log);
      rows.push(...r.rows);
      all.orchestration = r.samples;
      loads.push(load1());
    }
    if (orch && opts.only.has("pairs")) {
      const r = await benchPairs(orch, opts.runs * 3, log);
      rows.push(...r.rows);
      all.pairs = r.samples;
      loads.push(load1());
    }
    if (orch && opts.only.has("pairs-agent")) {
      const r = await benchPairs(orch, opts.runs * 3, log, "agent");
      rows.push(...r.rows);
      all["pairs-agent"] = r.samples;
      loads.push(load1());
    }
    if (orch && opts.only.has("daemon")) {
      const r = await benchDaemon(orch, probe, opts.runs * 2, log);
      rows.push(...r.rows);
      all.daemon = r.samples;
      loads.push(load1());
    }
    if (orch && opts.only.has("status")) {
      await upForStatus(orch);
      const r = await benchStatus(orch, cleanup, opts.runs * 2, log);
      rows.push(...r.rows);
      all.status = r.samples;
      loads.push(load1());
    }
    if (orch && opts.only.has("mass")) {
      const r = await benchMass(await setupMass(cleanup, orch.image, log), Math.max(2, Math.ceil(opts.runs / 2)), log);
      rows.push(...r.rows);
      all.mass = r.samples;
      loads.push(load1());
    }
    if (opts.only.has("cli")) {
      const r = await benchCli(orch?.root, cleanup, opts.runs * 4, log);
      rows.push(...r.rows);
      all.cli = r.samples;
      loads.push(load1());
    }
    if (opts.only.has("agent")) {
      const r = await benchAgent(cleanup, opts.runs, log);
      rows.push(...r.rows);
      all.agent = r.samples;
      loads.push(load1());
    }
    if (opts.only.has("api")) {
      const r = await benchApi(cleanup, opts.runs, log);
      rows.push(...r.rows);
      all.api = r.samples;
      loads.push(load1());
    }
  } finally {
    await cleanup.run(log);
  }
  const header = [
    `svcmgr benchmarks, ${started.toISOString()}`,
    `machine: ${machine()}`,
    `load average (1 min) during the run: ${loads.map((l) => l.toFixed(2)).join(" -> ")}`,
    `medians of ${opts.runs} runs per benchmark (pairs: ${opts.runs * 3}, daemon and status: ${opts.runs * 2}, cli: ${opts.runs * 4}, mass: ${Math.max(2, Math.ceil(opts.runs / 2))}, agent's svcmon and API: ${opts.runs * 2})${opts.calm ? `, each unit started with under ${opts.calm} CPUs busy (or after 3 min of waiting)` : ""}`,
    "",
  ].join("\n");
  process.stdout.write(header + formatTable(rows));
  const failed = rows.filter((r) => r.holds === false);
  process.stdout.write(failed.length ? `\n${failed.length} target(s) not reached\n` : "\nevery target holds\n");
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ started, machine: machine(), host: os.hostname(), loads, rows, samples: all }, null, 2));
    log(`samples written to ${opts.json}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
