// DockerodeEngine checks every answer against its schema (without zod's JIT,
// see parse()): a stand-in daemon on a unix socket answers the listing and
// the image inspect well or badly, and a bad answer is an "unparsable"
// EngineError naming the call and the socket, never data.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { DockerodeEngine } from "./dockerode-engine.js";
import { isEngineError } from "./engine.js";

const GOOD = [{ Id: "c1", Names: ["/svc.container.1"], Image: "busybox", State: "running", Labels: { "com.svcmgr.service": "svc" } }];

test("an answer that does not match its schema is an unparsable EngineError; a good one is the parsed data", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svengine-"));
  const socket = path.join(dir, "docker.sock");
  let listing: unknown = GOOD;
  const server = http.createServer((req, res) => {
    if (req.url === "/_ping") {
      res.writeHead(200, { "Api-Version": "1.41", "Content-Type": "text/plain" }).end("OK");
    } else if (req.url?.startsWith("/v1.41/containers/json")) {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(listing));
    } else if (req.url === "/v1.41/images/busybox/json") {
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ Id: 7, RepoTags: ["busybox:latest"] }));
    } else {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `no ${req.url}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const engine = new DockerodeEngine(socket);
  t.after(() => {
    engine.close();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await engine.ping();
  assert.equal(engine.apiVersion, "1.41");
  const list = await engine.listContainers({ all: true });
  assert.deepEqual(list, GOOD);

  for (const bad of [[{ Id: "c1", Image: "busybox", Labels: {} }], [{ ...GOOD[0], State: 3 }], { Id: "c1" }]) {
    listing = bad;
    await assert.rejects(
      engine.listContainers({ all: true }),
      (e: unknown) => isEngineError(e, "unparsable") && (e as Error).message.startsWith(`GET /containers/json on ${socket}: unexpected answer`),
      JSON.stringify(bad),
    );
  }
  await assert.rejects(engine.inspectImage("busybox"), (e: unknown) => isEngineError(e, "unparsable") && /GET \/images\/busybox\/json .*unexpected answer/.test((e as Error).message));
});
