// The cluster rig (test/support/cluster-rig.ts) does what the cluster tests of
// SPEC §12 rely on: three etcd members in three network namespaces forming one
// cluster, a registry every node reaches, svcmgr's private dockerd in a node
// pulling from it, partitions that cut a node off but keep its loopback, a
// node kill that leaves nothing of the node running, and a clean-up that
// leaves nothing of the rig on the machine.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isRoot } from "./support/docker-fixture.js";
import { findExecutable } from "../src/util/which.js";
import { pidAlive, procStat, readPidFile } from "../src/util/proc.js";
import { startRig, type Rig } from "./support/cluster-rig.js";
import { execIn, pidsInNetns } from "./support/cluster-net.js";
import type { CliResult } from "./support/cli.js";

const TOOLS = ["etcd", "etcdctl", "nsenter", "iptables", "curl", "dockerd", "docker", "docker-registry", "busybox"];
const skip = !isRoot() ? "needs root (network namespaces, dockerd, iptables)" : TOOLS.filter((t) => !findExecutable(t)).join(", ") ? `not installed: ${TOOLS.filter((t) => !findExecutable(t)).join(", ")} (scripts/setup.sh installs them)` : false;
if (skip) console.log(`# skipping the cluster rig tests: ${skip}`);

const IMAGE = "svt/busybox:latest";

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** curl from inside a node's namespace; the body, or undefined when nothing answers within the time. */
async function curlFrom(rig: Rig, node: string, url: string, secs = 2): Promise<string | undefined> {
  const r = await execIn(rig.node(node).netns, ["curl", "-fsS", "-m", String(secs), url]);
  return r.code === 0 ? r.stdout : undefined;
}

