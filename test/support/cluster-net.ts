// Network namespaces for the cluster rig (test/support/cluster-rig.ts): a hub
// namespace holding a bridge, one namespace per node joined to it by a veth
// pair, processes run in a namespace with nsenter (not `ip netns exec`, which
// remounts /sys and hides the cgroup mounts dockerd needs), partitions by
// iptables, finding every process of a namespace and its descendants, and
// the hub's registry.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { allPids, pidAlive, procCmdline, procParent, signal, waitPidGone } from "../../src/util/proc.js";
import { startImageRegistry, type ImageSpec } from "./registry-images.js";

/** The node's end of its veth pair, inside the node's namespace. */
export const NODE_IF = "eth0";
/** The bridge inside the hub namespace. */
export const HUB_BRIDGE = "br0";

export const netnsPath = (ns: string): string => `/run/netns/${ns}`;
export const nsenterArgs = (ns: string, argv: string[]): string[] => ["nsenter", `--net=${netnsPath(ns)}`, "--", ...argv];

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command (in a namespace when ns is given) and wait for it. */
export function execIn(ns: string | undefined, argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  const full = ns ? nsenterArgs(ns, argv) : argv;
  return new Promise((resolve) => {
    const child = spawn(full[0]!, full.slice(1), { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: sig ? `${stderr}killed by ${sig} (timeout ${opts.timeoutMs} ms)` : stderr });
    });
    child.stdin.on("error", () => undefined); // a command that exits before reading its input
    child.stdin.end(opts.input ?? "");
  });
}

/** Like execIn, but throws with the command's stderr when it fails. */
export async function mustIn(ns: string | undefined, argv: string[], timeoutMs = 30_000): Promise<string> {
  const r = await execIn(ns, argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`${ns ? `[${ns}] ` : ""}${argv.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Start a long-running process in the namespace, its output appended to logFile; nsenter execs it, so the pid is the program's. */
export function spawnIn(ns: string, argv: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const out = fs.openSync(logFile, "a");
  const full = nsenterArgs(ns, argv);
  const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", out, out], env, detached: true });
  fs.closeSync(out);
  child.on("error", () => undefined);
  return child;
}

/** A /24 of 10.0.0.0/8 that no host address or route uses (its first three octets, e.g. "10.57.201"). */
export function pickSubnet(): string {
  const used = spawnSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" }).stdout + spawnSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" }).stdout;
  for (let i = 0; i < 200; i++) {
    const prefix = `10.${64 + Math.floor(Math.random() * 160)}.${Math.floor(Math.random() * 256)}`;
    if (!used.includes(` ${prefix}.`) && !used.includes(`\n${prefix}.`) && !used.startsWith(`${prefix}.`)) return prefix;
  }
  throw new Error("no free 10.x.y.0/24 found for the cluster rig");
}

export interface NetNode {
  name: string;
  netns: string;
  addr: string;
}

/** The hub namespace with its bridge at hubAddr/24, then each node's namespace, veth and address; loopback up everywhere. */
export async function buildNetwork(hubNs: string, hubAddr: string, nodes: NetNode[]): Promise<void> {
  await mustIn(undefined, ["ip", "netns", "add", hubNs]);
  const hub = (args: string[]) => mustIn(undefined, ["ip", "-n", hubNs, ...args]);
  await hub(["link", "set", "lo", "up"]);
  await hub(["link", "add", HUB_BRIDGE, "type", "bridge"]);
  await hub(["addr", "add", `${hubAddr}/24`, "dev", HUB_BRIDGE]);
  await hub(["link", "set", HUB_BRIDGE, "up"]);
  for (const n of nodes) {
    await mustIn(undefined, ["ip", "netns", "add", n.netns]);
    // both ends are made in their namespaces: nothing of the rig ever appears in the host's
    await mustIn(undefined, ["ip", "link", "add", NODE_IF, "netns", n.netns, "type", "veth", "peer", "name", n.name, "netns", hubNs]);
    await hub(["link", "set", n.name, "master", HUB_BRIDGE, "up"]);
    const node = (args: string[]) => mustIn(undefined, ["ip", "-n", n.netns, ...args]);
    await node(["link", "set", "lo", "up"]);
    await node(["addr", "add", `${n.addr}/24`, "dev", NODE_IF]);
    await node(["link", "set", NODE_IF, "up"]);
  }
}

export const setLink = (ns: string, up: boolean): Promise<string> => mustIn(undefined, ["ip", "-n", ns, "link", "set", NODE_IF, up ? "up" : "down"]);

// mangle sees every packet in (PREROUTING) and out (POSTROUTING), forwarded ones
// too (containers), before dockerd's own filter and nat rules; loopback is untouched
const PARTITION_RULES = [
  ["-t", "mangle", "PREROUTING", "-i", NODE_IF, "-j", "DROP"],
  ["-t", "mangle", "POSTROUTING", "-o", NODE_IF, "-j", "DROP"],
];

export async function partition(ns: string): Promise<void> {
  for (const [t, table, chain, ...rule] of PARTITION_RULES) {
    if ((await execIn(ns, ["iptables", "-w", t!, table!, "-C", chain!, ...rule])).code !== 0) await mustIn(ns, ["iptables", "-w", t!, table!, "-I", chain!, "1", ...rule]);
  }
}

export async function heal(ns: string): Promise<void> {
  for (const [t, table, chain, ...rule] of PARTITION_RULES) {
    while ((await execIn(ns, ["iptables", "-w", t!, table!, "-C", chain!, ...rule])).code === 0) await mustIn(ns, ["iptables", "-w", t!, table!, "-D", chain!, ...rule]);
  }
}

export function netnsExists(ns: string): boolean {
  return fs.existsSync(netnsPath(ns));
}

/** The namespaces whose names start with prefix. */
export function netnsNames(prefix: string): string[] {
  try {
    return fs.readdirSync("/run/netns").filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

function netnsInode(ns: string): number | undefined {
  try {
    return fs.statSync(netnsPath(ns)).ino;
  } catch {
    return undefined;
  }
}

/** Every live process whose network namespace is ns (what `ip netns pids` prints). */
export function pidsInNetns(ns: string): number[] {
  const ino = netnsInode(ns);
  if (ino === undefined) return [];
  const tag = `net:[${ino}]`;
  return allPids().filter((p) => {
    try {
      return fs.readlinkSync(`/proc/${p}/ns/net`) === tag && pidAlive(p);
    } catch {
      return false;
    }
  });
}

/** The pids and all their live descendants (containers live in namespaces of their own, below their shims). */
export function withDescendants(pids: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const pp = procParent(p);
    if (pp !== undefined) children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out = new Set<number>();
  const stack = [...pids];
  while (stack.length) {
    const p = stack.pop()!;
    if (out.has(p)) continue;
    out.add(p);
    stack.push(...(children.get(p) ?? []));
  }
  return [...out].filter(pidAlive);
}

/**
 * The ids of the containers of every dockerd data root under dir (a
 * `containers` directory of 64-hex entries, at most depth levels down).
 */
export function containerIdsUnder(dir: string, depth = 4): string[] {
  const out: string[] = [];
  const walk = (d: string, left: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name === "overlay2" || e.name === "image") continue;
      const sub = `${d}/${e.name}`;
      if (e.name === "containers") out.push(...fs.readdirSync(sub).filter((c) => /^[0-9a-f]{64}$/.test(c)));
      else if (left > 1) walk(sub, left - 1);
    }
  };
  walk(dir, depth);
  return out;
}

/** Live processes in the cgroup of one of those containers (they outlive a killed shim, reparented away from it). */
export function pidsOfContainers(ids: readonly string[]): number[] {
  if (!ids.length) return [];
  return allPids().filter((p) => {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${p}/cgroup`, "utf8");
    } catch {
      return false;
    }
    return ids.some((id) => text.includes(id)) && pidAlive(p);
  });
}

