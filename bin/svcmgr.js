#!/usr/bin/env node
// Launcher for svcmgr, svcmon, allupservices and the per-service shortcuts:
// the name it is invoked by selects the program (see src/cli/argv.ts).
// It runs the bundle (scripts/bundle.ts: one file, loaded through a V8 code
// cache, fast to start) when it is at least as new as the tsc build, else the
// tsc build itself. CommonJS (bin/package.json): node starts a CommonJS entry
// without setting up its ES module loader, ~7 ms sooner.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const file = (rel) => path.join(__dirname, rel);
const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = file("../dist/bundle/svcmgr.cjs");

(async () => {
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
  process.exitCode = await main(process.argv);
  saveCache?.(process.env.SVCMGR_WRITE_CODE_CACHE === "1", actionRan?.());
})();
