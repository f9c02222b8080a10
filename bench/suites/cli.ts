// CLI start-up: commands that do not touch Docker, against `node -e 0` (the
// cost of starting node itself), run alternately so that load hits all alike.
// As root, also the hand-over client (src/cli/handover.ts) against the
// lightest node program making the same two requests, both to a stand-in
// agent that answers at once: what the client costs over node's own boot.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { makeTempRoot } from "../../test/support/docker-fixture.js";
import { type Cleanup, floorEnv, measureUnit, NODE, svcmgrArgv, svcmgrEnv, writeFile } from "../lib/env.js";
import { row, Samples, timeProcess, type ResultRow } from "../lib/measure.js";
import { SVC } from "./orchestration.js";

export async function benchCli(orchRoot: string | undefined, cleanup: Cleanup, runs: number, log: (s: string) => void): Promise<{ samples: Samples; rows: ResultRow[] }> {
  let root = orchRoot;
  if (!root) {
    root = cleanup.root(makeTempRoot("svbcli-"));
    const c = (n: number) => [`[container#${n}]`, "type = docker", "run_image = busybox:latest", "run_command = sleep 3600", "run_args = --init", ""];
    writeFile(path.join(root, "etc", `${SVC}.conf`), ["[DEFAULT]", "service_type = DEV", "", ...[1, 2, 3, 4, 5, 6, 7].flatMap(c)].join("\n"));
  }
  const env = svcmgrEnv(root);
  // the baseline without NODE_EXTRA_CA_CERTS, which svcmgr's launcher keeps from node's start-up
  const cmds: [string, string[], NodeJS.ProcessEnv][] = [
    ["node -e 0", [NODE, "-e", "0"], floorEnv(env)],
    ["svcmgr --version", svcmgrArgv("--version"), env],
    ["svcmgr print config", svcmgrArgv("-s", SVC, "print", "config"), env],
  ];
  const s = new Samples();
  for (const [, argv, e] of cmds) await timeProcess(argv, { env: e }); // warm the page cache
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      for (let k = 0; k < cmds.length; k++) {
        const [key, argv, e] = cmds[(k + i) % cmds.length]!;
        u.add(key, (await timeProcess(argv, { env: e })).ms);
      }
    });
  }
  log(`cli: ${runs} runs done`);
  const twice = { text: "<= 2x node -e 0", check: (_m: number, r: number | undefined) => r !== undefined && r <= 2 };
  const rows = [
    row(s, "cli", "svcmgr --version", "svcmgr --version", { name: "node -e 0", key: "node -e 0" }, twice),
    row(s, "cli", "svcmgr -s X print config", "svcmgr print config", { name: "node -e 0", key: "node -e 0" }, twice),
  ];
  if (process.getuid?.() === 0) rows.push(...(await benchHandOverClient(cleanup, runs, s, log)));
  else log("cli: the hand-over client skipped: only root's start is handed to the agent");
  return { samples: s, rows };
}

/** the lightest node client of the hand-over: the same POST, then the same follow, printed; node's http client and nothing else */
const BARE_CLIENT = `"use strict";
const http = require("node:http");
const [socketPath, svc] = process.argv.slice(2);
const req = http.request({ socketPath, method: "POST", path: "/v1/services/" + svc + "/actions/start", agent: false, headers: { "content-type": "application/json" } }, (res) => {
  let body = "";
  res.on("data", (d) => (body += d));
  res.on("end", () => http.get({ socketPath, path: "/v1/actions/" + JSON.parse(body).id + "?follow=1", agent: false }, (r) => r.pipe(process.stdout)));
});
req.end("{}");
`;

/**
 * svcmgr's hand-over client and BARE_CLIENT, alternating, each against a
 * stand-in agent on the root's api.sock that answers the POST and the follow
 * at once: from the spawn to the POST's arrival, and to the exit.
 */
async function benchHandOverClient(cleanup: Cleanup, runs: number, s: Samples, log: (s: string) => void): Promise<ResultRow[]> {
  const root = cleanup.root(makeTempRoot("svbhand-"));
  writeFile(path.join(root, "etc", "svc1.conf"), "[DEFAULT]\n");
  const bare = path.join(root, "bare-client.cjs");
  writeFile(bare, BARE_CLIENT);
  const socket = path.join(root, "var", "_agent", "api.sock");
  fs.mkdirSync(path.dirname(socket), { recursive: true });
  let posted = NaN;
  const end = JSON.stringify({ type: "end", state: "succeeded", exitCode: 0 });
  const agent = http.createServer((req, res) => {
    if (req.method === "POST") {
      posted = performance.now();
      req.resume();
      req.on("end", () => res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ id: "bench-1" })));
      return;
    }
    const line = JSON.stringify({ type: "line", time: new Date().toISOString(), level: "info", msg: "started" });
    res.writeHead(200, { "content-type": "application/x-ndjson" }).end(`${line}\n${end}\n`);
  });
  await new Promise<void>((resolve) => agent.listen(socket, resolve));
  cleanup.add("the hand-over's stand-in agent", () => new Promise<void>((resolve) => agent.close(() => resolve())));
  const env = svcmgrEnv(root);
  const clients: [string, string[], NodeJS.ProcessEnv][] = [
    ["hand-over", svcmgrArgv("-s", "svc1", "start"), env],
    ["bare client", [NODE, bare, socket, "svc1"], floorEnv(env)],
  ];
  for (const [, argv, e] of clients) await timeProcess(argv, { env: e }); // warm the page cache
  for (let i = 0; i < runs; i++) {
    await measureUnit(s, log, async (u) => {
      for (const [key, argv, e] of i % 2 ? [...clients].reverse() : clients) {
        posted = NaN;
        const t0 = performance.now();
        const r = await timeProcess(argv, { env: e });
        if (!r.stdout.includes("started") || Number.isNaN(posted)) throw new Error(`${key}: no POST, or its follow not printed: ${r.stdout} ${r.stderr}`);
        u.add(`${key} exit`, r.ms);
        u.add(`${key} post`, posted - t0);
      }
    });
  }
  log(`cli: the hand-over client, ${runs} runs done`);
  return [
    row(s, "cli", "hand-over client, spawn to its POST", "hand-over post", { name: "bare node client", key: "bare client post" }, undefined, "information: what the client adds to node's boot"),
    row(s, "cli", "hand-over client, spawn to exit", "hand-over exit", { name: "bare node client", key: "bare client exit" }, undefined, "information: a stand-in agent that answers at once"),
  ];
}
