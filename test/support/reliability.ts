// Helpers of the reliability suite (test/reliability): the complex
// orchestration service of the second tutorial, what runs for a service on the
// host (dockerd, shims, containers), and seeded randomness.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { execRootFor } from "../../src/drivers/container-docker/daemon.js";
import { shimPids } from "../../src/drivers/container-docker/cleanup.js";
import { allPids, pidAlive, procCmdline, procComm, readPidFile } from "../../src/util/proc.js";
import { parseServiceConfig } from "../../src/service/service-config.js";
import type { CliRoot, CliResult } from "./cli.js";
import { importImage, RUN_DIR } from "./docker-fixture.js";

/** The image every reliability test runs: the busybox rootfs, imported (no registry needed). */
export const IMAGE = "svt/busybox:latest";

/** One `[container#N]` section; `extra` lines are added as they are. */
export function containerSection(n: number, opts: { subset?: string; command?: string; args?: string; extra?: string[] } = {}): string[] {
  return [
    `[container#${n}]`,
    "type = docker",
    `run_image = ${IMAGE}`,
    `run_command = ${opts.command ?? "sleep 3600"}`,
    `run_args = ${opts.args ?? "--init"}`,
    ...(opts.subset ? [`subset = ${opts.subset}`] : []),
    ...(opts.extra ?? []),
    "",
  ];
}

const RESERVATIONS = "/tmp/svcmgr-test-cache/bridge-cidrs";
const reserved: string[] = [];
process.on("exit", () => reserved.forEach((f) => fs.rmSync(f, { force: true })));

/**
 * A bridge subnet of its own for each service of the suite. Other tests run at
 * the same time in roots that do not see each other (their automatic
 * allocations start at 172.30.0.0/24), and so may a second run of this suite:
 * these come from 172.30.128.0/17, skip any subnet a host interface uses, and
 * are reserved for the life of this process by a file naming its pid.
 */
export function nextBridgeCidr(): string {
  fs.mkdirSync(RESERVATIONS, { recursive: true });
  const inUse = spawnSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" }).stdout;
  for (let i = 0; i < 128; i++) {
    const third = 128 + ((process.pid + i) % 128);
    if (inUse.includes(` 172.30.${third}.`)) continue;
    const file = path.join(RESERVATIONS, String(third));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
        reserved.push(file);
        return `172.30.${third}.0/24`;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const owner = readPidFile(file);
        if (owner !== undefined && pidAlive(owner)) break; // someone else's
        fs.rmSync(file, { force: true }); // a dead owner's: take it
      }
    }
  }
  throw new Error("no free subnet left in 172.30.128.0/17");
}

/** The complex orchestration of the second tutorial: 00database, 01appservers (4, parallel), 02webservers (2, in order). */
export function complexConfig(dataDir: string): string {
  return [
    "[DEFAULT]",
    "service_type = DEV",
    `docker_data_dir = ${dataDir}`,
    `docker_bridge_cidr = ${nextBridgeCidr()}`,
    "",
    ...containerSection(1, { subset: "00database" }),
    ...[2, 3, 4, 5].flatMap((n) => containerSection(n, { subset: "01appservers" })),
    "[subset#container.docker:01appservers]",
    "parallel = true",
    "",
    ...containerSection(6, { subset: "02webservers" }),
    ...containerSection(7, { subset: "02webservers" }),
    "[subset#container.docker:02webservers]",
    "parallel = false",
    "",
  ].join("\n");
}

export function simpleConfig(dataDir: string, containers: number): string {
  return ["[DEFAULT]", `docker_data_dir = ${dataDir}`, `docker_bridge_cidr = ${nextBridgeCidr()}`, "", ...Array.from({ length: containers }, (_, i) => containerSection(i + 1)).flat()].join("\n");
}

