// esbuild options shared by the CLI bundle (scripts/bundle.ts) and the
// benchmarks' floor program (bench/floor.ts), so that both are packaged alike.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BuildOptions, Plugin } from "esbuild";

/**
 * Modules that svcmgr's dependencies require at load time for a path svcmgr
 * never takes. In the bundle each is a stand-in that requires the real one
 * (from node_modules, or node's own) on first use:
 * - dockerode's and docker-modem's ssh transport and BuildKit sessions (ssh2,
 *   gRPC, protobufjs): ~140 ms of the ~160 ms of loading dockerode;
 * - pino's thread-stream (worker-thread transports): it loads worker_threads;
 * - docker-modem's `https` (TLS to a remote daemon; svcmgr's daemons are on
 *   unix sockets), which brings node's tls in: ~7 ms of every command that
 *   talks to a daemon. Only there: the agent's TLS listener needs it for real.
 * - node's `child_process` (with `net` and `stream` under it): ~2.3 ms of
 *   every command, commander's (for executable subcommands, which svcmgr
 *   has none of) and svcmgr's own (an app's commands, an editor, the agent's
 *   launch), most of which spawn nothing; and `fs/promises` (~0.7 ms),
 *   which the synchronous paths of a command never call;
 * - `assert` for sonic-boom (pino's file destination), which asserts only
 *   when a destination is closed, and `zlib` for dockerode (gzip of a build
 *   context, which svcmgr never sends): ~1.3 ms of every start together;
 * - dockerode's tar-fs and @balena/dockerignore (a build context or an
 *   archive put into a container) and docker-modem's HttpDuplex (a hijacked
 *   attach or exec stream), with tar-stream, streamx, bl and readable-stream
 *   under them: 30-odd modules a start runs at load and never calls. A
 *   relative import's stand-in requires a module of the bundle (run at first
 *   use, from the code cache like the rest); the others require their
 *   module from node_modules or node at run time.
 * `shape`: "namespace" when the importer reads properties of it (a class in
 * it, Client or Server, is constructed later), "class" when the export is
 * the class itself, "callable" when it is a function called as such,
 * "functions" for a node module whose functions are
 * imported by name (an ES module of wrappers, one per function the module
 * has here: a CommonJS stand-in would be copied, so loaded, by esbuild's
 * interop at once).
 */
type Shape = "namespace" | "class" | "callable" | "functions";
const DOCKERODE_UTIL = /[\\/]dockerode[\\/]lib[\\/]util\.js$/;
const LAZY: { module: string; shape: Shape; importer?: RegExp }[] = [
  ...["ssh2", "@grpc/grpc-js", "@grpc/proto-loader", "protobufjs"].map((module) => ({ module, shape: "namespace" as const })),
  { module: "thread-stream", shape: "class" },
  { module: "https", shape: "namespace", importer: /[\\/]docker-modem[\\/]lib[\\/]http\.js$/ },
  { module: "assert", shape: "callable", importer: /[\\/]sonic-boom[\\/]index\.js$/ },
  { module: "zlib", shape: "namespace", importer: DOCKERODE_UTIL },
  { module: "tar-fs", shape: "namespace", importer: DOCKERODE_UTIL },
  { module: "@balena/dockerignore", shape: "callable", importer: DOCKERODE_UTIL },
  { module: "./http_duplex", shape: "class", importer: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/ },
  ...["child_process", "node:child_process", "fs/promises", "node:fs/promises"].map((module) => ({ module, shape: "functions" as const })),
];

async function functionsStandIn(module: string): Promise<string> {
  const real = (await import(module)) as Record<string, unknown>;
  const names = Object.keys(real).filter((k) => k !== "default" && /^[a-z]\w*$/.test(k) && typeof real[k] === "function");
  return [
    "let real;",
    `const load = () => (real ??= require(${JSON.stringify(module)}));`,
    ...names.map((n) => `export function ${n}(...args) { return load().${n}(...args); }`),
    "export default new Proxy({}, { get: (_, key) => load()[key] });",
  ].join("\n");
}

