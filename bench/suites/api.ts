// The agent's event stream: how many events a second it sustains to 20 readers
// (each a `curl -N` on the API socket, as a tool would read it), without
// dropping any reader, against a floor: a bare node:http server writing the
// same event-stream text to 20 such readers. Both are paced alike: a batch of
// events is published once every reader is within a window of the last one,
// so what is measured is sustained delivery, not a burst into buffers.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Agent } from "../../src/agent/agent.js";
import { Logger } from "../../src/util/log.js";
import { resolvePaths } from "../../src/util/paths.js";
import { apiSocket } from "../../src/agent/files.js";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { type Cleanup, measureUnit } from "../lib/env.js";
import { row, Samples, type ResultRow } from "../lib/measure.js";

const READERS = 20;
const EVENTS = 20_000;
const BATCH = 200;
/** readers may lag this many events behind (the agent drops one 1000 behind) */
const WINDOW = 600;

interface Reader {
  child: ChildProcess;
  count: number;
}

function startReaders(socket: string, n: number): Promise<Reader[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const child = spawn("curl", ["-sN", "--unix-socket", socket, "http://agent/v1/events"], { stdio: ["ignore", "pipe", "ignore"] });
      const r: Reader = { child, count: 0 };
      let tail = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d: string) => {
        const text = tail + d;
        const parts = text.split("\nevent: ");
        r.count += parts.length - 1;
        tail = parts[parts.length - 1]!.slice(-16);
      });
      return new Promise<Reader>((resolve) => setTimeout(() => resolve(r), 50));
    }),
  );
}

/** Publish EVENTS in batches, each once every reader is within WINDOW of the head; resolves the ms until all had all. */
async function pump(readers: Reader[], publish: (i: number) => void): Promise<number> {
  // every reader's subscription open: warm-up events until each has seen one
  for (let tries = 0; readers.some((r) => r.count === 0); tries++) {
    if (tries > 500) throw new Error("the readers never connected");
    publish(-1);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50)); // the last warm-ups delivered
  const base = readers.map((r) => r.count);
  const behind = (i: number) => Math.max(...readers.map((r, k) => i - (r.count - base[k]!)));
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i += BATCH) {
    while (behind(i) > WINDOW) await new Promise((r) => setImmediate(r));
    for (let j = i; j < Math.min(EVENTS, i + BATCH); j++) publish(j);
    await new Promise((r) => setImmediate(r));
  }
  while (behind(EVENTS) > 0) await new Promise((r) => setTimeout(r, 1));
  return performance.now() - t0;
}

async function agentRun(root: string): Promise<number> {
  const paths = resolvePaths({ SVCMGR_ROOT: root });
  fs.mkdirSync(paths.etc, { recursive: true });
  const agent = new Agent({ paths, nodename: "bench", env: {}, log: new Logger([]), bootIdFile: path.join(root, "no-boot-id") });
  await agent.start();
  const readers = await startReaders(apiSocket(paths), READERS);
  try {
    const ms = await pump(readers, (i) => agent.hub.publish("status", "svc000.bench", { rid: "container#1", from: "down", to: "up", i }));
    if (agent.hub.droppedSubscribers) throw new Error(`${agent.hub.droppedSubscribers} readers were dropped: the pacing window is too wide`);
    return ms;
  } finally {
    readers.forEach((r) => r.child.kill());
    await agent.stop();
  }
}

async function floorRun(root: string): Promise<number> {
  const socket = path.join(root, "floor.sock");
  const clients = new Set<http.ServerResponse>();
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    clients.add(res);
    res.on("close", () => clients.delete(res));
  });
  await new Promise<void>((r) => server.listen(socket, r));
  const readers = await startReaders(socket, READERS);
  let id = 0;
  let pending = "";
  // the same batching the agent does: what was published in one turn goes out in one write per reader
  const flush = () => {
    for (const c of clients) c.write(pending);
    pending = "";
  };
  try {
    return await pump(readers, (i) => {
      if (!pending) setImmediate(flush);
      pending += `id: ${++id}\nevent: status\ndata: ${JSON.stringify({ service: "svc000.bench", rid: "container#1", from: "down", to: "up", i })}\n\n`;
    });
  } finally {
    readers.forEach((r) => r.child.kill());
    server.closeAllConnections();
    server.close();
  }
}

export async function benchApi(cleanup: Cleanup, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  const s = new Samples();
  const root = cleanup.root(makeTempRoot("svbapi-"));
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      u.add("events floor", await floorRun(root));
      u.add("events agent", await agentRun(root));
    });
  }
  log(`api: ${runs} runs done`);
  const perSecond = (key: string) => (EVENTS / s.median(key)) * 1000;
  const rows = [
    row(s, "api", `${EVENTS} events to ${READERS} readers, bare node:http SSE`, "events floor", undefined, undefined, `${Math.round(perSecond("events floor"))} events/s`),
    row(s, "api", `${EVENTS} events to ${READERS} readers, the agent`, "events agent", { name: "bare SSE", key: "events floor" }, undefined, `${Math.round(perSecond("events agent"))} events/s, no reader dropped`),
  ];
  return { samples: s, rows };
}
