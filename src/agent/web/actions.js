// Actions from the page: a confirmation for what stops something, then the
// action's progress (queued, running with its log lines, then its result; a
// failure says what failed and what was rolled back) in a card that stays.
import { HttpError, get, post, svcPath } from "./api.js";
import { $, h, logText } from "./dom.js";

const CONFIRM = new Set(["stop", "restart"]);
const POLL_MS = 250;
const CARDS = 6;

function confirmDialog(title, text, okLabel) {
  const dlg = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    dlg.returnValue = "cancel";
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.showModal();
  });
}

const label = (service, action, rid) => `${action}${rid ? ` ${rid}` : ""} ${service}`;

/** Ask (for stop and restart), run, and show progress; resolves with the final record (or undefined if cancelled). */
export async function runAction(service, action, { rid, onEnd } = {}) {
  if (CONFIRM.has(action)) {
    const what = rid ? `the resource ${rid} of ${service}` : `the service ${service}`;
    const verb = action === "stop" ? "Stop" : "Restart";
    const text = action === "stop" ? `This stops ${what}. It stays stopped: the agent does not start it again by itself.` : `This stops then starts ${what}: it is unavailable meanwhile.`;
    const ok = await confirmDialog(`${verb} ${rid ?? service}?`, text, verb);
    if (!ok) return undefined;
  }
  const state = h("span", { class: "state" }, "queued");
  const lines = h("pre", { class: "lines", hidden: true });
  const why = h("p", { class: "why", hidden: true });
  const close = h("button", { type: "button", class: "small", "aria-label": "Dismiss" }, "×");
  const card = h("div", { class: "card", role: "status" }, h("div", { class: "card-head" }, h("strong", {}, label(service, action, rid)), h("span", {}, state, " ", close)), why, lines);
  close.addEventListener("click", () => card.remove());
  const area = $("#activity");
  area.prepend(card);
  while (area.children.length > CARDS) area.lastElementChild.remove();
  let rec;
  try {
    const { id } = await post(`${svcPath(service)}/actions/${action}`, rid ? { rid } : {});
    card.dataset.id = id;
    for (;;) {
      rec = await get(`/v1/actions/${encodeURIComponent(id)}`);
      state.textContent = rec.state;
      const shown = rec.lines.filter((l) => l.level !== "debug");
      if (shown.length) {
        lines.hidden = false;
        lines.textContent = shown.map((l) => logText(l, service)).join("\n");
        lines.scrollTop = lines.scrollHeight;
      }
      if (rec.state === "succeeded" || rec.state === "failed") break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    rec = { state: "failed", error: e instanceof HttpError ? e.message : String(e) };
    state.textContent = "failed";
  }
  card.classList.add(rec.state === "succeeded" ? "ok" : "failed");
  card.dataset.state = rec.state;
  if (rec.state === "failed") {
    why.hidden = false;
    why.textContent = rec.error ?? `exit code ${rec.exitCode}`;
  }
  onEnd?.(rec);
  return rec;
}
