// node.conf's [cluster] (SPEC §12): every bad value a clear error naming the file, line and keyword.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readClusterConfig } from "./node-conf.js";
import { ConfigError } from "../util/errors.js";
import { resolvePaths } from "../util/paths.js";
import { Keys } from "./keys.js";
import { ClusterStore, isClusterConfig, type ClusterState } from "./store.js";

function withConf(text: string, self: string): ReturnType<typeof readClusterConfig> | string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svcl-"));
  try {
    fs.mkdirSync(path.join(root, "etc"));
    fs.writeFileSync(path.join(root, "etc", "node.conf"), text);
    return readClusterConfig(resolvePaths({ SVCMGR_ROOT: root }), self);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.replaceAll(root, "ROOT");
    throw e;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const GOOD = "[cluster]\nname = demo\nnodes = n1 n2 n3\netcd_endpoints = http://127.0.0.1:2379 http://10.0.0.2:2379\nlease_ttl = 6s\n";

void describe("[cluster] in node.conf", () => {
  void test("a good section: its values, lease_ttl in ms, 15s by default", () => {
    const c = withConf(GOOD, "n2");
    assert.ok(c && typeof c !== "string");
    assert.deepEqual([c.name, c.nodes, c.endpoints, c.leaseTtlMs, c.self], ["demo", ["n1", "n2", "n3"], ["http://127.0.0.1:2379", "http://10.0.0.2:2379"], 6000, "n2"]);
    const d = withConf(GOOD.replace("lease_ttl = 6s\n", ""), "n1");
    assert.ok(d && typeof d !== "string");
    assert.equal(d.leaseTtlMs, 15_000);
    assert.equal(withConf("[node]\nlisten = 127.0.0.1:7620\n", "n1"), undefined, "no [cluster]: a node on its own");
  });

  void test("bad input names the file, the line and the keyword", () => {
    assert.equal(withConf(GOOD, "n9"), "ROOT/etc/node.conf:3: [cluster] nodes: this node, n9, is not one of n1, n2, n3 (SVCMGR_NODENAME or the host name)");
    assert.equal(withConf(GOOD.replace("n1 n2 n3", "n1 n2 n1"), "n1"), "ROOT/etc/node.conf:3: [cluster] nodes: n1 is named twice: node names must be unique");
    assert.equal(withConf(GOOD.replace("lease_ttl = 6s", "lease_ttl = 3s"), "n1"), "ROOT/etc/node.conf:5: [cluster] lease_ttl: at least 5s (an owner stops its services between lease_ttl / 2 and lease_ttl - 2s)");
    assert.equal(withConf(GOOD.replace("http://10.0.0.2:2379", "10.0.0.2:2379"), "n1"), 'ROOT/etc/node.conf:4: [cluster] etcd_endpoints: "10.0.0.2:2379" is not a URL (e.g. http://10.0.0.1:2379)');
    assert.equal(withConf("[cluster]\nnodes = n1\n", "n1"), "ROOT/etc/node.conf:1: [cluster] name: required\nROOT/etc/node.conf:1: [cluster] etcd_endpoints: required");
    assert.equal(withConf(GOOD + "lease_tll = 5s\n", "n1"), "ROOT/etc/node.conf:6: [cluster] lease_tll: unknown keyword (did you mean lease_ttl?)");
  });
});

void describe("cluster keys and state", () => {
  const keys = new Keys("demo");
  void test("keys parse back to what they name; other keys are not ours", () => {
    assert.deepEqual(keys.parse(keys.owner("web", 0)), { kind: "owner", svc: "web", sub: "0" });
    assert.deepEqual(keys.parse(keys.node("n2")), { kind: "node", sub: "n2" });
    assert.deepEqual(keys.parse(keys.config("app1.dev")), { kind: "config", svc: "app1.dev" });
    assert.equal(keys.parse("/svcmgr/other/svc/web/config"), undefined);
    assert.equal(keys.parse(keys.svc("web") + "nonsense"), undefined);
  });

  void test("the state follows puts and deletes: an owner's fencing token is its key's create_revision, a deleted service leaves nothing", () => {
    const store = new ClusterStore({ name: "demo", nodes: ["n1", "n2"], self: "n1", endpoints: ["http://127.0.0.1:1"], leaseTtlMs: 6000, file: "node.conf", lines: {} });
    const state: ClusterState = { revision: 0, nodes: new Map(), services: new Map() };
    const kv = (key: string, value: string, createRevision = 7, lease = "42") => ({ key, value, createRevision, modRevision: createRevision, version: 1, lease });
    store.apply(state, keys.config("web"), kv(keys.config("web"), "[DEFAULT]\ntopology = failover\n"));
    store.apply(state, keys.owner("web", 0), kv(keys.owner("web", 0), '{"node":"n2"}', 9, "77"));
    store.apply(state, keys.node("n2"), kv(keys.node("n2"), '{"host":"h","root":"/r","pid":1,"since":"x"}', 3, "77"));
    assert.deepEqual(state.services.get("web")?.owners.get(0), { node: "n2", slot: 0, token: 9, lease: "77" });
    assert.equal(state.nodes.get("n2")?.lease, "77");
    store.apply(state, keys.owner("web", 0), undefined);
    assert.equal(state.services.get("web")?.owners.size, 0);
    store.apply(state, keys.config("web"), undefined);
    assert.equal(state.services.has("web"), false);
  });

  void test("a cluster service is one whose [DEFAULT] sets topology", () => {
    assert.equal(isClusterConfig("[DEFAULT]\ntopology = failover\n"), true);
    assert.equal(isClusterConfig("[DEFAULT]\nnodes = n1\n[container#1]\ntopology = x\n"), false);
  });
});
