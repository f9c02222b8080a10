// The dashboard's sessions and their guards (SPEC §11). A session cookie names
// its token by id and is signed with a key kept in <var>/_agent/session.key, so
// sessions survive an agent restart (the page reconnects without a new login)
// and end as soon as their token is revoked or expires. The CSRF token of a
// session is derived from it; the page reads it from /v1/session, which a
// foreign site cannot (no CORS). Failed logins are counted per address.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** how long a login lasts (never past its token's expiry) */
export const SESSION_MS = 24 * 3_600_000;
export const LOGIN_FAILURES = 10;
export const LOGIN_WINDOW_MS = 60_000;

export interface Session {
  tokenId: string;
  expires: number;
}

export class SessionSigner {
  private constructor(private readonly key: Buffer) {}

  /** The key of <dir>/session.key, made (0600) the first time. */
  static open(dir: string): SessionSigner {
    const file = path.join(dir, "session.key");
    try {
      return new SessionSigner(Buffer.from(fs.readFileSync(file, "utf8").trim(), "hex"));
    } catch {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const key = crypto.randomBytes(32);
      try {
        fs.writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600, flag: "wx" });
        return new SessionSigner(key);
      } catch {
        return new SessionSigner(Buffer.from(fs.readFileSync(file, "utf8").trim(), "hex")); // another made it meanwhile
      }
    }
  }

  private mac(text: string): string {
    return crypto.createHmac("sha256", this.key).update(text).digest("base64url");
  }

  make(tokenId: string, expires: number): string {
    const body = `v1.${tokenId}.${Math.floor(expires / 1000)}.${crypto.randomBytes(9).toString("base64url")}`;
    return `${body}.${this.mac(body)}`;
  }

  read(cookie: string | undefined, now = Date.now()): Session | undefined {
    const m = cookie ? /^(v1\.([0-9a-f]{12})\.(\d{1,12})\.[A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/.exec(cookie) : null;
    if (!m) return undefined;
    const want = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[4]!);
    if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) return undefined;
    const expires = Number(m[3]) * 1000;
    return expires > now ? { tokenId: m[2]!, expires } : undefined;
  }

  csrf(cookie: string): string {
    return this.mac(`csrf ${cookie}`);
  }

  checkCsrf(cookie: string, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.csrf(cookie));
    const got = Buffer.from(given);
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }
}

/** At most `max` failures per address within `windowMs`; bounded in addresses kept. */
export class AttemptLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max = LOGIN_FAILURES,
    private readonly windowMs = LOGIN_WINDOW_MS,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  private recent(key: string): number[] {
    const t = this.now();
    const list = (this.failures.get(key) ?? []).filter((x) => t - x < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Seconds to wait before another try, or 0 when the address may try. */
  retryAfter(key: string): number {
    const list = this.recent(key);
    if (list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - this.now()) / 1000));
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.failures.set(key, list);
    if (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }
}
