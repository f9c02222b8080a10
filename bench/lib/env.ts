// What every suite shares: where svcmgr and the floor are, the environment a
// svcmgr process gets, and the clean-up of everything a benchmark started.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cleanupEverything } from "../../test/support/docker-fixture.js";
import { pidAlive } from "../../src/util/proc.js";
import { mustRun, Samples } from "./measure.js";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const LAUNCHER = path.join(REPO, "bin/svcmgr.js");
export const SVCMON = path.join(REPO, "bin/svcmon.js");
export const NODE = process.execPath;

/** The environment of a svcmgr process working in `root`. */
export function svcmgrEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SVCMGR_ROOT: root, SVCMGR_NODENAME: "bench.opensvc.com", NO_COLOR: "1" };
  for (const k of ["DOCKER_HOST", "DOCKER_CONTEXT", "NODE_OPTIONS"]) delete env[k];
  return env;
}

/**
 * The environment of the floors' own node helpers (daemon up and down, the
 * Node floor): without NODE_EXTRA_CA_CERTS, which would cost each of them
 * node 20's parse of the whole CA store at start-up (svcmgr's launcher defers
 * it the same way), so that a floor stays the lightest client there is.
 */
export function floorEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** svcmgr as a user runs it: the launcher itself (its /bin/sh lines defer NODE_EXTRA_CA_CERTS, see bin/svcmgr.js), not `node launcher`. */
export function svcmgrArgv(...args: string[]): string[] {
  return [LAUNCHER, ...args];
}

export async function svcmgr(root: string, ...args: string[]): Promise<string> {
  return mustRun(svcmgrArgv(...args), { env: svcmgrEnv(root) });
}

const OWNER_FILE = ".bench-owner";

/** Temp roots of benchmark runs that died without their clean-up (their owner pid gone): cleaned now. */
export async function sweepStaleRoots(log: (s: string) => void): Promise<void> {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const root = path.join(os.tmpdir(), name);
    let pid: number;
    try {
      pid = Number(fs.readFileSync(path.join(root, OWNER_FILE), "utf8").trim());
    } catch {
      continue; // not a benchmark root
    }
    if (!Number.isInteger(pid) || pid <= 0 || pidAlive(pid)) continue;
    log(`cleaning ${root}, left by benchmark run ${pid}`);
    await cleanupEverything(root);
  }
}

/** Things to undo at the end, last registered first, even when a benchmark fails or the run is interrupted. */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<void> | void }[] = [];
  private done = false;

  add(what: string, fn: () => Promise<void> | void): void {
    this.steps.push({ what, fn });
  }

  /** A temp SVCMGR_ROOT: daemons by pid, shims, bridges, mounts, exec roots, then the directory. */
  root(root: string): string {
    // the owner's pid: a run killed outright (SIGKILL, the machine's session ending) is swept by the next run
    fs.writeFileSync(path.join(root, OWNER_FILE), `${process.pid}\n`);
    this.add(`temp root ${root}`, () => cleanupEverything(root));
    return root;
  }

  async run(log: (s: string) => void): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const step of this.steps.reverse()) {
      try {
        await step.fn();
      } catch (e) {
        log(`clean-up of ${step.what} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

export function writeFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const mtime = (f: string): number => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/**
 * Does bin/svcmgr.js run the bundle? It falls back to the (slower) tsc build
 * when that is newer, as it is when someone rebuilds with tsc alone while the
 * benchmarks run.
 */
export function bundleInUse(): boolean {
  const bundle = path.join(REPO, "dist", "bundle", "svcmgr.cjs");
  return mtime(bundle) >= mtime(path.join(REPO, "dist", "cli", "main.js")) && fs.existsSync(`${bundle}.cache`);
}

export async function ensureBundle(log: (s: string) => void): Promise<void> {
  if (bundleInUse()) return;
  log("the tsc build is newer than the bundle (rebuilt meanwhile): bundling again");
  await mustRun([NODE, "--import", "tsx", path.join(REPO, "scripts", "bundle.ts")], { cwd: REPO });
}

/**
 * Run one unit of measurement into `into`; its samples are thrown away and it
 * is run again (up to 3 times) when the build svcmgr runs changed meanwhile.
 */
export async function measureUnit(into: Samples, log: (s: string) => void, unit: (s: Samples) => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await waitForCalm(log);
    await ensureBundle(log);
    const stamp = mtime(path.join(REPO, "dist", "cli", "main.js"));
    const s = new Samples();
    await unit(s);
    const fresh = bundleInUse() && stamp === mtime(path.join(REPO, "dist", "cli", "main.js"));
    if (fresh || attempt === 3) {
      if (!fresh) log("the build keeps changing: these samples were measured partly without the bundle");
      into.merge(s);
      return;
    }
    log("the build changed during a measurement: its samples are dropped, measuring again");
  }
}

let calm: number | undefined;

/**
 * --calm C: before each unit of measurement, wait (up to 3 minutes) until the
 * CPUs busy over the last 2 s (0 to the number of CPUs; from /proc/stat, so
 * what others run right now, not a lagging load average) drop under C.
 */
export function setCalm(busyCpus: number | undefined): void {
  calm = busyCpus;
}

function cpuTimes(): { busy: number; total: number } {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPUs busy on average over `ms` (0 to the number of CPUs). */
export async function busyCpus(ms = 2000): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  return b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * os.cpus().length : 0;
}

export async function waitForCalm(log: (s: string) => void): Promise<void> {
  if (calm === undefined) return;
  const deadline = Date.now() + 180_000;
  let busy = await busyCpus();
  if (busy < calm) return;
  log(`${busy.toFixed(2)} CPUs busy >= ${calm}: waiting (up to 3 min) for a calmer machine`);
  while (busy >= calm && Date.now() < deadline) busy = await busyCpus();
}
