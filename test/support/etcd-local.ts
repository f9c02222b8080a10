// A real single-member etcd on loopback for the cluster tests (SPEC §12), and
// svcmgr "nodes" that are roots of their own on this host (SVCMGR_ROOT +
// SVCMGR_NODENAME), each with <etc>/node.conf's [cluster]. Everything a test
// starts is found again by pid (the etcd's, and every process whose
// environment names one of the roots: agents, watchdogs) and stopped.
import { after, before } from "node:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CliRoot, LAUNCHER, type CliResult } from "./cli.js";
import { freePort, until } from "./web.js";
import { pidAlive, signal, waitPidGone } from "../../src/util/proc.js";

export const ETCD = "/usr/bin/etcd";

export interface Kv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** int64 as etcd's JSON gateway writes it (a string: lease ids do not fit a double) */
  lease: string;
}

/** One etcd member of its own: free 127.0.0.1 ports, a temporary data dir, --pre-vote=true. */
export class LocalEtcd {
  private constructor(
    readonly endpoint: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(tag: string): Promise<LocalEtcd> {
    for (let attempt = 1; ; attempt++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `etcd-${tag}-`));
      const [client, peer] = [await freePort(), await freePort()];
      const out = fs.openSync(path.join(dir, "etcd.log"), "a");
      const url = (p: number) => `http://127.0.0.1:${p}`;
      const args = ["--name", tag, "--data-dir", path.join(dir, "data"), "--listen-client-urls", url(client), "--advertise-client-urls", url(client)];
      args.push("--listen-peer-urls", url(peer), "--initial-advertise-peer-urls", url(peer), "--initial-cluster", `${tag}=${url(peer)}`, "--pre-vote=true");
      const child = spawn(ETCD, args, { stdio: ["ignore", out, out] });
      fs.closeSync(out);
      const etcd = new LocalEtcd(url(client), child, dir);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const ready = (async () => {
        for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
          const st = await etcd.gateway<{ leader?: string }>("/v3/maintenance/status", {}).catch(() => undefined);
          if (st?.leader && st.leader !== "0") return true;
          await new Promise((r) => setTimeout(r, 100));
        }
        return false;
      })();
      if (await Promise.race([ready, exited.then(() => false)])) return etcd;
      const log = fs.readFileSync(path.join(dir, "etcd.log"), "utf8").split("\n").slice(-5).join("\n");
      await etcd.stop();
      if (attempt === 3) throw new Error(`etcd did not come up on ${url(client)}:\n${log}`);
    }
  }

  async gateway<T>(api: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}${api}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
    return (await res.json()) as T;
  }

  async clusterId(): Promise<string> {
    return (await this.gateway<{ header: { cluster_id: string } }>("/v3/maintenance/status", {})).header.cluster_id;
  }

  /** Every key under a prefix, through the JSON gateway. */
  async range(prefix: string): Promise<Kv[]> {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const end = Buffer.from(prefix);
    end[end.length - 1]!++;
    type Raw = { key: string; value?: string; create_revision: string; mod_revision: string; lease?: string };
    const r = await this.gateway<{ kvs?: Raw[] }>("/v3/kv/range", { key: b64(prefix), range_end: end.toString("base64") });
    const text = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");
    return (r.kvs ?? []).map((k) => ({ key: text(k.key), value: text(k.value), createRevision: Number(k.create_revision), modRevision: Number(k.mod_revision), lease: k.lease ?? "0" }));
  }

  /** TERM by pid, and wait for it (KILL after 10 s); the data dir goes. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid && this.child.exitCode === null && this.child.signalCode === null) {
      signal(pid, "SIGTERM");
      if (!(await waitPidGone(pid, 10_000))) {
        signal(pid, "SIGKILL");
        await waitPidGone(pid, 5000);
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Processes whose environment names this root (agents, watchdogs, their children). */
export function processesOf(root: string): number[] {
  const mark = `SVCMGR_ROOT=${root}\0`;
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, "latin1").includes(mark)) out.push(Number(d));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

