// Every path svcmgr reads or writes is derived here, from one root (SPEC §1).
import os from "node:os";
import path from "node:path";

export interface Paths {
  /** directory holding <svc>.conf files */
  readonly etc: string;
  /** parent of the per-service state dirs */
  readonly var: string;
  /** directory of <svc>.log files */
  readonly log: string;
  /** directory of the per-service shortcut links */
  readonly bin: string;
  /** short directory for dockerd exec roots (containerd caps socket paths at 104 bytes) */
  readonly run: string;
  readonly root: string | undefined;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const root = env.SVCMGR_ROOT ? path.resolve(env.SVCMGR_ROOT) : undefined;
  if (root) {
    return {
      root,
      etc: path.join(root, "etc"),
      var: path.join(root, "var"),
      log: path.join(root, "log"),
      bin: path.join(root, "bin"),
      run: "/run/svcmgr",
    };
  }
  return {
    root,
    etc: "/etc/svcmgr",
    var: "/var/lib/svcmgr",
    log: "/var/log/svcmgr",
    bin: "/etc/svcmgr/bin",
    run: "/run/svcmgr",
  };
}

export function nodeName(env: NodeJS.ProcessEnv = process.env): string {
  return env.SVCMGR_NODENAME || os.hostname();
}

export const configFile = (p: Paths, svc: string): string => path.join(p.etc, `${svc}.conf`);
/** the node's own settings: [agent] listeners, [cluster] (SPEC §10, §12) */
export const nodeConfFile = (p: Paths): string => path.join(p.etc, "node.conf");
export const stateDir = (p: Paths, svc: string): string => path.join(p.var, svc);
export const logFile = (p: Paths, svc: string): string => path.join(p.log, `${svc}.log`);
export const shortcutLink = (p: Paths, svc: string): string => path.join(p.bin, svc);
export const lockFile = (p: Paths, svc: string): string => path.join(stateDir(p, svc), "action.lock");
export const statusCacheFile = (p: Paths, svc: string): string => path.join(stateDir(p, svc), "status.json");
export const frozenFlag = (p: Paths, svc: string): string => path.join(stateDir(p, svc), "frozen");
