// One service: its status tree with each resource's last messages, intended
// state and restarts, per-resource start/stop, the last actions with their
// command lines, and its log followed.
import { get, streamLines, svcPath } from "./api.js";
import { $, PINO_LEVELS, clock, h, logText, statusBadge } from "./dom.js";
import { runAction } from "./actions.js";

const TREE_ORDER = ["container", "app", "disk", "fs", "ip"];
const LOG_KEEP = 500;

const flags = (r) => (r.monitored ? "M" : ".") + (r.disabled ? "D" : ".") + (r.optional ? "O" : ".") + (r.encap ? "E" : ".");
const ridNumber = (rid) => Number(rid.split("#")[1]) || 0;

function messages(log) {
  if (!log?.length) return "";
  return h("ul", { class: "msgs" }, log.map((m) => h("li", { class: `msg-${m.level}` }, `# ${m.message}`)));
}

export class ServiceView {
  constructor(onChanged) {
    this.name = undefined;
    this.svc = undefined;
    this.onChanged = onChanged;
    this.logAbort = undefined;
    for (const b of document.querySelectorAll("#service-view [data-action]")) {
      b.addEventListener("click", () => this.name && void runAction(this.name, b.dataset.action, { onEnd: () => this.refreshAll().catch(() => undefined) }));
    }
  }

  async open(name) {
    this.close();
    this.name = name;
    this.svc = undefined;
    $("#svc-title").textContent = name;
    $("#tree tbody").replaceChildren();
    $("#history").replaceChildren();
    $("#log").replaceChildren();
    document.title = `${name} · svcmgr`;
    this.followLog(name);
    await this.refreshAll();
  }

  close() {
    this.logAbort?.abort();
    this.logAbort = undefined;
    this.name = undefined;
  }

  refreshAll() {
    return Promise.all([this.refresh(), this.refreshHistory()]);
  }

  async refresh() {
    const name = this.name;
    if (!name) return;
    let svc;
    try {
      svc = await get(svcPath(name));
    } catch (e) {
      if (e.status === 404) {
        $("#svc-title").textContent = `${name}: no such service (or not yours to see)`;
        return;
      }
      throw e;
    }
    if (name !== this.name) return;
    this.render(svc);
    this.onChanged?.(svc);
  }

  render(svc) {
    this.svc = svc;
    $("#svc-overall").replaceChildren(statusBadge(svc.overall));
    $("#svc-frozen").hidden = !svc.frozen;
    document.querySelector('#service-view [data-action="freeze"]').hidden = svc.frozen;
    document.querySelector('#service-view [data-action="thaw"]').hidden = !svc.frozen;
    $("#svc-log").replaceChildren(messages(svc.log));
    const resources = [...svc.resources].sort((a, b) => TREE_ORDER.indexOf(a.group) - TREE_ORDER.indexOf(b.group) || ridNumber(a.rid) - ridNumber(b.rid) || a.rid.localeCompare(b.rid));
    const rows = [h("tr", { class: "avail" }, h("td", { class: "rid" }, "avail"), h("td"), h("td", {}, statusBadge(svc.avail)), h("td"), h("td"), h("td"), h("td"))];
    for (const r of resources) {
      const rs = svc.restarts?.[r.rid] ?? { count: 0, exhausted: false };
      const act = (action) => h("button", { type: "button", class: `small${action === "stop" ? " danger" : ""}`, "aria-label": `${action} ${r.rid}`, onclick: () => void runAction(svc.name, action, { rid: r.rid, onEnd: () => this.refreshAll().catch(() => undefined) }) }, action === "start" ? "Start" : "Stop");
      rows.push(
        h(
          "tr",
          { dataset: { rid: r.rid } },
          h("td", { class: "rid" }, r.rid),
          h("td", { class: "mono" }, flags(r)),
          h("td", { dataset: { col: "status" } }, statusBadge(r.status)),
          h("td", { class: "label" }, r.label, messages(r.log)),
          h("td", {}, svc.intent?.[r.rid] ?? h("span", { class: "muted" }, "-")),
          h("td", {}, String(rs.count), rs.exhausted ? [" ", h("span", { class: "badge limit" }, "limit reached")] : ""),
          h("td", {}, r.disabled ? "" : h("span", { class: "buttons" }, act("start"), act("stop"))),
        ),
      );
    }
    $("#tree tbody").replaceChildren(...rows);
  }

  async refreshHistory() {
    const name = this.name;
    if (!name) return;
    let list;
    try {
      list = await get(`${svcPath(name)}/history`);
    } catch {
      return; // not (or no longer) a service of this token: refresh() says so
    }
    if (name !== this.name) return;
    $("#history-empty").hidden = list.length > 0;
    $("#history").replaceChildren(
      ...list.map((a) => {
        const result = a.end === undefined ? "running" : a.ok === undefined ? "ended" : a.ok ? "succeeded" : "failed";
        const who = a.by === "agent" ? "by the agent" : `by pid ${a.pid}`;
        const summary = h("summary", {}, h("time", { datetime: a.begin }, clock(a.begin)), " ", h("strong", {}, a.action), a.rids ? ` ${a.rids.join(", ")}` : "", ` ${who} — `, h("span", { class: `result ${result}` }, result), a.error ? `: ${a.error}` : "");
        const body = a.lines.length ? h("pre", {}, a.lines.map((l) => logText(l, name)).join("\n")) : h("p", { class: "muted" }, "no command logged");
        return h("li", {}, h("details", {}, summary, body));
      }),
    );
  }

  /** The service log followed; after the agent restarts, followed again. */
  followLog(name) {
    const ac = new AbortController();
    this.logAbort = ac;
    const pre = $("#log");
    const run = async () => {
      while (!ac.signal.aborted) {
        try {
          pre.replaceChildren();
          for await (const line of streamLines(`${svcPath(name)}/logs?follow=1&lines=200`, ac.signal)) {
            let l;
            try {
              const j = JSON.parse(line);
              l = { time: j.time, level: PINO_LEVELS[j.level] ?? "info", rid: j.rid, msg: j.msg };
            } catch {
              l = { time: undefined, level: "info", msg: line };
            }
            const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
            pre.append(h("div", { class: `l-${l.level}` }, logText(l, name)));
            while (pre.childElementCount > LOG_KEEP) pre.firstElementChild.remove();
            if (stick) pre.scrollTop = pre.scrollHeight;
          }
        } catch {
          // the agent went away or the view closed
        }
        if (!ac.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void run();
  }
}
