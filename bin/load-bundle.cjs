// Loads a CommonJS bundle (scripts/bundle.ts) through a V8 code cache kept
// next to it (<bundle>.cache): compiling svcmgr's ~1.2 MB of JavaScript is
// the largest part of its start-up, and node 20 has no compile cache of its
// own (module.enableCompileCache is node 22). A missing or rejected cache
// (another node version) only costs the compilation; saveCache() then writes
// a new one, best effort (a read-only install simply goes without).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

exports.loadBundle = function loadBundle(file) {
  const cacheFile = `${file}.cache`;
  // ASCII (esbuild's charset "ascii", bundle-options.ts): read as latin1, a plain copy, ~3 ms sooner than decoding UTF-8
  const source = fs.readFileSync(file, "latin1");
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // none yet
  }
  // the wrapper stays on the first line: line numbers in stack traces are the bundle's
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __bundleUrl) {${source}\n})`, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file), pathToFileURL(file).href);
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  return {
    exports: mod.exports,
    /**
     * Write the cache (of what this process compiled so far) when there was
     * none or it was rejected, when forced, or when it was not yet made after
     * a run of this kind (an action name): the first start after a build
     * adds what a start compiles (the engine calls, the executor) to the
     * cache the build's warm-up (print status) made, once. The kinds it was
     * made after are listed in <cache>.kinds.
     */
    saveCache(force = false, kind = undefined) {
      const kindsFile = `${cacheFile}.kinds`;
      let kinds = [];
      if (!stale) {
        try {
          kinds = fs.readFileSync(kindsFile, "utf8").split("\n").filter(Boolean);
        } catch {
          // none yet
        }
      }
      if (!stale && !force && (kind === undefined || kinds.includes(kind))) return;
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
        if (kind !== undefined && !kinds.includes(kind)) kinds.push(kind);
        fs.writeFileSync(tmp, kinds.map((k) => `${k}\n`).join(""));
        fs.renameSync(tmp, kindsFile);
      } catch {
        // read-only install
      }
    },
  };
};
