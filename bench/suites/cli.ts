// CLI start-up: commands that do not touch Docker, against `node -e 0` (the
// cost of starting node itself), run alternately so that load hits all alike.
import path from "node:path";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { type Cleanup, floorEnv, measureUnit, NODE, svcmgrArgv, svcmgrEnv, writeFile } from "../lib/env.js";
import { row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { SVC } from "./orchestration.js";

export async function benchCli(orchRoot: string | undefined, cleanup: Cleanup, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  let root = orchRoot;
  if (!root) {
    root = cleanup.root(makeTempRoot("svbcli-"));
    const c = (n: number) => [`[container#${n}]`, "type = docker", "run_image = busybox:latest", "run_command = sleep 3600", "run_args = --init", ""];
    writeFile(path.join(root, "etc", `${SVC}.conf`), ["[DEFAULT]", "service_type = DEV", "", ...[1, 2, 3, 4, 5, 6, 7].flatMap(c)].join("\n"));
  }
  const env = svcmgrEnv(root);
  // the baseline without NODE_EXTRA_CA_CERTS, which svcmgr's launcher keeps from node's start-up
  const cmds: [string, string[], NodeJS.ProcessEnv][] = [
    ["node -e 0", [NODE, "-e", "0"], floorEnv(env)],
    ["svcmgr --version", svcmgrArgv("--version"), env],
    ["svcmgr print config", svcmgrArgv("-s", SVC, "print", "config"), env],
  ];
  const s = new Samples();
  for (const [, argv, e] of cmds) await timeProcess(argv, { env: e }); // warm the page cache
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      for (let k = 0; k < cmds.length; k++) {
        const [key, argv, e] = cmds[(k + i) % cmds.length]!;
        u.add(key, (await timeProcess(argv, { env: e })).ms);
      }
    });
  }
  log(`cli: ${runs} runs done`);
  const twice = { text: "<= 2x node -e 0", check: (_m: number, r: number | undefined) => r !== undefined && r <= 2 };
  const rows = [
    row(s, "cli", "svcmgr --version", "svcmgr --version", { name: "node -e 0", key: "node -e 0" }, twice),
    row(s, "cli", "svcmgr -s X print config", "svcmgr print config", { name: "node -e 0", key: "node -e 0" }, twice),
  ];
  return { samples: s, rows };
}
