// etcd v3 through its JSON gateway (POST /v3/..., as Patroni does): plain
// HTTP with node's fetch, so every call has a deadline of ours and nothing
// waits on a library's idea of a lost lease (SPEC §12, DEPENDENCIES.md).
// Keys and values are base64 on the wire; revisions and lease ids are int64
// decimal strings. Calls go to the preferred (local) member first, then the
// others in order, within one overall deadline.
import { jsonLines } from "../util/json-lines.js";
import { ActionError, errorMessage } from "../util/errors.js";

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
  /** the key's previous value, when asked for */
  prev?: KeyValue;
}

export interface Header {
  clusterId: string;
  memberId: string;
  revision: number;
}

export type Compare =
  | { key: string; target: "CREATE"; createRevision: number }
  | { key: string; target: "MOD"; modRevision: number }
  | { key: string; target: "LEASE"; lease: string };

export type Op =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

export interface TxnResult {
  header: Header;
  succeeded: boolean;
  /** the kvs of each range op of the branch taken, in order */
  ranges: KeyValue[][];
}

/** An etcd that did not answer in time, or said no: the message names the members tried. An action's failure (exit 1, no stack trace). */
export class EtcdError extends ActionError {
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, "base64").toString("utf8") : "");

/** The end of a prefix range: the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix, "utf8");
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 0xff) {
      const end = Buffer.from(buf.subarray(0, i + 1));
      end[i]!++;
      return end.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64");
}

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}
interface RawHeader {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
}

function kv(raw: RawKv): KeyValue {
  return {
    key: unb64(raw.key),
    value: unb64(raw.value),
    createRevision: Number(raw.create_revision ?? 0),
    modRevision: Number(raw.mod_revision ?? 0),
    version: Number(raw.version ?? 0),
    lease: raw.lease ?? "0",
  };
}

function header(raw: RawHeader | undefined): Header {
  return { clusterId: raw?.cluster_id ?? "", memberId: raw?.member_id ?? "", revision: Number(raw?.revision ?? 0) };
}

function rangeBody(key: string, prefix?: boolean): Record<string, string> {
  return { key: b64(key), ...(prefix && { range_end: prefixEnd(key) }) };
}

function opBody(op: Op): Record<string, unknown> {
  if ("put" in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease && { lease: op.put.lease }) } };
  if ("delete" in op) return { request_delete_range: rangeBody(op.delete.key, op.delete.prefix) };
  return { request_range: rangeBody(op.range.key, op.range.prefix) };
}

function compareBody(c: Compare): Record<string, unknown> {
  const base = { key: b64(c.key), target: c.target, result: "EQUAL" };
  if (c.target === "CREATE") return { ...base, create_revision: String(c.createRevision) };
  if (c.target === "MOD") return { ...base, mod_revision: String(c.modRevision) };
  return { ...base, lease: c.lease };
}

export interface EtcdClientOptions {
  /** http://HOST:PORT, the preferred (local) member first */
  endpoints: readonly string[];
  /** the deadline of a call that is given none, ms */
  defaultDeadlineMs?: number;
}

export class EtcdClient {
  private preferred = 0;
  private readonly defaultDeadlineMs: number;

  constructor(private readonly opts: EtcdClientOptions) {
    if (!opts.endpoints.length) throw new Error("no etcd endpoint");
    this.defaultDeadlineMs = opts.defaultDeadlineMs ?? 2000;
  }

  get endpoints(): readonly string[] {
    return this.opts.endpoints;
  }

