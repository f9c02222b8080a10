// The CLI as one file instead of ~300 modules: node's start-up of svcmgr is
// dominated by loading and compiling modules (commander, zod, pino, dockerode
// and their dependencies). bin/svcmgr.js runs dist/bundle/svcmgr.cjs through
// a V8 code cache (bin/load-bundle.cjs) when it is at least as new as the tsc
// build, else dist/cli/main.js. Run by scripts/setup.sh and `npm run build`
// after tsc.
//
// What only some commands need (drivers, dockerode, status evaluation) stays
// behind the source's dynamic imports, which esbuild turns into lazy module
// initialisation: it is compiled (or read from the cache) but not run at
// start-up. See bundle-options.ts for dockerode's unused heavy dependencies.
//
// The code cache is made here, by one representative run (print status of a
// service with a container, its daemon down) in a throw-away root, so that it
// holds the functions such a run compiles; the first run of each other action
// adds its own (bin/load-bundle.cjs), e.g. a start's engine calls.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundleOptions } from "./bundle-options.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(repo, "dist", "bundle");
const bundle = path.join(outdir, "svcmgr.cjs");

const result = await build({
  ...nodeBundleOptions("cjs"),
  entryPoints: [path.join(repo, "src", "cli", "main.ts")],
  outfile: bundle,
  sourcemap: true,
  write: false,
  absWorkingDir: repo,
});

// The root CLI's hand-over to a running agent (src/cli/handover.ts), which
// bin/svcmgr.js loads before the CLI for a start, stop or restart: its own
// small file (~20 modules of node's and svcmgr's, no dependency), so that a
// command the agent takes loads nothing else.
const handover = path.join(outdir, "handover.cjs");
const small = await build({
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  minifyWhitespace: true,
  minifySyntax: true,
  entryPoints: [path.join(repo, "src", "cli", "handover.ts")],
  outfile: handover,
  write: false,
  absWorkingDir: repo,
});

// Replace files atomically: svcmgr may be starting right now (tests run it while they rebuild).
fs.mkdirSync(outdir, { recursive: true });
for (const f of [...result.outputFiles, ...small.outputFiles]) {
  const tmp = `${f.path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, f.contents);
  fs.renameSync(tmp, f.path);
}
fs.rmSync(`${bundle}.cache`, { force: true });
fs.rmSync(`${bundle}.cache.kinds`, { force: true });

// Earlier layouts (ESM chunks) and stray temp files, once nothing can be using them.
for (const f of fs.readdirSync(outdir)) {
  const file = path.join(outdir, f);
  if (!file.startsWith(bundle) && file !== handover && Date.now() - fs.statSync(file).mtimeMs > 3_600_000) fs.rmSync(file, { force: true });
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-bundle-"));
try {
  fs.mkdirSync(path.join(root, "etc"));
  fs.writeFileSync(
    path.join(root, "etc", "cache.warmup.conf"),
    ["[DEFAULT]", `docker_data_dir = ${path.join(root, "docker")}`, "docker_bridge_cidr = 10.254.254.0/24", "", "[container#1]", "type = docker", "run_image = busybox", "run_command = sleep 1", "", "[app#1]", "start = true", ""].join("\n"),
  );
  const env = { ...process.env, SVCMGR_ROOT: root, SVCMGR_WRITE_CODE_CACHE: "1", NO_COLOR: "1" };
  const r = spawnSync(process.execPath, [path.join(repo, "bin", "svcmgr.js"), "-s", "cache.warmup", "print", "status"], { env, encoding: "utf8" });
  if (r.status !== 0 || !fs.existsSync(`${bundle}.cache`)) process.stderr.write(`bundle: no code cache made (svcmgr start-up will be slower):\n${r.stdout}${r.stderr}\n`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
