import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkServiceName, listServiceNames } from "./names.js";
import { UsageError } from "../util/errors.js";
import { resolvePaths } from "../util/paths.js";

describe("service names (SPEC §2: [a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?)", () => {
  test("what the pattern allows is accepted, consecutive dots included", () => {
    for (const name of ["a", "app1.dev", "app.opensvc.com", "a..b", "a-.-b", "0", "x".repeat(63)]) assert.equal(checkServiceName(name), name);
  });

  test("node and cluster are reserved: refused, and their .conf files are not services", () => {
    for (const name of ["node", "cluster"]) assert.throws(() => checkServiceName(name), (e: unknown) => e instanceof UsageError && /reserved/.test(e.message), name);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-names-"));
    try {
      const paths = resolvePaths({ SVCMGR_ROOT: root });
      fs.mkdirSync(paths.etc, { recursive: true });
      for (const f of ["node.conf", "cluster.conf", "app1.conf"]) fs.writeFileSync(path.join(paths.etc, f), "");
      assert.deepEqual(listServiceNames(paths), ["app1"]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("anything else is a usage error naming the name", () => {
    for (const name of ["", "..", "../x", "a/b", "A", "a b", ".a", "a.", "-a", "x".repeat(64), "ａｐｐ"]) {
      assert.throws(() => checkServiceName(name), (e: unknown) => e instanceof UsageError && e.message.includes(`invalid service name ${JSON.stringify(name)}`), name);
    }
  });
});
