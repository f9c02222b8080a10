// The dashboard's bearer tokens (SPEC §11): <var>/_agent/tokens.json (0600),
// edited by `svcmgr daemon token create|list|revoke` under a lock, whether the
// agent runs or not; the agent re-reads the file when it changed. A token is
// shown once as `svc_<id>_<secret>` and only the sha256 of its secret is kept
// (the secret is 32 random bytes: a slow hash would add nothing but latency to
// every request). A token with a group sees that group's services only, as the
// team sockets do; one without sees everything.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { withLock } from "../util/lock.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { UsageError, errorMessage } from "../util/errors.js";
import type { Paths } from "../util/paths.js";
import { agentDir } from "./files.js";

export const tokensFile = (p: Paths): string => path.join(agentDir(p), "tokens.json");
const lockOf = (file: string): string => `${file}.lock`;

export interface TokenEntry {
  id: string;
  /** "sha256:<hex>" of the secret */
  hash: string;
  group?: string;
  /** ISO time after which the token is refused */
  expires?: string;
  created: string;
}

const TOKEN = /^svc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const GROUP = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

const hashOf = (secret: string): string => `sha256:${crypto.createHash("sha256").update(secret).digest("hex")}`;

/** `30d`, `12h`, `90m`, `3600s`, `2w`: a time to live in ms. */
export function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new UsageError(`--ttl ${text}: expected a duration such as 30d, 12h, 90m (s, m, h, d, w)`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "s" | "m" | "h" | "d" | "w"];
}

function parseFile(file: string, text: string): TokenEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${errorMessage(e)}); fix or remove it`);
  }
  const tokens = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens)) throw new UsageError(`${file}: expected {"tokens": [...]}`);
  return tokens.filter((t): t is TokenEntry => typeof (t as TokenEntry)?.id === "string" && typeof (t as TokenEntry).hash === "string");
}

function readEntries(file: string): TokenEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return parseFile(file, text);
}

function writeEntries(file: string, entries: TokenEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  writeFileAtomicSync(file, JSON.stringify({ tokens: entries }, null, 2) + "\n", 0o600);
}

const edit = <T>(file: string, fn: (entries: TokenEntry[]) => { entries: TokenEntry[]; result: T }): Promise<T> =>
  withLock(lockOf(file), { action: "tokens", waitMs: 10_000 }, () => {
    const { entries, result } = fn(readEntries(file));
    writeEntries(file, entries);
    return Promise.resolve(result);
  });

export function isExpired(t: { expires?: string }, now = Date.now()): boolean {
  return t.expires !== undefined && Date.parse(t.expires) <= now;
}

/** Make a token; the only time its secret exists outside the caller is the returned string. */
export function createToken(paths: Paths, opts: { group?: string; ttlMs?: number; now?: number }): Promise<{ entry: TokenEntry; token: string }> {
  if (opts.group !== undefined && !GROUP.test(opts.group)) throw new UsageError(`--group ${opts.group}: not a group name`);
  const now = opts.now ?? Date.now();
  const id = crypto.randomBytes(6).toString("hex");
  const secret = crypto.randomBytes(32).toString("base64url");
  const entry: TokenEntry = {
    id,
    hash: hashOf(secret),
    ...(opts.group !== undefined && { group: opts.group }),
    ...(opts.ttlMs !== undefined && { expires: new Date(now + opts.ttlMs).toISOString() }),
    created: new Date(now).toISOString(),
  };
  return edit(tokensFile(paths), (entries) => ({ entries: [...entries, entry], result: { entry, token: `svc_${id}_${secret}` } }));
}

export function listTokens(paths: Paths): TokenEntry[] {
  return readEntries(tokensFile(paths));
}

/** Remove a token given by its id (or the whole token); false if there is none. */
export function revokeToken(paths: Paths, idOrToken: string): Promise<boolean> {
  const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
  return edit(tokensFile(paths), (entries) => {
    const kept = entries.filter((t) => t.id !== id);
    return { entries: kept, result: kept.length !== entries.length };
  });
}

/** The agent's view of the tokens file: re-read when it changed, checked in constant time. */
export class TokenStore {
  private entries: TokenEntry[] = [];
  private seen = "";

  constructor(
    private readonly file: string,
    private readonly warn: (msg: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private refresh(): void {
    let key = "missing";
    try {
      const st = fs.statSync(this.file);
      key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // no file: no token
    }
    if (key === this.seen) return;
    this.seen = key;
    try {
      this.entries = key === "missing" ? [] : readEntries(this.file);
    } catch (e) {
      this.entries = []; // fail closed
      this.warn(`tokens: ${errorMessage(e)}; every token refused until it is fixed`);
    }
  }

  /** The entry of a valid, unexpired token, else undefined. */
  verify(token: string): TokenEntry | undefined {
    const m = TOKEN.exec(token);
    if (!m) return undefined;
    return this.byId(m[1]!, hashOf(m[2]!));
  }

  /** The live entry of that id (a session names its token by id); with a hash, only if it matches. */
  byId(id: string, hash?: string): TokenEntry | undefined {
    this.refresh();
    const t = this.entries.find((e) => e.id === id);
    if (!t || isExpired(t, this.now())) return undefined;
    if (hash === undefined) return t;
    const a = Buffer.from(t.hash);
    const b = Buffer.from(hash);
    return a.length === b.length && crypto.timingSafeEqual(a, b) ? t : undefined;
  }
}
