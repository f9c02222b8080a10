// Before and after: the same measurements on the builds of several commits,
// side by side, so that each change of a series has its own figure.
//
//   node --import tsx bench/ab.ts [--runs N] [--calm C] COMMIT... [.]
//
// Each COMMIT is exported (git archive) to a temp directory, given this
// checkout's node_modules and bundled (scripts/bundle.ts); "." is this
// working tree as it is. Every build then works on the same SVCMGR_ROOT: the
// 7-container orchestration service (the busybox image of the tests,
// imported into its private daemon), and 200 generated services for svcmon.
// In each round, the builds take turns (the order rotates), each measuring:
//   start       later start of the 7 containers, daemon up (stopped before, the daemon brought up untimed)
//   run         first start: the same with the containers removed before (untimed)
//   status      print status, the 7 containers up
//   stop        stop of the 7 containers and the daemon
//   svcmon200   svcmon over 200 services from the cache
//   version     svcmgr --version
// and, once per round, the curl floor's first and later start on the same
// daemon (one curl per create and start call, bench/curl-floor.ts), so each
// build's starts have their ratio to the bare calls measured alongside. The
// builds run as a user runs them: the launcher itself. Prints the medians.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequest } from "../src/drivers/container-docker/run-args.js";
import { cleanupEverything, importImage, makeTempRoot } from "../test/support/docker-fixture.js";
import { writeCurlFloor } from "./curl-floor.js";
import { Cleanup, NODE, REPO, setCalm, svcmgrEnv, waitForCalm, writeFile } from "./lib/env.js";
import { load1, median, mustRun, Samples, timeProcess } from "./lib/measure.js";

const SVC = "ab.opensvc.com";
const IMAGE = "svt/busybox:latest";
const N = 7;
const STAGES = [
  { parallel: false, members: [1] },
  { parallel: true, members: [2, 3, 4, 5] },
  { parallel: false, members: [6, 7] },
];

function args(argv: string[]): { runs: number; calm?: number; commits: string[] } {
  let runs = 7;
  let calm: number | undefined;
  const commits: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--runs") runs = Number(argv[++i]);
    else if (argv[i] === "--calm") calm = Number(argv[++i]);
    else commits.push(argv[i]!);
  }
  if (!commits.length) throw new Error("usage: bench/ab.ts [--runs N] [--calm C] COMMIT... [.]");
  return { runs, ...(calm !== undefined ? { calm } : {}), commits };
}

/** A build of this commit (or "." for the working tree): its launcher paths. */
function build(commit: string, tmp: string): { name: string; svcmgr: string; svcmon: string } {
  let dir = REPO;
  let name = "worktree";
  if (commit !== ".") {
    name = execFileSync("git", ["-C", REPO, "rev-parse", "--short", commit], { encoding: "utf8" }).trim();
    dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("sh", ["-c", `git -C "${REPO}" archive ${name} | tar -x -C "${dir}"`]);
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  }
  execFileSync(NODE, ["--import", "tsx", path.join(dir, "scripts", "bundle.ts")], { cwd: dir, stdio: "ignore" });
  return { name, svcmgr: path.join(dir, "bin", "svcmgr.js"), svcmon: path.join(dir, "bin", "svcmon.js") };
}

