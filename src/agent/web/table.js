// The svcmon table: one row per service the token may see, kept in place and
// updated row by row as events come.
import { $, h, statusBadge } from "./dom.js";

const GROUPS = ["container", "ip", "disk", "fs", "app"];

/** restarts of a service: the sum of its resources' counts, and whether a limit was reached */
export function restartSummary(svc) {
  let count = 0;
  let exhausted = [];
  for (const [rid, r] of Object.entries(svc.restarts ?? {})) {
    count += r.count;
    if (r.exhausted) exhausted.push(rid);
  }
  return { count, exhausted };
}

function restartCell(svc) {
  const { count, exhausted } = restartSummary(svc);
  return h("td", { class: "restarts" }, String(count), exhausted.length ? [" ", h("span", { class: "badge limit", title: `restart limit reached: ${exhausted.join(", ")}` }, "limit reached")] : "");
}

function row(svc) {
  const link = h("a", { href: `#/service/${encodeURIComponent(svc.name)}` }, svc.name);
  return h(
    "tr",
    { dataset: { name: svc.name, overall: svc.overall } },
    h("td", { class: "name" }, link),
    h("td", { class: "g" }, svc.serviceType),
    ...GROUPS.map((g) => h("td", { class: "g", dataset: { group: g } }, statusBadge(svc.groups?.[g] ?? "n/a"))),
    h("td", { dataset: { col: "avail" } }, statusBadge(svc.avail)),
    h("td", { dataset: { col: "overall" } }, statusBadge(svc.overall)),
    h("td", { dataset: { col: "frozen" } }, svc.frozen ? h("span", { class: "badge frozen" }, "frozen") : h("span", { class: "muted" }, "no")),
    restartCell(svc),
  );
}

/** `app1.*,b?` as the CLI's selector; plain text matches anywhere in the name */
function matcher(text) {
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (!parts.length) return () => true;
  const tests = parts.map((p) => {
    if (!/[*?]/.test(p)) return (n) => n.includes(p);
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
    return (n) => re.test(n);
  });
  return (n) => tests.some((t) => t(n));
}

export class ServiceTable {
  constructor() {
    this.tbody = $("#services tbody");
    this.rows = new Map();
    this.services = new Map();
    this.filter = $("#filter");
    this.filter.addEventListener("input", () => this.applyFilter());
  }

  /** Replace everything (first load, reconnect). */
  setAll(list) {
    this.services = new Map(list.map((s) => [s.name, s]));
    const frag = document.createDocumentFragment();
    this.rows.clear();
    for (const s of list) {
      const tr = row(s);
      this.rows.set(s.name, tr);
      frag.append(tr);
    }
    this.tbody.replaceChildren(frag);
    this.applyFilter();
  }

  /** One service changed (or appeared). */
  update(svc) {
    this.services.set(svc.name, svc);
    const tr = row(svc);
    const old = this.rows.get(svc.name);
    this.rows.set(svc.name, tr);
    if (old) old.replaceWith(tr);
    else {
      const next = [...this.rows.keys()].sort().find((n) => n > svc.name && n !== svc.name && this.rows.get(n)?.isConnected);
      if (next) this.tbody.insertBefore(tr, this.rows.get(next));
      else this.tbody.append(tr);
    }
    this.applyFilter();
  }

  remove(name) {
    this.services.delete(name);
    this.rows.get(name)?.remove();
    this.rows.delete(name);
    this.applyFilter();
  }

  applyFilter() {
    const match = matcher(this.filter.value);
    let shown = 0;
    for (const [name, tr] of this.rows) {
      const ok = match(name);
      tr.hidden = !ok;
      if (ok) shown++;
    }
    const total = this.rows.size;
    $("#count").textContent = shown === total ? `(${total})` : `(${shown} of ${total})`;
    const empty = $("#empty");
    empty.hidden = shown > 0;
    empty.textContent = total === 0 ? "No service this token may see." : "No service matches the filter.";
  }
}
