// The private daemon of a service, built from its [DEFAULT] keywords.
import path from "node:path";
import { ActionError } from "../../util/errors.js";
import { splitWords } from "../../util/shell-words.js";
import { PRIVATE_DAEMON_KEYWORDS, usesPrivateDaemon } from "../../config/service-config.js";
import type { ServiceRuntime } from "../../service/runtime.js";
import type { Logger } from "../../util/log.js";
import { PrivateDockerDaemon, allocateBridgeCidr } from "./daemon.js";
import { HostDockerDaemon } from "./host-daemon.js";

/** The daemon a service's containers run on: its own, or the host's (docker_daemon_private = false, or no docker_data_dir). */
export type ServiceDaemon = PrivateDockerDaemon | HostDockerDaemon;

export function daemonFor(rt: ServiceRuntime): ServiceDaemon {
  const d = rt.cfg.defaults.text;
  const v = rt.cfg.defaults.values;
  if (!usesPrivateDaemon(v)) {
    if (v.docker_daemon_private === false) return new HostDockerDaemon(process.env, "docker_daemon_private = false");
    // without docker_data_dir (SPEC §4): the private daemon's keywords have nothing to configure
    const ignored = PRIVATE_DAEMON_KEYWORDS.filter((k) => (rt.cfg.doc.get("DEFAULT", k)?.value.trim() ?? "") !== "");
    return new HostDockerDaemon(process.env, "no docker_data_dir, so no private daemon", ignored);
  }
  const dataDir = d.docker_data_dir ?? path.join(rt.stateDir, "docker");
  // picked on the daemon's first start, not to evaluate a status
  const bridgeCidr = d.docker_bridge_cidr ?? (() => allocateBridgeCidr(rt.paths.var, rt.stateDir, rt.log, rt.paths.run));
  return new PrivateDockerDaemon({
    svc: rt.name,
    stateDir: rt.stateDir,
    dataDir,
    socketGroup: d.docker_socket_group,
    socketMode: v.docker_socket_mode,
    bridgeCidr,
    extraArgs: splitWords(d.docker_daemon_args ?? ""),
    runDir: rt.paths.run,
    log: rt.log,
  });
}

/**
 * The daemon must not write its data on the mount point of a filesystem of the
 * service that is down: it would fill the directory under the mount.
 */
export async function checkDataDirFilesystem(rt: ServiceRuntime, dataDir: string): Promise<void> {
  const drivers = await rt.drivers();
  const holders = rt.cfg.resources
    .filter((r) => r.group === "fs" && !r.disabled && r.text.mnt !== undefined)
    .filter((r) => dataDir === r.text.mnt || dataDir.startsWith(`${r.text.mnt!.replace(/\/$/, "")}/`))
    .sort((a, b) => b.text.mnt!.length - a.text.mnt!.length);
  const fs = holders[0];
  if (!fs) return;
  const st = await drivers.get(fs.rid)!.status();
  if (st.status !== "up") {
    throw new ActionError(`docker_data_dir ${dataDir} lies on ${fs.rid} (${fs.text.mnt}), which is ${st.status}: start ${fs.rid} first`, fs.rid);
  }
}

/**
 * The service's daemon, answering: its own is started if it is down (refused
 * while the filesystem holding its data dir is down); the host's must already
 * answer. `log`: where the daemon's lines go (the resource that needs it).
 */
export async function ensureDaemonRunning(rt: ServiceRuntime, log: Logger): Promise<ServiceDaemon> {
  const daemon = await rt.dockerDaemon();
  if (daemon.shared) daemon.warnIgnored(log);
  if (await daemon.isRunning()) return daemon;
  if (!daemon.shared) await checkDataDirFilesystem(rt, daemon.dataDir);
  await daemon.start(log);
  rt.daemonStartedHere = true;
  return daemon;
}
