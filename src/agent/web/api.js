// The agent's API from the page: the session (cookie + CSRF token), JSON calls,
// the event stream (reconnecting by itself), and followed streams of lines.

let csrf = "";

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * A GET that failed on the network (the agent restarting, or the browser's
 * ERR_NETWORK_CHANGED) is tried again a few times; anything else is tried once:
 * an action must not be sent twice.
 */
async function fetchRetrying(method, path, init) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(path, init);
    } catch (e) {
      if (method !== "GET" || attempt >= 4) throw e;
      await new Promise((r) => setTimeout(r, 150 * (attempt + 1)));
    }
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const res = await fetchRetrying(method, path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", cache: "no-store" });
  let data;
  try {
    data = await res.json();
  } catch {
    data = undefined;
  }
  if (!res.ok) throw new HttpError(res.status, data?.error ?? `${res.status} ${res.statusText}`);
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/** The current session, or undefined when logged out. */
export async function session() {
  try {
    const s = await get("/v1/session");
    csrf = s.csrf;
    return s;
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return undefined;
    throw e;
  }
}

export async function login(token) {
  const s = await call("POST", "/v1/login", { token });
  csrf = s.csrf;
  return s;
}

export async function logout() {
  await post("/v1/logout");
  csrf = "";
}

export const svcPath = (name) => `/v1/services/${encodeURIComponent(name)}`;

/**
 * The agent's event stream, reconnecting by itself (after an agent restart too):
 * onEvent(type, data, id) for each event, onState("live" | "down", reconnected).
 * The stream resumes after the last id seen; the caller refetches on reconnect,
 * since a new agent does not have the old one's events.
 */
export function eventStream({ types, onEvent, onState, onUnauthorized }) {
  let last = "";
  let es;
  let delay = 250;
  let wasDown = false;
  let timer;
  const open = () => {
    es = new EventSource(last ? `/v1/events?since=${encodeURIComponent(last)}` : "/v1/events");
    es.onopen = () => {
      delay = 250;
      onState("live", wasDown);
      wasDown = false;
    };
    for (const t of types) {
      es.addEventListener(t, (m) => {
        if (m.lastEventId) last = m.lastEventId;
        let data;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        onEvent(t, data, m.lastEventId);
      });
    }
    es.onerror = async () => {
      es.close();
      wasDown = true;
      onState("down", false);
      clearTimeout(timer);
      // logged out (token revoked, session expired): no point in retrying
      try {
        const r = await fetch("/v1/session", { cache: "no-store" });
        if (r.status === 401) return onUnauthorized();
      } catch {
        // the agent is away: retry
      }
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 3000);
    };
  };
  open();
  return { close: () => (clearTimeout(timer), es?.close()) };
}

/** Lines of a streamed response (the followed log), until it ends or `signal` aborts. */
export async function* streamLines(path, signal) {
  const res = await fetch(path, { signal, cache: "no-store", headers: { Accept: "application/x-ndjson" } });
  if (!res.ok || !res.body) throw new HttpError(res.status, `${res.status} ${res.statusText}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) yield line;
    }
  }
}
