// The node agent on real dockerds (SPEC §9): a dead container or dockerd is
// noticed from the engine's events and brought back in order through the
// executor; what operators stopped or froze stays as it is; the agent's own
// death stops nothing, and a new agent repairs what died while it was away.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { execa } from "execa";
import { CliRoot } from "./support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "./support/docker-fixture.js";
import { findExecutable } from "../src/util/which.js";
import { pidAlive, readPidFile, signal, waitPidGone } from "../src/util/proc.js";
import { containerSection, nextBridgeCidr, ok, setUpService, socketOf } from "./support/reliability.js";

const skip = !isRoot() ? "needs root (dockerd, bridges, mounts)" : ["dockerd", "docker", "busybox"].find((p) => !findExecutable(p)) ? "dockerd, docker or busybox missing" : false;
if (skip) console.log(`# skipping the agent tests: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface Inspect {
  running: boolean;
  startedAt: string;
}

async function inspect(r: CliRoot, svc: string, n: number): Promise<Inspect | undefined> {
  const res = await execa("docker", ["-H", `unix://${socketOf(r, svc)}`, "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", `${svc}.container.${n}`], { reject: false });
  if (res.exitCode !== 0) return undefined;
  const [running, startedAt] = res.stdout.trim().split(" ");
  return { running: running === "true", startedAt: startedAt! };
}

async function kill(r: CliRoot, svc: string, n: number): Promise<number> {
  await execa("docker", ["-H", `unix://${socketOf(r, svc)}`, "kill", `${svc}.container.${n}`]);
  return performance.now();
}

/** The container stays down this long (the agent would have restarted it well before). */
async function staysDown(r: CliRoot, svc: string, n: number, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    assert.equal((await inspect(r, svc, n))?.running ?? false, false, `${svc} container#${n} was started again`);
    await sleep(100);
  }
}

