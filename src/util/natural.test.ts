import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { compareRids, naturalCompare } from "./natural.js";

describe("compareRids", () => {
  test("sorts digit runs by value", () => {
    const rids = ["container#10", "ip#1", "container#2", "container#1", "fs#2", "fs#10", "disk#1"];
    assert.deepEqual([...rids].sort(compareRids), ["container#1", "container#2", "container#10", "disk#1", "fs#2", "fs#10", "ip#1"]);
  });

  test("orders subset names like 00database < 01appservers < 02webservers < 10last", () => {
    assert.deepEqual(["10last", "02webservers", "00database", "01appservers"].sort(compareRids), [
      "00database",
      "01appservers",
      "02webservers",
      "10last",
    ]);
  });

  test("a prefix sorts first; huge numbers keep their precision", () => {
    assert.ok(compareRids("app", "app#1") < 0);
    assert.ok(naturalCompare("x#90071992547409931", "x#90071992547409932") < 0);
    assert.ok(naturalCompare("x#007", "x#7") > 0 && naturalCompare("x#7", "x#007") < 0);
  });

  test("is a consistent order: antisymmetric, zero only on equal strings", () => {
    const rid = fc.stringMatching(/^[a-z]{0,3}(#?\d{0,3}){0,2}$/);
    fc.assert(
      fc.property(rid, rid, (a, b) => {
        assert.equal(Math.sign(naturalCompare(a, b)) + Math.sign(naturalCompare(b, a)), 0);
        assert.equal(naturalCompare(a, b) === 0, a === b);
      }),
    );
  });

  test("is transitive", () => {
    const rid = fc.stringMatching(/^[a-c]{0,2}\d{0,2}[a-c#]{0,1}\d{0,2}$/);
    fc.assert(
      fc.property(rid, rid, rid, (a, b, c) => {
        if (naturalCompare(a, b) <= 0 && naturalCompare(b, c) <= 0) assert.ok(naturalCompare(a, c) <= 0);
      }),
    );
  });
});
