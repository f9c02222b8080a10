// A service's containers as its docker daemon reports them: the engine's event
// stream (GET /events), split into JSON objects on newlines (one chunk may hold
// several events or part of one), ending when the daemon goes away.
import readline from "node:readline";
import type Docker from "dockerode";
import { LABEL_RID, LABEL_SERVICE } from "../drivers/container-docker/container.js";

export interface ContainerEvent {
  /** die, oom, health_status: unhealthy, start, … */
  action: string;
  rid: string | undefined;
  exitCode: number | undefined;
  /** seconds since the epoch, for a resubscription's `since` */
  time: number;
}

/**
 * Subscribe to the events of this service's containers, from `since`
 * (seconds): resolves once the engine answered (the subscription is open), with
 * the events until the stream ends or `signal` aborts.
 */
export async function subscribeContainerEvents(docker: Docker, service: string, since: number | undefined, signal: AbortSignal): Promise<AsyncGenerator<ContainerEvent>> {
  const filters = { type: ["container"], label: [`${LABEL_SERVICE}=${service}`] };
  const stream = (await docker.getEvents({ ...(since !== undefined ? { since } : {}), filters, abortSignal: signal } as Parameters<Docker["getEvents"]>[0]));
  return parseEvents(stream, signal);
}

async function* parseEvents(stream: NodeJS.ReadableStream, signal: AbortSignal): AsyncGenerator<ContainerEvent> {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  const onAbort = (): void => lines.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const line of lines) {
      if (!line.trim()) continue;
      let ev: { Action?: string; status?: string; time?: number; Actor?: { Attributes?: Record<string, string> } };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        continue; // not an event: the next line resynchronises
      }
      const attrs = ev.Actor?.Attributes ?? {};
      const code = attrs.exitCode === undefined ? undefined : Number(attrs.exitCode);
      yield { action: ev.Action ?? ev.status ?? "", rid: attrs[LABEL_RID], exitCode: Number.isFinite(code) ? code : undefined, time: ev.time ?? Math.floor(Date.now() / 1000) };
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    lines.close();
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}