async function main(): Promise<void> {
  const opts = args(process.argv.slice(2));
  setCalm(opts.calm);
  const cleanup = new Cleanup();
  process.on("SIGINT", () => void cleanup.run(console.error).finally(() => process.exit(130)));
  const tmp = makeTempRoot("svab-builds-");
  cleanup.add("builds", () => fs.rmSync(tmp, { recursive: true, force: true }));
  try {
    const builds = opts.commits.map((c) => build(c, tmp));
    const root = cleanup.root(makeTempRoot("svab-"));
    const mon = cleanup.root(makeTempRoot("svabmon-"));
    const env = svcmgrEnv(root);
    const here = (...a: string[]): Promise<string> => mustRun([NODE, builds[builds.length - 1]!.svcmgr, ...a], { env });
    const container = (n: number): string[] => [`[container#${n}]`, "type = docker", `run_image = ${IMAGE}`, "run_command = sleep 3600", "run_args = --init", `subset = s${STAGES.findIndex((s) => s.members.includes(n))}`, ""];
    writeFile(
      path.join(root, "etc", `${SVC}.conf`),
      ["[DEFAULT]", `docker_data_dir = ${root}/data`, "docker_bridge_cidr = 10.215.0.0/24", "", ...Array.from({ length: N }, (_, i) => container(i + 1)).flat(), "[subset#container.docker:s1]", "parallel = true", ""].join("\n"),
    );
    for (let i = 0; i < 200; i++) writeFile(path.join(mon, "etc", `m${String(i).padStart(3, "0")}.ab.conf`), ["[DEFAULT]", "", "[app#1]", "start = true", "stop = true", ""].join("\n"));
    await here("-s", SVC, "docker", "version");
    const socket = path.join(root, "var", SVC, "docker.sock");
    await importImage(socket, IMAGE);
    const { body } = createRequest(["--init"], { name: "curl", image: IMAGE, command: ["sleep", "3600"], labels: [] }, { env: {} });
    const curlNames = Array.from({ length: N }, (_, i) => `curl.container.${i + 1}`);
    const curl = writeCurlFloor(
      path.join(root, "curl"),
      { socket, stages: STAGES.map((s) => ({ parallel: s.parallel, names: s.members.map((m) => curlNames[m - 1]!) })), create: Object.fromEntries(curlNames.map((n) => [n, { ...body, Image: IMAGE, Cmd: ["sleep", "3600"] }])) as never },
      "1.41",
    );
    /** the containers of these names removed (untimed), one curl each: the next start is a first one */
    const remove = async (names: string[]): Promise<void> => {
      for (const n of names) await mustRun(["curl", "-sSf", "--unix-socket", socket, "-o", "/dev/null", "-X", "DELETE", `http://docker/v1.41/containers/${n}?force=1`]);
    };
    const svcNames = Array.from({ length: N }, (_, i) => `${SVC}.container.${i + 1}`);
    await mustRun(["/bin/sh", curl.run]);
    await mustRun(["/bin/sh", curl.stop]);
    await here("-s", SVC, "start");
    await here("-s", SVC, "stop");
    const s = new Samples();
    const loads = [load1()];
    for (let r = 0; r < opts.runs; r++) {
      await waitForCalm(console.error);
      await here("-s", SVC, "docker", "info");
      s.add("curl start", (await timeProcess(["/bin/sh", curl.start])).ms);
      await mustRun(["/bin/sh", curl.stop]);
      await remove(curlNames);
      s.add("curl run", (await timeProcess(["/bin/sh", curl.run])).ms);
      await mustRun(["/bin/sh", curl.stop]);
      for (let k = 0; k < builds.length; k++) {
        const b = builds[(k + r) % builds.length]!;
        const t = async (what: string, argv: string[], e = env): Promise<void> => s.add(`${b.name} ${what}`, (await timeProcess(argv, { env: e })).ms);
        await waitForCalm(console.error);
        await here("-s", SVC, "docker", "info");
        await t("start", [b.svcmgr, "-s", SVC, "start"]);
        await t("status", [b.svcmgr, "-s", SVC, "print", "status"]);
        await t("stop", [b.svcmgr, "-s", SVC, "stop"]);
        await here("-s", SVC, "docker", "info");
        await remove(svcNames);
        await t("run", [b.svcmgr, "-s", SVC, "start"]);
        await mustRun([b.svcmgr, "-s", SVC, "stop"], { env });
        await mustRun([b.svcmon, "--refresh"], { env: svcmgrEnv(mon) });
        await t("svcmon200", [b.svcmon], svcmgrEnv(mon));
        await t("version", [b.svcmgr, "--version"]);
      }
      console.error(`round ${r + 1}/${opts.runs} done`);
      loads.push(load1());
    }
    const curlMs = median(s.get("curl start"));
    const curlRunMs = median(s.get("curl run"));
    console.log(`medians of ${opts.runs} rounds; load average (1 min) ${loads.map((l) => l.toFixed(2)).join(" -> ")}; curl floor: first start ${curlRunMs.toFixed(0)} ms, later start ${curlMs.toFixed(0)} ms`);
    console.log(["build", "run", "vs curl", "start", "vs curl", "status", "stop", "svcmon200", "version"].map((h) => h.padStart(10)).join(""));
    for (const b of builds) {
      const m = (what: string): number => median(s.get(`${b.name} ${what}`));
      const vs = (what: string, floor: number): string => `${(m(what) / floor).toFixed(3)}x`;
      console.log([b.name, m("run").toFixed(0), vs("run", curlRunMs), m("start").toFixed(0), vs("start", curlMs), ...["status", "stop", "svcmon200", "version"].map((w) => m(w).toFixed(0))].map((x) => x.padStart(10)).join(""));
    }
    await cleanupEverything(root);
  } finally {
    await cleanup.run(console.error);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
