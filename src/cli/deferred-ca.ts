// NODE_EXTRA_CA_CERTS, deferred. Node 20 parses the whole system CA store and
// the extra file at start-up whenever that variable is set (~45 ms of a
// ~100 ms status command here), though svcmgr makes no TLS connection at all
// unless a cluster's etcd is reached over https. The launcher (bin/svcmgr.js)
// hands the file's name over in SVCMGR_DEFERRED_CA instead and puts the
// variable back for every child (the agent, the watchdog, a hook); a command
// that may talk TLS runs itself again, with the variable, before it does
// anything: here, when node.conf names an https etcd endpoint.
import { spawn } from "node:child_process";
import os from "node:os";
import { readNodeConf } from "../config/node-section.js";
import { nodeConfFile, type Paths } from "../util/paths.js";

/** Can this command need the extra CAs: is an etcd endpoint of node.conf's [cluster] https? */
export function mayNeedExtraCa(paths: Paths): boolean {
  let doc;
  try {
    doc = readNodeConf(nodeConfFile(paths));
  } catch {
    return false; // unreadable: the command that needs it says so
  }
  return /https:\/\//i.test(doc?.get("cluster", "etcd_endpoints")?.value ?? "");
}

/** Run this same command again in a node that loads NODE_EXTRA_CA_CERTS (put back in process.env by the launcher); its exit code. */
export function runAgainWithExtraCa(argv: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], { stdio: "inherit", env: process.env });
  // ^C reaches the whole foreground group, the child too: this process only waits for it; a TERM or HUP for this pid is passed on
  const passOn = (sig: NodeJS.Signals): void => void child.kill(sig);
  const ignore = (): void => {};
  process.on("SIGINT", ignore).on("SIGTERM", passOn).on("SIGHUP", passOn);
  return new Promise((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`svcmgr: cannot run ${process.execPath}: ${e.message}\n`);
      resolve(1);
    });
    child.on("exit", (code, signal) => {
      process.off("SIGINT", ignore).off("SIGTERM", passOn).off("SIGHUP", passOn);
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
}
