import fs from "node:fs";

/** Write a file so that readers see the old or the new content, never half of it. */
export function writeFileAtomic(file: string, data: string, mode = 0o640): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
