// Failover on etcd across 3 nodes (SPEC §12), on the cluster rig: network
// namespaces, one etcd member, one agent and private dockerd per node, a local
// registry. lease_ttl = 6s. A sampler asks every node's dockerd every 200 ms
// where the service's container runs: never two nodes at once.
//   placement on the first node; switch; the owner node killed: up elsewhere
//   within lease_ttl + 5 s; the owner partitioned (iptables): it stops itself
//   before another node starts, and once healed does not start again (20
//   trials, failover times printed); the owner's agent paused 3 x lease_ttl.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { isRoot } from "./support/docker-fixture.js";
import { findExecutable } from "../src/util/which.js";
import { startRig, type Rig, type Sample } from "./support/cluster-rig.js";
import path from "node:path";
import { LAUNCHER, type CliResult } from "./support/cli.js";
import { execIn } from "./support/cluster-net.js";

const TOOLS = ["etcd", "etcdctl", "nsenter", "iptables", "dockerd", "docker", "docker-registry", "busybox"];
const missing = TOOLS.filter((t) => !findExecutable(t));
const skip = !isRoot() ? "needs root (network namespaces, dockerd, iptables)" : missing.length ? `not installed: ${missing.join(", ")} (scripts/setup.sh installs them)` : false;
if (skip) console.log(`# skipping the cluster failover tests: ${skip}`);

