// A cluster of svcmgr nodes on this one machine, for the tests of SPEC §12.
//
//   const rig = await startRig({ nodes: 3, images: [{ ref: "svt/busybox:latest" }], leaseTtl: "6s" });
//   try { ... } finally { await rig.cleanup(); }
//
// What it builds (names unique per rig, `svr` + 6 hex digits, so rigs coexist):
// - network namespaces: <name>-hub holding bridge br0 at hubAddr (10.x.y.1, a
//   /24 no host address or route uses), and <name>-n1.. joined to it by a veth
//   (eth0 in the node, nK in the hub) at 10.x.y.1K; loopback up everywhere.
//   Nothing of it appears in the host's namespace.
// - one etcd member per node in its namespace (clients http://ADDR:2379 and
//   http://127.0.0.1:2379, peers http://ADDR:2380, --pre-vote=true,
//   heartbeat 100 ms, election 1 s, token = rig name), data in <tmp>/etcd/nK.
// - a docker-registry in the hub at hubAddr:5000 holding `images` (busybox
//   imported with the given changes, pushed from a throw-away builder dockerd);
//   nodes' dockerds need `rig.insecureRegistryArg` (--insecure-registry HUB:5000).
// - per node a SVCMGR_ROOT <tmp>/nK and SVCMGR_NODENAME nK; the CLI and the agent
//   run in the node's namespace (nsenter --net), so the private dockerds they
//   start (and their containers' shims) land there too.
//
// API (Rig):
//   nodes: RigNode[] ({ name, netns, addr, root, etcdUrl }); node(name); hubAddr; name
//   registry.image(ref) -> "HUB:5000/ref"; insecureRegistryArg
//   etcdEndpoints(node) -> "http://127.0.0.1:2379 http://N1:2379 ..." (local first)
//   writeNodeConf(node, extraLines?) -> path of <root>/etc/node.conf ([cluster] name,
//     nodes, etcd_endpoints, lease_ttl; extraLines appended as they are)
//   svcmgr(node, args, { input?, env?, timeoutMs? }) -> Promise<{ code, stdout, stderr }>
//   startAgent(node, { wait? = true, env? }) -> pid (waits for GET /v1/agent ready)
//   stopAgent(node) (SIGTERM, wait; throws after SIGKILL when it hangs), killAgent(node) (SIGKILL),
//   pauseAgent(node) (SIGSTOP), resumeAgent(node) (SIGCONT), agentPid(node), agentLog(node)
//   partition(node) / heal(node): iptables DROP of all in/out of the node's eth0, in its namespace
//   killNode(node) -> { killed }: agent, every process in the namespace and their descendants
//     (containers), its etcd member, at once (SIGSTOP all, then SIGKILL); then eth0 down.
//     Throws if anything survives. reviveNode(node): eth0 up, etcd member started again.
//   stopEtcd(node) (TERM, wait) / startEtcd(node) (same data dir); etcdLog(node)
//   etcdctl(node, args, { endpoints?, timeoutMs? }) -> { code, stdout, stderr } (local member by default)
//   etcdApi(node, route, body, { endpoint?, timeoutMs? }) -> { ok, status, body, error? } (JSON gateway, from the namespace)
//   etcdStatus(node, endpoint?) -> { memberId, leader, raftTerm, raftIndex } | undefined
//   etcdGet(node, key, { serializable?, endpoint?, timeoutMs? }) / etcdPut(node, key, value)
//   leader() -> node name of the leader that a majority of members agrees on, or undefined
//   runningOn(svc) -> node names where a container of svc runs now (asked of <root>/var/<svc>/docker.sock,
//     1 s deadline; a dead or missing socket = not running); runningOnDetail(svc) -> { running, unknown }
//   sampler(svc, everyMs = 200) -> { stop(): Promise<{ samples: { t, nodes, unknown }[], overlaps }> }
//   cleanup(): everything, by pid; safe twice; also done for a rig that failed half-way, and for
//     rigs left by dead test processes (at the next startRig)
//   leftovers() -> { namespaces, links, processes, mounts, dirs } of this rig (all empty after cleanup)
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execRootFor } from "../../src/drivers/container-docker/daemon.js";
import { mountsUnder } from "../../src/util/mountinfo.js";
import { pidAlive, procComm, procStat, processStartTime, signal, waitPidGone } from "../../src/util/proc.js";
import { LAUNCHER, type CliResult } from "./cli.js";
import { cleanupEverything, RUN_DIR } from "./docker-fixture.js";
import type { ImageSpec } from "./registry-images.js";
import * as net from "./cluster-net.js";
import { execIn, killAllAtOnce, pidsInNetns, type ExecResult } from "./cluster-net.js";
import { clientUrl, EtcdMember, etcdArgs, etcdctl, gateway, memberStatus, putKey, rangeKey, type GatewayResult, type MemberStatus } from "./cluster-etcd.js";
import { NodeAgent } from "./cluster-agent.js";
import { runningOnDetail, startSampler, type Sampler } from "./cluster-watch.js";

