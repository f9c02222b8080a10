// What a dead dockerd leaves on the host, and taking it away: the shims and
// containers of its containerd, container mounts under its data root,
// network namespaces under its exec root, its data-root self-bind, the exec
// root itself.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../util/log.js";
import { isSelfBindMount, mountsUnder } from "../../util/mountinfo.js";
import { allPids, procCmdline, procComm, procParent, signal, waitPidGone } from "../../util/proc.js";
import { run } from "../../util/run.js";

/** containerd-shim processes serving the containerd of that exec root (they outlive a killed dockerd). */
export function shimPids(execRoot: string): number[] {
  const address = path.join(execRoot, "containerd", "containerd.sock");
  return allPids().filter((pid) => procComm(pid)?.startsWith("containerd-shim") && procCmdline(pid).includes(address));
}

/**
 * What a dockerd killed with running containers leaves: shims and their
 * containers, container mounts under the data root, network namespaces under
 * the exec root. Kill and unmount all of it (used when TERM was not enough).
 */
export async function forceCleanup(log: Logger, dataDir: string, execRoot: string): Promise<void> {
  for (const shim of shimPids(execRoot)) {
    const children = allPids().filter((p) => procParent(p) === shim);
    for (const c of children) {
      log.info(`kill -KILL ${c}`);
      signal(c, "SIGKILL");
    }
    log.info(`kill -KILL ${shim}`);
    signal(shim, "SIGKILL");
    for (const c of children) await waitPidGone(c, 5000);
    await waitPidGone(shim, 5000);
  }
  for (const dir of [dataDir, execRoot]) {
    for (const mnt of mountsUnder(dir)) {
      if (mnt === dataDir) continue; // the data root itself: only ever dockerd's self-bind, see unmountSelfBinds
      const r = await run(log, ["umount", mnt], { check: false });
      if (r.exitCode !== 0) await run(log, ["umount", "-l", mnt], { check: false });
    }
  }
}

/**
 * dockerd unmounts its data-root self-bind on a clean exit only when that
 * same run created it. Stacked ones (one per killed run) come off one by
 * one; a failing umount (a process of the dead daemon still letting go) is
 * retried a while, then what is left is detached lazily.
 */
export async function unmountSelfBinds(log: Logger, dataDir: string): Promise<void> {
  for (let i = 0; i < 16 && isSelfBindMount(dataDir); i++) {
    if ((await run(log, ["umount", dataDir], { check: false })).exitCode !== 0) await sleep(50);
  }
  if (isSelfBindMount(dataDir)) await run(log, ["umount", "-l", dataDir], { check: false });
}

/** The exec root goes once nothing is mounted under it and no shim uses it. */
export function removeExecRoot(execRoot: string): void {
  if (mountsUnder(execRoot).length === 0 && shimPids(execRoot).length === 0) {
    fs.rmSync(execRoot, { recursive: true, force: true });
  }
}
