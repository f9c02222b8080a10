// run_args mean what `docker run` means: for each command of the corpus, the
// host's docker CLI runs the exact line svcmgr logs (pasted into a shell) and
// svcmgr sends its own request, both to a recording fake engine answering as
// Engine API 1.41; the create requests must be the same, or svcmgr must
// refuse with its reason where the corpus says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BY_LONG, BY_SHORT, OPTIONS } from "../src/drivers/container-docker/run-args-options.js";
import fc from "fast-check";
import { startFakeEngine } from "./support/fake-engine.js";
import { runArgsText } from "./support/run-args-values.js";
import { cliHome, hostDockerCli, normalizeBody, readCorpus, runPasted, svcmgrCreate } from "./support/run-args-diff.js";

/** Where two JSON texts first differ: the path and both values, for a readable failure. */
function firstDifference(a: string, b: string): string {
  const walk = (x: unknown, y: unknown, p: string): string | undefined => {
    if (JSON.stringify(x) === JSON.stringify(y)) return undefined;
    if (x && y && typeof x === "object" && typeof y === "object" && Array.isArray(x) === Array.isArray(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
      for (const k of keys) {
        const d = walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${p}.${k}`);
        if (d) return d;
      }
      return `${p}: member order ${JSON.stringify(Object.keys(x))} vs ${JSON.stringify(Object.keys(y))}`;
    }
    return `${p}:\n    docker: ${JSON.stringify(x)}\n    svcmgr: ${JSON.stringify(y)}`;
  };
  return walk(JSON.parse(a), JSON.parse(b), "body") ?? "";
}

test("the corpus: at least 100 real commands, each naming where it comes from", () => {
  const entries = readCorpus();
  assert.ok(entries.length >= 100, `${entries.length} entries`);
  for (const e of entries) assert.notEqual(e.source, "", `line ${e.line} has no source comment`);
});

test("every option `docker run --help` lists is in svcmgr's table (supported or refused), and no other", (t) => {
  const cli = hostDockerCli();
  if (!cli) {
    t.skip("no docker CLI on PATH (scripts/setup.sh installs it)");
    return;
  }
  const help = execFileSync(cli, ["run", "--help"], { encoding: "utf8" });
  const listed = [...help.matchAll(/^\s+(?:-(\w), )?--([a-z0-9-]+)/gm)].map((m) => ({ short: m[1], long: m[2]! }));
  assert.ok(listed.length > 90, `${listed.length} options in docker run --help`);
  for (const o of listed) {
    assert.ok(BY_LONG.get(o.long)?.long === o.long, `--${o.long} is not in svcmgr's table`);
    if (o.short) assert.equal(BY_SHORT.get(o.short)?.long, o.long, `-${o.short}`);
  }
  for (const d of OPTIONS) assert.ok(listed.some((o) => o.long === d.long), `--${d.long} is not a docker run option`);
});

test("svcmgr's create request for run_args is the one the host's docker CLI sends (corpus)", async (t) => {
  const cli = hostDockerCli();
  if (!cli) {
    t.skip("no docker CLI on PATH (scripts/setup.sh installs it)");
    return;
  }
  // the CLI svcmgr's passthrough runs (`docker` on PATH); on this machine /usr/local/bin/docker (28.x), before Debian's /usr/bin/docker (20.10)
  t.diagnostic(`docker CLI: ${cli}: ${execFileSync(cli, ["--version"], { encoding: "utf8" }).trim()}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svdiff-"));
  const fake = await startFakeEngine();
  t.after(async () => {
    await fake.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const home = cliHome(root);
  for (const e of readCorpus()) {
    await t.test(`line ${e.line}: ${e.runArgs.length > 70 ? e.runArgs.slice(0, 67) + "..." : e.runArgs}`, async (st) => {
      // a command that has the docker CLI write a file (--cidfile /tmp/docker_test.cid, as in docker's docs): removed after, unless it was there before
      const written = /--cidfile[= ](\S+)/.exec(e.runArgs)?.[1];
      if (written && !fs.existsSync(written)) st.after(() => fs.rmSync(written, { force: true }));
      const env = { ...home.env, ...e.env };
      const ours = await svcmgrCreate(fake, e, env);
      const theirs = await runPasted(fake, ours.line, env, home.cwd);
      const where = `${e.source}\n  run_args: ${e.runArgs}\n  pasted: ${ours.line}`;
      if (e.expect === "equal") {
        assert.equal(ours.error, undefined, `svcmgr refuses it: ${ours.error}\n  ${where}`);
        assert.ok(theirs.create, `the docker CLI sent no create request (exit ${theirs.code}): ${theirs.stderr.trim()}\n  ${where}`);
        assert.deepEqual(ours.create!.query, theirs.create.query, where);
        const [d, s] = [normalizeBody(theirs.create.raw), normalizeBody(ours.create!.raw)];
        assert.ok(d === s, `bodies differ at ${firstDifference(d, s)}\n  ${where}`);
        assert.equal(theirs.code, 0, theirs.stderr);
      } else {
        assert.ok(ours.error, `svcmgr accepts it, the corpus says ${e.expect}\n  ${where}`);
        // a refusal says why; "unknown" only for what docker does not know either
        if (/unknown docker run option/.test(ours.error)) assert.match(theirs.stderr, /unknown flag|unknown shorthand flag/, `svcmgr calls an option unknown that docker knows: ${ours.error}`);
        if (e.expect === "refused") {
          assert.doesNotMatch(ours.error, /unknown/, ours.error);
          assert.match(ours.error, /is refused: |refused|svcmgr|API|Windows/, ours.error);
        } else {
          assert.equal(theirs.create, undefined, `the docker CLI accepts it (the corpus says invalid): ${where}`);
        }
      }
    });
  }
  assert.deepEqual(fake.unexpected, [], "requests the fake engine does not answer");
});

test("generated run_args (every option, valid values and near misses): svcmgr and the docker CLI agree", async (t) => {
  const cli = hostDockerCli();
  if (!cli) {
    t.skip("no docker CLI on PATH (scripts/setup.sh installs it)");
    return;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svdiff-"));
  const fake = await startFakeEngine();
  t.after(async () => {
    await fake.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const home = cliHome(root);
  // SVCMGR_FUZZ_SEED replays (or varies) the generated lines; fast-check prints the seed of a failure
  const seed = Number(process.env.SVCMGR_FUZZ_SEED ?? 15);
  await fc.assert(
    fc.asyncProperty(runArgsText, async (runArgs) => {
      const e = { line: 0, source: "generated", runArgs, image: "busybox", command: [], env: { A: "from the environment" }, expect: "equal" as const };
      const env = { ...home.env, ...e.env };
      const ours = await svcmgrCreate(fake, e, env);
      const theirs = await runPasted(fake, ours.line, env, home.cwd);
      const where = `run_args: ${runArgs}\n  docker: ${theirs.stderr.trim()}\n  svcmgr: ${ours.error ?? "ok"}`;
      if (ours.error === undefined) {
        assert.ok(theirs.create, `svcmgr accepts what docker refuses\n  ${where}`);
        const [d, s] = [normalizeBody(theirs.create.raw), normalizeBody(ours.create!.raw)];
        assert.ok(d === s, `bodies differ at ${firstDifference(d, s)}\n  ${where}`);
      } else if (!/is refused: |out of the range svcmgr sends exactly/.test(ours.error)) {
        assert.equal(theirs.create, undefined, `svcmgr refuses, without a reason of its own, what docker takes\n  ${where}`);
      }
    }),
    { numRuns: 150, seed, endOnFailure: true },
  );
});
