// A local registry holding busybox-based images built here (the machine
// reaches no public registry), pushed from a throw-away builder daemon.
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { PrivateDockerDaemon } from "../../src/drivers/container-docker/daemon.js";
import { allocateBridgeCidr } from "../../src/drivers/container-docker/subnets.js";
import { dockerCliArgs } from "../../src/drivers/container-docker/engine.js";
import { Logger } from "../../src/util/log.js";
import { buildBusyboxRootfsTar, cleanupEverything, makeTempRoot, RUN_DIR, startLocalRegistry, type LocalRegistry } from "./docker-fixture.js";

export interface ImageSpec {
  /** repository:tag in the registry, e.g. app1:dev */
  ref: string;
  /** Dockerfile-like changes given to `docker import --change`, e.g. ENV VERSION=2 */
  changes?: string[];
}

export interface ImageRegistry {
  registry: LocalRegistry;
  /** registry address prefixed reference: 127.0.0.1:PORT/app1:dev */
  image(ref: string): string;
  stop(): Promise<void>;
}

export async function startImageRegistry(images: ImageSpec[]): Promise<ImageRegistry> {
  const registry = await startLocalRegistry();
  const root = makeTempRoot("svb-");
  try {
    const stateDir = path.join(root, "var", "builder");
    fs.mkdirSync(stateDir, { recursive: true });
    const log = new Logger([]);
    const daemon = new PrivateDockerDaemon({
      svc: "builder",
      stateDir,
      dataDir: path.join(root, "data"),
      bridgeCidr: await allocateBridgeCidr(path.join(root, "var"), stateDir, log, RUN_DIR),
      extraArgs: [],
      runDir: RUN_DIR,
      log,
    });
    await daemon.start();
    const tar = await buildBusyboxRootfsTar();
    const [docker, ...cli] = dockerCliArgs(daemon.socketPath);
    for (const img of images) {
      const ref = `${registry.address}/${img.ref}`;
      await execa(docker!, [...cli, "import", ...(img.changes ?? []).flatMap((c) => ["--change", c]), tar, ref]);
      await execa(docker!, [...cli, "push", ref]);
    }
    await daemon.stop();
  } catch (e) {
    await registry.stop();
    throw e;
  } finally {
    await cleanupEverything(root);
  }
  return {
    registry,
    image: (ref) => `${registry.address}/${ref}`,
    stop: () => registry.stop(),
  };
}
