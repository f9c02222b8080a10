// Crashes: `svcmgr start` and `svcmgr stop` of the complex orchestration
// service (7 containers, a parallel subset) are killed with SIGKILL at random
// points spread over the action's duration; each time, the next action
// converges to its target at once (no waiting for the lock), with no duplicate
// container, no second daemon and no half-written file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { CliRoot, LAUNCHER } from "../support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "../support/docker-fixture.js";
import { findExecutable } from "../../src/util/which.js";
import { execa } from "execa";
import { complexConfig, containersOf, dockerdPids, filesIntact, ok, recordFigures, seededRandom, setUpService, shimsOf, simpleConfig, socketOf, tempLitter } from "../support/reliability.js";

const skip = !isRoot() ? "needs root (dockerd, bridges, mounts)" : ["dockerd", "docker", "busybox"].find((p) => !findExecutable(p)) ? "dockerd, docker or busybox missing" : false;

/** SVCMGR_CRASH_SEED replays a run; SVCMGR_CRASH_TRIALS makes it longer. */
const SEED = Number(process.env.SVCMGR_CRASH_SEED ?? 4242);
const TRIALS = Number(process.env.SVCMGR_CRASH_TRIALS ?? 24);
/**
 * What the next action aims at, four trials in a row: a killed start is followed by a
 * stop, then by a start; a killed stop by a start, then by a stop. The killed action
 * is always the one that changes the state (start when down, stop when up).
 */
const RECOVERY: readonly ("start" | "stop")[] = ["stop", "start", "start", "stop"];
const RIDS = [1, 2, 3, 4, 5, 6, 7].map((n) => `container#${n}`);

interface Trial {
  trial: number;
  killed: "start" | "stop";
  delayMs: number;
  /** the killed process had not finished yet when SIGKILL came */
  midAction: boolean;
  recovery: "start" | "stop";
  recoveryMs: number;
}

