// Helpers for tests against real dockerd processes: temp roots, a busybox
// image built locally (there is no registry access here), a local registry,
// and a clean-up that leaves nothing a test started on the machine.
import crypto from "node:crypto";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { TestContext } from "node:test";
import { execa } from "execa";
import { bridgeName, deleteBridge } from "../../src/drivers/container-docker/bridge.js";
import { dockerCliArgs } from "../../src/drivers/container-docker/engine.js";
import { execRootFor } from "../../src/drivers/container-docker/daemon.js";
import { forceCleanup } from "../../src/drivers/container-docker/cleanup.js";
import { allPids, pidAlive, procCmdline, procComm, readPidFile, signal, waitPidGone } from "../../src/util/proc.js";
import { findExecutable } from "../../src/util/which.js";
import { mountsUnder } from "../../src/util/mountinfo.js";
import { setTimeout as sleep } from "node:timers/promises";
import { Logger, humanSink, memorySink, type LogRecord } from "../../src/util/log.js";
import { run } from "../../src/util/run.js";

/** The runDir svcmgr uses for exec roots (Paths.run). */
export const RUN_DIR = "/run/svcmgr";

const CACHE_DIR = "/tmp/svcmgr-test-cache";

/** A fresh SVCMGR_ROOT with a short path (unix sockets live under it). */
export function makeTempRoot(prefix = "svt-"): string {
  return fs.mkdtempSync(path.join("/tmp", prefix));
}

/** A logger keeping its records for assertions; SVCMGR_TEST_VERBOSE=1 also prints them. */
export function testLogger(svc?: string): { log: Logger; records: LogRecord[] } {
  const mem = memorySink();
  const sinks = process.env.SVCMGR_TEST_VERBOSE ? [mem, humanSink(process.stderr, { minLevel: "debug" })] : [mem];
  return { log: new Logger(sinks, svc ? { svc } : {}), records: mem.records };
}

const quiet = new Logger([]);

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Skip (with the reason printed) unless running as root; returns whether the test may go on. */
export function requireRoot(t: TestContext): boolean {
  if (isRoot()) return true;
  t.skip("needs root (dockerd, bridges and mounts)");
  return false;
}

/** Skip unless root and dockerd, containerd, ip and busybox are installed. */
export function requireDocker(t: TestContext): boolean {
  if (!requireRoot(t)) return false;
  const missing = ["dockerd", "containerd", "ip", "busybox", "docker"].filter((p) => !findExecutable(p));
  if (missing.length === 0) return true;
  t.skip(`not installed: ${missing.join(", ")} (scripts/setup.sh installs them)`);
  return false;
}

export function requireRegistry(t: TestContext): boolean {
  if (!requireDocker(t)) return false;
  if (findExecutable("docker-registry")) return true;
  t.skip("docker-registry not installed (Debian package docker-registry)");
  return false;
}

/**
 * A tar of a minimal root filesystem: static busybox with one symlink per
 * applet, /etc/passwd and /etc/group, /tmp. Built once and cached (keyed on
 * the busybox binary), so every test imports the same image id.
 */
