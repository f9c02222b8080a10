// The cluster (SPEC §12) on one real etcd on loopback, with two or three
// svcmgr nodes that are roots of their own on this host. What an operator
// sees: exit codes, messages, config files, flag files of app resources, the
// keys in etcd. (Containers, partitions and killed hosts: in the network
// namespace tests.)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { CliRoot, type CliResult } from "./support/cli.js";
import { freePort, until } from "./support/web.js";
import { findExecutable } from "../src/util/which.js";
import { pidAlive, signal, waitPidGone } from "../src/util/proc.js";
import { ETCD, LocalCluster, agentPidOf, etcdSuite, processesOf, runLimited, watchdogPidOf, writeNodeConf, type LocalEtcd } from "./support/etcd-local.js";

const skip = process.getuid?.() !== 0 ? "needs root" : !fs.existsSync(ETCD) ? "etcd-server missing (/usr/bin/etcd)" : !findExecutable("etcdctl") ? "etcdctl missing" : false;
if (skip) console.log(`# skipping the local cluster tests: ${skip}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NO_TRACE = /^\s+at /m;

function ok(res: CliResult, what: string): string {
  if (res.code !== 0) throw new Error(`${what} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** The flag files seen every 50 ms until stopped: the samples where more than one node had it. */
function sampler(c: LocalCluster, svc: string): { stop(): string[][] } {
  const both: string[][] = [];
  const t = setInterval(() => {
    const up = c.upOn(svc);
    if (up.length > 1) both.push(up);
  }, 50);
  t.unref(); // a failed assertion before stop() must not keep the test process alive
  return {
    stop: () => {
      clearInterval(t);
      return both;
    },
  };
}

const token = (out: string, node: string): number => {
  const m = new RegExp(`up on ${node} \\(fencing token (\\d+)\\)`).exec(out);
  assert.ok(m, `"up on ${node} (fencing token N)" in:\n${out}`);
  return Number(m[1]);
};

describe("bad cluster input: a clear error naming node.conf, exit 2, nothing started", { skip }, () => {
  const suite = etcdSuite("bad-a");
  const otherSuite = etcdSuite("bad-b");

  /** `daemon start` and `daemon run` both exit 2 with this message, and leave nothing behind. */
  async function refused(r: CliRoot, message: RegExp, name: string, etcds: LocalEtcd[] = [suite.etcd]): Promise<void> {
    for (const sub of ["start", "run"]) {
      const res = runLimited(r, ["daemon", sub]);
      assert.equal(res.code, 2, `daemon ${sub}: exit 2\n${res.stdout}${res.stderr}`);
      assert.match(res.stderr, message, `daemon ${sub}'s message`);
      assert.doesNotMatch(res.stderr, NO_TRACE, "no stack trace");
      assert.equal(agentPidOf(r), undefined, `daemon ${sub}: no agent left running`);
      assert.deepEqual(processesOf(r.root), [], `daemon ${sub}: no process of this node left (no watchdog)`);
      for (const e of etcds) assert.deepEqual(await e.range(`/svcmgr/${name}/`), [], `daemon ${sub}: no key written in etcd ${e.endpoint}`);
    }
  }

  function root(c: LocalCluster, nodename: string): CliRoot {
    return c.adopt(new CliRoot("svccl-bad-", nodename));
  }

  test("an etcd that nobody answers for (a closed port): node.conf's etcd_endpoints line names it", async () => {
    const c = suite.cluster("noetcd");
    const closed = await freePort();
    const r = c.node("n1");
    writeNodeConf(r, { name: c.name, endpoints: `http://127.0.0.1:${closed}` });
    await refused(r, new RegExp(`etc/node\\.conf:4: \\[cluster\\] etcd_endpoints: no etcd member answers: http://127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`), c.name);
    // the CLI with that node.conf: a cluster config cannot be written, said in one line (exit 1: etcd may come back)
    const create = r.run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover"])]);
    assert.equal(create.code, 1, create.stdout + create.stderr);
    assert.match(create.stderr, new RegExp(`^svcmgr: no etcd member answered within \\d+ ms: http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)$`, "m"));
    assert.doesNotMatch(create.stderr, NO_TRACE);
    assert.equal(fs.existsSync(r.file("etc/web.conf")), false, "no web.conf left");
  });

  test("this node not in nodes, a node named twice, lease_ttl below 5s: the line and keyword", async () => {
    const c = suite.cluster("badconf");
    const cases: [string, Parameters<typeof writeNodeConf>[1], RegExp][] = [
      ["n9", { name: c.name, endpoints: suite.etcd.endpoint }, /node\.conf:3: \[cluster\] nodes: this node, n9, is not one of n1, n2, n3/],
      ["n1", { name: c.name, nodes: "n1 n1", endpoints: suite.etcd.endpoint }, /node\.conf:3: \[cluster\] nodes: n1 is named twice: node names must be unique/],
      ["n1", { name: c.name, endpoints: suite.etcd.endpoint, leaseTtl: "3s" }, /node\.conf:5: \[cluster\] lease_ttl: at least 5s/],
    ];
    for (const [nodename, conf, message] of cases) {
      const r = root(c, nodename);
      writeNodeConf(r, conf);
      await refused(r, message, c.name);
    }
  });

  test("two agents with one node name: the second is refused and names the first, which runs on", async () => {
    const c = suite.cluster("twice");
    await c.startAgent("n1");
    const first = agentPidOf(c.node("n1"))!;
    const [key] = await c.keys("nodes/n1");
    const twin = root(c, "n1");
    writeNodeConf(twin, { name: c.name, endpoints: suite.etcd.endpoint });
    for (const sub of ["start", "run"]) {
      const res = runLimited(twin, ["daemon", sub]);
      assert.equal(res.code, 2, `daemon ${sub}: exit 2\n${res.stdout}${res.stderr}`);
      const named = new RegExp(`node\\.conf:1: \\[cluster\\]: node n1 is already in cluster ${c.name}: an agent on host .* \\(root ${c.node("n1").root}/var, pid ${first}\\) holds that name`);
      assert.match(res.stderr, named);
      assert.doesNotMatch(res.stderr, NO_TRACE);
      assert.equal(agentPidOf(twin), undefined, "no second agent");
      assert.deepEqual(processesOf(twin.root), [], "nothing of the second root runs");
    }
    assert.ok(pidAlive(first), "the first agent runs on");
    assert.deepEqual((await c.keys("nodes/n1"))[0], key, "n1's node key is still the first agent's");
    assert.deepEqual((await c.keys()).map((k) => k.key), [`/svcmgr/${c.name}/nodes/n1`], "no other key written");
  });

  test("endpoints of two etcd clusters in one node.conf; a node that joined one etcd, then pointed at another", async () => {
    const c = suite.cluster("wrongetcd", ["n1", "n2"]);
    const [a, b] = [await suite.etcd.clusterId(), await otherSuite.etcd.clusterId()];
    const mixed = root(c, "n2");
    writeNodeConf(mixed, { name: c.name, nodes: "n1 n2", endpoints: `${suite.etcd.endpoint} ${otherSuite.etcd.endpoint}` });
    await refused(mixed, new RegExp(`node\\.conf:4: \\[cluster\\] etcd_endpoints: these endpoints belong to different etcd clusters: ${suite.etcd.endpoint} is cluster ${a}, ${otherSuite.etcd.endpoint} is cluster ${b}`), c.name, [suite.etcd, otherSuite.etcd]);

    const n1 = c.node("n1");
    await c.startAgent("n1");
    assert.equal(n1.read("var/_agent/etcd-cluster-id").trim(), a, "the etcd cluster joined is recorded");
    ok(n1.run(["daemon", "stop"]), "daemon stop");
    writeNodeConf(n1, { name: c.name, nodes: "n1 n2", endpoints: otherSuite.etcd.endpoint });
    await refused(n1, new RegExp(`node\\.conf:4: \\[cluster\\] etcd_endpoints: etcd at ${otherSuite.etcd.endpoint} is cluster ${b}, not the etcd cluster ${a} this node joined before`), c.name, [otherSuite.etcd]);
  });

  test("a service whose nodes names a node not in the cluster: exit 2 naming the keyword, nothing created", async () => {
    const c = suite.cluster("badnodes");
    const n1 = c.node("n1");
    const res = n1.run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "nodes=n1 nX"])]);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.match(res.stderr, /web\.conf:\d+: \[DEFAULT\] nodes: nX is not in the cluster \(.*etc\/node\.conf: nodes = n1 n2 n3\)/);
    assert.doesNotMatch(res.stderr, NO_TRACE);
    assert.equal(fs.existsSync(n1.file("etc/web.conf")), false, "no web.conf here");
    assert.deepEqual(await c.keys(), [], "no config in etcd");

    ok(n1.run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "nodes=n1 n2"])]), "create");
    const before = (await c.keys("svc/web/config"))[0]!;
    const set = n1.run(["-s", "web", "set", "--kw", "nodes=n2 nY"]);
    assert.equal(set.code, 2, set.stdout + set.stderr);
    assert.match(set.stderr, /web\.conf:\d+: \[DEFAULT\] nodes: nY is not in the cluster/);
    assert.deepEqual((await c.keys("svc/web/config"))[0], before, "the config in etcd is unchanged");
    assert.match(n1.read("etc/web.conf"), /^nodes = n1 n2$/m);
  });
});