/** what a CommonJS stand-in exports, by shape (`load()` gives the real module) */
const STAND_IN_EXPORTS: Record<Exclude<Shape, "functions">, string> = {
  class: "module.exports = function (...args) { return new (load())(...args); };",
  callable: "module.exports = function (...args) { return load()(...args); };",
  namespace: [
    "const lazyClass = (key) => function (...args) { return new (load()[key])(...args); };",
    // a property read loads the real module; so does listing them (esbuild's __toESM of a default import), which loses the laziness but not the module
    "module.exports = new Proxy({}, {",
    '  get: (_, key) => (key === "Client" || key === "Server" ? lazyClass(key) : load()[key]),',
    "  has: (_, key) => key in load(),",
    "  ownKeys: () => Reflect.ownKeys(load()),",
    "  getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(load(), key); return d && { ...d, configurable: true }; },",
    "});",
  ].join("\n"),
};

const standIn = (module: string, shape: Exclude<Shape, "functions">): string =>
  ["let real;", `const load = () => (real ??= require(${JSON.stringify(module)}));`, STAND_IN_EXPORTS[shape]].join("\n");

const lazyModules: Plugin = {
  name: "lazy-modules",
  setup(build) {
    const filter = new RegExp(`^(${LAZY.map((l) => l.module.replace(/[/@.-]/g, "\\$&")).join("|")})$`);
    const workDir = build.initialOptions.absWorkingDir ?? process.cwd();
    build.onResolve({ filter }, (args) => {
      // the stand-in's own require: of a relative import, the bundle's module (resolved from the importer's
      // directory); any other is left to node at run time (node's own module, or node_modules next to the bundle)
      if (args.namespace === "lazy-module") return args.path.startsWith(".") ? undefined : { path: args.path, external: true };
      const lazy = LAZY.find((l) => l.module === args.path && (!l.importer || l.importer.test(args.importer)));
      if (!lazy) return undefined;
      const relative = args.path.startsWith(".");
      // a relative import's stand-in is named after the module it stands for, from the build's directory
      const name = relative ? path.relative(workDir, path.join(args.resolveDir, args.path)) : args.path;
      return { path: name, namespace: "lazy-module", pluginData: { shape: lazy.shape, module: args.path, resolveDir: relative ? args.resolveDir : undefined } };
    });
    build.onLoad({ filter: /.*/, namespace: "lazy-module" }, async (args) => {
      const { shape, module, resolveDir } = args.pluginData as { shape: Shape; module: string; resolveDir: string | undefined };
      return { loader: "js", resolveDir, contents: shape === "functions" ? await functionsStandIn(module) : standIn(module, shape) };
    });
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
    // z.fromJSONSchema (JSON Schema to zod; svcmgr only goes the other way, for its OpenAPI document): its module copies
    // every schema and check constructor into an object at load, ~1 ms of every start
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]classic[\\/]from-json-schema\.js$/ }, () => ({
      loader: "js",
      contents: 'export function fromJSONSchema() { throw new Error("z.fromJSONSchema is left out of svcmgr\'s bundle (scripts/bundle-options.ts)"); }\n',
    }));
  },
};

/**
 * Lines of dependencies changed at bundle time, each for a cost svcmgr pays
 * for nothing (a warning when one is not found: another version):
 * - docker-modem formats the options of every request for its debug output,
 *   `util.inspect(options, { showHidden: true, depth: null })`, whether that
 *   output is on or not: a few hundred µs a request, and ~5 ms for the first
 *   one of a process. In the bundle it does so only when it is on
 *   (DEBUG=modem). (DockerodeEngine also gives its agent a one-word inspect,
 *   for the tsc build.)
 * - pino reads `isMainThread` from `worker_threads` at load (six node modules,
 *   ~0.7 ms), for a destination that is not synchronous; svcmgr's are
 *   (util/log-file.ts), so it is read when such a destination is made.
 */
