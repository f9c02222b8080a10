// Many services at once: `svcmgr -s 'm*' start --parallel` of 20 one-container
// services, each with its own private daemon, against the same 20 one after
// the other (`svcmgr -s 'm*' start`), and the same for stop. The containers run
// `sleep 3600` without --init and with stop_timeout = 1: sleep, as pid 1,
// ignores the TERM of docker stop, so each stop waits its second, then KILLs.
// Every start begins with the daemons down (the stop before shut them down),
// the containers created by a first, unmeasured start. One service alone is
// measured too: what the 20 would cost one after the other with nothing shared.
import path from "node:path";
import Docker from "dockerode";
import { hostIpv4Addresses } from "../../src/drivers/container-docker/bridge.js";
import { overlaps, parseCidr } from "../../src/util/ipv4.js";
import { pidAlive, readPidFile } from "../../src/util/proc.js";
import { Logger } from "../../src/util/log.js";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { measureUnit, svcmgr, svcmgrArgv, svcmgrEnv, writeFile, type Cleanup } from "../lib/env.js";
import { row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";

const COUNT = 20;
const names = Array.from({ length: COUNT }, (_, i) => `m${String(i + 1).padStart(2, "0")}.mass`);

/** /24s outside svcmgr's pool and unused on the host (the tests running alongside allocate from the pool). */
async function freeSubnets(n: number): Promise<string[]> {
  const used = (await hostIpv4Addresses(new Logger([]))).map((a) => a.net);
  const out: string[] = [];
  for (let i = 0; i < 256 && out.length < n; i++) {
    const cidr = `10.214.${i}.0/24`;
    if (!used.some((u) => overlaps(u, parseCidr(cidr)!))) out.push(cidr);
  }
  if (out.length < n) throw new Error("not enough free /24s in 10.214.0.0/16 for the mass benchmark's bridges");
  return out;
}

export interface MassEnv {
  root: string;
}

export async function setupMass(cleanup: Cleanup, image: string, log: (s: string) => void): Promise<MassEnv> {
  log(`mass: ${COUNT} services, each pulling its image through its own daemon`);
  const root = cleanup.root(makeTempRoot("svbmass-"));
  const cidrs = await freeSubnets(COUNT);
  names.forEach((n, i) => {
    const conf = ["[DEFAULT]", `docker_data_dir = ${root}/data/{name}`, `docker_bridge_cidr = ${cidrs[i]}`, "", "[container#1]", "type = docker", `run_image = ${image}`, "run_command = sleep 3600", "stop_timeout = 1", ""];
    writeFile(path.join(root, "etc", `${n}.conf`), conf.join("\n"));
  });
  for (let i = 0; i < COUNT; i += 5) await Promise.all(names.slice(i, i + 5).map((n) => svcmgr(root, "-s", n, "docker", "pull", "-q", image)));
  // the containers are created once, not measured; every daemon goes down with the stop
  await svcmgr(root, "-s", "m*", "start", "--parallel");
  await svcmgr(root, "-s", "m*", "stop", "--parallel");
  return { root };
}

const socket = (e: MassEnv, n: string): string => path.join(e.root, "var", n, "docker.sock");
const daemonUp = (e: MassEnv, n: string): boolean => {
  const pid = readPidFile(path.join(e.root, "var", n, "docker.pid"));
  return pid !== undefined && pidAlive(pid);
};

async function assertAllUp(e: MassEnv, what: string): Promise<void> {
  for (const n of names) {
    const running = daemonUp(e, n) ? await new Docker({ socketPath: socket(e, n) }).listContainers() : [];
    if (running.length !== 1) throw new Error(`mass: ${what}: ${n} runs ${running.length} containers`);
  }
}

function assertAllDown(e: MassEnv, what: string): void {
  const up = names.filter((n) => daemonUp(e, n));
  if (up.length) throw new Error(`mass: ${what}: daemons still up: ${up.join(", ")}`);
}

const time = async (e: MassEnv, ...args: string[]): Promise<number> => (await timeProcess(svcmgrArgv(...args), { env: svcmgrEnv(e.root) })).ms;

export async function benchMass(e: MassEnv, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const s = new Samples();
  const parallel = async (u: Samples): Promise<void> => {
    u.add("parallel start", await time(e, "-s", "m*", "start", "--parallel"));
    await assertAllUp(e, "parallel start");
    u.add("parallel stop", await time(e, "-s", "m*", "stop", "--parallel"));
    assertAllDown(e, "parallel stop");
  };
  const serial = async (u: Samples): Promise<void> => {
    u.add("serial start", await time(e, "-s", "m*", "start"));
    await assertAllUp(e, "serial start");
    u.add("serial stop", await time(e, "-s", "m*", "stop"));
    assertAllDown(e, "serial stop");
  };
  const one = async (u: Samples): Promise<void> => {
    for (const n of names.slice(0, 3)) {
      u.add("one start", await time(e, "-s", n, "start"));
      u.add("one stop", await time(e, "-s", n, "stop"));
    }
  };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [serial, parallel, one] : [parallel, serial, one];
    for (const fn of order) await measureUnit(s, log, fn);
    log(`mass: cycle ${i + 1}/${runs} done`);
  }
  const rows = [
    row(s, "mass", `${COUNT} services: start --parallel`, "parallel start", { name: "one after the other", key: "serial start" }, undefined, "information"),
    row(s, "mass", `${COUNT} services: stop --parallel`, "parallel stop", { name: "one after the other", key: "serial stop" }, undefined, "information"),
    row(s, "mass", "one of them alone: start", "one start", undefined, undefined, "information"),
    row(s, "mass", "one of them alone: stop", "one stop", undefined, undefined, "information"),
  ];
  return { samples: s, rows };
}