describe("cluster configs live in etcd, mirrored by every agent", { skip }, () => {
  const suite = etcdSuite("cfg");

  async function cluster(tag: string, agents = ["n1", "n2", "n3"]): Promise<LocalCluster> {
    const c = suite.cluster(tag);
    for (const n of agents) await c.startAgent(n);
    return c;
  }

  const within2s = (what: string, fn: () => boolean) => until(what, fn, 2000);

  test("create on n1 is on n2 and n3 within 2 s; set on n2 is on n1 within 2 s", async () => {
    const c = await cluster("mirror");
    const t0 = Date.now();
    ok(c.node("n1").run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "orchestrate=ha", "nodes=n1 n2 n3"])]), "create");
    const text = c.node("n1").read("etc/web.conf");
    assert.match(text, /^topology = failover$/m);
    assert.equal((await c.keys("svc/web/config"))[0]?.value, text, "etcd holds the config");
    for (const n of ["n2", "n3"]) await within2s(`web.conf on ${n}`, () => fs.existsSync(c.node(n).file("etc/web.conf")) && c.node(n).read("etc/web.conf") === text);
    const t1 = Date.now();
    ok(c.node("n2").run(["-s", "web", "set", "--kw", "app#1.timeout=17s"]), "set on n2");
    await within2s("the set on n1", () => /^timeout = 17s$/m.test(c.node("n1").read("etc/web.conf")));
    await within2s("the set on n3", () => /^timeout = 17s$/m.test(c.node("n3").read("etc/web.conf")));
    console.log(`# mirrored: create ${t1 - t0} ms (with the CLI), set ${Date.now() - t1} ms`);
  });

  test("n1 and n2 editing at once (10 concurrent sets of different keywords) lose nothing", async () => {
    const c = await cluster("concurrent", ["n1", "n2"]);
    const apps = Array.from({ length: 10 }, (_, i) => i + 1);
    const kws = apps.flatMap((i) => ["--kw", `app#${i}.start=/bin/true`]);
    ok(c.node("n1").run(["-s", "web", "create", "--kw", "topology=failover", "--kw", "nodes=n1 n2", ...kws]), "create");
    await until("web.conf on n2", () => fs.existsSync(c.node("n2").file("etc/web.conf")), 2000);
    // odd resources edited from n1, even ones from n2, all at the same time
    const edits = await Promise.all(apps.map((i) => c.node(i % 2 ? "n1" : "n2").runAsync(["-s", "web", "set", "--kw", `app#${i}.timeout=${i + 10}s`])));
    edits.forEach((r, i) => ok(r, `set app#${i + 1}.timeout`));
    const want = (text: string) => apps.filter((i) => !new RegExp(`\\[app#${i}\\]\\nstart = /bin/true\\ntimeout = ${i + 10}s\\n`).test(text));
    const inEtcd = (await c.keys("svc/web/config"))[0]!.value;
    assert.deepEqual(want(inEtcd), [], `every timeout is in etcd's config:\n${inEtcd}`);
    for (const n of ["n1", "n2"]) await until(`every edit on ${n}`, () => c.node(n).read("etc/web.conf") === inEtcd, 2000);
  });

  test("delete on n3 is refused while it runs on n1, then removes it everywhere", async () => {
    const c = await cluster("delete");
    const [n1, , n3] = ["n1", "n2", "n3"].map((n) => c.node(n));
    ok(n1!.run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "orchestrate=ha"])]), "create");
    assert.match(ok(n3!.run(["-s", "web", "start"]), "start"), /up on n1/);
    const refused = n3!.run(["-s", "web", "delete"]);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /^web: refusing to delete while it runs on n1: stop it first, or use --force$/m);
    assert.equal((await c.keys("svc/web/config")).length, 1, "still in etcd");
    for (const n of c.nodeNames) assert.ok(fs.existsSync(c.node(n).file("etc/web.conf")), `still on ${n}`);
    assert.deepEqual(c.upOn("web"), ["n1"], "still up on n1");

    assert.match(ok(n3!.run(["-s", "web", "stop"]), "stop"), /web: stopped on every node/);
    assert.match(ok(n3!.run(["-s", "web", "delete"]), "delete"), /web: deleted/);
    for (const n of c.nodeNames) await until(`web.conf gone on ${n}`, () => !fs.existsSync(c.node(n).file("etc/web.conf")), 2000);
    await sleep(300); // a status an agent was about to publish would be there by now
    assert.deepEqual((await c.keys("svc/")).map((k) => k.key), [], "no key of web left in etcd");
  });

  test("the first etcd endpoint hangs (accepts, never answers): the agent joins and follows the cluster through the next one", async (t) => {
    const held = new Set<net.Socket>();
    const hung = net.createServer((s) => void held.add(s)); // connections accepted, requests never answered
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const s of held) s.destroy();
      hung.close();
    });
    const c = suite.cluster("hung");
    const n1 = c.node("n1");
    writeNodeConf(n1, { name: c.name, endpoints: `http://127.0.0.1:${(hung.address() as net.AddressInfo).port} ${suite.etcd.endpoint}` });
    await c.startAgent("n1");
    await c.startAgent("n2");
    ok(c.node("n2").run(["-s", "web", "create", ...c.serviceKw("web", ["topology=failover", "orchestrate=ha", "nodes=n1 n2"])]), "create on n2");
    await until("web.conf on n1", () => fs.existsSync(n1.file("etc/web.conf")), 5000);
    assert.match(ok(n1.run(["-s", "web", "start"]), "start from n1 (its CLI uses the same endpoints)"), /up on n1/);
    assert.deepEqual(c.upOn("web"), ["n1"]);
  });

  test("an agent that starts after the configs were created gets every config", async () => {
    const c = await cluster("late", ["n1", "n2"]);
    for (const s of ["web", "db", "cache"]) ok(c.node("n2").run(["-s", s, "create", ...c.serviceKw(s, ["topology=failover"])]), `create ${s}`);
    const n3 = c.node("n3");
    assert.equal(fs.existsSync(n3.file("etc/web.conf")), false);
    await c.startAgent("n3");
    for (const s of ["web", "db", "cache"]) await until(`${s}.conf on n3`, () => fs.existsSync(n3.file(`etc/${s}.conf`)) && n3.read(`etc/${s}.conf`) === c.node("n1").read(`etc/${s}.conf`), 2000);
  });
});

