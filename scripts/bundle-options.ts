// esbuild options shared by the CLI bundle (scripts/bundle.ts) and the
// benchmarks' floor program (bench/floor.ts), so that both are packaged alike.
import { readFile } from "node:fs/promises";
import type { BuildOptions, Plugin } from "esbuild";

/**
 * Dependencies of dockerode that svcmgr never uses (ssh transport, BuildKit
 * sessions) but that dockerode and docker-modem require at load time: they
 * cost ~140 ms of the ~160 ms of loading dockerode. In the bundle each is
 * replaced by a stand-in that requires the real module (from node_modules, at
 * run time) on first use.
 */
const LAZY_MODULES = ["ssh2", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs"];
/**
 * Likewise pino's thread-stream (its worker-thread transports, which svcmgr
 * does not use): requiring it loads node's worker_threads, ~3 ms of every
 * start-up. Its export is the class itself.
 */
const LAZY_CLASSES = ["thread-stream"];

const lazyModules: Plugin = {
  name: "lazy-modules",
  setup(build) {
    const filter = new RegExp(`^(${[...LAZY_MODULES, ...LAZY_CLASSES].map((m) => m.replace(/[/@.-]/g, "\\$&")).join("|")})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: "lazy-module" }));
    build.onLoad({ filter: /.*/, namespace: "lazy-module" }, (args) => ({
      loader: "js",
      contents: [
        `const name = ${JSON.stringify(args.path)};`,
        "let real;",
        "const load = () => (real ??= require(name));",
        ...(LAZY_CLASSES.includes(args.path) ? ["module.exports = function (...args) { return new (load())(...args); };"] : []),
        // classes are constructed later (new ssh2.Client(), new grpc.Server()): a constructor that loads on first use
        "const lazyClass = (key) => function (...args) { return new (load()[key])(...args); };",
        ...(LAZY_CLASSES.includes(args.path) ? [] : ['module.exports = new Proxy({}, { get: (_, key) => (key === "Client" || key === "Server" ? lazyClass(key) : load()[key]) });']),
      ].join("\n"),
    }));
  },
};

/**
 * Node modules that a dependency requires at load time for a path svcmgr
 * never takes: docker-modem's `https` (TLS to a remote daemon; svcmgr's
 * daemons are on unix sockets), whose load brings node's tls in: ~7 ms of
 * every command that talks to a daemon. There, the module is a stand-in that
 * loads the real one on first use (docker-modem only reads properties of it).
 */
const LAZY_BUILTINS: { importer: RegExp; module: string }[] = [{ importer: /[\\/]docker-modem[\\/]lib[\\/]http\.js$/, module: "https" }];

const lazyBuiltins: Plugin = {
  name: "lazy-builtins",
  setup(build) {
    build.onResolve({ filter: new RegExp(`^(${LAZY_BUILTINS.map((l) => l.module).join("|")})$`) }, (args) =>
      LAZY_BUILTINS.some((l) => l.module === args.path && l.importer.test(args.importer)) ? { path: args.path, namespace: "lazy-builtin" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      loader: "js",
      contents: `let real;\nmodule.exports = new Proxy({}, { get: (_, key) => (real ??= require(${JSON.stringify(`node:${args.path}`)}))[key] });\n`,
    }));
  },
};

/**
 * zod's `z.locales` namespace holds the error messages of 60-odd languages:
 * half of zod's bytes, all parsed at start-up. svcmgr uses English only (set
 * by zod itself from locales/en.js), so the namespace is cut down to `en`.
 */
const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ loader: "js", contents: 'export { default as en } from "./en.js";\n' }));
  },
};

/**
 * docker-modem formats the options of every request for its debug output,
 * `util.inspect(options, { showHidden: true, depth: null })`, whether that
 * output is on or not: a few hundred µs a request, and ~5 ms for the first
 * one of a process. In the bundle it does so only when it is on (DEBUG=modem).
 * (DockerodeEngine also gives its agent a one-word inspect, for the tsc build.)
 */
const modemQuietDebug: Plugin = {
  name: "modem-quiet-debug",
  setup(build) {
    build.onLoad({ filter: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const patched = source.replace("debug('Sending: %s', util.inspect(options, {", "if (debug.enabled) debug('Sending: %s', util.inspect(options, {");
      return { loader: "js", contents: patched, ...(patched === source ? { warnings: [{ text: "docker-modem: the debug call to make lazy was not found (another version?)" }] } : {}) };
    });
  },
};

/**
 * ESM, or CommonJS for a file loaded through bin/load-bundle.cjs (a V8 code
 * cache: only classic scripts can have one on node 20), where `import.meta.url`
 * is the bundle's own URL, passed in by the loader.
 */
export function nodeBundleOptions(format: "esm" | "cjs" = "esm"): BuildOptions {
  return {
    bundle: true,
    format,
    platform: "node",
    target: "node20",
    plugins: [lazyModules, lazyBuiltins, zodEnglishOnly, modemQuietDebug],
    logLevel: "warning",
    // a third less to read, hash and keep at every start (1.7 -> 1.1 MB; ~8 ms of svcmon's ~110 ms); names are kept
    minifyWhitespace: true,
    minifySyntax: true,
    // every character outside ASCII escaped: bin/load-bundle.cjs reads the bundle as latin1
    charset: "ascii",
    ...(format === "cjs"
      ? { define: { "import.meta.url": "__bundleUrl" } }
      : // the CommonJS dependencies (commander, pino, dockerode) call require(): node's own modules, and the lazy ones above
        { banner: { js: 'import { createRequire as __svcmgrCreateRequire } from "node:module"; const require = __svcmgrCreateRequire(import.meta.url);' } }),
  };
}