export type { ImageSpec } from "./registry-images.js";
export type { Sample, Sampler } from "./cluster-watch.js";

export interface RigOptions {
  nodes?: number;
  images?: ImageSpec[];
  /** lease_ttl written by writeNodeConf */
  leaseTtl?: string;
}

export interface RigNode {
  name: string;
  netns: string;
  addr: string;
  /** SVCMGR_ROOT */
  root: string;
  /** http://ADDR:2379 */
  etcdUrl: string;
}

const RIGS_DIR = "/tmp/svcmgr-test-cache/rigs";

interface RigRecord {
  name: string;
  pid: number;
  start: string;
  root: string;
  nodes: string[];
}

export class Rig {
  readonly root: string;
  readonly hubNs: string;
  readonly hubAddr: string;
  readonly nodes: RigNode[];
  readonly insecureRegistryArg: string;
  readonly registry: { address: string; image(ref: string): string };
  readonly leaseTtl: string;
  private readonly members = new Map<string, EtcdMember>();
  private readonly agents = new Map<string, NodeAgent>();
  /** ids of the containers seen under the node roots (their processes must go with the rig) */
  private readonly containerIds = new Set<string>();
  private registryPid: number | undefined;

  constructor(
    readonly name: string,
    nodeCount: number,
    subnet: string,
    opts: { leaseTtl?: string } = {},
  ) {
    this.root = `/tmp/${name}`;
    this.hubNs = `${name}-hub`;
    this.hubAddr = `${subnet}.1`;
    this.leaseTtl = opts.leaseTtl ?? "6s";
    this.nodes = Array.from({ length: nodeCount }, (_, i) => {
      const addr = `${subnet}.${11 + i}`;
      return { name: `n${i + 1}`, netns: `${name}-n${i + 1}`, addr, root: path.join(this.root, `n${i + 1}`), etcdUrl: clientUrl(addr) };
    });
    const address = `${this.hubAddr}:5000`;
    this.registry = { address, image: (ref) => `${address}/${ref}` };
    this.insecureRegistryArg = `--insecure-registry ${address}`;
    for (const n of this.nodes) {
      const dataDir = path.join(this.root, "etcd", n.name);
      this.members.set(n.name, new EtcdMember(n, etcdArgs(n, this.nodes, name, dataDir), dataDir, path.join(this.root, `etcd-${n.name}.log`)));
      this.agents.set(n.name, new NodeAgent(n, path.join(this.root, `agent-${n.name}.out`)));
    }
  }