export async function buildBusyboxRootfsTar(): Promise<string> {
  const busybox = findExecutable("busybox");
  if (!busybox) throw new Error("busybox not installed (Debian package busybox-static)");
  const st = fs.statSync(busybox);
  const key = crypto.createHash("sha256").update(`${busybox}:${st.size}:${st.mtimeMs}:v1`).digest("hex").slice(0, 12);
  const tarFile = path.join(CACHE_DIR, `busybox-rootfs-${key}.tar`);
  if (fs.existsSync(tarFile)) return tarFile;

  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const dir = fs.mkdtempSync(path.join(CACHE_DIR, "rootfs-"));
  try {
    for (const d of ["bin", "etc", "tmp", "root", "proc", "sys", "dev", "var"]) fs.mkdirSync(path.join(dir, d));
    fs.chmodSync(path.join(dir, "tmp"), 0o1777);
    fs.copyFileSync(busybox, path.join(dir, "bin", "busybox"));
    fs.chmodSync(path.join(dir, "bin", "busybox"), 0o755);
    const { stdout } = await execa(busybox, ["--list"]);
    for (const applet of stdout.split("\n").map((s) => s.trim())) {
      if (applet && applet !== "busybox" && !applet.includes("/")) fs.symlinkSync("busybox", path.join(dir, "bin", applet));
    }
    fs.writeFileSync(path.join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    fs.writeFileSync(path.join(dir, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    const tmp = `${tarFile}.${process.pid}.tmp`;
    await execa("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", dir, "-cf", tmp, "."]);
    fs.renameSync(tmp, tarFile);
    return tarFile;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `docker import` the busybox rootfs as `name` (e.g. busybox:latest) into the daemon on that socket; returns the image id. */
export async function importImage(socketPath: string, name: string): Promise<string> {
  const tar = await buildBusyboxRootfsTar();
  const [docker, ...args] = dockerCliArgs(socketPath);
  const r = await execa(docker!, [...args, "import", "--change", 'CMD ["/bin/sh"]', "-", name], { inputFile: tar, env: { DOCKER_HOST: undefined } });
  return r.stdout.trim();
}

/** Run the docker CLI against a socket; returns stdout (throws with stderr on failure). */
export async function dockerCli(socketPath: string, args: string[]): Promise<string> {
  const [docker, ...prefix] = dockerCliArgs(socketPath);
  const r = await execa(docker!, [...prefix, ...args], { env: { DOCKER_HOST: undefined } });
  return r.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalRegistry {
  port: number;
  /** host:port to prefix image names with */
  address: string;
  /** the registry's storage (rootdirectory), removed by stop() */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Debian's docker-registry on 127.0.0.1:<free port>, storing into a temp dir.
 * Plain http works without --insecure-registry: dockerd treats 127.0.0.0/8 as
 * insecure by default.
 */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const bin = findExecutable("docker-registry");
  if (!bin) throw new Error("docker-registry not installed");
  const dir = fs.mkdtempSync("/tmp/svreg-");
  const port = await freePort();
  const config = path.join(dir, "config.yml");
  fs.writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${path.join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const out = fs.openSync(path.join(dir, "registry.log"), "a");
  const child = spawn(bin, ["serve", config], { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  let exited = false;
  child.on("exit", () => void (exited = true));
  child.on("error", () => void (exited = true));
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && !exited) {
      signal(child.pid, "SIGTERM");
      if (!(await waitPidGone(child.pid, 5000))) signal(child.pid, "SIGKILL");
      await waitPidGone(child.pid, 5000);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (exited || Date.now() > deadline) {
      const log = fs.readFileSync(path.join(dir, "registry.log"), "utf8");
      await stop();
      throw new Error(`docker-registry did not come up on 127.0.0.1:${port}:\n${log.split("\n").slice(-10).join("\n")}`);
    }
    await sleep(20);
  }
  return { port, address: `127.0.0.1:${port}`, dataDir: path.join(dir, "data"), stop };
}

/** Tag `image` as <registry>/<repo> and push it; returns the pushed reference. */
export async function pushToRegistry(socketPath: string, image: string, registry: LocalRegistry | number, repo = image): Promise<string> {
  const address = typeof registry === "number" ? `127.0.0.1:${registry}` : registry.address;
  const ref = `${address}/${repo}`;
  await dockerCli(socketPath, ["tag", image, ref]);
  await dockerCli(socketPath, ["push", ref]);
  return ref;
}

/** State dirs of the services under a test root (SVCMGR_ROOT/var/*). */
function stateDirsUnder(root: string): string[] {
  const varDir = path.join(root, "var");
  try {
    return fs
      .readdirSync(varDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(varDir, d.name));
  } catch {
    return [];
  }
}

/**
 * Leave nothing behind: every dockerd whose pid file lies in a state dir
 * under root (TERM, then KILL), the shims and containers they left, any other
 * process naming the root or an exec root on its command line, the bridges
 * of those state dirs, every mount under the root and the exec roots; then
 * remove the exec roots and the root. Safe to call twice, and on a root that
 * has none of it.
 */
export async function cleanupEverything(root: string, runDir = RUN_DIR): Promise<void> {
  const states = stateDirsUnder(root);
  const execRoots = states.map((s) => execRootFor(runDir, s));
  const errors: string[] = [];

  const dockerds = states
    .map((s) => readPidFile(path.join(s, "docker.pid")))
    .filter((p): p is number => p !== undefined && pidAlive(p) && procComm(p) === "dockerd");
  for (const pid of dockerds) signal(pid, "SIGTERM");
  for (const pid of dockerds) {
    if (!(await waitPidGone(pid, 10_000))) {
      signal(pid, "SIGKILL");
      await waitPidGone(pid, 5000);
    }
  }

  // shims and containers outliving a killed dockerd, container mounts under the root, netns under the exec roots
  for (const e of execRoots) await forceCleanup(quiet, root, e);

  const needles = [root + "/", ...execRoots.map((e) => e + "/")];
  const self = process.pid;
  const strays = allPids().filter((p) => p !== self && procCmdline(p).some((a) => a === root || needles.some((n) => a.includes(n))));
  for (const pid of strays) signal(pid, "SIGKILL");
  for (const pid of strays) await waitPidGone(pid, 5000);

  for (const s of states) {
    try {
      await deleteBridge(quiet, bridgeName(s));
    } catch (e) {
      errors.push(`bridge ${bridgeName(s)}: ${String(e)}`);
    }
  }

  for (const dir of [root, ...execRoots]) {
    for (const mnt of mountsUnder(dir)) {
      const r = await run(quiet, ["umount", mnt], { check: false });
      if (r.exitCode !== 0) await run(quiet, ["umount", "-l", mnt], { check: false });
    }
  }
  // host-wide subnet claims of the root's services
  const claims = path.join(runDir, "subnets");
  for (const name of fs.existsSync(claims) ? fs.readdirSync(claims) : []) {
    let owner: string;
    try {
      owner = fs.readlinkSync(path.join(claims, name));
    } catch {
      continue;
    }
    if (owner.startsWith(root + "/")) fs.rmSync(path.join(claims, name), { force: true });
  }
  for (const dir of [root, ...execRoots]) {
    if (mountsUnder(dir).length > 0) {
      errors.push(`still mounted under ${dir}: ${mountsUnder(dir).join(", ")}`);
      continue; // never rm -rf through a mount
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (errors.length > 0) throw new Error(`cleanup of ${root} incomplete:\n${errors.join("\n")}`);
}

/** Processes, bridges and mounts a test root left on the host (for assertions: all empty after cleanup or stop). */
export async function leftovers(root: string, runDir = RUN_DIR): Promise<{ processes: string[]; bridges: string[]; mounts: string[] }> {
  const states = stateDirsUnder(root);
  const execRoots = states.map((s) => execRootFor(runDir, s));
  const needles = [root + "/", ...execRoots.map((e) => e + "/")];
  const processes = allPids()
    .filter((p) => p !== process.pid && pidAlive(p) && procCmdline(p).some((a) => needles.some((n) => a.includes(n))))
    .map((p) => `${p} ${procCmdline(p).join(" ")}`);
  const bridges: string[] = [];
  for (const s of states) {
    const r = await run(quiet, ["ip", "-br", "link", "show", "dev", bridgeName(s)], { check: false, quiet: true });
    if (r.exitCode === 0) bridges.push(bridgeName(s));
  }
  const mounts = [root, ...execRoots].flatMap((d) => mountsUnder(d));
  return { processes, bridges, mounts };
}
