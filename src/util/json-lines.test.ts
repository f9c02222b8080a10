import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { JsonLinesError, jsonLines } from "./json-lines.js";

/** A stream delivering exactly these chunks. */
const chunks = (...parts: (string | Buffer)[]): Readable => Readable.from(parts, { objectMode: true });

const all = async (source: AsyncIterable<string | Buffer>, max?: number): Promise<unknown[]> => {
  const out: unknown[] = [];
  for await (const v of jsonLines(source, max)) out.push(v);
  return out;
};

describe("newline-delimited JSON", () => {
  test("several values in one chunk, one value over several chunks, blank lines", async () => {
    assert.deepEqual(await all(chunks('{"a":1}\n{"a":2}\n{"a"', ':3}\n\n{"a":', "4}\n")), [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
  });

  test("a character cut between two chunks", async () => {
    const bytes = Buffer.from('{"name":"été"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "é"
    assert.deepEqual(await all(chunks(bytes.subarray(0, cut), bytes.subarray(cut))), [{ name: "été" }]);
  });

  test("an unterminated last line (the writer died in it) is dropped", async () => {
    assert.deepEqual(await all(chunks('{"a":1}\n{"a":')), [{ a: 1 }]);
  });

  test("a line that is not JSON, or longer than the limit, is an error", async () => {
    await assert.rejects(all(chunks('{"a":1}\nnot json\n')), (e: unknown) => e instanceof JsonLinesError && /not JSON: not json/.test(e.message));
    await assert.rejects(all(chunks(`{"a":"${"x".repeat(100)}"}\n`), 50), (e: unknown) => e instanceof JsonLinesError && /over the 50 allowed/.test(e.message));
    // a stream that never sends a newline does not grow a buffer for ever
    await assert.rejects(all(chunks("x".repeat(30), "x".repeat(30)), 50), (e: unknown) => e instanceof JsonLinesError && /without a newline/.test(e.message));
  });
});
