// Finding installed programs: root tools (dockerd, ip, losetup) live in the sbin directories.
import fs from "node:fs";
import path from "node:path";

/** Find an executable on PATH plus the sbin directories root's PATH has (dockerd, ip live there). */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  if (name.includes("/")) return name;
  for (const dir of withSbinPath(pathEnv).split(":")) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const SBIN_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** PATH with the system directories appended when missing: dockerd looks docker-proxy and runc up on its PATH. */
export function withSbinPath(pathEnv: string): string {
  const dirs = pathEnv.split(":").filter((d) => d !== "");
  for (const d of SBIN_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(":");
}