/** Live processes naming one of the needles (paths) on their command line. */
export function pidsNaming(needles: string[]): number[] {
  return allPids().filter((p) => p !== process.pid && pidAlive(p) && procCmdline(p).some((a) => needles.some((n) => a.includes(n))));
}

/**
 * Kill a set of processes at once: stop them all (so none forks or reacts to
 * another's death), collect again until the set is stable, then SIGKILL.
 * Returns the pids still alive afterwards (none, normally).
 */
export async function killAllAtOnce(collect: () => number[], timeoutMs = 10_000): Promise<{ killed: number[]; survivors: number[] }> {
  const self = new Set([process.pid, process.ppid]);
  const seen = new Set<number>();
  for (let round = 0; round < 10; round++) {
    const fresh = collect().filter((p) => !seen.has(p) && !self.has(p));
    if (!fresh.length) break;
    for (const p of fresh) {
      seen.add(p);
      signal(p, "SIGSTOP");
    }
  }
  const killed = [...seen];
  for (const p of killed) signal(p, "SIGKILL");
  for (const p of killed) await waitPidGone(p, timeoutMs);
  return { killed, survivors: killed.filter(pidAlive) };
}

/**
 * docker-registry in the hub namespace at address (HUB:5000), storing in dir,
 * holding images: pushed on the host to a registry on 127.0.0.1 (where the
 * builder dockerd lives), its storage then copied here. Returns its pid.
 */
export async function startHubRegistry(hubNs: string, address: string, dir: string, images: ImageSpec[]): Promise<number> {
  fs.mkdirSync(dir);
  if (images.length) {
    const built = await startImageRegistry(images);
    try {
      fs.cpSync(built.registry.dataDir, path.join(dir, "data"), { recursive: true });
    } finally {
      await built.stop();
    }
  }
  const config = path.join(dir, "config.yml");
  const lines = ["version: 0.1", "log:", "  level: warn", "  accesslog:", "    disabled: true", "storage:", "  filesystem:", `    rootdirectory: ${path.join(dir, "data")}`, "http:", `  addr: ${address}`, ""];
  fs.writeFileSync(config, lines.join("\n"));
  const log = path.join(dir, "registry.log");
  const pid = spawnIn(hubNs, ["docker-registry", "serve", config], log).pid ?? 0;
  const deadline = Date.now() + 15_000;
  while ((await execIn(hubNs, ["curl", "-fsS", "-m", "1", `http://${address}/v2/`])).code !== 0) {
    if (Date.now() > deadline || !pidAlive(pid)) throw new Error(`the hub registry did not come up:\n${fs.readFileSync(log, "utf8").slice(-2000)}`);
    await sleep(50);
  }
  return pid;
}
