// Status: `print status` of the orchestration service (seven containers up),
// and svcmon over 50 and 200 generated services in a temp SVCMGR_ROOT, from
// the status cache and with --refresh. The generated services alternate: a
// container-less one (an app resource without a check command), and one with
// a container whose private daemon is down.
import path from "node:path";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { type Cleanup, measureUnit, SVCMON, svcmgrArgv, svcmgrEnv, writeFile } from "../lib/env.js";
import { mustRun, row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { SVC, type OrchestrationEnv } from "./orchestration.js";

const SIZES = [50, 200] as const;

function generate(root: string, n: number, image: string): void {
  for (let i = 0; i < n; i++) {
    const name = `svc${String(i).padStart(3, "0")}.bench`;
    const body =
      i % 2 === 0
        ? ["[DEFAULT]", "service_type = DEV", "", "[app#1]", "start = true", "stop = true", ""]
        : ["[DEFAULT]", "service_type = TST", `docker_data_dir = ${path.join(root, "data", name)}`, "", "[container#1]", "type = docker", `run_image = ${image}`, "run_command = sleep 3600", "run_args = --init", ""];
    writeFile(path.join(root, "etc", `${name}.conf`), body.join("\n"));
  }
}

export async function benchStatus(e: OrchestrationEnv, cleanup: Cleanup, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const s = new Samples();
  const roots = new Map<number, string>();
  for (const n of SIZES) {
    const root = cleanup.root(makeTempRoot("svbmon-"));
    generate(root, n, e.image);
    // the first evaluation makes every cache entry: not what is measured
    await mustRun([SVCMON, "--refresh"], { env: svcmgrEnv(root) });
    roots.set(n, root);
  }
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      u.add("print status", (await timeProcess(svcmgrArgv("-s", SVC, "print", "status"), { env: svcmgrEnv(e.root) })).ms);
      for (const n of SIZES) {
        const env = svcmgrEnv(roots.get(n)!);
        // --refresh first: it rewrites every cache entry, so that the plain run after it reads a fresh cache
        u.add(`svcmon ${n} refresh`, (await timeProcess([SVCMON, "--refresh"], { env })).ms);
        const cached = await timeProcess([SVCMON], { env });
        if (cached.stdout.trim().split("\n").length !== n + 3) throw new Error(`svcmon printed ${cached.stdout.split("\n").length} lines for ${n} services`);
        u.add(`svcmon ${n} cache`, cached.ms);
      }
    });
  }
  log(`status: ${runs} runs done`);
  const under = (ms: number) => ({ text: `< ${ms / 1000} s`, check: (m: number) => m < ms });
  const rows = [
    row(s, "status", "print status (7 containers up)", "print status", undefined, under(200)),
    row(s, "status", "svcmon, 50 services, from the cache", "svcmon 50 cache"),
    row(s, "status", "svcmon, 200 services, from the cache", "svcmon 200 cache", { name: "50 services", key: "svcmon 50 cache" }, under(100)),
    row(s, "status", "svcmon --refresh, 50 services", "svcmon 50 refresh"),
    row(s, "status", "svcmon --refresh, 200 services", "svcmon 200 refresh", { name: "50 services", key: "svcmon 50 refresh" }, {
      text: "< 4x for 4x the services",
      check: (_m, r) => r !== undefined && r < 4,
    }),
  ];
  return { samples: s, rows };
}
