// The cluster panel (SPEC §12): one row per cluster service, one column per
// node, the owner marked with its fencing token, and a "switch here" button on
// each other node that is up. Hidden when the node is in no cluster.
import { HttpError, get, post, svcPath } from "./api.js";
import { $, h, statusBadge } from "./dom.js";

export class ClusterPanel {
  constructor() {
    this.section = $("#cluster-view");
    this.timer = undefined;
    this.view = undefined;
  }

  /** Fetch again soon (bursts of events: once). */
  refreshSoon() {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch(() => undefined);
    }, 50);
  }

  async refresh() {
    let v;
    try {
      v = await get("/v1/cluster");
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) {
        this.section.hidden = true;
        return;
      }
      throw e;
    }
    this.view = v;
    this.render(v);
  }

  render(v) {
    this.section.hidden = false;
    $("#cluster-title").textContent = `Cluster ${v.name}`;
    $("#cluster-nodes").textContent = v.nodes.map((n) => `${n.name}${n.name === v.self ? " (this node)" : ""} ${n.up ? "up" : "down"}`).join(" · ");
    const head = $("#cluster thead tr");
    head.replaceChildren(h("th", { scope: "col" }, "service"), h("th", { scope: "col" }, "intent"), ...v.nodes.map((n) => h("th", { scope: "col", class: n.up ? "" : "muted" }, n.name)));
    const rows = v.services.map((s) =>
      h(
        "tr",
        { dataset: { name: s.name } },
        h("td", { class: "name" }, h("a", { href: `#/service/${encodeURIComponent(s.name)}` }, s.name)),
        h("td", {}, s.intent, s.target ? ` → ${s.target}` : "", s.topology === "flex" ? h("span", { class: "muted" }, ` · flex ×${s.flexTarget}`) : ""),
        ...v.nodes.map((n) => this.cell(s, n)),
      ),
    );
    $("#cluster tbody").replaceChildren(...rows);
    $("#cluster-empty").hidden = rows.length > 0;
  }

  cell(s, n) {
    const owner = s.owners.find((o) => o.node === n.name);
    const st = s.nodes[n.name];
    const parts = [!s.candidates.includes(n.name) ? h("span", { class: "muted" }, "not one of its nodes") : st ? statusBadge(st.avail) : h("span", { class: "muted" }, n.up ? "undef" : "node down")];
    if (owner) parts.push(" ", h("span", { class: "badge owner", title: `owner key held by ${n.name}, fencing token ${owner.token}` }, `owner · ${owner.token}`));
    // a failover service moves to another of its nodes that is up (a flex one runs on several: no switch)
    else if (n.up && s.owners.length && s.topology !== "flex" && s.candidates.includes(n.name)) {
      const b = h("button", { type: "button", class: "small", "aria-label": `Switch ${s.name} to ${n.name}` }, "switch here");
      b.addEventListener("click", async () => {
        b.disabled = true;
        const msg = $("#cluster-msg");
        msg.className = "muted";
        msg.textContent = `${s.name}: switch to ${n.name} asked…`;
        try {
          await post(`${svcPath(s.name)}/actions/switch`, { to: n.name });
          msg.textContent = `${s.name}: switch to ${n.name} asked of the cluster`;
        } catch (e) {
          msg.className = "error";
          msg.textContent = `${s.name}: switch to ${n.name} not done: ${e.message ?? e}`;
          b.disabled = false;
        }
        this.refreshSoon();
      });
      parts.push(" ", b);
    }
    return h("td", { dataset: { node: n.name, owner: owner ? "yes" : "no" } }, ...parts);
  }
}
