#!/bin/sh
":" //; if [ -n "${NODE_EXTRA_CA_CERTS-}" ]; then SVCMGR_DEFERRED_CA="$NODE_EXTRA_CA_CERTS"; export SVCMGR_DEFERRED_CA; unset NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"
// Launcher for svcmgr, svcmon, allupservices and the per-service shortcuts:
// the name it is invoked by selects the program (see src/cli/argv.ts).
//
// Run as a command, the line above is /bin/sh's: node 20 parses the whole
// system CA store plus the file at start-up whenever NODE_EXTRA_CA_CERTS is
// set (~45 ms here, most of a status command), and svcmgr makes no TLS
// connection unless a cluster's etcd is reached over https. So the file's
// name is handed over in SVCMGR_DEFERRED_CA instead, put back below for every
// child, and a command that may need it runs itself again with it
// (src/cli/deferred-ca.ts). To node, that line is a string and a comment.
//
// It runs the bundle (scripts/bundle.ts: one file, loaded through a V8 code
// cache, fast to start) when it is at least as new as the tsc build, else the
// tsc build itself. CommonJS (bin/package.json): node starts a CommonJS entry
// without setting up its ES module loader, ~7 ms sooner.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const deferredCa = process.env.SVCMGR_DEFERRED_CA;
if (deferredCa !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  delete process.env.SVCMGR_DEFERRED_CA;
}

const file = (rel) => path.join(__dirname, rel);
const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = file("../dist/bundle/svcmgr.cjs");

// A start, stop or restart of root's goes to a running agent when it may
// (src/cli/handover.ts decides, and gives the command back otherwise): that
// small module is loaded first, the CLI only if it gives the command back.
const HANDED_OVER = new Set(["start", "stop", "restart"]);
const handover = file("../dist/bundle/handover.cjs");

async function handedOver() {
  if (process.getuid?.() !== 0 || !process.argv.slice(2).some((a) => HANDED_OVER.has(a))) return undefined;
  const { handOver } = mtime(handover) >= mtime(file("../dist/cli/handover.js")) ? require(handover) : await import(pathToFileURL(file("../dist/cli/handover.js")).href);
  return handOver(process.argv);
}

(async () => {
  const code = await handedOver();
  if (code !== undefined) {
    process.exitCode = code;
    return;
  }
  let main;
  let saveCache;
  let actionRan;
  if (mtime(bundle) >= mtime(file("../dist/cli/main.js"))) {
    const loaded = require("./load-bundle.cjs").loadBundle(bundle);
    ({ main, actionRan } = loaded.exports);
    saveCache = loaded.saveCache;
  } else {
    ({ main } = await import(pathToFileURL(file("../dist/cli/main.js")).href));
  }
  process.exitCode = await main(process.argv, { deferredCa });
  saveCache?.(process.env.SVCMGR_WRITE_CODE_CACHE === "1", actionRan?.());
})();