const PATCHES: { file: RegExp; from: string; to: string }[] = [
  {
    file: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/,
    from: "debug('Sending: %s', util.inspect(options, {",
    to: "if (debug.enabled) debug('Sending: %s', util.inspect(options, {",
  },
  {
    file: /[\\/]pino[\\/]lib[\\/]tools\.js$/,
    from: "const { isMainThread } = require('worker_threads')",
    to: "const isMainThread = () => require('worker_threads').isMainThread",
  },
  { file: /[\\/]pino[\\/]lib[\\/]tools\.js$/, from: "if (!opts.sync && isMainThread) {", to: "if (!opts.sync && isMainThread()) {" },
];

const sourcePatches: Plugin = {
  name: "source-patches",
  setup(build) {
    const filter = new RegExp(PATCHES.map((p) => p.file.source).join("|"));
    build.onLoad({ filter }, async (args) => {
      let contents = await readFile(args.path, "utf8");
      const missing: string[] = [];
      for (const p of PATCHES.filter((q) => q.file.test(args.path))) {
        if (contents.includes(p.from)) contents = contents.replace(p.from, p.to);
        else missing.push(p.from);
      }
      return { loader: "js", contents, warnings: missing.map((m) => ({ text: `${path.basename(args.path)}: the line to change was not found (another version?): ${m}` })) };
    });
  },
};

/**
 * In a CommonJS bundle every `import fs from "node:fs"` of every module
 * becomes its own `__toESM(require("node:fs"), 1)`: a fresh object with a
 * getter per export (104 for fs), 45 times for fs and 33 for path here, ~2 ms
 * of svcmgr's start-up before it does anything. Each one is made once
 * instead (`__svcmgrNodeNs`, in the banner), the call padded to the same
 * length so that the source map stays right.
 */
const NODE_NS_HELPER = "\"use strict\"; var __svcmgrNodeNsCache = {}; function __svcmgrNodeNs(id) { return __svcmgrNodeNsCache[id] ??= __toESM(require(id), 1); }";
const NODE_NS_CALL = /__toESM\(require\("(node:[\w/]+)"\),\s?1\)/g;

export function shareNodeNamespaces(js: string): { js: string; count: number } {
  let count = 0;
  const out = js.replace(NODE_NS_CALL, (call: string, id: string) => {
    count++;
    return `__svcmgrNodeNs(${JSON.stringify(id)})`.padEnd(call.length, " ");
  });
  return { js: out, count };
}

const sharedNodeNamespaces: Plugin = {
  name: "shared-node-namespaces",
  setup(build) {
    const write = build.initialOptions.write ?? true;
    build.initialOptions.write = false;
    build.onEnd(async (result) => {
      for (const [i, f] of (result.outputFiles ?? []).entries()) {
        if (!/\.c?js$/.test(f.path)) continue;
        const { js } = shareNodeNamespaces(f.text);
        const contents = Buffer.from(js, "latin1");
        result.outputFiles![i] = { path: f.path, contents, hash: f.hash, get text() { return js; } };
      }
      if (write) {
        for (const f of result.outputFiles ?? []) {
          await mkdir(path.dirname(f.path), { recursive: true });
          await writeFile(f.path, f.contents);
        }
      }
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
    plugins: [lazyModules, zodEnglishOnly, sourcePatches, ...(format === "cjs" ? [sharedNodeNamespaces] : [])],
    logLevel: "warning",
    // a third less to read, hash and keep at every start (1.7 -> 1.1 MB; ~8 ms of svcmon's ~110 ms); names are kept
    minifyWhitespace: true,
    minifySyntax: true,
    // every character outside ASCII escaped: bin/load-bundle.cjs reads the bundle as latin1
    charset: "ascii",
    ...(format === "cjs"
      ? { define: { "import.meta.url": "__bundleUrl" }, banner: { js: NODE_NS_HELPER } }
      : // the CommonJS dependencies (commander, pino, dockerode) call require(): node's own modules, and the lazy ones above
        { banner: { js: 'import { createRequire as __svcmgrCreateRequire } from "node:module"; const require = __svcmgrCreateRequire(import.meta.url);' } }),
  };
}
