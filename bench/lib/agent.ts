// What the agent benchmarks share: services with a private daemon and the test
// image in it, the agent of a root started and stopped (and stopped on
// clean-up: cleanupEverything does not know it, its command line names no
// root), a process's CPU time and memory from /proc, a container's next start
// from its daemon's event stream.
import fs from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { pidAlive, signal, waitPidGone } from "../../src/util/proc.js";
import { importImage } from "../../test/support/docker-fixture.js";
import { IMAGE } from "../../test/support/reliability.js";
import { type Cleanup, svcmgr, writeFile } from "./env.js";
import { mustRun } from "./measure.js";

export { IMAGE };

export const socketOf = (root: string, svc: string): string => path.join(root, "var", svc, "docker.sock");
export const agentSocket = (root: string): string => path.join(root, "var", "_agent", "api.sock");

/** A service with one container on its own private daemon (bridge subnet picked by svcmgr). */
export function containerService(root: string, svc: string, extra: string[] = []): string[] {
  return ["[DEFAULT]", `docker_data_dir = ${path.join(root, "data", svc)}`, "", "[container#1]", "type = docker", `run_image = ${IMAGE}`, "run_command = sleep 86400", "run_args = --init", ...extra, ""];
}

/** Write the config, start the service's daemon (the docker passthrough does), import the image into it. */
export async function setUpService(root: string, svc: string, config: string[]): Promise<void> {
  writeFile(path.join(root, "etc", `${svc}.conf`), config.join("\n"));
  await svcmgr(root, "-s", svc, "docker", "version", "--format", "{{.Server.APIVersion}}");
  await importImage(socketOf(root, svc), IMAGE);
}

/** The live agent of the root, from its pid file. */
export function agentPid(root: string): number | undefined {
  try {
    const pid = (JSON.parse(fs.readFileSync(path.join(root, "var", "_agent", "agent.pid"), "utf8")) as { pid: number }).pid;
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** `svcmgr daemon start` (it returns once the API answers); stopped on clean-up, before the root is removed. */
export async function startAgent(root: string, cleanup: Cleanup): Promise<number> {
  await svcmgr(root, "daemon", "start");
  const pid = agentPid(root);
  if (pid === undefined) throw new Error(`daemon start returned but no agent runs for ${root}`);
  cleanup.add(`agent of ${root}`, () => stopAgent(root));
  return pid;
}

export async function stopAgent(root: string): Promise<void> {
  const pid = agentPid(root);
  if (pid === undefined) return;
  await svcmgr(root, "daemon", "stop").catch(() => undefined);
  if (pidAlive(pid)) {
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
  }
}

let clkTck: number | undefined;

/** CPU seconds a process used (utime + stime), and its waited-for children's (cutime + cstime). */
export async function cpuSeconds(pid: number): Promise<{ self: number; children: number }> {
  clkTck ??= Number((await mustRun(["getconf", "CLK_TCK"])).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return { self: (f[11]! + f[12]!) / clkTck, children: (f[13]! + f[14]!) / clkTck };
}

/** Resident memory (VmRSS) in MiB. */
export function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

/**
 * Subscribe to the daemon's `start` events of one container (by name) now;
 * `next` resolves with the daemon's time of the next one (ms since the epoch,
 * from its timeNano: the daemon's clock, which is the host's).
 */
export async function watchStart(socket: string, name: string, timeoutMs = 30_000): Promise<{ next: Promise<number>; close: () => void }> {
  const docker = new Docker({ socketPath: socket });
  const stream = (await docker.getEvents({ filters: { type: ["container"], event: ["start"], container: [name] } })) as NodeJS.ReadableStream & { destroy(): void };
  const close = (): void => stream.destroy();
  const next = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no start event within ${timeoutMs / 1000} s`)), timeoutMs);
    let buf = "";
    stream.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { timeNano?: number; Actor?: { Attributes?: { name?: string } } };
        if (ev.Actor?.Attributes?.name !== name || ev.timeNano === undefined) continue;
        clearTimeout(timer);
        resolve(ev.timeNano / 1e6);
      }
    });
    stream.on("error", (e: unknown) => {
      clearTimeout(timer);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
  next.catch(() => undefined).finally(close);
  return { next, close };
}
