// The agent on TCP (SPEC §11): the API of §10 and the dashboard, over HTTP or
// HTTPS. Every request but the page's own files and the login needs a token:
// `Authorization: Bearer svc_...`, or the session cookie the login sets. A
// token's group makes its scope, as the team sockets do: the services whose
// socket group is that group; a token without group sees everything.
// Requests that change something are refused from a foreign Origin, and with
// the cookie they must carry the session's CSRF token (X-CSRF-Token).
import http from "node:http";
import https from "node:https";
import type { Server } from "node:http";
import { Hono, type Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import { secureHeaders } from "hono/secure-headers";
import { bodyLimit } from "hono/body-limit";
import { createAdaptorServer, type HttpBindings } from "@hono/node-server";
import type { Logger } from "../../util/log.js";
import { errorMessage } from "../../util/errors.js";
import { listenUrl, type ListenConfig } from "../listen-config.js";
import { TokenStore, tokensFile, type TokenEntry } from "../tokens.js";
import { apiRoutes, type ApiContext } from "./routes.js";
import { AttemptLimiter, SESSION_MS, SessionSigner } from "./web-auth.js";
import { loadWebFiles, webRoot, type WebFile } from "./web-static.js";

const MAX_CONNECTIONS = 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
/** how often a long response checks that its token still exists */
const REVOCATION_CHECK_MS = 1000;

export interface WebOptions {
  listen: ListenConfig;
  /** <var>/_agent: tokens.json and session.key */
  agentDir: string;
  paths: ApiContext["paths"];
  nodename: string;
  log: Logger;
  /** the socket group of a service, which a group token's scope is made of */
  groupOf(service: string): string | undefined;
  /** the dashboard's files; default: src/agent/web of this checkout */
  webDir?: string;
}

type Env = { Bindings: HttpBindings };
const fail = (c: Context, status: 400 | 401 | 403 | 404 | 429, error: string, headers: Record<string, string> = {}) => c.json({ error }, status, headers);

export function webApp(ctx: ApiContext, opts: WebOptions): Hono<Env> {
  const tokens = new TokenStore(tokensFile(opts.paths), (m) => opts.log.warn(m));
  const signer = SessionSigner.open(opts.agentDir);
  const limiter = new AttemptLimiter();
  const files = loadWebFiles(opts.webDir ?? webRoot());
  const secure = opts.listen.tls !== undefined;
  const cookieName = secure ? "__Host-svcmgr_session" : "svcmgr_session";
  const scopes = new Map<string, Hono<Env>>();
  const scoped = (t: TokenEntry): Hono<Env> => {
    const key = t.group ?? "";
    let app = scopes.get(key);
    if (!app) {
      const g = t.group;
      app = apiRoutes(ctx, { visible: g === undefined ? () => true : (s) => opts.groupOf(s) === g, via: "the web" });
      scopes.set(key, app);
    }
    return app;
  };
  const address = (c: Context<Env>): string => c.env.incoming.socket.remoteAddress ?? "?";
  const session = (c: Context<Env>): { cookie: string; token: TokenEntry; expires: number } | undefined => {
    const cookie = getCookie(c, cookieName);
    const s = signer.read(cookie);
    const token = s && tokens.byId(s.tokenId);
    return cookie && s && token ? { cookie, token, expires: s.expires } : undefined;
  };

  const app = new Hono<Env>();
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'self'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"] },
      strictTransportSecurity: secure ? "max-age=31536000" : false,
      xFrameOptions: "DENY",
    }),
  );
  // a foreign page may make a browser send anything; what changes something must come from this origin
  app.use("*", async (c: Context<Env>, next) => {
    if (SAFE.has(c.req.method)) return next();
    const site = c.req.header("Sec-Fetch-Site");
    const origin = c.req.header("Origin");
    const own = `${secure ? "https" : "http"}://${c.req.header("Host") ?? ""}`;
    if ((site && site !== "same-origin" && site !== "none") || (origin !== undefined && origin !== own)) {
      opts.log.warn(`refused a cross-site ${c.req.method} ${c.req.path} from ${address(c)} (Origin ${origin ?? "none"}, Sec-Fetch-Site ${site ?? "none"})`);
      return fail(c, 403, `cross-site request refused (Origin ${origin ?? "none"})`);
    }
    return next();
  });

  const file = (c: Context<Env>, f: WebFile, status: 200 | 401 = 200) => {
    if (status === 200 && c.req.header("If-None-Match") === f.etag) return c.body(null, 304, { ETag: f.etag });
    return c.body(new Uint8Array(f.body), status, { "Content-Type": f.type, "Cache-Control": "no-cache", ETag: f.etag });
  };
  // the page: without a session, 401 and the same page, which then shows its login form
  app.get("/", (c) => file(c, files.get("index.html")!, session(c) ? 200 : 401));
  app.get("/assets/:name", (c) => {
    const f = files.get(c.req.param("name"));
    return f ? file(c, f) : fail(c, 404, `no such file: ${c.req.param("name")}`);
  });

  app.post(
    "/v1/login",
    bodyLimit({ maxSize: 4096, onError: (c) => fail(c, 400, "request body too large") }),
    async (c) => {
      const who = address(c);
      const wait = limiter.retryAfter(who);
      if (wait) return fail(c, 429, `too many failed logins from ${who}: try again in ${wait} s`, { "Retry-After": String(wait) });
      let token: unknown;
      try {
        token = (await c.req.json<{ token?: unknown }>()).token;
      } catch {
        return fail(c, 400, 'expected a JSON body {"token": "svc_..."}');
      }
      const entry = typeof token === "string" ? tokens.verify(token.trim()) : undefined;
      if (!entry) {
        limiter.fail(who);
        opts.log.warn(`failed dashboard login from ${who}`);
        return fail(c, 401, "invalid or expired token");
      }
      const expires = Math.min(Date.now() + SESSION_MS, entry.expires ? Date.parse(entry.expires) : Infinity);
      const cookie = signer.make(entry.id, expires);
      setCookie(c, cookieName, cookie, { httpOnly: true, sameSite: "Strict", secure, path: "/", maxAge: Math.max(1, Math.floor((expires - Date.now()) / 1000)) });
      opts.log.info(`dashboard login from ${who} with token ${entry.id}${entry.group ? ` (group ${entry.group})` : ""}`);
      return c.json({ token: entry.id, group: entry.group ?? null, expires: new Date(expires).toISOString(), csrf: signer.csrf(cookie), nodename: opts.nodename });
    },
  );
  app.get("/v1/session", (c) => {
    const s = session(c);
    if (!s) return fail(c, 401, "not logged in");
    return c.json({ token: s.token.id, group: s.token.group ?? null, expires: new Date(s.expires).toISOString(), csrf: signer.csrf(s.cookie), nodename: opts.nodename });
  });
  app.post("/v1/logout", (c) => {
    const s = session(c);
    if (s && !signer.checkCsrf(s.cookie, c.req.header("X-CSRF-Token"))) return fail(c, 403, "missing or wrong CSRF token (X-CSRF-Token)");
    deleteCookie(c, cookieName, { path: "/", secure, httpOnly: true, sameSite: "Strict" });
    return c.json({ ok: true });
  });

  // everything else: the API of §10, in the token's scope
  app.all("*", async (c) => {
    const auth = c.req.header("Authorization");
    let token: TokenEntry | undefined;
    if (auth !== undefined) {
      const who = address(c);
      const wait = limiter.retryAfter(who);
      if (wait) return fail(c, 429, `too many failed attempts from ${who}: try again in ${wait} s`, { "Retry-After": String(wait) });
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      token = m ? tokens.verify(m[1]!) : undefined;
      if (!token) {
        limiter.fail(who);
        return fail(c, 401, "invalid or expired token", { "WWW-Authenticate": 'Bearer realm="svcmgr"' });
      }
    } else {
      const s = session(c);
      if (!s) return fail(c, 401, "a token is needed: Authorization: Bearer svc_..., or log in on the dashboard", { "WWW-Authenticate": 'Bearer realm="svcmgr"' });
      if (!SAFE.has(c.req.method) && !signer.checkCsrf(s.cookie, c.req.header("X-CSRF-Token"))) return fail(c, 403, "missing or wrong CSRF token (X-CSRF-Token)");
      token = s.token;
    }
    watchRevocation(c, token.id, tokens);
    return scoped(token).fetch(c.req.raw, { ...c.env, caller: `the web (token ${token.id}${token.group ? `, group ${token.group}` : ", every service"})` });
  });
  app.onError((e, c) => c.json({ error: e.message }, 500));
  return app;
}