export function ok(res: CliResult, what: string): string {
  if (res.code !== 0) throw new Error(`${what} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

export const socketOf = (r: CliRoot, svc: string): string => r.file(`var/${svc}/docker.sock`);
export const execRootOf = (r: CliRoot, svc: string): string => execRootFor(RUN_DIR, r.file(`var/${svc}`));

/** Write a config by hand (as an operator would) and load the test image into the service's private daemon. */
export async function setUpService(r: CliRoot, svc: string, config: string): Promise<void> {
  fs.mkdirSync(r.file("etc"), { recursive: true });
  fs.writeFileSync(r.file(`etc/${svc}.conf`), config);
  // the passthrough starts the private daemon; the image is then imported into it
  ok(r.run(["-s", svc, "docker", "version", "--format", "{{.Server.APIVersion}}"]), `start the daemon of ${svc}`);
  await importImage(socketOf(r, svc), IMAGE);
  ok(r.run(["-s", svc, "stop"]), `stop ${svc}`);
}

/** Every live dockerd serving this service's socket (there must never be more than one). */
export function dockerdPids(r: CliRoot, svc: string): number[] {
  const sock = `unix://${socketOf(r, svc)}`;
  return allPids().filter((p) => procComm(p) === "dockerd" && pidAlive(p) && procCmdline(p).some((a) => a.endsWith(sock)));
}

/** containerd-shim processes left for this service's exec root. */
export function shimsOf(r: CliRoot, svc: string): number[] {
  return shimPids(execRootOf(r, svc)).filter(pidAlive);
}

export interface ContainerRow {
  name: string;
  rid: string;
  state: string;
}

/** `docker ps -a` on the service's own socket, without starting its daemon; undefined when the daemon is down. */
export async function containersOf(r: CliRoot, svc: string): Promise<ContainerRow[] | undefined> {
  const sock = socketOf(r, svc);
  if (!fs.existsSync(sock)) return undefined;
  const res = await execa("docker", ["-H", `unix://${sock}`, "ps", "-a", "--format", '{{.Names}}\t{{.Label "com.svcmgr.rid"}}\t{{.State}}'], { reject: false, env: { DOCKER_HOST: undefined } });
  if (res.exitCode !== 0) return undefined;
  return res.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [name = "", rid = "", state = ""] = l.split("\t");
      return { name, rid, state };
    });
}

/** The status cache and the config both parse (no half-written file). Returns a problem description or undefined. */
export function filesIntact(r: CliRoot, svc: string): string | undefined {
  const status = r.file(`var/${svc}/status.json`);
  if (fs.existsSync(status)) {
    try {
      JSON.parse(fs.readFileSync(status, "utf8"));
    } catch (e) {
      return `status.json does not parse: ${String(e)}`;
    }
  }
  const file = r.file(`etc/${svc}.conf`);
  const cfg = parseServiceConfig(svc, file, fs.readFileSync(file, "utf8"), { nodename: r.nodename, varDir: r.file(`var/${svc}`), etcDir: r.file("etc") });
  if (cfg.problems.length) return `config has problems: ${cfg.problems.map((p) => p.message).join("; ")}`;
  return undefined;
}

/** Leftover temp files of atomic writes (a killed writer may leave one, never a half-written target). */
export function tempLitter(r: CliRoot, svc: string): string[] {
  const dirs = [r.file(`var/${svc}`), r.file("etc")];
  return dirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith(".tmp")).map((f) => path.join(d, f)) : []));
}

export const daemonPidFromFile = (r: CliRoot, svc: string): number | undefined => readPidFile(r.file(`var/${svc}/docker.pid`));

/** mulberry32: a small seeded generator, so that a failing trial can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Figures a test measured, appended to .test-out/reliability-figures.json for RELIABILITY.md. */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const dir = path.resolve(import.meta.dirname, "../../.test-out");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "reliability-figures.json");
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    // first figures of this run
  }
  all[name] = { ...figures, at: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify(all, null, 2) + "\n");
}