describe("placement and moves of a failover service (orchestrate = ha, nodes = n1 n2 n3)", { skip }, () => {
  const suite = etcdSuite("ha");
  const haCluster = (tag: string, leaseTtl = "6s"): Promise<LocalCluster> => suite.withService(tag, "web", ["topology=failover", "orchestrate=ha", "nodes=n1 n2 n3"], leaseTtl);

  test("start from n3 runs it on n1; switch, takeover, giveback move it, never on two nodes; stop from any node", async () => {
    const c = await haCluster("moves");
    const [n1, n2, n3] = c.nodeNames.map((n) => c.node(n)) as [CliRoot, CliRoot, CliRoot];
    const watch = sampler(c, "web");
    assert.deepEqual(c.upOn("web"), [], "created, not started");

    const start = await n3.runAsync(["-s", "web", "start"]);
    const first = token(ok(start, "start from n3"), "n1");
    assert.deepEqual(c.upOn("web"), ["n1"]);
    assert.deepEqual((await c.owners("web")).map((o) => [o.node, o.token]), [["n1", first]], "the owner key is n1's, its create_revision the token printed");

    const sw = await n1.runAsync(["-s", "web", "switch", "--to", "n2"]);
    const second = token(ok(sw, "switch --to n2"), "n2");
    assert.deepEqual(c.upOn("web"), ["n2"], "n1's flag gone, n2's there");
    assert.ok(second > first, `the fencing token grows (${first} -> ${second})`);

    const tk = await n3.runAsync(["-s", "web", "takeover"]);
    token(ok(tk, "takeover on n3"), "n3");
    assert.deepEqual(c.upOn("web"), ["n3"]);

    const gb = await n2.runAsync(["-s", "web", "giveback"]);
    token(ok(gb, "giveback from n2"), "n1");
    assert.deepEqual(c.upOn("web"), ["n1"]);

    const stop = await n2.runAsync(["-s", "web", "stop"]);
    assert.match(ok(stop, "stop from n2"), /^web: stopped on every node$/m);
    assert.deepEqual(c.upOn("web"), []);
    assert.deepEqual(await c.owners("web"), [], "no owner key left");
    assert.deepEqual(watch.stop(), [], "no 50 ms sample saw two flags");
    assert.deepEqual(c.neverTwo("web"), ["n1", "n2", "n3", "n1"], "each start came after the stop of the node before");
    const log = n1.read("log/_agent.log");
    assert.match(log, /web: moving to n2: stopping, then giving the owner key back/);

    // what cannot be done: said, exit 2, nothing moves
    ok(n1.run(["-s", "web", "start"]), "start again");
    ok(n1.run(["-s", "loc", "create", "--kw", "app#1.start=/bin/true"]), "create a node service on n1");
    const cases: [CliRoot, string[], RegExp][] = [
      [n2, ["-s", "web", "switch", "--to", "nX"], /--to nX: not a node of cluster .* \(n1, n2, n3\)/],
      [n2, ["-s", "web", "switch"], /switch needs --to NODE/],
      [n1, ["-s", "loc", "switch", "--to", "n2"], /loc is not a cluster service \(no topology in its \[DEFAULT\]\): switch is for cluster services/],
    ];
    for (const [on, args, message] of cases) {
      const res = on.run(args);
      assert.equal(res.code, 2, `${args.join(" ")}: exit 2\n${res.stdout}${res.stderr}`);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, NO_TRACE);
    }
    assert.deepEqual(c.upOn("web"), ["n1"], "still on n1 only");
  });

  test("the owner's agent killed: up on n2 within lease_ttl + 5 s with a higher token; n1's agent back stops its copy, takes nothing back", async (t) => {
    const c = await haCluster("kill");
    const [n1, , n3] = c.nodeNames.map((n) => c.node(n)) as [CliRoot, CliRoot, CliRoot];
    const first = token(ok(n3.run(["-s", "web", "start"]), "start"), "n1");
    const pid = agentPidOf(n1)!;
    const t0 = performance.now();
    signal(pid, "SIGKILL");
    await waitPidGone(pid, 5000);
    await until("web up on n2", () => fs.existsSync(c.flag("web", "n2")), 20_000);
    const took = performance.now() - t0;
    t.diagnostic(`failover after SIGKILL of the owner's agent: ${(took / 1000).toFixed(1)} s (lease_ttl 6 s)`);
    assert.ok(took < 11_000, `up on n2 within lease_ttl + 5 s (${Math.round(took)} ms)`);
    const second = token(ok(n3.run(["-s", "web", "start"]), "start again: where is it"), "n2");
    assert.ok(second > first, `the fencing token grows (${first} -> ${second})`);
    assert.deepEqual((await c.owners("web")).map((o) => [o.node, o.token]), [["n2", second]]);
    assert.equal(watchdogPidOf(n1), undefined, "n1's watchdog, with no container to stop, ended with its agent");

    // the agent died, its app kept running: the agent that comes back stops it and leaves web to n2
    assert.ok(fs.existsSync(c.flag("web", "n1")), "n1's leftover copy");
    const watch = sampler(c, "web");
    await c.startAgent("n1");
    await until("n1's leftover copy stopped", () => !fs.existsSync(c.flag("web", "n1")), 10_000);
    assert.match(n1.read("log/_agent.log"), /web: running here without owning it: stopping it now/);
    await sleep(3000);
    assert.deepEqual(c.upOn("web"), ["n2"]);
    assert.deepEqual((await c.owners("web")).map((o) => [o.node, o.token]), [["n2", second]], "n1 took nothing back");
    const both = watch.stop();
    assert.ok(both.every((s) => s.join() === "n1,n2"), "only n1's leftover copy (before it went) was ever seen with n2's");
  });

  test("daemon stop, then start of the owner's agent within lease_ttl / 2: it adopts the lease, the service stays", async (t) => {
    // lease_ttl 8 s: a restart takes 1-2.5 s on a busy machine, well within lease_ttl / 2
    const c = await haCluster("restart", "8s");
    const n1 = c.node("n1");
    token(ok(c.node("n2").run(["-s", "web", "start"]), "start"), "n1");
    const [owner] = await c.owners("web");
    const watch = sampler(c, "web");
    const t0 = performance.now();
    assert.match(ok(n1.run(["daemon", "stop"]), "daemon stop"), /services keep running/);
    ok(n1.run(["daemon", "start"]), "daemon start");
    const gap = performance.now() - t0;
    t.diagnostic(`the owner's agent restarted in ${Math.round(gap)} ms`);
    assert.ok(gap < 4000, `restarted within lease_ttl / 2 (${Math.round(gap)} ms)`);
    assert.match(n1.read("log/_agent.log"), new RegExp(`etcd lease ${owner!.lease} of the previous agent adopted`));
    const deadline = Date.now() + 9000; // past lease_ttl after the stop
    while (Date.now() < deadline) {
      assert.deepEqual(c.upOn("web"), ["n1"], "up on n1 only, all along");
      await sleep(50);
    }
    assert.deepEqual(await c.owners("web"), [owner], "the same owner key: same node, token and lease");
    assert.deepEqual(watch.stop(), []);
    assert.deepEqual(c.neverTwo("web"), ["n1"]);
    assert.equal(c.events("web").filter((e) => e.what === "stopped").length, 0, "never stopped");
  });
});
