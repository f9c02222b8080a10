// The private daemon alone: svcmgr's start-up of it (PrivateDockerDaemon.start(),
// as a container start or the docker passthrough calls it: checks, bridge,
// dockerd, readiness, API version) against a plain dockerd with the same flags
// (bench/floor.ts daemon-up: the bridge, dockerd, /_ping); and its stop against
// dockerd's own TERM-to-exit time. Each in a fresh process, timed inside it, so
// node's start-up is not part of either.
import { pidAlive, readPidFile } from "../../src/util/proc.js";
import { measureUnit, NODE, svcmgr, svcmgrEnv } from "../lib/env.js";
import { row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { SVC, type OrchestrationEnv } from "./orchestration.js";

async function timed(argv: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  const r = await timeProcess(argv, env ? { env } : {});
  return (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ms: number }).ms;
}

export async function benchDaemon(e: OrchestrationEnv, probe: string, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const s = new Samples();
  const floorTimed = (...args: string[]): Promise<number> => timed([NODE, e.floor, e.specs.floor, ...args, "--time"]);
  const up = (): boolean => {
    const pid = readPidFile(`${e.state}/docker.pid`);
    return pid !== undefined && pidAlive(pid);
  };
  // start from a stopped daemon (no container runs after the orchestration suite)
  if (up()) await svcmgr(e.root, "-s", SVC, "stop");
  const contenders: [string, (s: Samples) => Promise<void>][] = [
    [
      "svcmgr",
      async (s) => {
        s.add("svcmgr start", await timed([NODE, probe, SVC, "start"], svcmgrEnv(e.root)));
        s.add("svcmgr stop", await timed([NODE, probe, SVC, "stop"], svcmgrEnv(e.root)));
      },
    ],
    [
      "plain",
      async (s) => {
        s.add("plain start", await floorTimed("daemon-up"));
        s.add("plain stop (TERM, wait for exit)", await floorTimed("daemon-down", "--plain-stop"));
        s.add("plain start", await floorTimed("daemon-up"));
        s.add("plain stop, cut short as svcmgr does", await floorTimed("daemon-down"));
      },
    ],
  ];
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const [name, fn] = contenders[(k + i) % contenders.length]!;
      await measureUnit(s, log, fn);
      if (up()) throw new Error(`daemon suite: ${name} left the daemon up`);
    }
  }
  log(`daemon: ${runs} runs done`);
  const rows = [
    row(s, "daemon", "svcmgr private daemon start-up", "svcmgr start", { name: "plain dockerd, same flags", key: "plain start" }, { text: "<= 1.2x plain dockerd", check: (_m, r) => r !== undefined && r <= 1.2 }),
    row(s, "daemon", "svcmgr private daemon stop", "svcmgr stop", { name: "plain dockerd: TERM, wait for exit", key: "plain stop (TERM, wait for exit)" }, undefined, "information"),
    row(s, "daemon", "svcmgr private daemon stop", "svcmgr stop", { name: "plain dockerd, stop cut short like svcmgr", key: "plain stop, cut short as svcmgr does" }, undefined, "information"),
  ];
  return { samples: s, rows };
}
