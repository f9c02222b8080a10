// The Node http floor: the curl floor's calls (create and start, or start
// alone, in the same order and parallelism, on the same API version) made by
// node's own http client, with no library, no bundle and no logic. What a
// Node client costs before any library: node's boot and its http client
// against curl's forks. Between this and the curl floor is node itself;
// between this and the bare dockerode floor (floor.ts --bare), dockerode.
//
//   node node-http-floor.cjs SPEC.json API_VERSION run|start
"use strict";
const fs = require("node:fs");
const http = require("node:http");

const [specFile, api, mode] = process.argv.slice(2);
if (!specFile || !api || (mode !== "run" && mode !== "start")) {
  process.stderr.write("usage: node node-http-floor.cjs SPEC.json API_VERSION run|start\n");
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));

/** One POST; resolves on a 2xx or 304 answer (already started), as curl -f does. */
function post(path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = data === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) };
    const req = http.request({ socketPath: spec.socket, method: "POST", path: `/v${api}${path}`, headers }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode < 400 ? resolve() : reject(new Error(`POST ${path}: HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(data);
  });
}

async function one(name) {
  if (mode === "run") await post(`/containers/create?name=${encodeURIComponent(name)}`, spec.create[name]);
  await post(`/containers/${encodeURIComponent(name)}/start`);
}

(async () => {
  for (const st of spec.stages) {
    if (st.parallel) await Promise.all(st.names.map(one));
    else for (const n of st.names) await one(n);
  }
})().catch((e) => {
  process.stderr.write(`node-http-floor: ${e.message}\n`);
  process.exitCode = 1;
});
