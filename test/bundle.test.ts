// The bundle's lazy stand-ins (scripts/bundle-options.ts): a module svcmgr's
// start-up should not pay for is loaded on first use, and is then the real
// module. Built here with the bundle's own options from a small entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { nodeBundleOptions, shareNodeNamespaces } from "../scripts/bundle-options.js";

// svcmgr's own modules import node's by name (ES modules); its dependencies require() theirs (CommonJS)
const ENTRY = `
import { spawnSync } from "node:child_process";
import { PassThrough } from "node:stream";
import dep from "./dep.cjs";
const loaded = (m) => process.moduleLoadList.includes("NativeModule " + m);
// a stand-in of a package requires it from node_modules at its first use: it is in require.cache from then on
const required = (pkg) => Object.keys(require.cache).some((f) => f.includes("/node_modules/" + pkg + "/"));
const out = { atLoad: { child_process: loaded("child_process"), worker_threads: loaded("worker_threads"), assert: loaded("assert"), zlib: loaded("zlib"), tarFs: required("tar-fs"), dockerignore: required("@balena/dockerignore") } };
out.spawned = spawnSync("sh", ["-c", "echo spawned"], { encoding: "utf8" }).stdout.trim();
out.afterSpawn = loaded("child_process");
const client = new dep.ssh2.Client();
out.sshClient = client.constructor.name === "Client" && typeof client.connect === "function";
out.threadStream = typeof dep.ThreadStream === "function";
// pino's synchronous destination needs no worker_threads, another one does
dep.pino.destination({ dest: "/dev/null", sync: true });
out.syncDestination = loaded("worker_threads");
dep.pino.destination({ dest: "/dev/null", sync: false });
out.asyncDestination = loaded("worker_threads");
// docker-modem's HttpDuplex (an attach with stdin): the request written to, the answer read from
const req = new PassThrough();
const res = new PassThrough();
new dep.Modem({ socketPath: "/nonexistent" }).buildPayload(null, true, { 200: true }, true, req, { statusCode: 200, on: res.on.bind(res), pause() {}, resume() {} }, null, (err, duplex) => {
  duplex.write("to the engine");
  duplex.once("data", (c) => {
    out.duplex = [duplex.constructor.name, req.read().toString(), c.toString()];
    closeAndPack();
  });
  res.write("from the engine");
});
// sonic-boom asserts when a destination closes; dockerode gzips a build context, its .dockerignore applied
const closeAndPack = () => {
  const sonic = new dep.SonicBoom({ dest: "/dev/null", sync: true });
  sonic.on("close", () => {
    out.closed = loaded("assert");
    dep.prepareBuildContext({ context: process.env.CONTEXT, src: ["kept", "ignored"] }, (gz) => {
      const chunks = [];
      gz.on("data", (c) => chunks.push(c));
      gz.on("end", () => {
        const tar = require("node:zlib").gunzipSync(Buffer.concat(chunks)).toString("latin1");
        out.gzip = loaded("zlib") && tar.includes("kept") && !tar.includes("ignored");
        out.packed = { tarFs: required("tar-fs"), dockerignore: required("@balena/dockerignore") };
        process.stdout.write(JSON.stringify(out));
      });
    });
  });
  sonic.end();
};
`;
const DEP = [
  "module.exports = {",
  '  ssh2: require("ssh2"),',
  '  ThreadStream: require("thread-stream"),',
  '  SonicBoom: require("sonic-boom"),',
  '  prepareBuildContext: require("dockerode/lib/util").prepareBuildContext,',
  '  Modem: require("docker-modem"),',
  '  pino: require("pino"),',
  "};",
  "",
].join("\n");

test("the bundle's stand-ins load child_process, ssh2, worker_threads, assert, zlib, tar-fs and HttpDuplex on first use, and are the real modules then", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svbundle-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "entry.mts"), ENTRY);
  fs.writeFileSync(path.join(dir, "dep.cjs"), DEP);
  const context = path.join(dir, "context");
  fs.mkdirSync(context);
  for (const f of ["kept", "ignored"]) fs.writeFileSync(path.join(context, f), f);
  fs.writeFileSync(path.join(context, ".dockerignore"), "ignored\n");
  const out = path.join(dir, "out.cjs");
  // resolved from this checkout's node_modules, as the real bundle's are
  const built = await build({ ...nodeBundleOptions("cjs"), entryPoints: [path.join(dir, "entry.mts")], outfile: out, nodePaths: [path.resolve("node_modules")], logLevel: "error" });
  assert.deepEqual(built.warnings, [], "a patched line of a dependency was not found");
  const res = JSON.parse(execFileSync(process.execPath, [out], { encoding: "utf8", env: { ...process.env, NODE_PATH: path.resolve("node_modules"), CONTEXT: context } })) as Record<string, unknown>;
  // HttpDuplex (with readable-stream) stays in the bundle, behind its stand-in: run at first use
  assert.ok(fs.readFileSync(out, "latin1").includes('"lazy-module:node_modules/docker-modem/lib/http_duplex"'), "docker-modem's HttpDuplex has no stand-in");
  assert.deepEqual(res, {
    atLoad: { child_process: false, worker_threads: false, assert: false, zlib: false, tarFs: false, dockerignore: false },
    spawned: "spawned",
    afterSpawn: true,
    sshClient: true,
    threadStream: true,
    syncDestination: false,
    asyncDestination: true,
    duplex: ["HttpDuplex", "to the engine", "from the engine"],
    closed: true,
    gzip: true,
    packed: { tarFs: true, dockerignore: true },
  });
});

test("svcmgr --version through the bundle loads none of child_process, fs/promises, https", () => {
  const bundle = path.resolve("dist/bundle/svcmgr.cjs");
  const script = `
    const { loadBundle } = require(${JSON.stringify(path.resolve("bin/load-bundle.cjs"))});
    const { exports } = loadBundle(${JSON.stringify(bundle)});
    process.stdout.write = () => true;
    exports.main(["node", "svcmgr", "--version"]).then((code) => {
      const loaded = ["child_process", "fs/promises", "https", "tls", "worker_threads"].filter((m) => process.moduleLoadList.includes("NativeModule " + m));
      process.stderr.write(JSON.stringify({ code, loaded }));
    });`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stderr), { code: 0, loaded: [] });
});

test("node's modules get one ES namespace each in the CommonJS bundle, the calls padded so that the source map holds", () => {
  const js = 'a=__toESM(require("node:fs"),1),b=__toESM(require("node:fs/promises"),1),c=__toESM(require_x(),1);';
  const shared = shareNodeNamespaces(js);
  assert.equal(shared.count, 2);
  assert.equal(shared.js.length, js.length);
  assert.match(shared.js, /^a=__svcmgrNodeNs\("node:fs"\) +,b=__svcmgrNodeNs\("node:fs\/promises"\) +,c=__toESM\(require_x\(\),1\);$/);
  const bundle = fs.readFileSync(path.resolve("dist/bundle/svcmgr.cjs"), "latin1");
  assert.equal(bundle.match(/__toESM\(require\("node:/g), null, "a node module still wrapped at each import");
  // the helper's banner keeps the bundle strict
  assert.ok(bundle.startsWith('"use strict";'));
});