/** A response still going (an event stream, a followed log) ends once its token is revoked or expires. */
function watchRevocation(c: Context<Env>, tokenId: string, tokens: TokenStore): void {
  const timer = setInterval(() => {
    if (!tokens.byId(tokenId)) c.env.incoming.socket.destroy();
  }, REVOCATION_CHECK_MS);
  timer.unref();
  c.env.outgoing.once("close", () => clearInterval(timer));
}

/** The TCP listener: node:http, or node:https with the configured certificate. */
export class WebListener {
  private constructor(
    readonly url: string,
    private readonly server: Server,
  ) {}

  static async open(ctx: ApiContext, opts: WebOptions): Promise<WebListener> {
    const app = webApp(ctx, opts);
    const { listen } = opts;
    const server = (
      listen.tls
        ? createAdaptorServer({ fetch: app.fetch, createServer: https.createServer, serverOptions: { cert: listen.tls.cert, key: listen.tls.key } })
        : createAdaptorServer({ fetch: app.fetch, createServer: http.createServer })
    ) as Server;
    server.maxConnections = MAX_CONNECTIONS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(new Error(`cannot listen on ${listen.host}:${listen.port} (${listen.from}): ${errorMessage(e)}`)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    const url = listenUrl(listen);
    if (!listen.tls && !["127.0.0.1", "::1", "localhost"].includes(listen.host)) opts.log.warn(`the dashboard on ${url} is plain HTTP: tokens and cookies cross the network in clear (give tls_cert and tls_key)`);
    opts.log.info(`dashboard and API on ${url} (tokens: svcmgr daemon token create)`);
    return new WebListener(url, server);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