  node(name: string): RigNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in rig ${this.name} (${this.nodes.map((x) => x.name).join(" ")})`);
    return n;
  }

  private member(name: string): EtcdMember {
    return this.members.get(this.node(name).name)!;
  }

  private agent(name: string): NodeAgent {
    return this.agents.get(this.node(name).name)!;
  }

  // --- set-up -------------------------------------------------------------

  async build(images: ImageSpec[]): Promise<void> {
    fs.mkdirSync(this.root, { recursive: false, mode: 0o755 });
    for (const n of this.nodes) fs.mkdirSync(n.root);
    fs.mkdirSync(RIGS_DIR, { recursive: true });
    const record: RigRecord = { name: this.name, pid: process.pid, start: processStartTime(process.pid) ?? "", root: this.root, nodes: this.nodes.map((n) => n.root) };
    fs.writeFileSync(path.join(RIGS_DIR, `${this.name}.json`), JSON.stringify(record));
    await net.buildNetwork(this.hubNs, this.hubAddr, this.nodes);
    for (const m of this.members.values()) m.start();
    const registry = async () => (this.registryPid = await net.startHubRegistry(this.hubNs, this.registry.address, path.join(this.root, "registry"), images));
    const results = await Promise.allSettled([registry(), this.waitForLeader(30_000)]);
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }

  /** Every running member knows the same leader. */
  async waitForLeader(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader(this.nodes.filter((n) => this.members.get(n.name)!.running).map((n) => n.name));
      if (leader) return leader;
      if (Date.now() > deadline) throw new Error(`no etcd leader within ${timeoutMs} ms:\n${this.nodes.map((n) => `${n.name}:\n${this.etcdLog(n.name)}`).join("\n")}`);
      await sleep(100);
    }
  }

  /**
   * The leader that every asked member answering names (a partitioned member
   * knows none, so ask the others), when those answering are a majority of
   * the cluster; undefined otherwise.
   */
  async leader(asked = this.nodes.map((n) => n.name)): Promise<string | undefined> {
    const statuses = await Promise.all(asked.map((n) => this.etcdStatus(n)));
    const answered = asked.flatMap((n, i) => (statuses[i] ? [[n, statuses[i]] as const] : []));
    if (answered.length <= this.nodes.length / 2) return undefined;
    const leaders = new Set(answered.map(([, s]) => s.leader));
    if (leaders.size !== 1 || leaders.has("0")) return undefined;
    const id = [...leaders][0];
    return answered.find(([, s]) => s.memberId === id)?.[0];
  }

  // --- etcd ---------------------------------------------------------------

  etcdEndpoints(node: string): string {
    this.node(node);
    return ["http://127.0.0.1:2379", ...this.nodes.map((n) => n.etcdUrl)].join(" ");
  }

  etcdctl(node: string, args: string[], opts: { endpoints?: string[]; timeoutMs?: number } = {}): Promise<ExecResult> {
    return etcdctl(this.node(node).netns, opts.endpoints ?? ["http://127.0.0.1:2379"], args, opts.timeoutMs);
  }

  etcdApi(node: string, route: string, body: unknown, opts: { endpoint?: string; timeoutMs?: number } = {}): Promise<GatewayResult> {
    return gateway(this.node(node).netns, opts.endpoint ?? "http://127.0.0.1:2379", route, body, opts.timeoutMs);
  }

  etcdStatus(node: string, endpoint = "http://127.0.0.1:2379"): Promise<MemberStatus | undefined> {
    return memberStatus(this.node(node).netns, endpoint);
  }

  etcdGet(node: string, key: string, opts: { serializable?: boolean; endpoint?: string; timeoutMs?: number } = {}): Promise<GatewayResult & { value?: string }> {
    return rangeKey(this.node(node).netns, opts.endpoint ?? "http://127.0.0.1:2379", key, opts);
  }

  etcdPut(node: string, key: string, value: string, opts: { endpoint?: string; timeoutMs?: number } = {}): Promise<GatewayResult> {
    return putKey(this.node(node).netns, opts.endpoint ?? "http://127.0.0.1:2379", key, value, opts.timeoutMs);
  }

  startEtcd(node: string): void {
    this.member(node).start();
  }

  stopEtcd(node: string): Promise<void> {
    return this.member(node).stop();
  }

  etcdLog(node: string): string {
    return this.member(node).logTail();
  }

  // --- svcmgr -------------------------------------------------------------

  writeNodeConf(node: string, extraLines: string[] = []): string {
    const n = this.node(node);
    const file = path.join(n.root, "etc", "node.conf");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lines = ["[cluster]", `name = ${this.name}`, `nodes = ${this.nodes.map((x) => x.name).join(" ")}`, `etcd_endpoints = ${this.etcdEndpoints(node)}`, `lease_ttl = ${this.leaseTtl}`, ...extraLines, ""];
    fs.writeFileSync(file, lines.join("\n"));
    return file;
  }

  svcEnv(node: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const n = this.node(node);
    const env: NodeJS.ProcessEnv = { ...process.env, SVCMGR_ROOT: n.root, SVCMGR_NODENAME: n.name, NO_COLOR: "1", ...extra };
    delete env.DOCKER_HOST;
    return env;
  }

  svcmgr(node: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
    return execIn(this.node(node).netns, [process.execPath, LAUNCHER, ...args], { input: opts.input, env: this.svcEnv(node, opts.env), timeoutMs: opts.timeoutMs ?? 180_000 });
  }

  /** The agent in the node's namespace (SVCMGR_ROOT, SVCMGR_NODENAME); unless wait is false, until its API says ready. Returns its pid. */
  startAgent(node: string, opts: { wait?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<number> {
    return this.agent(node).start(this.svcEnv(node, opts.env), opts);
  }

  agentPid(node: string): number | undefined {
    return this.agent(node).pid;
  }

  /** The tail of what the agent printed and of its log file, for failure messages. */
  agentLog(node: string, lines = 30): string {
    return this.agent(node).log(lines);
  }

  /** SIGTERM and wait; throws (after SIGKILL) when it does not exit within timeoutMs. */
  stopAgent(node: string, timeoutMs = 30_000): Promise<void> {
    return this.agent(node).stop(timeoutMs);
  }

  killAgent(node: string): Promise<void> {
    return this.agent(node).kill();
  }

  pauseAgent(node: string): void {
    this.agent(node).pause();
  }

  resumeAgent(node: string): void {
    this.agent(node).resume();
  }

  // --- faults -------------------------------------------------------------

  partition(node: string): Promise<void> {
    return net.partition(this.node(node).netns);
  }

  heal(node: string): Promise<void> {
    return net.heal(this.node(node).netns);
  }

  /** Processes of a node: its namespace's, those naming its root or exec roots, its containers', and all their descendants. */
  private nodePids(n: RigNode): number[] {
    const agent = this.agentPid(n.name);
    const needles = [n.root + "/", ...stateDirs(n.root).map((s) => execRootFor(RUN_DIR, s) + "/")];
    const ids = net.containerIdsUnder(n.root);
    for (const id of ids) this.containerIds.add(id);
    return net.withDescendants([...pidsInNetns(n.netns), ...net.pidsNaming(needles), ...net.pidsOfContainers(ids), ...(agent ? [agent] : [])]);
  }

  async killNode(node: string): Promise<{ killed: number[] }> {
    const n = this.node(node);
    const { killed, survivors } = await killAllAtOnce(() => this.nodePids(n));
    this.members.get(n.name)!.forget();
    await net.setLink(n.netns, false);
    const left = [...new Set([...survivors, ...this.nodePids(n)])];
    if (left.length) throw new Error(`killNode(${node}): still alive: ${left.map((p) => `${p} ${procComm(p) ?? "?"}`).join(", ")}`);
    return { killed };
  }

  /** After killNode: the link up and the etcd member started again on its data dir (the agent is up to the test). */
  async reviveNode(node: string): Promise<void> {
    await net.setLink(this.node(node).netns, true);
    this.startEtcd(node);
  }

  // --- what runs where ----------------------------------------------------

  /** Nodes where a container of svc runs now, and nodes whose dockerd did not answer within timeoutMs. */
  runningOnDetail(svc: string, timeoutMs = 1000): Promise<{ running: string[]; unknown: string[] }> {
    return runningOnDetail(this.nodes, svc, timeoutMs);
  }

  async runningOn(svc: string, timeoutMs = 1000): Promise<string[]> {
    return (await this.runningOnDetail(svc, timeoutMs)).running;
  }

  /** runningOn every everyMs until stop(). */
  sampler(svc: string, everyMs = 200): Sampler {
    return startSampler(() => this.runningOnDetail(svc, Math.max(everyMs, 1000)), everyMs);
  }

  // --- clean-up -----------------------------------------------------------

  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    // agents first (and any CLI or watchdog of the node), so nobody restarts what goes next
    for (const n of this.nodes) {
      const agent = this.agentPid(n.name);
      await killAllAtOnce(() => [...(agent ? [agent] : []), ...pidsInNetns(n.netns).filter((p) => ["node", "nsenter"].includes(procComm(p) ?? ""))]);
      for (const id of net.containerIdsUnder(n.root)) this.containerIds.add(id);
    }
    for (const n of this.nodes) if (fs.existsSync(n.root)) await attempt(`node root ${n.root}`, () => cleanupEverything(n.root));
    for (const m of this.members.values()) await m.stop();
    if (this.registryPid && pidAlive(this.registryPid)) {
      signal(this.registryPid, "SIGTERM");
      if (!(await waitPidGone(this.registryPid, 5000))) signal(this.registryPid, "SIGKILL");
    }
    const spaces = net.netnsNames(`${this.name}-`);
    const ids = [...this.containerIds];
    const { survivors } = await killAllAtOnce(() => net.withDescendants([...spaces.flatMap(pidsInNetns), ...net.pidsNaming([this.root + "/"]), ...net.pidsOfContainers(ids)]));
    if (survivors.length) errors.push(`still alive: ${survivors.join(" ")}`);
    for (const ns of spaces) await attempt(`netns ${ns}`, () => net.mustIn(undefined, ["ip", "netns", "del", ns]));
    for (const mnt of mountsUnder(this.root)) await execIn(undefined, ["umount", "-l", mnt]);
    if (mountsUnder(this.root).length) errors.push(`still mounted under ${this.root}: ${mountsUnder(this.root).join(" ")}`);
    else fs.rmSync(this.root, { recursive: true, force: true });
    fs.rmSync(path.join(RIGS_DIR, `${this.name}.json`), { force: true });
    if (errors.length) throw new Error(`cleanup of rig ${this.name} incomplete:\n${errors.join("\n")}`);
  }

  async leftovers(): Promise<{ namespaces: string[]; links: string[]; processes: string[]; mounts: string[]; dirs: string[] }> {
    const links = (await execIn(undefined, ["ip", "-o", "link", "show"])).stdout.split("\n").filter((l) => l.includes(this.name));
    const pids = [...net.pidsNaming([this.root + "/"]), ...net.pidsOfContainers([...this.containerIds]), ...[...this.members.values()].map((m) => m.pid ?? 0), this.registryPid ?? 0, ...[...this.agents.values()].map((a) => a.pid ?? 0)];
    const processes = [...new Set(pids)].filter((p) => p && pidAlive(p)).map((p) => `${p} ${procComm(p) ?? "?"}`);
    const dirs = [this.root, path.join(RIGS_DIR, `${this.name}.json`)].filter((d) => fs.existsSync(d));
    return { namespaces: net.netnsNames(`${this.name}-`), links, processes, mounts: mountsUnder(this.root), dirs };
  }
}

function stateDirs(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, "var"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(root, "var", d.name));
  } catch {
    return [];
  }
}

/** Rigs whose test process died: cleaned up before a new one starts. */
async function reapStaleRigs(): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(RIGS_DIR).filter((f) => f.endsWith(".json"));
  } catch {
    return;
  }
  for (const f of names) {
    let rec: RigRecord;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(RIGS_DIR, f), "utf8")) as RigRecord;
    } catch {
      continue;
    }
    if (pidAlive(rec.pid) && procStat(rec.pid)?.startTime === rec.start) continue;
    const stale = new Rig(rec.name, rec.nodes.length, "0.0.0");
    await stale.cleanup().catch((e: Error) => console.error(`# stale rig ${rec.name}: ${e.message}`));
  }
}

/** Build a rig; on any failure everything already started is cleaned up and the error rethrown. */
export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  await reapStaleRigs();
  const name = `svr${crypto.randomBytes(3).toString("hex")}`;
  const rig = new Rig(name, opts.nodes ?? 3, net.pickSubnet(), { leaseTtl: opts.leaseTtl });
  try {
    await rig.build(opts.images ?? []);
  } catch (e) {
    await rig.cleanup().catch((c: Error) => console.error(`# ${c.message}`));
    throw new Error(`rig ${name} did not start (cleaned up): ${(e as Error).message}`, { cause: e });
  }
  return rig;
}
