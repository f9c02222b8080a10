import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkServiceName } from "./names.js";
import { UsageError } from "../util/errors.js";

describe("service names (SPEC §2: [a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?)", () => {
  test("what the pattern allows is accepted, consecutive dots included", () => {
    for (const name of ["a", "app1.dev", "app.opensvc.com", "a..b", "a-.-b", "0", "x".repeat(63)]) assert.equal(checkServiceName(name), name);
  });

  test("anything else is a usage error naming the name", () => {
    for (const name of ["", "..", "../x", "a/b", "A", "a b", ".a", "a.", "-a", "x".repeat(64), "ａｐｐ"]) {
      assert.throws(() => checkServiceName(name), (e: unknown) => e instanceof UsageError && e.message.includes(`invalid service name ${JSON.stringify(name)}`), name);
    }
  });
});
