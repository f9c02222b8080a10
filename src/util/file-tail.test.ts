import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileSize, readFrom, tailFile } from "./file-tail.js";

describe("file tails", () => {
  test("size, what came after an offset, the last lines written since", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-tail-"));
    try {
      const f = path.join(dir, "dockerd.log");
      assert.equal(fileSize(f), 0);
      assert.equal(readFrom(f, 0), "");
      assert.equal(tailFile(f), "");
      fs.writeFileSync(f, "old 1\nold 2\n");
      const offset = fileSize(f);
      fs.appendFileSync(f, "new 1\n\nnew 2\nnew 3\n");
      assert.equal(readFrom(f, offset), "new 1\n\nnew 2\nnew 3\n");
      assert.equal(tailFile(f, 2, offset), "new 2\nnew 3");
      assert.equal(tailFile(f, 10, offset), "new 1\nnew 2\nnew 3", "blank lines left out, nothing before the offset");
      assert.equal(tailFile(f, 10, 1000), "", "an offset past the end");
      fs.writeFileSync(f, "rotated\n");
      assert.equal(readFrom(f, offset), "rotated\n", "a file that shrank is read from its start");
      fs.writeFileSync(f, "x".repeat(100 * 1024) + "\nlast\n");
      assert.equal(tailFile(f, 1), "last", "from the last 64 KiB");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
