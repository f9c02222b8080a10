// `svcmgr -s X docker ARGS`: the real docker CLI on the service's socket. The
// daemon is started first if needed; DOCKER_HOST and friends never leak in.
// The caller runs the command (the CLI, with its stdio attached).
import type { Logger } from "../../util/log.js";
import type { DriverContext } from "../driver.js";
import { serviceDocker } from "./service-daemon.js";

export interface CommandLine {
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
}

export async function dockerCommand(ctx: DriverContext, args: string[], log: Logger): Promise<CommandLine> {
  const docker = serviceDocker(ctx);
  await docker.ensureRunning(log);
  const env = { ...ctx.env };
  for (const k of ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"]) delete env[k];
  const [file, ...prefix] = docker.cliArgs();
  return { file: file!, args: [...prefix, ...args], env };
}
