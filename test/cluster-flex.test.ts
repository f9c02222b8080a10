// A flex service of the cluster (SPEC §12: topology = flex, flex_target nodes
// at once) on one real etcd on loopback, with three svcmgr nodes that are
// roots of their own on this host (test/support/etcd-local.ts). What an
// operator sees: where it runs (the flag files of its app resource), the owner
// slot keys in etcd, exit codes and messages.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { type CliResult } from "./support/cli.js";
import { until } from "./support/web.js";
import { findExecutable } from "../src/util/which.js";
import { signal, waitPidGone } from "../src/util/proc.js";
import { ETCD, LocalCluster, agentPidOf, etcdSuite } from "./support/etcd-local.js";
import { acquireLock } from "../src/util/lock.js";
import { agentRequest } from "../src/cli/agent-client.js";
import type { ClusterView } from "../src/cluster/store.js";

const skip = process.getuid?.() !== 0 ? "needs root" : !fs.existsSync(ETCD) ? "etcd-server missing (/usr/bin/etcd)" : !findExecutable("etcdctl") ? "etcdctl missing" : false;
if (skip) console.log(`# skipping the flex cluster tests: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NO_TRACE = /^\s+at /m;
const LEASE_TTL_MS = 6000;

function ok(res: CliResult, what: string): string {
  if (res.code !== 0) throw new Error(`${what} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** The flag files seen every 50 ms until stopped: every distinct set of nodes seen, and the most at once. */
function sampler(c: LocalCluster, svc: string): { stop(): { most: number; seen: string[] } } {
  const seen = new Set<string>();
  let most = 0;
  const t = setInterval(() => {
    const up = c.upOn(svc);
    most = Math.max(most, up.length);
    seen.add(up.join(","));
  }, 50);
  t.unref(); // a failed assertion before stop() must not keep the test process alive
  return {
    stop: () => {
      clearInterval(t);
      return { most, seen: [...seen] };
    },
  };
}

describe("a flex service (topology = flex, flex_target = 2, orchestrate = ha, nodes = n1 n2 n3)", { skip }, () => {
  const suite = etcdSuite("flex");
  const flexCluster = (tag: string): Promise<LocalCluster> => suite.withService(tag, "web", ["topology=flex", "flex_target=2", "orchestrate=ha", "nodes=n1 n2 n3"], `${LEASE_TTL_MS / 1000}s`);

  /** the owner slot keys: slot -> node */
  async function slots(c: LocalCluster): Promise<Record<string, string>> {
    const keys = await c.keys("svc/web/owner/");
    return Object.fromEntries(keys.map((k) => [k.key.slice(k.key.lastIndexOf("/") + 1), (JSON.parse(k.value) as { node: string }).node]));
  }

  /** 2 flags, on the 2 nodes that hold the 2 slots, and it stays so */
  async function onTwo(c: LocalCluster, what: string, ms: number): Promise<string[]> {
    const up = await until(`${what}: up on 2 nodes`, () => c.upOn("web").length === 2 && c.upOn("web"), ms);
    const held = await slots(c);
    assert.deepEqual(Object.keys(held).sort(), ["0", "1"], `${what}: slots 0 and 1 held`);
    assert.deepEqual(Object.values(held).sort(), up, `${what}: the slots are held by the 2 nodes it runs on, one each`);
    return up;
  }

  test("start runs it on exactly 2 nodes, each with its own slot; the agent of one killed (its node down): on 2 again within lease_ttl + 5 s, never 3; stop stops all", async (t) => {
    const c = await flexCluster("kill");
    const watch = sampler(c, "web");
    const start = ok(await c.node("n3").runAsync(["-s", "web", "start"]), "start from n3");
    // the CLI is done when it runs on flex_target nodes, and says where
    const tokens = [...start.matchAll(/(n\d) \(fencing token (\d+)\)/g)].map((m) => [m[1], Number(m[2])]);
    assert.deepEqual(tokens.map(([n]) => n), ["n1", "n2"], `"up on n1 (fencing token N), n2 (fencing token M)" in:\n${start}`);
    const up = await onTwo(c, "start", 1000);
    assert.deepEqual((await c.owners("web")).map((o) => [o.node, o.token]).sort(), tokens, "the tokens printed are the slot keys' create_revisions");
    assert.deepEqual(up, ["n1", "n2"], "the first 2 of nodes");
    await sleep(3000); // n3's turn (rank 2: 2 s) has come and gone
    assert.deepEqual(c.upOn("web"), ["n1", "n2"], "still on exactly 2 nodes");
    assert.equal((await c.keys("svc/web/owner/")).length, 2, "2 owner keys, no third");

    // n1 dies: its agent SIGKILLed and its app with it (a node going down)
    const pid = agentPidOf(c.node("n1"))!;
    const t0 = performance.now();
    signal(pid, "SIGKILL");
    fs.rmSync(c.flag("web", "n1"));
    await waitPidGone(pid, 5000);
    await until("web up on n3", () => fs.existsSync(c.flag("web", "n3")), LEASE_TTL_MS + 10_000);
    const took = performance.now() - t0;
    t.diagnostic(`flex: the free slot taken by n3 ${(took / 1000).toFixed(1)} s after n1's agent was killed (lease_ttl ${LEASE_TTL_MS / 1000} s)`);
    assert.ok(took < LEASE_TTL_MS + 5000, `on 2 nodes again within lease_ttl + 5 s (${Math.round(took)} ms)`);
    assert.deepEqual(await onTwo(c, "after n1's death", 1000), ["n2", "n3"]);

    // n1 back: both slots are held, it takes none and starts nothing
    await c.startAgent("n1");
    await sleep(3000);
    assert.deepEqual(c.upOn("web"), ["n2", "n3"], "n1 back takes nothing");
    assert.deepEqual(Object.values(await slots(c)).sort(), ["n2", "n3"]);

    const stop = ok(await c.node("n1").runAsync(["-s", "web", "stop"]), "stop from n1");
    assert.match(stop, /^web: stopped on every node$/m);
    assert.deepEqual(c.upOn("web"), [], "no flag left");
    assert.deepEqual(await c.keys("svc/web/owner/"), [], "no owner key left");
    const { most, seen } = watch.stop();
    assert.ok(most <= 2, `never on 3 nodes at once (50 ms samples: ${seen.join(" | ")})`);
  });

  test("an agent killed with its app left running: the free slot is taken elsewhere; the agent back stops its leftover copy", async (t) => {
    const c = await flexCluster("leftover");
    ok(await c.node("n2").runAsync(["-s", "web", "start"]), "start");
    // which 2 nodes is the first test's matter: here, one of them and the third
    const [keeper, victim] = await onTwo(c, "start", 10_000);
    const spare = c.nodeNames.find((n) => n !== keeper && n !== victim)!;
    const pid = agentPidOf(c.node(victim!))!;
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
    await until(`web up on ${spare}`, () => fs.existsSync(c.flag("web", spare)), LEASE_TTL_MS + 10_000);
    assert.deepEqual(Object.values(await slots(c)).sort(), [keeper, spare].sort(), `${victim}'s slot went to ${spare}`);
    assert.ok(fs.existsSync(c.flag("web", victim!)), `${victim}'s leftover copy (no agent to stop it)`);
    const t0 = performance.now();
    await c.startAgent(victim!);
    await until(`${victim}'s leftover copy stopped`, () => !fs.existsSync(c.flag("web", victim!)), 10_000);
    t.diagnostic(`the leftover stopped ${Math.round(performance.now() - t0)} ms after ${victim}'s agent was started again`);
    assert.match(c.node(victim!).read("log/_agent.log"), /web: running here without owning it: stopping it now/);
    await sleep(3000);
    assert.deepEqual(c.upOn("web"), [keeper, spare].sort(), `back on 2 nodes, ${victim} took nothing back`);
    assert.deepEqual(Object.values(await slots(c)).sort(), [keeper, spare].sort());
  });

  test("each slot has its own fencing token: n1, slow to start, starts on its slot's token after n2 took the other slot with a higher one", async () => {
    const c = await flexCluster("slow");
    // n1's start waits for the service's lock (held here), while n2 takes slot 1 and starts
    const lock = await acquireLock(c.node("n1").file("var/web/action.lock"), { action: "test: hold n1 back", waitMs: 1000 });
    try {
      const start = c.node("n3").runAsync(["-s", "web", "start"]);
      await until("web up on n2", () => fs.existsSync(c.flag("web", "n2")), 10_000);
      const owners = await c.owners("web");
      const [t1, t2] = ["n1", "n2"].map((n) => owners.find((o) => o.node === n)?.token);
      assert.ok(t1 !== undefined && t2 !== undefined && t1 < t2, `n1 holds a slot with an older token than n2's: ${JSON.stringify(owners)}`);
      assert.deepEqual(c.upOn("web"), ["n2"], "n1 waits for its lock");
      // n1's agent has seen n2's key (its view, through its API), so its start is checked against n2's newer token
      const n1Sees = async () => (await agentRequest<ClusterView>(c.node("n1").file("var/_agent/api.sock"), "GET", "/v1/cluster"))?.body.services.find((v) => v.name === "web")?.owners.some((o) => o.node === "n2" && o.token === t2);
      await until("n1's agent sees n2's slot", n1Sees, 5000);
      lock.release();
      const out = ok(await start, "start from n3");
      assert.match(out, new RegExp(`^web: up on n1 \\(fencing token ${t1}\\), n2 \\(fencing token ${t2}\\)$`, "m"));
      assert.deepEqual(c.upOn("web"), ["n1", "n2"]);
      assert.doesNotMatch(c.node("n1").read("log/_agent.log"), /older than|start failed here/);
    } finally {
      lock.release(); // once only: a second call does nothing
    }
  });

  test("switch, takeover and giveback of a flex service are refused (exit 2), nothing moves", async () => {
    const c = await flexCluster("switch");
    ok(await c.node("n1").runAsync(["-s", "web", "start"]), "start");
    await onTwo(c, "start", 10_000);
    const before = await slots(c);
    for (const args of [["switch", "--to", "n3"], ["takeover"], ["giveback"]]) {
      const res = c.node("n3").run(["-s", "web", ...args]);
      assert.equal(res.code, 2, `${args.join(" ")}: exit 2\n${res.stdout}${res.stderr}`);
      assert.match(res.stderr, new RegExp(`^web: ${args[0]}: web is a flex service \\(it runs on 2 nodes at once\\)$`, "m"));
      assert.doesNotMatch(res.stderr, NO_TRACE);
    }
    assert.deepEqual(await c.keys("svc/web/target"), [], "no move asked of the cluster");
    await sleep(1500);
    assert.deepEqual(c.upOn("web"), ["n1", "n2"], "nothing moved");
    assert.deepEqual(await slots(c), before);
  });
});
