// The node events feed: the newest first, each said in words.
import { $, clock, h } from "./dom.js";

const KEEP = 200;

export function describe(type, d) {
  switch (type) {
    case "status":
      if (d.frozen !== undefined) return d.frozen ? "frozen" : "thawed";
      return `${d.rid ?? "overall"} ${d.from ?? "?"} → ${d.to}`;
    case "action":
      if (d.phase === "begin") return `${d.action} begins${d.pid ? ` (pid ${d.pid})` : ""}`;
      return `${d.action} ${d.ok === undefined ? "ends" : d.ok ? "succeeded" : "failed"}${d.error ? `: ${d.error}` : ""}`;
    case "restart":
      return `restart ${d.attempt}/${d.limit} of ${d.rid}: ${d.reason}`;
    case "restart_limit":
      return `${d.rid}: restart limit reached (${d.limit}/${d.limit})`;
    case "daemon":
      return `docker daemon ${d.state}`;
    case "config":
      return d.valid ? "config reloaded" : `config invalid: ${(d.problems ?? []).join("; ")}`;
    default:
      return type;
  }
}

export function addEvent(type, d) {
  const ol = $("#events");
  const bad = (type === "status" && (d.to === "down" || d.to === "warn")) || (type === "action" && d.ok === false) || type === "restart_limit";
  ol.prepend(
    h("li", { class: bad ? "bad" : "", dataset: { type, service: d.service } }, h("time", {}, clock()), h("a", { class: "svc", href: `#/service/${encodeURIComponent(d.service)}` }, d.service), " ", describe(type, d)),
  );
  while (ol.childElementCount > KEEP) ol.lastElementChild.remove();
}
