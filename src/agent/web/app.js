// The dashboard: log in, the svcmon table, a service's page, the node events,
// all kept current from the agent's event stream (no reload), reconnecting by
// itself when the agent restarts.
import * as api from "./api.js";
import { $ } from "./dom.js";
import { ServiceTable } from "./table.js";
import { ServiceView } from "./service.js";
import { addEvent } from "./feed.js";

const TYPES = ["status", "action", "restart", "restart_limit", "daemon", "config"];

let table;
let view;
let stream;
/** services whose row must be fetched again, coalesced per burst of events */
const dirty = new Set();
let flushTimer;

function setConn(state) {
  const el = $("#conn");
  el.className = `conn ${state === "live" ? "live" : "down"}`;
  el.textContent = state === "live" ? "live" : "reconnecting…";
}

async function loadAll() {
  const list = await api.get("/v1/services");
  table.setAll(list);
  if (!performance.getEntriesByName("svcmgr:table").length) {
    // the first table: built now, painted by the end of the next frame (what the tests measure)
    performance.mark("svcmgr:table");
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark("svcmgr:painted")));
  }
  return list;
}

async function flush() {
  flushTimer = undefined;
  const names = [...dirty];
  dirty.clear();
  if (names.length > 20) {
    await loadAll().catch(() => names.forEach(markDirty));
    return;
  }
  await Promise.all(
    names.map(async (n) => {
      try {
        table.update(await api.get(api.svcPath(n)));
      } catch (e) {
        if (e.status === 404) table.remove(n);
        else if (!e.status) setTimeout(() => markDirty(n), 1000); // the network: later
      }
    }),
  );
}

function markDirty(name) {
  dirty.add(name);
  flushTimer ??= setTimeout(() => void flush(), 30);
}

let historyTimer;
function onEvent(type, d) {
  addEvent(type, d);
  markDirty(d.service);
  if (view.name === d.service) {
    view.refresh().catch(() => undefined);
    if (type === "action") {
      clearTimeout(historyTimer);
      historyTimer = setTimeout(() => view.refreshHistory().catch(() => undefined), 150);
    }
  }
}

function route() {
  const m = /^#\/service\/(.+)$/.exec(location.hash);
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor
  $("#list-view").hidden = Boolean(m);
  $("#service-view").hidden = !m;
  if (m) view.open(decodeURIComponent(m[1])).catch(() => undefined);
  else {
    view.close();
    document.title = "svcmgr";
  }
  $("#main").focus({ preventScroll: true });
}

function showLogin(message = "") {
  stream?.close();
  stream = undefined;
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  $("#conn").textContent = "";
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#token").focus();
}

async function start(s) {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#node").textContent = s.nodename;
  $("#who").textContent = s.group ? `group ${s.group}` : "all services";
  await loadAll();
  stream = api.eventStream({
    types: TYPES,
    onEvent,
    onState: (state, reconnected) => {
      setConn(state);
      if (reconnected) {
        // a new agent does not have the old one's events: fetch everything again
        loadAll().catch(() => undefined); // the next event or reconnect tries again
        if (view.name) view.refreshAll().catch(() => undefined);
      }
    },
    onUnauthorized: () => showLogin("Your session ended (token revoked or expired): log in again."),
  });
  route();
}

async function main() {
  table = new ServiceTable();
  view = new ServiceView((svc) => table.rows.has(svc.name) && table.update(svc));
  window.addEventListener("hashchange", route);
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("#token");
    try {
      const s = await api.login(input.value.trim());
      input.value = "";
      await start(s);
    } catch (e) {
      $("#login-error").textContent = e.status === 429 ? e.message : e.status === 401 ? "That token is not valid (or has expired)." : String(e.message ?? e);
    }
  });
  $("#logout").addEventListener("click", async () => {
    await api.logout().catch(() => undefined);
    showLogin("Logged out.");
  });
  let s;
  for (;;) {
    try {
      s = await api.session();
      break;
    } catch {
      setConn("down"); // the agent is not answering: try again
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  if (s) await start(s);
  else showLogin();
  window.dispatchEvent(new Event("svcmgr:started"));
}

void main();
