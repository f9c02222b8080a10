// The agent's event stream (text/event-stream) as the tests read it: one
// parser for every reader, over a unix socket or TCP.
import type http from "node:http";

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
  /** performance.now() when it arrived */
  at: number;
}

/** Each named event of the response, in order, as it arrives (comments and keep-alives skipped). */
export function onSse(res: http.IncomingMessage, onEvent: (e: SseEvent) => void): void {
  let buf = "";
  res.setEncoding("utf8");
  res.on("data", (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const f = Object.fromEntries(
        block
          .split("\n")
          .filter((l) => !l.startsWith(":"))
          .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
      );
      if (f.event) onEvent({ id: Number(f.id), event: f.event, data: JSON.parse(f.data ?? "{}") as Record<string, unknown>, at: performance.now() });
    }
  });
}
