// A cluster service's config as etcd has it, in this node's <etc> (SPEC §12):
// written when it differs, removed when etcd no longer has it.
import fs from "node:fs";
import { writeFileAtomicSync } from "../util/atomic.js";
import type { Logger } from "../util/log.js";
import { configFile, type Paths } from "../util/paths.js";
import type { KeyValue } from "./etcd.js";
import { isClusterConfig } from "./store.js";

export function mirrorConfig(paths: Paths, svc: string, config: KeyValue | undefined, log: Logger): void {
  const file = configFile(paths, svc);
  let local: string | undefined;
  try {
    local = fs.readFileSync(file, "utf8");
  } catch {
    local = undefined;
  }
  if (config === undefined) {
    if (local !== undefined && isClusterConfig(local)) {
      fs.rmSync(file, { force: true });
      log.info(`${svc}: deleted in the cluster, its config removed here`);
    }
    return;
  }
  if (local === config.value) return;
  fs.mkdirSync(paths.etc, { recursive: true });
  writeFileAtomicSync(file, config.value, 0o644);
  log.info(`${svc}: config from the cluster (revision ${config.modRevision})`);
}
