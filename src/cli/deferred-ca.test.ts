import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { mayNeedExtraCa } from "./deferred-ca.js";
import { resolvePaths } from "../util/paths.js";

test("the CAs are loaded only for a node.conf whose [cluster] names an https etcd endpoint", (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "svca-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const paths = resolvePaths({ SVCMGR_ROOT: root });
  const conf = (text: string): boolean => {
    fs.mkdirSync(paths.etc, { recursive: true });
    fs.writeFileSync(path.join(paths.etc, "node.conf"), text);
    return mayNeedExtraCa(paths);
  };
  assert.equal(mayNeedExtraCa(paths), false, "no node.conf: no cluster");
  assert.equal(conf("[cluster]\netcd_endpoints = http://127.0.0.1:2379\n"), false);
  assert.equal(conf("[cluster]\netcd_endpoints = HTTPS://10.0.0.1:2379\n"), true);
  assert.equal(conf("[cluster]\netcd_endpoints =\n    http://10.0.0.1:2379\n    https://10.0.0.2:2379\n"), true, "on a continuation line");
  assert.equal(conf("[cluster]\n# etcd_endpoints = https://10.0.0.1:2379\n  ; https://10.0.0.3:2379\netcd_endpoints = http://127.0.0.1:2379\n"), false, "commented out");
  assert.equal(conf("[listen]\nnote = https://example.org/\n[cluster]\netcd_endpoints = http://127.0.0.1:2379\n"), false, "an https URL outside the etcd endpoints");
});
