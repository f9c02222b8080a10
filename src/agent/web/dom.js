// Small DOM helpers: elements are built with textContent only (no HTML from data).

/** h("td", { class: "x" }, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = (sel) => document.querySelector(sel);

/** A status as a word with its colour (the word is what counts: colour only repeats it). */
export function statusBadge(status) {
  const s = status ?? "undef";
  return h("span", { class: `st st-${s.replace("/", "").replace(" ", "-")}` }, s);
}

export function clock(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString([], { hour12: false });
}

/** A service log line as the CLI prints it: 16:12:26 INFO    APP1.DEV.APP#1 message */
export function logText(l, service) {
  const level = (l.level ?? "info").toUpperCase().padEnd(7);
  const who = (l.rid ? `${service}.${l.rid}` : service).toUpperCase();
  return `${clock(l.time)} ${level} ${who} ${l.msg}`;
}

export const PINO_LEVELS = { 10: "debug", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "error" };
