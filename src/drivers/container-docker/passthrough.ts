// `svcmgr -s X docker ARGS`: the real docker CLI on the service's socket,
// stdio attached, its exit code returned. DOCKER_HOST and friends never leak in.
import { spawn } from "node:child_process";
import type { Logger } from "../../util/log.js";
import type { Paths } from "../../util/paths.js";
import { loadValidService } from "../../service/repository.js";
import { ServiceRuntime } from "../../service/runtime.js";
import { ensureDaemonRunning } from "./service-daemon.js";

export async function dockerPassthrough(paths: Paths, name: string, args: string[], log: Logger): Promise<number> {
  const rt = new ServiceRuntime(paths, loadValidService(paths, name), log);
  const daemon = await ensureDaemonRunning(rt, log);
  const env = { ...process.env };
  for (const k of ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"]) delete env[k];
  const [docker, ...prefix] = daemon.cliArgs();
  const child = spawn(docker!, [...prefix, ...args], { stdio: "inherit", env });
  return new Promise((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`docker: ${e.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, sig) => resolve(code ?? (sig ? 128 + 1 : 1)));
  });
}
