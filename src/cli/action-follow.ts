// An action queued on the agent, followed to its end (GET /v1/actions/{id}?follow=1)
// and printed as the CLI prints an action it runs itself: its log lines in the
// tutorials' format as they are written, a refusal's error on stderr, its exit
// code. Shared by the root CLI's hand-over (handover.ts) and a team member's
// commands (remote.ts).
//
// An agent started before its package was upgraded may not follow: it
// answers with the whole record, which is then asked again every POLL_MS
// until the action ends.
import { setTimeout as sleep } from "node:timers/promises";
import type { ActionProgress, ActionRecord } from "../agent/action-queue.js";
import { formatHuman, type Level } from "../util/log.js";
import { agentLines } from "./agent-client.js";

const POLL_MS = 50;

type Line = ActionRecord["lines"][number];
type End = Extract<ActionProgress, { type: "end" }>;

/** Where a followed action is printed: the process's own stdout and stderr, unless a test says otherwise. */
export interface Printer {
  out(s: string): void;
  err(s: string): void;
}
const processOutput: Printer = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

export async function followAction(socket: string, service: string, action: string, id: string, color: boolean, print: Printer = processOutput): Promise<number> {
  const line = (l: Line): void => {
    if (l.level === "debug") return;
    // freeze and thaw print their one line as it is, as the root CLI does
    if (action === "freeze" || action === "thaw") print.out(`${l.msg}\n`);
    else print.out(formatHuman({ time: new Date(l.time), level: l.level as Level, svc: service, rid: l.rid, msg: l.msg }, color) + "\n");
  };
  let end: End | undefined;
  let printed = 0; // of an older agent's records
  for (;;) {
    let polled = false;
    for await (const text of agentLines(socket, `/v1/actions/${encodeURIComponent(id)}?follow=1`)) {
      let p: ActionProgress | ActionRecord;
      try {
        p = JSON.parse(text) as ActionProgress | ActionRecord;
      } catch {
        continue;
      }
      if (!("type" in p)) {
        polled = true;
        p.lines.slice(printed).forEach(line);
        printed = p.lines.length;
        const refusal = p.state === "failed" && p.exitCode === 2 && p.error ? `${p.error}\n` : undefined;
        if (p.state === "succeeded" || p.state === "failed") end = { type: "end", state: p.state, exitCode: p.exitCode ?? 1, error: p.error, refusal };
      } else if (p.type === "end") end = p;
      else line(p);
    }
    if (end || !polled) break;
    await sleep(POLL_MS);
  }
  if (!end) {
    print.err(`${service}: lost the agent while it ran the action ${id} (svcmgr -s ${service} print status shows where it is)\n`);
    return 1;
  }
  if (end.refusal) print.err(end.refusal);
  return end.exitCode;
}