describe("the cluster rig", { skip }, () => {
  let rig: Rig;
  let cleaned = false;

  before(async () => {
    const t0 = performance.now();
    rig = await startRig({ images: [{ ref: IMAGE }] });
    console.log(`# startRig: ${Math.round(performance.now() - t0)} ms (${rig.name}, hub ${rig.hubAddr})`);
  });

  after(async () => {
    if (rig && !cleaned) await rig.cleanup();
  });

  test("three members form one cluster with a leader; every node reaches every member and the hub registry, which holds the image", async () => {
    const leader = await rig.leader();
    assert.ok(leader && rig.nodes.some((n) => n.name === leader), `one leader all members agree on (got ${leader})`);
    const members = JSON.parse(ok(await rig.etcdctl("n1", ["member", "list", "-w", "json"]), "member list")) as { members: { name: string; clientURLs: string[] }[] };
    assert.deepEqual(members.members.map((m) => m.name).sort(), ["n1", "n2", "n3"]);
    for (const n of rig.nodes) {
      for (const m of rig.nodes) {
        assert.match((await curlFrom(rig, n.name, `${m.etcdUrl}/health`)) ?? "no answer", /"health":"true"/, `${n.name} reaches the member of ${m.name}`);
      }
      const catalog = JSON.parse((await curlFrom(rig, n.name, `http://${rig.registry.address}/v2/_catalog`)) ?? "{}") as { repositories?: string[] };
      assert.deepEqual(catalog.repositories, ["svt/busybox"], `${n.name} reaches the registry and it lists the image`);
    }
    // a write on one member is read linearizably on another
    assert.ok((await rig.etcdPut("n1", "/rig/hello", "world")).ok);
    assert.equal((await rig.etcdGet("n3", "/rig/hello")).value, "world");
    // what the nodes' svcmgr are given
    assert.equal(rig.etcdEndpoints("n2"), `http://127.0.0.1:2379 ${rig.nodes.map((n) => n.etcdUrl).join(" ")}`);
    assert.equal(rig.insecureRegistryArg, `--insecure-registry ${rig.hubAddr}:5000`);
    const conf = fs.readFileSync(rig.writeNodeConf("n1", ["# extra"]), "utf8");
    assert.equal(conf, `[cluster]\nname = ${rig.name}\nnodes = n1 n2 n3\netcd_endpoints = ${rig.etcdEndpoints("n1")}\nlease_ttl = 6s\n# extra\n`);
    fs.rmSync(path.join(rig.node("n1").root, "etc", "node.conf"));
  });

  test("svcmgr on n2 starts a one-container service: its private dockerd runs in n2's namespace and pulls the image from the hub", async () => {
    const kws = ["DEFAULT.docker_daemon_private=true", `DEFAULT.docker_daemon_args=${rig.insecureRegistryArg}`, "container#1.type=docker", `container#1.run_image=${rig.registry.image(IMAGE)}`, "container#1.run_command=sleep 3600"];
    ok(await rig.svcmgr("n2", ["create", "-s", "web", ...kws.flatMap((k) => ["--kw", k])]), "create");
    assert.deepEqual(await rig.runningOn("web"), [], "nothing runs before the start");
    ok(await rig.svcmgr("n2", ["-s", "web", "docker", "pull", rig.registry.image(IMAGE)]), "pull");
    ok(await rig.svcmgr("n2", ["-s", "web", "start"]), "start");
    assert.deepEqual(await rig.runningOn("web"), ["n2"]);
    const dockerd = readPidFile(path.join(rig.node("n2").root, "var", "web", "docker.pid"));
    assert.ok(dockerd && pidsInNetns(rig.node("n2").netns).includes(dockerd), "the private dockerd lives in n2's namespace");
    const images = ok(await rig.svcmgr("n2", ["-s", "web", "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]), "docker images");
    assert.ok(images.split("\n").includes(rig.registry.image(IMAGE)), `pulled from the hub registry: ${images}`);
  });

  test("the agent runs in the node's namespace; pause, resume and stop act on it", async () => {
    const pid = await rig.startAgent("n2");
    assert.ok(pidsInNetns(rig.node("n2").netns).includes(pid), "the agent is in n2's namespace");
    rig.pauseAgent("n2");
    await until("the agent stopped (T)", () => Promise.resolve(procStat(pid)?.state === "T"), 2000, 20);
    rig.resumeAgent("n2");
    await until("the agent running again", () => Promise.resolve(procStat(pid)?.state !== "T"), 2000, 20);
    await rig.stopAgent("n2");
    assert.equal(pidAlive(pid), false, "stopAgent waits for the agent to exit");
    assert.deepEqual(await rig.runningOn("web"), ["n2"], "stopping the agent stops no service");
    await rig.startAgent("n2");
  });

  test("partition(n1): n1 reaches no other member and its member has no quorum; n2 and n3 keep a leader; heal: n1 catches up, no election (pre-vote)", async () => {
    await rig.partition("n1");
    try {
      assert.equal(await curlFrom(rig, "n1", `${rig.node("n2").etcdUrl}/health`, 1), undefined, "n1 cannot reach n2's member");
      assert.equal(await curlFrom(rig, "n3", `${rig.node("n1").etcdUrl}/health`, 1), undefined, "n3 cannot reach n1's member");
      assert.equal(await curlFrom(rig, "n1", `http://${rig.registry.address}/v2/`, 1), undefined, "nor the registry");
      const leader = await until("a leader of n2 and n3", () => rig.leader(["n2", "n3"]));
      assert.notEqual(leader, "n1");
      const term = (await rig.etcdStatus("n2"))!.raftTerm;
      assert.ok((await rig.etcdPut("n2", "/rig/during", "partition")).ok, "the majority takes writes");
      const read = await rig.etcdGet("n1", "/rig/hello", { timeoutMs: 3000 });
      assert.equal(read.ok, false, `a linearizable read on n1's member fails: ${JSON.stringify(read)}`);
      assert.equal((await rig.etcdGet("n1", "/rig/hello", { serializable: true })).value, "world", "its loopback works: a serializable read answers");
      await sleep(2500); // several election timeouts cut off: without pre-vote n1's term would grow now
      await rig.heal("n1");
      // the majority's leader and term hold through the heal
      const healed = await until("n1 reads linearizably again", async () => ((await rig.etcdGet("n1", "/rig/during", { timeoutMs: 1000 })).value === "partition" ? performance.now() : undefined), 10_000, 50);
      assert.ok(healed);
      assert.equal(await rig.leader(), leader, "the same leader for all three");
      assert.equal((await rig.etcdStatus("n2"))!.raftTerm, term, "no election when n1 came back");
    } finally {
      await rig.heal("n1");
    }
  });

  test("stopEtcd/startEtcd: a member stopped and restarted on its data dir rejoins", async () => {
    await rig.stopEtcd("n3");
    assert.equal(await curlFrom(rig, "n1", `${rig.node("n3").etcdUrl}/health`, 1), undefined, "n3's member is down");
    assert.ok(await until("a leader of n1 and n2", () => rig.leader(["n1", "n2"])));
    assert.ok((await rig.etcdPut("n1", "/rig/while-n3-down", "yes")).ok);
    rig.startEtcd("n3");
    await until("n3 reads what was written while it was down", async () => (await rig.etcdGet("n3", "/rig/while-n3-down", { timeoutMs: 1000 })).value === "yes");
  });

  test("killNode(n2): nothing of n2 runs afterwards (agent, dockerd, container, etcd member); the others keep a leader", async () => {
    const n2 = rig.node("n2");
    const agent = rig.agentPid("n2")!;
    const inspect = ok(await rig.svcmgr("n2", ["-s", "web", "docker", "inspect", "-f", "{{.State.Pid}}", "web.container.1"]), "inspect");
    const container = Number(inspect.trim());
    assert.ok(container > 0 && pidAlive(container), "the container runs");
    assert.notEqual(fs.readlinkSync(`/proc/${container}/ns/net`), fs.readlinkSync(`/proc/${agent}/ns/net`), "in a namespace of its own");
    const sampler = rig.sampler("web", 50);
    await sleep(200);
    const { killed } = await rig.killNode("n2");
    const { samples, overlaps } = await sampler.stop();
    assert.ok(killed.includes(agent) && killed.includes(container), "the agent and the container were among the killed");
    assert.equal(pidAlive(agent), false);
    assert.equal(pidAlive(container), false, "the container's process is gone");
    assert.deepEqual(pidsInNetns(n2.netns), [], "no process left in n2's namespace");
    assert.deepEqual(await rig.runningOn("web"), []);
    assert.equal(overlaps, 0);
    assert.deepEqual(samples[0]?.nodes, ["n2"], "the sampler saw it on n2 first");
    assert.deepEqual(samples.at(-1)?.nodes, [], "and nowhere in the last one, begun after the kill");
    assert.ok(await until("a leader of n1 and n3", () => rig.leader(["n1", "n3"])));
    // the node comes back: its member rejoins on its data dir
    await rig.reviveNode("n2");
    await until("n2 reads linearizably", async () => (await rig.etcdGet("n2", "/rig/while-n3-down", { timeoutMs: 1000 })).value === "yes");
  });

  test("cleanup leaves no namespace, link, process, mount or directory of the rig; twice is fine", async () => {
    const roots = rig.nodes.map((n) => n.root);
    await rig.cleanup();
    cleaned = true;
    assert.deepEqual(await rig.leftovers(), { namespaces: [], links: [], processes: [], mounts: [], dirs: [] });
    for (const r of roots) assert.equal(fs.existsSync(r), false);
    await rig.cleanup();
  });
});

describe("a rig that fails half-way through startRig", { skip }, () => {
  test("is cleaned up: its etcd members, namespaces and directories are gone", async () => {
    let name = "";
    // the image build fails while the members are already up and electing
    await assert.rejects(startRig({ images: [{ ref: "bad:1", changes: ["NOSUCHINSTRUCTION x"] }] }), (e: Error) => {
      name = /^rig (svr[0-9a-f]+) did not start/.exec(e.message)?.[1] ?? "";
      return name !== "";
    });
    assert.deepEqual(fs.readdirSync("/run/netns").filter((n) => n.startsWith(`${name}-`)), [], "no namespace left");
    assert.equal(fs.existsSync(`/tmp/${name}`), false, "no directory left");
    const procs = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && pidAlive(Number(p)) && readCmdline(p).includes(`/tmp/${name}/`));
    assert.deepEqual(procs, [], "no process left");
  });
});

function readCmdline(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}
