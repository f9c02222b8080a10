// A stream of newline-terminated JSON values (Docker's /events): one chunk
// may hold several values or part of one. Bounded: a line longer than the
// limit is an error, not a buffer that grows for ever.
import { StringDecoder } from "node:string_decoder";

export class JsonLinesError extends Error {}

/**
 * The values of a newline-delimited JSON stream, in order. Blank lines are
 * skipped; a line that is not JSON, or longer than maxLineLength characters,
 * throws a JsonLinesError. An unterminated last line (the writer died in the
 * middle of it) is dropped.
 */
export async function* jsonLines(source: AsyncIterable<Buffer | string>, maxLineLength = 1024 * 1024): AsyncGenerator<unknown, void, undefined> {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  for await (const chunk of source) {
    pending += typeof chunk === "string" ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.length > maxLineLength) throw new JsonLinesError(`a line of ${line.length} characters, over the ${maxLineLength} allowed`);
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new JsonLinesError(`not JSON: ${line.slice(0, 200)} (${(e as Error).message})`, { cause: e });
      }
      yield value;
    }
    if (pending.length > maxLineLength) throw new JsonLinesError(`over ${maxLineLength} characters without a newline`);
  }
}