describe("SIGKILL at random points of start and stop", { skip }, () => {
  const r = new CliRoot("svt-");
  const svc = "busybox.opensvc.com";
  const rng = seededRandom(SEED);
  const trials: Trial[] = [];
  const durations = { start: 0, stop: 0 };
  /** every full run of an action measured: the calibration's, and the killed ones that ended before their kill */
  const calibrations: Record<"start" | "stop", number[]> = { start: [], stop: [] };
  const litter = new Set<string>();

  before(async () => {
    await setUpService(r, svc, complexConfig(r.file(`data/${svc}`)));
    // calibration: how long each action takes here, to spread the kills over it; the median of three rounds,
    // so that one slowed by a burst of load elsewhere does not stretch every delay (the trials refine it)
    const rounds: Record<"start" | "stop", number[]> = { start: [], stop: [] };
    for (let i = 0; i < 3; i++) {
      for (const action of ["start", "stop"] as const) {
        const t0 = Date.now();
        ok(r.run(["-s", svc, action]), `calibration ${action}`);
        rounds[action].push(Date.now() - t0);
      }
    }
    for (const action of ["start", "stop"] as const) durations[action] = [...rounds[action]].sort((a, b) => a - b)[1]!;
    calibrations.start.push(...rounds.start);
    calibrations.stop.push(...rounds.stop);
  });

  after(async () => {
    r.run(["-s", svc, "stop", "--waitlock", "0"]);
    await cleanupEverything(r.root);
    r.cleanup();
  });

  const killedPids: number[] = [];
  /** command output files of those processes left in the temp dir (svcmgr's are anonymous; the fallback names them svcmgr-run-PID-N) */
  const runOutputsOf = (pids: number[]): string[] => fs.readdirSync(os.tmpdir()).filter((f) => pids.some((p) => f.startsWith(`svcmgr-run-${p}-`)));

  /**
   * Run an action, SIGKILL it after delayMs; resolves once it is gone, telling whether it was still running.
   * One that ended before its kill ran in full: its duration, measured here, is the calibration from then on
   * (the machine is as loaded as it is now, not as it was at the calibration).
   */
  function killAfter(action: "start" | "stop", delayMs: number): Promise<boolean> {
    const t0 = Date.now();
    const child = spawn(process.execPath, [LAUNCHER, "-s", svc, action], { env: r.env, stdio: "ignore" });
    if (child.pid !== undefined) killedPids.push(child.pid);
    let exited = false;
    child.on("exit", (code) => {
      exited = true;
      if (code !== 0) return;
      calibrations[action].push(Date.now() - t0);
      durations[action] = Date.now() - t0;
    });
    return new Promise((resolve) => {
      setTimeout(() => {
        const running = !exited;
        child.kill("SIGKILL");
        if (exited) resolve(false);
        else child.on("exit", () => resolve(running));
      }, delayMs);
    });
  }

  async function converged(target: "start" | "stop", where: string): Promise<void> {
    const daemons = dockerdPids(r, svc);
    const intact = filesIntact(r, svc);
    assert.equal(intact, undefined, `${where}: ${intact}`);
    const status = JSON.parse(ok(r.run(["-s", svc, "print", "status", "--format", "json"]), "print status")) as { avail: string; resources: { rid: string; status: string }[] };
    // what a killed writer left (temp files of atomic writes) is swept by the next one
    for (const f of tempLitter(r, svc)) litter.add(f);
    assert.deepEqual([...litter], [], `${where}: no temp file left`);
    if (target === "start") {
      assert.equal(daemons.length, 1, `${where}: one dockerd, not ${daemons.join(", ")}`);
      const rows = await containersOf(r, svc);
      assert.ok(rows, `${where}: the daemon answers`);
      const names = rows.map((c) => c.name).sort();
      assert.deepEqual(names, RIDS.map((rid) => `${svc}.container.${rid.split("#")[1]}`).sort(), `${where}: one container per rid, no duplicate`);
      assert.deepEqual(rows.map((c) => c.rid).sort(), [...RIDS].sort(), `${where}: each labelled with its own rid`);
      assert.ok(rows.every((c) => c.state === "running"), `${where}: all running: ${JSON.stringify(rows)}`);
      assert.equal(status.avail, "up", `${where}: avail up`);
    } else {
      assert.deepEqual(daemons, [], `${where}: no dockerd left`);
      assert.deepEqual(shimsOf(r, svc), [], `${where}: no container left running`);
      assert.equal(status.avail, "down", `${where}: avail down`);
    }
  }

  test(`${TRIALS} trials: kill, then the next action converges at once`, { timeout: 600_000 }, async () => {
    let state: "start" | "stop" = "stop";
    const perAction = { start: 0, stop: 0 };
    const planned = { start: Math.ceil(TRIALS / 2), stop: Math.floor(TRIALS / 2) };
    for (let i = 0; i < TRIALS; i++) {
      const killed: "start" | "stop" = state === "stop" ? "start" : "stop";
      // stratified: the k-th kill of an action lands in the k-th slice of its duration
      const k = perAction[killed]++;
      const delayMs = Math.round(((k + rng()) / planned[killed]) * durations[killed]);
      const midAction = await killAfter(killed, delayMs);
      const recovery: "start" | "stop" = RECOVERY[i % RECOVERY.length]!;
      const t0 = Date.now();
      // --waitlock 0: the dead process's lock must not make the next action wait
      const res = r.run(["-s", svc, recovery, "--waitlock", "0"]);
      const recoveryMs = Date.now() - t0;
      const where: string = `trial ${i} (seed ${SEED}: ${killed} killed after ${delayMs} ms${midAction ? "" : ", already done"}, then ${recovery})`;
      assert.equal(res.code, 0, `${where}: ${res.stdout}${res.stderr}`);
      await converged(recovery, `${where}\n--- output of the ${recovery}:\n${res.stdout}${res.stderr}---\n`);
      trials.push({ trial: i, killed, delayMs, midAction, recovery, recoveryMs });
      state = recovery;
    }
    if (state === "start") ok(r.run(["-s", svc, "stop", "--waitlock", "0"]), "final stop");
    await converged("stop", "after the final stop");
    assert.deepEqual(await leftovers(r.root), { processes: [], bridges: [], mounts: [] }, "nothing of the service is left on the host");
    // one more round trip: the service works as before, and the next commands run sweep the killed ones' output files
    ok(r.run(["-s", svc, "start"]), "start after the trials");
    await converged("start", "start after the trials");
    ok(r.run(["-s", svc, "stop"]), "stop after the trials");
    await converged("stop", "stop after the trials");
    assert.deepEqual(runOutputsOf(killedPids), [], "the killed processes left no command output file in the temp dir");
    const mid = trials.filter((t) => t.midAction).length;
    recordFigures("crash", {
      seed: SEED,
      trials: trials.length,
      killedMidAction: mid,
      killedStarts: trials.filter((t) => t.killed === "start").length,
      killedStops: trials.filter((t) => t.killed === "stop").length,
      calibrationMs: calibrations,
      delaysMs: trials.map((t) => `${t.killed}@${t.delayMs}${t.midAction ? "" : "(done)"}→${t.recovery} ${t.recoveryMs}ms`),
      failedRecoveries: 0,
      tempFilesLeft: [...litter],
    });
    assert.ok(mid >= TRIALS * 0.75, `most kills land in the middle of an action (${mid}/${TRIALS})`);
  });

  test("a start right after a stop killed during its docker stop waits for the daemon to finish that stop, then starts the container again", { timeout: 120_000 }, async () => {
    // no --init: sleep, as pid 1, ignores TERM, so dockerd's stop takes the whole stop_timeout before its KILL
    const slow = "slowstop";
    await setUpService(r, slow, simpleConfig(r.file(`data/${slow}`), 1).replace("run_args = --init", "run_args =\nstop_timeout = 3"));
    try {
      ok(r.run(["-s", slow, "start"]), "start");
      const sock = `unix://${socketOf(r, slow)}`;
      const since = Math.floor(Date.now() / 1000) - 1;
      const stop = spawn(process.execPath, [LAUNCHER, "-s", slow, "stop"], { env: r.env, stdio: "ignore" });
      if (stop.pid !== undefined) killedPids.push(stop.pid);
      const gone = new Promise((res) => stop.on("exit", res));
      // the daemon got the stop once it sent the container its signal (a kill event)
      let killedAt = 0;
      for (const t0 = Date.now(); !killedAt && Date.now() - t0 < 20_000; ) {
        const ev = await execa("docker", ["-H", sock, "events", "--since", String(since), "--until", String(Date.now() / 1000), "--filter", "event=kill", "--format", "{{.ID}}"], { reject: false, env: { DOCKER_HOST: undefined } });
        if (ev.stdout.trim()) killedAt = Date.now();
        else await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(killedAt, "the stop reached docker stop");
      stop.kill("SIGKILL");
      await gone;
      const res = r.run(["-s", slow, "start", "--waitlock", "0"]);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      // past the killed stop's stop_timeout: the container is the one this start started, still running
      await new Promise((res) => setTimeout(res, Math.max(0, killedAt + 4000 - Date.now())));
      const rows = await containersOf(r, slow);
      assert.deepEqual(rows?.map((c) => c.state), ["running"], `running after the killed stop's timeout: ${res.stdout}`);
      const status = JSON.parse(ok(r.run(["-s", slow, "print", "status", "--format", "json"]), "print status")) as { avail: string };
      assert.equal(status.avail, "up");
      assert.match(res.stdout + res.stderr, /is being stopped \(by a killed stop/, "the start said it waited for the stop under way");
    } finally {
      r.run(["-s", slow, "stop", "--waitlock", "0"]);
    }
  });

  test("SIGKILL during set: the config is the old or the new one, never half of it", { timeout: 120_000 }, async () => {
    const kills = 16;
    let landed = 0;
    const file = r.file(`etc/${svc}.conf`);
    // a big value makes the write long enough to be hit
    const big = "x".repeat(120_000); // under the 128 KiB a single argument may have
    const t0 = Date.now();
    ok(r.run(["-s", svc, "set", "--kw", `DEFAULT.app=${big}`]), "calibration set");
    const setMs = Date.now() - t0;
    for (let i = 0; i < kills; i++) {
      const before = r.read(`etc/${svc}.conf`);
      const child = spawn(process.execPath, [LAUNCHER, "-s", svc, "set", "--kw", `DEFAULT.app=${i % 2 ? big : `v${i}`}`], { env: r.env, stdio: "ignore" });
      const exited = new Promise<void>((res) => child.on("exit", () => res()));
      await new Promise((res) => setTimeout(res, Math.round(((i + rng()) / kills) * setMs)));
      if (child.exitCode === null) landed++;
      child.kill("SIGKILL");
      await exited;
      const after = r.read(`etc/${svc}.conf`);
      assert.equal(filesIntact(r, svc), undefined, `kill ${i}`);
      assert.ok(after === before || after.includes(`app = ${i % 2 ? big : `v${i}`}`), `kill ${i}: the old config or the new one`);
      const res = r.run(["-s", svc, "set", "--kw", "DEFAULT.app=after", "--waitlock", "0"]);
      assert.equal(res.code, 0, `kill ${i}: the next set is not blocked: ${res.stderr}`);
      assert.deepEqual(tempLitter(r, svc), [], `kill ${i}: the next set sweeps what the killed one left`);
    }
    ok(r.run(["-s", svc, "unset", "--kw", "DEFAULT.app"]), "unset");
    assert.ok(!r.read(`etc/${svc}.conf`).includes("app ="), file);
    recordFigures("crash-set", { kills, killedMidAction: landed, calibrationMs: setMs, tempFilesLeft: tempLitter(r, svc).map((f) => f.slice(r.root.length + 1)) });
  });
});