const TTL_S = 6;
const SVC = "web";
const IMAGE = "svt/web:1";
const TRIALS = Number(process.env.SVCMGR_PARTITION_TRIALS ?? 20);

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** set by the suite: what the nodes said, for a failure message */
let diagnose: () => Promise<string> = () => Promise.resolve("");

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${await diagnose()}`);
    await sleep(everyMs);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The samples with two nodes or more, printed for the failure message. */
function overlapText(samples: Sample[]): string {
  return samples
    .filter((s) => s.nodes.length > 1)
    .slice(0, 5)
    .map((s) => `${new Date(s.t).toISOString()} ${s.nodes.join("+")}`)
    .join(", ");
}

describe("failover across 3 nodes on etcd, never running twice", { skip, timeout: 40 * 60_000 }, () => {
  let rig: Rig;
  /** where the service runs now */
  let owner = "n1";

  const running = (): Promise<string[]> => rig.runningOn(SVC);
  const runningOnlyOn = async (node: string): Promise<boolean> => {
    const r = await running();
    return r.length === 1 && r[0] === node;
  };
  /** every node's agent holds its name in etcd (a healed node has registered again) */
  const allNodesUp = async (): Promise<boolean> => {
    for (const n of rig.nodes) if (!(await rig.etcdGet("n1", `/svcmgr/${rig.name}/nodes/${n.name}`, { timeoutMs: 1500 })).value) return false;
    return true;
  };

  before(async () => {
    diagnose = async () => {
      const detail = await rig.runningOnDetail(SVC);
      const logs = rig.nodes.map((n) => `--- ${n.name} (agent pid ${rig.agentPid(n.name) ?? "none"})\n${rig.agentLog(n.name, 400).split("\n").filter((l) => !l.includes('"level":20')).slice(-30).join("\n")}`);
      return `running: ${detail.running.join(", ") || "none"}; unknown: ${detail.unknown.join(", ") || "none"}\n${logs.join("\n")}`;
    };
    rig = await startRig({ nodes: 3, images: [{ ref: IMAGE }], leaseTtl: `${TTL_S}s` });
    for (const n of rig.nodes) rig.writeNodeConf(n.name);
    for (const n of rig.nodes) await rig.startAgent(n.name);
    ok(
      await rig.svcmgr("n1", [
        "-s",
        SVC,
        "create",
        "--kw",
        "topology=failover",
        "--kw",
        "orchestrate=ha",
        "--kw",
        "nodes=n1 n2 n3",
        "--kw",
        "docker_daemon_private=true",
        "--kw",
        `docker_daemon_args=${rig.insecureRegistryArg}`,
        "--kw",
        `container#1.run_image=${rig.registry.image(IMAGE)}`,
        "--kw",
        "container#1.run_command=/bin/sleep 100000",
        "--kw",
        "container#1.stop_timeout=1s",
      ]),
      "create",
    );
    // every node has the config from etcd
    for (const n of rig.nodes) await until(`${n.name}'s mirror of ${SVC}.conf`, async () => (await rig.svcmgr(n.name, ["-s", SVC, "print", "config"])).code === 0, 5000);
  });

  after(async () => {
    await rig?.cleanup();
  });

  test("placement: started from n3, it runs on n1 (the first node), pulled from the registry there", async () => {
    const out = ok(await rig.svcmgr("n3", ["-s", SVC, "start", "--wait", "60"]), "start");
    assert.match(out, /web: up on n1 \(fencing token \d+\)/);
    assert.deepEqual(await running(), ["n1"]);
    // svcmon on another node: one row per node, the owner marked with its token
    const mon = await execIn(rig.node("n2").netns, [process.execPath, path.join(path.dirname(LAUNCHER), "svcmon.js"), "--color", "never"], { env: rig.svcEnv("n2") });
    assert.equal(mon.code, 0, mon.stderr);
    assert.match(mon.stdout, new RegExp(`cluster ${rig.name}: n1 up, n2 \\(this node\\) up, n3 up`));
    assert.match(mon.stdout, /\nweb\s+n1\s+\* \(\d+\)\s+up\s+up\s+False\n/);
    assert.match(mon.stdout, /\nweb\s+n2\s+down\s+down\s+False\n/);
  });

  test("switch --to n2 from n1: stopped on n1 before it starts on n2", async () => {
    const sampler = rig.sampler(SVC, 100);
    const out = ok(await rig.svcmgr("n1", ["-s", SVC, "switch", "--to", "n2", "--wait", "60"]), "switch");
    const { samples, overlaps } = await sampler.stop();
    assert.match(out, /web: up on n2/);
    assert.equal(overlaps, 0, `two nodes at once: ${overlapText(samples)}`);
    assert.deepEqual(await running(), ["n2"]);
    owner = "n2";
  });

  test(`the owner node killed (agent, dockerd, containers, etcd member, link): up elsewhere within lease_ttl + 5 s`, async () => {
    const sampler = rig.sampler(SVC, 200);
    const t0 = Date.now();
    await rig.killNode(owner);
    const where = await until("the service up on another node", async () => {
      const r = await running();
      return r.length === 1 && r[0] !== owner ? r[0] : undefined;
    }, 30_000, 100);
    const took = (Date.now() - t0) / 1000;
    const { samples, overlaps } = await sampler.stop();
    console.log(`# node ${owner} killed: up on ${where} after ${took.toFixed(1)} s (lease_ttl ${TTL_S} s)`);
    assert.equal(overlaps, 0, `two nodes at once: ${overlapText(samples)}`);
    assert.ok(took <= TTL_S + 5, `failover took ${took.toFixed(1)} s, over lease_ttl + 5 s`);
    const dead = owner;
    owner = where;
    // the dead node comes back: it does not take the service back, nor run it
    await rig.reviveNode(dead);
    await rig.startAgent(dead);
    await until("every node registered again", allNodesUp, 20_000, 250);
    await sleep(2000);
    assert.deepEqual(await running(), [owner]);
    // and it can run the service again: what the crash left (a dead dockerd's files) is no obstacle
    const back = await rig.svcmgr(owner, ["-s", SVC, "switch", "--to", dead, "--wait", "60"]);
    assert.equal(back.code, 0, `switch back to the revived ${dead}: ${back.stdout}${back.stderr}\n${rig.agentLog(dead, 60)}`);
    assert.deepEqual(await running(), [dead]);
    owner = dead;
  });

  test(`the owner partitioned, ${TRIALS} trials: it stops itself before another node starts; healed, it does not start again`, async () => {
    const times: number[] = [];
    const stoppedAfter: number[] = [];
    for (let trial = 1; trial <= TRIALS; trial++) {
      await until("every node registered", allNodesUp, 30_000, 250);
      assert.ok(await runningOnlyOn(owner), `trial ${trial}: runs on ${owner} only before the partition`);
      const sampler = rig.sampler(SVC, 200);
      const t0 = Date.now();
      await rig.partition(owner);
      let where: string;
      try {
        where = await until(`trial ${trial}: the service up on a node other than ${owner}`, async () => {
          const r = await running();
          return r.length === 1 && r[0] !== owner ? r[0] : undefined;
        }, 40_000, 100);
      } finally {
        times.push((Date.now() - t0) / 1000);
      }
      const stopped = sampler.samples.find((s) => s.t >= t0 && !s.nodes.includes(owner));
      if (stopped) stoppedAfter.push((stopped.t - t0) / 1000);
      await rig.heal(owner);
      await sleep(2500);
      const { samples, overlaps } = await sampler.stop();
      assert.equal(overlaps, 0, `trial ${trial}: two nodes at once: ${overlapText(samples)}`);
      assert.deepEqual(await running(), [where], `trial ${trial}: after the heal, the old owner ${owner} did not start again`);
      owner = where;
    }
    // each fence said how long before lease_ttl - 2 s after its last keepalive it was done: never after
    for (const n of rig.nodes) assert.doesNotMatch(rig.agentLog(n.name, 100_000), /ms AFTER the lease could pass/, `${n.name} stopped a service after lease_ttl - 2 s`);
    console.log(`# ${TRIALS} partition trials, 0 samples with two nodes running; failover time median ${median(times).toFixed(1)} s, max ${Math.max(...times).toFixed(1)} s; the partitioned owner stopped after median ${median(stoppedAfter).toFixed(1)} s, max ${Math.max(...stoppedAfter).toFixed(1)} s`);
  });

  test("the owner's agent paused 3 x lease_ttl: the watchdog stops its container, another node takes over, no overlap; resumed, it does not start it again", async () => {
    await until("every node registered", allNodesUp, 30_000, 250);
    const sampler = rig.sampler(SVC, 200);
    const paused = owner;
    const t0 = Date.now();
    rig.pauseAgent(paused);
    let where: string;
    try {
      where = await until("the service up on another node", async () => {
        const r = await running();
        return r.length === 1 && r[0] !== paused ? r[0] : undefined;
      }, 30_000, 100);
      const took = (Date.now() - t0) / 1000;
      console.log(`# agent of ${paused} paused: up on ${where} after ${took.toFixed(1)} s`);
      await sleep(Math.max(0, t0 + 3 * TTL_S * 1000 - Date.now())); // paused 3 x lease_ttl in all
    } finally {
      rig.resumeAgent(paused);
    }
    await sleep(4000);
    const { samples, overlaps } = await sampler.stop();
    assert.equal(overlaps, 0, `two nodes at once: ${overlapText(samples)}`);
    assert.deepEqual(await running(), [where], "the woken agent did not start it again");
    assert.match(rig.agentLog(paused, 200), /watchdog|lease deadline passed|fenced/);
    owner = where;
  });
});
