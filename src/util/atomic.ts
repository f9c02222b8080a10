import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";

/**
 * Write a file so that readers see the old or the new content, never half of
 * it. Asynchronous, so that many services' writes overlap (svcmon --refresh).
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o640): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await fsp.writeFile(tmp, data, { mode });
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  removeStaleTemps(file);
}

/** The same, synchronously (small state files written under a lock). */
export function writeFileAtomicSync(file: string, data: string, mode = 0o640): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  removeStaleTemps(file);
}

/**
 * The temp files (`<file>.<pid>[.<x>].tmp`) of writers killed between their
 * write and their rename: removed once that pid is gone, so crashes leave no
 * litter behind for long.
 */
export function removeStaleTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = Number(name.slice(prefix.length).split(".")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}
