#!/usr/bin/env node
// Launcher for svcmgr, svcmon, allupservices and the per-service shortcuts:
// the name it is invoked by selects the program (see src/cli/argv.ts).
// It runs the bundle (scripts/bundle.ts: one file, loaded through a V8 code
// cache, fast to start) when it is at least as new as the tsc build, else the
// tsc build itself.
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const file = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const mtime = (f) => fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = file("../dist/bundle/svcmgr.cjs");
let main;
let saveCache;
if (mtime(bundle) >= mtime(file("../dist/cli/main.js"))) {
  const loaded = createRequire(import.meta.url)("./load-bundle.cjs").loadBundle(bundle);
  ({ main } = loaded.exports);
  saveCache = loaded.saveCache;
} else {
  ({ main } = await import("../dist/cli/main.js"));
}

process.exitCode = await main(process.argv);
saveCache?.(process.env.SVCMGR_WRITE_CODE_CACHE === "1");
