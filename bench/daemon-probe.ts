// svcmgr's start (or stop) of a service's private daemon, timed in a fresh
// process: the PrivateDockerDaemon built from the service's config as the
// container driver and the docker passthrough build it, then start() or
// stop() alone on the clock (with what it loads on first use, such as the
// command runner). Bundled by bench/run.ts like svcmgr's CLI.
//
//   SVCMGR_ROOT=... node daemon-probe.mjs SERVICE start|stop   → {"ms": N}
import { Logger } from "../src/util/log.js";
import { resolvePaths } from "../src/util/paths.js";
import { loadValidService } from "../src/service/repository.js";
import { ServiceRuntime } from "../src/service/runtime.js";
import { ServiceDocker } from "../src/drivers/container-docker/service-daemon.js";

async function main(svc: string | undefined, what: string | undefined): Promise<void> {
  if (!svc || (what !== "start" && what !== "stop")) throw new Error("usage: daemon-probe.mjs SERVICE start|stop");
  const paths = resolvePaths();
  const rt = new ServiceRuntime(paths, loadValidService(paths, svc), new Logger([]), process.env);
  const daemon = new ServiceDocker(rt).daemon;
  const t0 = performance.now();
  await (what === "start" ? daemon.start() : daemon.stop());
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + "\n");
}

main(process.argv[2], process.argv[3]).catch((e: unknown) => {
  process.stderr.write(`daemon-probe: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