export function agentPidOf(r: CliRoot): number | undefined {
  try {
    const pid = (JSON.parse(r.read("var/_agent/agent.pid")) as { pid: number }).pid;
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function watchdogPidOf(r: CliRoot): number | undefined {
  try {
    const pid = Number(r.read("var/_agent/watchdog.pid").trim());
    return pid && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A CLI run with a time limit (a `daemon run` that wrongly comes up is stopped, not waited for forever). */
export function runLimited(r: CliRoot, args: string[], timeoutMs = 20_000): CliResult {
  const res = spawnSync(process.execPath, [LAUNCHER, ...args], { env: r.env, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGTERM" });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export interface NodeConf {
  name: string;
  nodes?: string;
  endpoints?: string;
  leaseTtl?: string;
}

/** [cluster] on lines 1-5: name, nodes, etcd_endpoints, lease_ttl (the tests name these lines). */
export function writeNodeConf(r: CliRoot, c: NodeConf & { endpoints: string }): void {
  fs.mkdirSync(r.file("etc"), { recursive: true });
  const lines = ["[cluster]", `name = ${c.name}`, `nodes = ${c.nodes ?? "n1 n2 n3"}`, `etcd_endpoints = ${c.endpoints}`, `lease_ttl = ${c.leaseTtl ?? "6s"}`, ""];
  fs.writeFileSync(r.file("etc/node.conf"), lines.join("\n"));
}

let clusters = 0;
/** A cluster name no other test (or run) uses. */
export const uniqueName = (tag: string): string => `${tag}-${process.pid}-${++clusters}`;

export interface Event {
  ns: bigint;
  what: "start" | "stopped";
  svc: string;
  node: string;
}

/**
 * The nodes n1.. of one cluster on one etcd. A service's app resource is up
 * while its flag file <dir>/flags/<svc>.<node> exists; its start and stop
 * also append to <dir>/events (start before the touch, stopped after the rm),
 * so the order of what ran where can be read back.
 */
export class LocalCluster {
  readonly name: string;
  readonly dir: string;
  private readonly roots = new Map<string, CliRoot>();
  private readonly extra: CliRoot[] = [];

  constructor(
    readonly etcd: LocalEtcd,
    tag: string,
    readonly nodeNames: string[] = ["n1", "n2", "n3"],
    readonly leaseTtl = "6s",
  ) {
    this.name = uniqueName(tag);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `svccl-${tag}-`));
    fs.mkdirSync(path.join(this.dir, "flags"));
    const script = ["#!/bin/sh", 'case "$1" in', `start) echo "$(date +%s%N) start $2 $3" >> ${this.dir}/events; touch ${this.dir}/flags/$2.$3 ;;`, `stop) rm -f ${this.dir}/flags/$2.$3; echo "$(date +%s%N) stopped $2 $3" >> ${this.dir}/events ;;`, "esac", ""];
    fs.writeFileSync(path.join(this.dir, "app.sh"), script.join("\n"), { mode: 0o755 });
    for (const n of nodeNames) {
      const r = new CliRoot(`svccl-${n}-`, n);
      writeNodeConf(r, { name: this.name, nodes: nodeNames.join(" "), endpoints: etcd.endpoint, leaseTtl: leaseTtl });
      this.roots.set(n, r);
    }
  }

  node(n: string): CliRoot {
    return this.roots.get(n)!;
  }

  /** Another root (for a test of its own), cleaned up with the cluster. */
  adopt(r: CliRoot): CliRoot {
    this.extra.push(r);
    return r;
  }

  /** `create` keywords of a service of one app resource with its flag file. */
  serviceKw(svc: string, defaults: string[]): string[] {
    const app = [`start=/bin/sh ${this.dir}/app.sh start ${svc} {nodename}`, `stop=/bin/sh ${this.dir}/app.sh stop ${svc} {nodename}`, `check=/usr/bin/test -e ${this.dir}/flags/${svc}.{nodename}`];
    return [...defaults, ...app.map((a) => `app#1.${a}`)].flatMap((k) => ["--kw", k]);
  }

  flag(svc: string, n: string): string {
    return path.join(this.dir, "flags", `${svc}.${n}`);
  }

  /** the nodes whose flag of svc exists now */
  upOn(svc: string): string[] {
    return this.nodeNames.filter((n) => fs.existsSync(this.flag(svc, n)));
  }

  events(svc: string): Event[] {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir, "events"), "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([ns, what, s, node]) => ({ ns: BigInt(ns!), what: what as Event["what"], svc: s!, node: node! }))
      .filter((e) => e.svc === svc);
  }

  /** Each start of svc came when no other node ran it (by the events' order and clocks): the nodes it ran on, in order. */
  neverTwo(svc: string): string[] {
    const running = new Set<string>();
    const order: string[] = [];
    let last = 0n;
    for (const e of this.events(svc)) {
      if (e.ns < last) throw new Error(`events out of order at ${e.what} ${e.node}`);
      last = e.ns;
      if (e.what === "stopped") running.delete(e.node);
      else {
        const others = [...running].filter((n) => n !== e.node);
        if (others.length) throw new Error(`${svc} started on ${e.node} while it ran on ${others.join(", ")}:\n${JSON.stringify(this.events(svc).map((x) => `${x.what} ${x.node}`))}`);
        running.add(e.node);
        if (order[order.length - 1] !== e.node) order.push(e.node);
      }
    }
    return order;
  }

  async startAgent(n: string): Promise<CliResult> {
    const r = this.node(n);
    const res = r.run(["daemon", "start"]);
    if (res.code !== 0) throw new Error(`daemon start on ${n}: exit ${res.code}\n${res.stdout}${res.stderr}`);
    await until(`${n}'s node key`, async () => (await this.etcd.range(`/svcmgr/${this.name}/nodes/${n}`)).length > 0);
    return res;
  }

  keys(sub = ""): Promise<Kv[]> {
    return this.etcd.range(`/svcmgr/${this.name}/${sub}`);
  }

  async owners(svc: string): Promise<{ node: string; token: number; lease: string }[]> {
    return (await this.keys(`svc/${svc}/owner/`)).map((k) => ({ node: (JSON.parse(k.value) as { node: string }).node, token: k.createRevision, lease: k.lease }));
  }

  /** Every agent stopped (daemon stop, then KILL by pid), every process of the roots ended by pid, the roots removed. */
  async cleanup(): Promise<void> {
    const all = [...this.roots.values(), ...this.extra];
    // SVCMGR_TEST_CLUSTER_LOGS=DIR: each node's logs (and the flags and events) kept in DIR/<cluster>-<node>, to read after a failure
    const keep = process.env.SVCMGR_TEST_CLUSTER_LOGS;
    if (keep) {
      for (const [n, r] of this.roots) if (fs.existsSync(r.file("log"))) fs.cpSync(r.file("log"), path.join(keep, `${this.name}-${n}`), { recursive: true });
      fs.cpSync(this.dir, path.join(keep, `${this.name}-app`), { recursive: true });
    }
    for (const r of all) {
      const pid = agentPidOf(r);
      if (!pid) continue;
      runLimited(r, ["daemon", "stop"], 30_000);
      if (pidAlive(pid)) {
        signal(pid, "SIGKILL");
        await waitPidGone(pid, 5000);
      }
    }
    for (const r of all) {
      for (const pid of processesOf(r.root)) {
        signal(pid, "SIGTERM");
        if (!(await waitPidGone(pid, 5000))) {
          signal(pid, "SIGKILL");
          await waitPidGone(pid, 5000);
        }
      }
      r.cleanup();
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One loopback etcd for a describe block, and every LocalCluster its tests
 * make on it: started before the block's tests, all cleaned up after them
 * (node:test's before/after, registered by this call in the current block).
 */
export function etcdSuite(tag: string): {
  /** the block's etcd (after its `before` ran) */
  readonly etcd: LocalEtcd;
  cluster(clusterTag: string, nodeNames?: string[], leaseTtl?: string): LocalCluster;
  /** a cluster whose every node runs an agent, with service `svc` created on the first one (these keywords) and mirrored to all */
  withService(clusterTag: string, svc: string, kw: string[], leaseTtl?: string): Promise<LocalCluster>;
} {
  let etcd: LocalEtcd | undefined;
  const clusters: LocalCluster[] = [];
  before(async () => {
    etcd = await LocalEtcd.start(tag);
  });
  after(async () => {
    for (const c of clusters) await c.cleanup();
    await etcd?.stop();
  });
  const suite = {
    get etcd(): LocalEtcd {
      if (!etcd) throw new Error(`etcd ${tag} is not started (used outside the block's tests?)`);
      return etcd;
    },
    cluster(clusterTag: string, nodeNames?: string[], leaseTtl?: string): LocalCluster {
      const c = new LocalCluster(suite.etcd, clusterTag, nodeNames, leaseTtl);
      clusters.push(c);
      return c;
    },
    async withService(clusterTag: string, svc: string, kw: string[], leaseTtl?: string): Promise<LocalCluster> {
      const c = suite.cluster(clusterTag, undefined, leaseTtl);
      for (const n of c.nodeNames) await c.startAgent(n);
      const [first] = c.nodeNames;
      const res = c.node(first!).run(["-s", svc, "create", ...c.serviceKw(svc, kw)]);
      if (res.code !== 0) throw new Error(`create ${svc} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
      for (const n of c.nodeNames) await until(`${svc}.conf on ${n}`, () => fs.existsSync(c.node(n).file(`etc/${svc}.conf`)), 2000);
      return c;
    },
  };
  return suite;
}