  /**
   * POST one gateway call; on a network error or a member's timeout, the next
   * member, until the deadline. A member that answers with an error is not
   * retried elsewhere: etcd said no.
   */
  async call<T>(path: string, body: unknown, deadlineMs = this.defaultDeadlineMs, only?: string): Promise<T> {
    const endpoints = only ? [only] : this.opts.endpoints;
    const until = performance.now() + deadlineMs;
    const tried: string[] = [];
    const perTry = Math.max(300, deadlineMs / 2);
    for (let i = 0; i < endpoints.length; i++) {
      const idx = only ? 0 : (this.preferred + i) % endpoints.length;
      const ep = endpoints[idx]!;
      const left = until - performance.now();
      if (left <= 0) break;
      try {
        const res = await fetch(`${ep}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
          // whole ms: AbortSignal.timeout throws on a fraction (after a member's timeout, `left` always is one)
          signal: AbortSignal.timeout(Math.max(1, Math.floor(Math.min(left, perTry)))),
        });
        const text = await res.text();
        const json = (text ? JSON.parse(text) : {}) as { error?: string; message?: string; code?: number };
        if (!res.ok || json.error !== undefined) {
          const msg = json.message ?? json.error ?? `HTTP ${res.status}`;
          // no leader, a member still starting: another member may know better
          if (/no leader|leader changed|timed out|unavailable|not started/i.test(msg) && !only) {
            tried.push(`${ep} (${msg})`);
            continue;
          }
          throw new EtcdError(`etcd ${ep}${path}: ${msg}`, false);
        }
        if (!only) this.preferred = idx;
        return json as T;
      } catch (e) {
        if (e instanceof EtcdError) throw e;
        tried.push(`${ep} (${(e as Error).name === "TimeoutError" ? "no answer in time" : causeText(e)})`);
      }
    }
    throw new EtcdError(`no etcd member answered within ${Math.round(deadlineMs)} ms: ${tried.join(", ") || endpoints.join(", ")}`, true);
  }

  /** The next member for the next call (the current one took a request and did not answer). */
  rotate(): void {
    this.preferred = (this.preferred + 1) % this.opts.endpoints.length;
  }

  /** Go back to the first (local) member for the next call. */
  preferLocal(): void {
    this.preferred = 0;
  }

  async status(endpoint: string, deadlineMs?: number): Promise<{ header: Header; leader: string; version: string }> {
    const r = await this.call<{ header?: RawHeader; leader?: string; version?: string }>("/v3/maintenance/status", {}, deadlineMs, endpoint);
    return { header: header(r.header), leader: r.leader ?? "0", version: r.version ?? "" };
  }

  async range(key: string, opts: { prefix?: boolean; deadlineMs?: number; serializable?: boolean } = {}): Promise<{ header: Header; kvs: KeyValue[] }> {
    const r = await this.call<{ header?: RawHeader; kvs?: RawKv[] }>("/v3/kv/range", { ...rangeBody(key, opts.prefix), ...(opts.serializable && { serializable: true }) }, opts.deadlineMs);
    return { header: header(r.header), kvs: (r.kvs ?? []).map(kv) };
  }

  async get(key: string, deadlineMs?: number): Promise<KeyValue | undefined> {
    return (await this.range(key, { deadlineMs })).kvs[0];
  }

  async put(key: string, value: string, opts: { lease?: string; deadlineMs?: number } = {}): Promise<Header> {
    const r = await this.call<{ header?: RawHeader }>("/v3/kv/put", { key: b64(key), value: b64(value), ...(opts.lease && { lease: opts.lease }) }, opts.deadlineMs);
    return header(r.header);
  }

  async delete(key: string, opts: { prefix?: boolean; deadlineMs?: number } = {}): Promise<number> {
    const r = await this.call<{ deleted?: string }>("/v3/kv/deleterange", rangeBody(key, opts.prefix), opts.deadlineMs);
    return Number(r.deleted ?? 0);
  }

  async txn(compare: Compare[], success: Op[], failure: Op[] = [], deadlineMs?: number): Promise<TxnResult> {
    type RawResp = { response_range?: { kvs?: RawKv[] } };
    const r = await this.call<{ header?: RawHeader; succeeded?: boolean; responses?: RawResp[] }>(
      "/v3/kv/txn",
      { compare: compare.map(compareBody), success: success.map(opBody), failure: failure.map(opBody) },
      deadlineMs,
    );
    return {
      header: header(r.header),
      succeeded: r.succeeded === true,
      ranges: (r.responses ?? []).filter((x) => x.response_range).map((x) => (x.response_range!.kvs ?? []).map(kv)),
    };
  }

  async leaseGrant(ttlS: number, deadlineMs?: number): Promise<{ id: string; ttl: number; header: Header }> {
    const r = await this.call<{ header?: RawHeader; ID?: string; TTL?: string; error?: string }>("/v3/lease/grant", { TTL: ttlS }, deadlineMs);
    if (!r.ID) throw new EtcdError("etcd granted no lease", false);
    return { id: r.ID, ttl: Number(r.TTL ?? 0), header: header(r.header) };
  }

  /** One keepalive: the lease's TTL now (0: the lease is gone). */
  async leaseKeepAlive(id: string, deadlineMs?: number): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string }; error?: { message?: string } }>("/v3/lease/keepalive", { ID: id }, deadlineMs);
    if (r.error) throw new EtcdError(`etcd keepalive: ${r.error.message ?? "error"}`, false);
    return Number(r.result?.TTL ?? 0);
  }

  async leaseRevoke(id: string, deadlineMs?: number): Promise<void> {
    await this.call("/v3/lease/revoke", { ID: id }, deadlineMs);
  }

  /**
   * Watch a key or prefix from a revision on: events in order, until the
   * signal aborts (then it returns quietly) or the stream breaks (it throws).
   * `onCreated` runs once the watch is in place.
   */
  async watch(key: string, opts: { prefix?: boolean; fromRevision?: number; prevKv?: boolean; signal: AbortSignal; onCreated?: () => void }, onEvents: (evs: WatchEvent[], revision: number) => void): Promise<void> {
    const body = { create_request: { ...rangeBody(key, opts.prefix), ...(opts.fromRevision && { start_revision: String(opts.fromRevision) }), ...(opts.prevKv && { prev_kv: true }) } };
    const ep = this.opts.endpoints[this.preferred]!;
    let res: Response;
    try {
      res = await fetch(`${ep}/v3/watch`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal: opts.signal });
    } catch (e) {
      if (opts.signal.aborted) return;
      this.preferred = (this.preferred + 1) % this.opts.endpoints.length;
      throw new EtcdError(`etcd watch at ${ep}: ${causeText(e)}`, true);
    }
    if (!res.ok || !res.body) throw new EtcdError(`etcd watch at ${ep}: HTTP ${res.status}`, false);
    type RawEvent = { type?: string; kv?: RawKv; prev_kv?: RawKv };
    type RawWatch = { result?: { header?: RawHeader; created?: boolean; canceled?: boolean; compact_revision?: string; cancel_reason?: string; events?: RawEvent[] }; error?: { message?: string } };
    try {
      for await (const line of jsonLines(res.body as unknown as AsyncIterable<Buffer>)) {
        const w = line as RawWatch;
        if (w.error) throw new EtcdError(`etcd watch: ${w.error.message ?? "error"}`, false);
        const r = w.result;
        if (!r) continue;
        if (r.created) opts.onCreated?.();
        if (r.canceled) throw new EtcdError(`etcd watch canceled: ${r.cancel_reason ?? (r.compact_revision ? `compacted at ${r.compact_revision}` : "?")}`, false);
        if (r.events?.length) {
          onEvents(
            r.events.map((e) => ({ type: e.type === "DELETE" ? "delete" : "put", kv: kv(e.kv ?? {}), ...(e.prev_kv && { prev: kv(e.prev_kv) }) })),
            Number(r.header?.revision ?? 0),
          );
        }
      }
    } catch (e) {
      if (opts.signal.aborted) return;
      throw e instanceof EtcdError ? e : new EtcdError(`etcd watch at ${ep}: ${causeText(e)}`, true);
    }
    if (!opts.signal.aborted) throw new EtcdError(`etcd watch at ${ep}: stream ended`, true);
  }
}

/** fetch's "fetch failed" hides the reason in its cause. */
function causeText(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? errorMessage(e);
}
