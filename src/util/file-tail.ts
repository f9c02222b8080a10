// Reading what a log file gained: its size now, what it holds past an offset,
// its last lines (so that a failed start quotes its own output only).
import fs from "node:fs";

/** The size of a file, 0 when it does not exist. */
export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** The bytes of a file from `from` on (at most `max`), as text; "" when it cannot be read. */
function readRange(file: string, from: (size: number) => number, max = Infinity): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return "";
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, from(size), size - max);
    const buf = Buffer.alloc(Math.max(0, size - start));
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf.toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/** What a file holds past `offset` (all of it when it shrank since). */
export function readFrom(file: string, offset: number): string {
  return readRange(file, (size) => (size < offset ? 0 : offset));
}

/** The last non-blank lines of a file written after `fromByte`, from its last 64 KiB at most. */
export function tailFile(file: string, lines = 10, fromByte = 0): string {
  return readRange(file, () => fromByte, 64 * 1024)
    .split("\n")
    .filter((l) => l.trim() !== "")
    .slice(-lines)
    .join("\n");
}