const agentPid = (r: CliRoot): number | undefined => {
  try {
    const pid = (JSON.parse(r.read("var/_agent/agent.pid")) as { pid: number }).pid;
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
};

function config(r: CliRoot, svc: string, sections: string[], defaults: string[] = []): string {
  return ["[DEFAULT]", `docker_data_dir = ${r.root}/data/${svc}`, `docker_bridge_cidr = ${nextBridgeCidr()}`, ...defaults, "", ...sections].join("\n");
}

describe("the node agent", { skip }, () => {
  const r = new CliRoot("sva-", "agent-node");
  const bootId = r.file("boot_id");
  const env = { SVCMGR_BOOT_ID_FILE: bootId };
  const agent = (sub: string) => r.run(["daemon", sub], { env });

  before(async () => {
    fs.writeFileSync(bootId, "boot-1\n");
    const quick = ["restart = 3", "restart_delay = 100ms"];
    // monitor_interval far away: a restart within a second can only come from an event
    await setUpService(r, "web", config(r, "web", [...containerSection(1, { extra: quick }), ...containerSection(2, { extra: ["restart = 0"] })], ["monitor_interval = 1h", "autostart_node = nobody"]));
    await setUpService(r, "flappy", config(r, "flappy", containerSection(1, { command: "sleep 0.4", extra: ["restart = 2", "restart_delay = 100ms"] }), ["autostart_node = nobody"]));
    await setUpService(r, "booted", config(r, "booted", containerSection(1), ["autostart_node = agent-node"]));
    ok(r.run(["-s", "web", "start"]), "start web");
  });

  after(async () => {
    const pid = agentPid(r);
    if (pid) {
      signal(pid, "SIGKILL");
      await waitPidGone(pid, 5000);
    }
    if (process.env.SVCMGR_TEST_VERBOSE) for (const f of ["log/_agent.log", "log/web.log"]) if (fs.existsSync(r.file(f))) fs.copyFileSync(r.file(f), `/tmp/${f.replace("/", "-")}`);
    await cleanupEverything(r.root);
    assert.deepEqual(await leftovers(r.root), { processes: [], bridges: [], mounts: [] }, "nothing of the test is left");
    r.cleanup();
  });

  test("daemon start answers once the API does; a second agent refuses and names the first; status says running", () => {
    assert.equal(agent("status").code, 3, "not running yet: exit 3");
    ok(agent("start"), "daemon start");
    const pid = agentPid(r)!;
    assert.ok(pid, "agent.pid names a live agent");
    assert.match(ok(agent("start"), "start again"), new RegExp(`already running \\(pid ${pid}\\)`));
    const second = r.run(["daemon", "run"], { env });
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`an agent already runs for this root \\(pid ${pid}`));
    assert.match(ok(agent("status"), "status"), /agent running \(pid \d+, up \d+s, 3 services watched\)/);
  });

  test("boot ran once for this boot id: the autostart service is up", async () => {
    await until("booted up", async () => (await inspect(r, "booted", 1))?.running);
    assert.equal((await inspect(r, "web", 1))?.running, true);
    assert.equal(await inspect(r, "flappy", 1), undefined, "a service autostarted elsewhere is not booted");
  });

  test("a killed container is running again, noticed from its die event", async () => {
    const before = (await inspect(r, "web", 1))!.startedAt;
    const t0 = await kill(r, "web", 1);
    const back = await until("container#1 running again", async () => {
      const i = await inspect(r, "web", 1);
      return i?.running && i.startedAt !== before ? performance.now() : undefined;
    });
    const ms = Math.round(back - t0);
    console.log(`# restart latency from the kill: ${ms} ms (restart_delay = 100ms, monitor_interval = 1h)`);
    assert.ok(ms < 1500, `back in ${ms} ms`);
    assert.match(r.read("log/web.log"), /restart 1\/3: container died \(exit code 137\)/);
  });

  test("restart = 0: the container stays down and the service shows warn", async () => {
    await kill(r, "web", 2);
    await staysDown(r, "web", 2, 1500);
    const mon = ok(r.run(["-s", "web", "--format", "json"], { as: "svcmon" }), "svcmon");
    assert.match(mon, /"overall": "warn"/);
    ok(r.run(["-s", "web", "start", "--rid", "container#2"]), "start it again");
  });

  test("the restart limit is reached and shown, the service warn", async () => {
    ok(r.run(["-s", "flappy", "start"]), "start flappy");
    const tree = await until(
      "restart limit reached",
      () => {
        const t = r.run(["-s", "flappy", "print", "status"]).stdout;
        return /# restart limit reached \(2\/2\)/.test(t) ? t : undefined;
      },
      20_000,
      200,
    );
    assert.match(tree, /overall\s+warn/);
    assert.match(r.read("log/flappy.log"), /restart 2\/2: container died \(exit code 0\)/);
    // an operator's start gives the tries back
    ok(r.run(["-s", "flappy", "start"]), "start flappy again");
    await until("a new first try", () => (r.read("log/flappy.log").match(/restart 1\/2:/g)?.length ?? 0) >= 2 || undefined, 10_000, 100);
    ok(r.run(["-s", "flappy", "stop"]), "stop flappy");
  });

  test("a stopped, a stop --rid and a frozen service are not restarted", async () => {
    ok(r.run(["-s", "web", "stop", "--rid", "container#1"]), "stop --rid");
    await staysDown(r, "web", 1, 1500);
    ok(r.run(["-s", "web", "start"]), "start");
    ok(r.run(["-s", "web", "freeze"]), "freeze");
    await kill(r, "web", 1);
    await staysDown(r, "web", 1, 1500);
    ok(r.run(["-s", "web", "thaw"]), "thaw");
    await until("thawed: repaired", async () => (await inspect(r, "web", 1))?.running, 5000);
    ok(r.run(["-s", "booted", "stop"]), "stop booted");
    await staysDown(r, "booted", 1, 1000);
  });

  test("a SIGKILLed dockerd comes back with its containers within 10 s", async () => {
    const pid = readPidFile(r.file("var/web/docker.pid"))!;
    const t0 = performance.now();
    signal(pid, "SIGKILL");
    await until("both containers running on a new dockerd", async () => {
      const now = readPidFile(r.file("var/web/docker.pid"));
      if (!now || now === pid) return undefined;
      return (await inspect(r, "web", 1))?.running && (await inspect(r, "web", 2))?.running;
    });
    const ms = Math.round(performance.now() - t0);
    console.log(`# dockerd SIGKILL -> containers running again: ${ms} ms`);
    assert.ok(ms < 10_000, `back in ${ms} ms`);
    assert.match(r.read("log/web.log"), /restart \d\/3: docker daemon died/);
  });

  test("SIGKILL of the agent stops nothing; a new agent restarts nothing up and repairs what died meanwhile", async () => {
    const pid = agentPid(r)!;
    const dockerd = readPidFile(r.file("var/web/docker.pid"));
    const c2 = (await inspect(r, "web", 2))!.startedAt;
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
    assert.equal((await inspect(r, "web", 1))?.running, true, "containers keep running");
    await kill(r, "web", 1); // dies while no agent watches
    ok(agent("start"), "a new agent");
    await until("container#1 repaired by the new agent", async () => (await inspect(r, "web", 1))?.running);
    assert.equal((await inspect(r, "web", 2))?.startedAt, c2, "what was up was not restarted");
    assert.equal(readPidFile(r.file("var/web/docker.pid")), dockerd, "nor its dockerd");
    assert.equal(await inspect(r, "booted", 1).then((i) => i?.running ?? false), false, "the same boot id: no second boot");
  });

  test("a config that becomes invalid is reported and left alone until it is valid again", async () => {
    const file = r.file("etc/web.conf");
    const good = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, good + "\n[container#9]\nrun_imag = x\n");
    await sleep(500); // the agent reloads on inotify
    await kill(r, "web", 1);
    await staysDown(r, "web", 1, 1500);
    assert.match(r.read("log/_agent.log"), /invalid config, left alone until it is valid/);
    fs.writeFileSync(file, good);
    await until("valid again: repaired", async () => (await inspect(r, "web", 1))?.running, 5000);
  });

  test("daemon stop leaves every service running; a new boot id boots again", async () => {
    const dockerd = readPidFile(r.file("var/web/docker.pid"));
    ok(agent("stop"), "daemon stop");
    assert.equal(agentPid(r), undefined);
    assert.equal(agent("status").code, 3);
    assert.equal((await inspect(r, "web", 1))?.running, true);
    assert.equal((await inspect(r, "web", 2))?.running, true);
    assert.equal(readPidFile(r.file("var/web/docker.pid")), dockerd);
    fs.writeFileSync(bootId, "boot-2\n");
    ok(agent("start"), "daemon start after a reboot");
    await until("booted again", async () => (await inspect(r, "booted", 1))?.running);
    ok(agent("stop"), "daemon stop");
  });
});
