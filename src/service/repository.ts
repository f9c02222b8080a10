// Services on disk: names, config files (atomic writes with a .bak), selectors,
// shortcut links and the frozen flag. Everything goes through util/paths.
import fs from "node:fs";
import path from "node:path";
import { ConfigError, UsageError } from "../util/errors.js";
import { configFile, frozenFlag, nodeName, shortcutLink, stateDir, type Paths } from "../util/paths.js";
import { parseServiceConfig, type ServiceConfig } from "./service-config.js";
import { removeStaleTemps } from "../util/atomic.js";

export { checkServiceName, listServiceNames, resolveSelector } from "./names.js";

/** What references in a config expand to. `nodename`: passed in by the manager; the environment's by default. */
export function configContext(paths: Paths, name: string, nodename: string = nodeName()) {
  return { nodename, varDir: stateDir(paths, name), etcDir: paths.etc };
}

export function readServiceConfig(paths: Paths, name: string, nodename?: string): ServiceConfig {
  const file = configFile(paths, name);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new UsageError(`no such service: ${name} (no ${file})`);
    throw e;
  }
  return parseServiceConfig(name, file, text, configContext(paths, name, nodename));
}

/** The config, refusing an invalid one: an invalid config starts and stops nothing. */
export function loadValidService(paths: Paths, name: string, nodename?: string): ServiceConfig {
  const cfg = readServiceConfig(paths, name, nodename);
  if (cfg.problems.length) throw new ConfigError(cfg.problems);
  return cfg;
}

/** Write a config atomically (temp file + rename), keeping the previous version as .bak. */
export function writeConfigAtomic(paths: Paths, name: string, text: string): void {
  const file = configFile(paths, name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o640 });
  const fd = fs.openSync(tmp, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  if (fs.existsSync(file)) {
    // copyFile gives the copy the mode of the old file, which may have been written wider by hand
    fs.copyFileSync(file, `${file}.bak`);
    fs.chmodSync(`${file}.bak`, 0o640);
  }
  fs.renameSync(tmp, file);
  removeStaleTemps(file);
}

/**
 * The state dir: 0750 (the private daemon gives it the socket's group when it
 * starts), under a var dir that anyone may traverse but not list (0711), so
 * that a team reaches its socket and nothing else.
 */
export function ensureStateDir(paths: Paths, name: string): string {
  const dir = stateDir(paths, name);
  fs.mkdirSync(paths.var, { recursive: true, mode: 0o711 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
  return dir;
}

/** The `<svc>` shortcut: a symlink to the svcmgr launcher, which reads its own name. */
export function createShortcut(paths: Paths, name: string, launcher: string): string {
  const link = shortcutLink(paths, name);
  fs.mkdirSync(path.dirname(link), { recursive: true, mode: 0o755 });
  fs.rmSync(link, { force: true });
  fs.symlinkSync(launcher, link);
  return link;
}

export function isFrozen(paths: Paths, name: string): boolean {
  return fs.existsSync(frozenFlag(paths, name));
}

export function setFrozen(paths: Paths, name: string, frozen: boolean): boolean {
  const flag = frozenFlag(paths, name);
  const was = fs.existsSync(flag);
  if (frozen && !was) {
    ensureStateDir(paths, name);
    fs.writeFileSync(flag, new Date().toISOString() + "\n", { mode: 0o640 });
  } else if (!frozen && was) fs.rmSync(flag);
  return was !== frozen;
}
