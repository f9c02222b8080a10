// One etcd member per node of the cluster rig (test/support/cluster-rig.ts),
// run in the node's namespace: Debian's etcd 3.4 with --pre-vote=true (3.4's
// default, false, makes a healed follower force an election), heartbeat
// 100 ms, election 1 s. Stopped with TERM and waited for before its data dir
// may go. Read through etcdctl or the JSON gateway, from inside the namespace.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pidAlive, signal, waitPidGone } from "../../src/util/proc.js";
import { execIn, spawnIn, type ExecResult } from "./cluster-net.js";

export interface MemberSpec {
  name: string;
  netns: string;
  addr: string;
}

export const clientUrl = (addr: string): string => `http://${addr}:2379`;
export const peerUrl = (addr: string): string => `http://${addr}:2380`;

/** etcd's command line for one member; the --initial-* flags only count on the first start (an existing data dir wins). */
export function etcdArgs(m: MemberSpec, all: MemberSpec[], token: string, dataDir: string): string[] {
  return [
    "etcd",
    `--name=${m.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl(m.addr)},http://127.0.0.1:2379`,
    `--advertise-client-urls=${clientUrl(m.addr)}`,
    `--listen-peer-urls=${peerUrl(m.addr)}`,
    `--initial-advertise-peer-urls=${peerUrl(m.addr)}`,
    `--initial-cluster=${all.map((o) => `${o.name}=${peerUrl(o.addr)}`).join(",")}`,
    `--initial-cluster-token=${token}`,
    "--initial-cluster-state=new",
    "--pre-vote=true",
    "--heartbeat-interval=100",
    "--election-timeout=1000",
    "--logger=zap",
    "--log-outputs=stderr",
  ];
}

export interface MemberStatus {
  memberId: string;
  /** "0" when the member knows no leader */
  leader: string;
  raftTerm: number;
  raftIndex: number;
}

export class EtcdMember {
  private child: ChildProcess | undefined;
  pid: number | undefined;

  constructor(
    readonly spec: MemberSpec,
    readonly args: string[],
    readonly dataDir: string,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.pid !== undefined && pidAlive(this.pid);
  }

  start(): void {
    if (this.running) return;
    fs.mkdirSync(path.dirname(this.dataDir), { recursive: true });
    fs.appendFileSync(this.logFile, `--- rig: start ${new Date().toISOString()}\n`);
    this.child = spawnIn(this.spec.netns, this.args, this.logFile);
    this.pid = this.child.pid;
  }

  /** TERM and wait (etcd syncs its WAL on the way out); KILL after timeoutMs. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    signal(pid, "SIGCONT");
    signal(pid, "SIGTERM");
    if (!(await waitPidGone(pid, timeoutMs))) {
      signal(pid, "SIGKILL");
      await waitPidGone(pid, 5000);
    }
    this.pid = undefined;
    this.child = undefined;
  }

  /** Forget a member killed from outside (killNode). */
  forget(): void {
    this.pid = undefined;
    this.child = undefined;
  }

  logTail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/** etcdctl (API v3) in the namespace, against the given endpoints. */
export function etcdctl(netns: string, endpoints: string[], args: string[], timeoutMs = 5000): Promise<ExecResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: "3" };
  delete env.ETCDCTL_ENDPOINTS;
  const cmdTimeout = `${Math.max(1, Math.floor(timeoutMs / 1000) - 1)}s`;
  return execIn(netns, ["etcdctl", `--endpoints=${endpoints.join(",")}`, "--dial-timeout=1s", `--command-timeout=${cmdTimeout}`, ...args], { timeoutMs, env });
}

export interface GatewayResult {
  ok: boolean;
  /** HTTP status, or 0 when no answer came in time */
  status: number;
  body: unknown;
  error?: string;
}

/** POST a JSON body to etcd's gRPC gateway (http://ENDPOINT/v3/...) with curl inside the namespace. */
export async function gateway(netns: string, endpoint: string, route: string, body: unknown, timeoutMs = 3000): Promise<GatewayResult> {
  const url = `${endpoint}/v3/${route.replace(/^\/+/, "").replace(/^v3\//, "")}`;
  const secs = (timeoutMs / 1000).toFixed(1);
  const r = await execIn(netns, ["curl", "-sS", "-m", secs, "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@-", url], { timeoutMs: timeoutMs + 2000, input: JSON.stringify(body) });
  const nl = r.stdout.lastIndexOf("\n");
  const status = Number(r.stdout.slice(nl + 1)) || 0;
  const text = r.stdout.slice(0, Math.max(nl, 0));
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  const failed = r.code !== 0 || status !== 200 || (typeof parsed === "object" && parsed !== null && "error" in parsed);
  return { ok: !failed, status: r.code === 0 ? status : 0, body: parsed, error: failed ? (r.stderr.trim() || text || `HTTP ${status}`) : undefined };
}

export const b64 = (s: string): string => Buffer.from(s).toString("base64");
export const unb64 = (s: string): string => Buffer.from(s, "base64").toString();

/** A member's own view: its id, the leader it knows, its raft term and index. */
export async function memberStatus(netns: string, endpoint: string, timeoutMs = 2000): Promise<MemberStatus | undefined> {
  const r = await gateway(netns, endpoint, "maintenance/status", {}, timeoutMs);
  if (!r.ok) return undefined;
  const b = r.body as { header?: { member_id?: string }; leader?: string; raftTerm?: string; raftIndex?: string };
  return { memberId: b.header?.member_id ?? "", leader: b.leader ?? "0", raftTerm: Number(b.raftTerm ?? 0), raftIndex: Number(b.raftIndex ?? 0) };
}

/** A read of one key: linearizable (goes through the leader; fails without quorum) unless serializable. */
export async function rangeKey(netns: string, endpoint: string, key: string, opts: { serializable?: boolean; timeoutMs?: number } = {}): Promise<GatewayResult & { value?: string }> {
  const r = await gateway(netns, endpoint, "kv/range", { key: b64(key), serializable: opts.serializable ?? false }, opts.timeoutMs ?? 3000);
  const kvs = (r.body as { kvs?: { value?: string }[] } | undefined)?.kvs;
  return { ...r, value: r.ok && kvs?.[0]?.value !== undefined ? unb64(kvs[0].value) : undefined };
}

export async function putKey(netns: string, endpoint: string, key: string, value: string, timeoutMs = 3000): Promise<GatewayResult> {
  return gateway(netns, endpoint, "kv/put", { key: b64(key), value: b64(value) }, timeoutMs);
}
