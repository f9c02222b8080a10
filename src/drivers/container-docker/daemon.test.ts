// The private docker daemon against real dockerd processes: segregation of two
// services, socket permissions, recovery from a killed daemon, the exec-root
// length trap, and a host left exactly as found.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { resolvePaths, stateDir } from "../../util/paths.js";
import { ActionError } from "../../util/errors.js";
import type { LogRecord, Logger } from "../../util/log.js";
import { groupId } from "../../util/group.js";
import { overlaps, parseCidr } from "../../util/ipv4.js";
import { isSelfBindMount, readMountInfo } from "../../util/mountinfo.js";
import { pidAlive, procCmdline, procComm, readPidFile, signal, waitPidGone } from "../../util/proc.js";
import { bridgeName, gatewayOf, stateHash } from "./bridge.js";
import { allocateBridgeCidr, claimBridgeCidr, pickFreeCidr } from "./subnets.js";
import { PrivateDockerDaemon, execRootFor, type PrivateDockerDaemonOptions } from "./daemon.js";
import { createDockerClient } from "./dockerode-engine.js";
import { dockerCliArgs, pinApiVersion } from "./engine.js";
import {
  cleanupEverything,
  dockerCli,
  importImage,
  leftovers,
  makeTempRoot,
  pushToRegistry,
  requireDocker,
  requireRegistry,
  startLocalRegistry,
  testLogger,
} from "../../../test/support/docker-fixture.js";

const LONG = { timeout: 180_000 };

function daemonFor(root: string, svc: string, log: Logger, extra: Partial<PrivateDockerDaemonOptions> & { bridgeCidr: string }): PrivateDockerDaemon {
  const paths = resolvePaths({ SVCMGR_ROOT: root });
  return new PrivateDockerDaemon({
    svc,
    stateDir: stateDir(paths, svc),
    dataDir: path.join(root, "data", svc),
    extraArgs: [],
    runDir: paths.run,
    log,
    ...extra,
  });
}

const messages = (records: LogRecord[]): string[] => records.map((r) => r.msg);

async function assertNothingLeft(root: string): Promise<void> {
  assert.deepEqual(await leftovers(root), { processes: [], bridges: [], mounts: [] });
}

/** The containerd started by a dockerd (dockerd starts its own when given no --containerd). */
function containerdChildOf(dockerdPid: number): number | undefined {
  for (const d of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    const pid = Number(d);
    if (procComm(pid) !== "containerd") continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === dockerdPid) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

void describe("pure helpers", () => {
  void test("pickFreeCidr skips subnets used by services and host interfaces", () => {
    assert.equal(pickFreeCidr([]), "172.30.0.0/24");
    const used = ["172.30.0.0/24", "172.30.1.7/24", "10.0.0.0/8"].map((c) => parseCidr(c)!);
    assert.equal(pickFreeCidr(used), "172.30.2.0/24");
    assert.equal(pickFreeCidr([parseCidr("172.30.0.0/16")!]), undefined);
    assert.equal(pickFreeCidr([parseCidr("172.16.0.0/12")!]), undefined);
    assert.ok(overlaps(parseCidr("172.30.4.0/24")!, parseCidr("172.30.0.0/22")!) === false);
    assert.ok(overlaps(parseCidr("172.30.3.0/24")!, parseCidr("172.30.0.0/22")!));
  });

  void test("gatewayOf gives the first address and refuses nonsense", () => {
    assert.equal(gatewayOf("172.30.9.0/24"), "172.30.9.1/24");
    assert.equal(gatewayOf("10.1.0.0/16"), "10.1.0.1/16");
    for (const bad of ["172.30.9.0", "300.1.1.0/24", "172.30.9.0/31", "abc/24", "1.2.3.4/4"]) {
      assert.throws(() => gatewayOf(bad), ActionError, bad);
    }
  });

  void test("API version pinned to min(daemon, 1.41)", () => {
    assert.equal(pinApiVersion("1.41"), "1.41");
    assert.equal(pinApiVersion("1.43"), "1.41");
    assert.equal(pinApiVersion("1.40"), "1.40");
    assert.equal(pinApiVersion("1.9"), "1.9");
    assert.equal(pinApiVersion("2.0"), "1.41");
  });

  void test("bridge name and exec root are short and deterministic whatever the names", () => {
    const long = `/tmp/${"r".repeat(120)}/var/${"s".repeat(63)}`;
    assert.equal(bridgeName(long), bridgeName(`${long}/`));
    assert.notEqual(bridgeName(long), bridgeName(`${long}x`));
    assert.match(bridgeName(long), /^svc[0-9a-f]{8}$/);
    assert.ok(bridgeName(long).length <= 15);
    assert.equal(execRootFor("/run/svcmgr", long), `/run/svcmgr/${stateHash(long)}`);
    assert.ok(`${execRootFor("/run/svcmgr", long)}/containerd/containerd-debug.sock`.length <= 104);
  });

  void test("the command line and docker CLI prefix", () => {
    const d = new PrivateDockerDaemon({
      svc: "app1.dev",
      stateDir: "/var/lib/svcmgr/app1.dev",
      dataDir: "/opt/app1.dev",
      socketGroup: "root",
      bridgeCidr: "172.30.3.0/24",
      extraArgs: ["--ip", "37.59.71.25"],
      runDir: "/run/svcmgr",
      log: testLogger().log,
    });
    const h = stateHash("/var/lib/svcmgr/app1.dev");
    assert.deepEqual(d.commandLine(), [
      "dockerd",
      "--host=unix:///var/lib/svcmgr/app1.dev/docker.sock",
      "--pidfile=/var/lib/svcmgr/app1.dev/docker.pid",
      "--data-root=/opt/app1.dev",
      `--exec-root=/run/svcmgr/${h}`,
      `--bridge=svc${h}`,
      "--iptables=false",
      "--ip-masq=false",
      "--group=root",
      "--ip",
      "37.59.71.25",
    ]);
    assert.deepEqual(dockerCliArgs(d.socketPath), ["docker", "-H", "unix:///var/lib/svcmgr/app1.dev/docker.sock"]);
    assert.throws(() => d.client(), ActionError);
  });

  void test("a self-bind of the data root is told apart from a filesystem mounted there", () => {
    const dir = makeTempRoot();
    try {
      const info = path.join(dir, "mountinfo");
      fs.writeFileSync(
        info,
        [
          "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
          "42 27 254:0 /tmp/x/data /tmp/x/data rw,relatime shared:1 - ext4 /dev/vda rw",
          "50 27 7:0 / /opt/app1 rw,relatime - ext4 /dev/loop0 rw",
          "51 50 7:0 /docker /opt/app1/docker rw,relatime shared:2 - ext4 /dev/loop0 rw",
          "60 27 8:1 / /srv/with\\040space rw - ext4 /dev/sda1 rw",
          "",
        ].join("\n"),
      );
      const m = readMountInfo(info);
      assert.ok(isSelfBindMount("/tmp/x/data", m));
      assert.ok(isSelfBindMount("/opt/app1/docker", m));
      assert.ok(!isSelfBindMount("/opt/app1", m), "a user's filesystem is never taken for dockerd's bind");
      assert.ok(!isSelfBindMount("/srv/with space", m));
      assert.ok(!isSelfBindMount("/nowhere", m));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void test("the client factory ignores DOCKER_HOST and friends", () => {
    const saved = { h: process.env.DOCKER_HOST, c: process.env.DOCKER_CERT_PATH };
    process.env.DOCKER_HOST = "tcp://192.0.2.1:2376";
    process.env.DOCKER_CERT_PATH = "/nonexistent";
    try {
      const c = createDockerClient("/tmp/nowhere/docker.sock", "1.41");
      const modem = c.modem as { socketPath?: unknown; host?: unknown; protocol?: unknown; version?: unknown };
      assert.equal(modem.socketPath, "/tmp/nowhere/docker.sock");
      assert.equal(modem.host, undefined);
      assert.equal(modem.protocol, "http");
      assert.equal(modem.version, "v1.41");
      assert.equal(process.env.DOCKER_HOST, "tcp://192.0.2.1:2376", "the environment is restored");
    } finally {
      if (saved.h === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved.h;
      if (saved.c === undefined) delete process.env.DOCKER_CERT_PATH;
      else process.env.DOCKER_CERT_PATH = saved.c;
    }
  });
});

void describe("automatic bridge subnets across roots", () => {
  // A private run dir: the host's /run/svcmgr/subnets is shared with whatever else runs here.
  const setup = (): { dir: string; runDir: string; root: (n: string) => { var: string; state: (svc: string) => string } } => {
    const dir = makeTempRoot();
    const runDir = path.join(dir, "run");
    return { dir, runDir, root: (n) => ({ var: path.join(dir, n, "var"), state: (svc) => path.join(dir, n, "var", svc) }) };
  };

  void test("two roots never pick the same subnet; a deleted root's subnet is free again", async () => {
    const { dir, runDir, root } = setup();
    try {
      const [a, b] = [root("a"), root("b")];
      const log = testLogger("x").log;
      const [ca, cb] = await Promise.all([allocateBridgeCidr(a.var, a.state("app1.dev"), log, runDir), allocateBridgeCidr(b.var, b.state("app1.dev"), log, runDir)]);
      assert.notEqual(ca, cb, "same service name in two roots, at the same time");
      assert.equal(fs.readlinkSync(path.join(runDir, "subnets", ca.replace("/", "-"))), a.state("app1.dev"), "claimed host-wide by its state dir");
      assert.equal(await allocateBridgeCidr(b.var, b.state("app1.dev"), log, runDir), cb, "kept");
      fs.rmSync(path.join(dir, "a"), { recursive: true });
      const cb2 = await allocateBridgeCidr(b.var, b.state("app2.dev"), log, runDir);
      assert.equal(cb2, ca, "the deleted root's subnet is taken again, its stale claim replaced");
      assert.equal(fs.readlinkSync(path.join(runDir, "subnets", ca.replace("/", "-"))), b.state("app2.dev"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  void test("after the claims are lost (reboot), a kept subnet held by another root moves; a configured one wins", async () => {
    const { dir, runDir, root } = setup();
    try {
      const [a, b, c] = [root("a"), root("b"), root("c")];
      const { log, records } = testLogger("app1.dev");
      const ca = await allocateBridgeCidr(a.var, a.state("app1.dev"), log, runDir);
      // root b kept the same subnet while the claims were gone (e.g. chosen before a reboot)
      fs.mkdirSync(b.state("app1.dev"), { recursive: true });
      fs.writeFileSync(path.join(b.state("app1.dev"), "bridge.cidr"), `${ca}\n`);
      const cb = await allocateBridgeCidr(b.var, b.state("app1.dev"), log, runDir);
      assert.notEqual(cb, ca);
      assert.equal(fs.readFileSync(path.join(b.state("app1.dev"), "bridge.cidr"), "utf8").trim(), cb, "the new subnet is kept");
      assert.ok(messages(records).some((m) => m.includes(`bridge subnet ${ca} is now held by ${a.state("app1.dev")}`)), messages(records).join("\n"));
      // a service of root c configured with b's subnet claims it when its daemon starts: b's next allocation moves
      fs.mkdirSync(c.state("web"), { recursive: true });
      fs.writeFileSync(path.join(c.state("web"), "bridge.cidr"), `${cb}\n`);
      claimBridgeCidr(runDir, c.state("web"), cb);
      const cb2 = await allocateBridgeCidr(b.var, b.state("app1.dev"), log, runDir);
      assert.ok(cb2 !== cb && cb2 !== ca, cb2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

void describe("private dockerd", () => {
  void test("two services side by side: own daemon, containerd, data root, bridge, socket", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const paths = resolvePaths({ SVCMGR_ROOT: root });
      const la = testLogger("app1.dev");
      const lb = testLogger("app1.prd");
      const cidrA = await allocateBridgeCidr(paths.var, stateDir(paths, "app1.dev"), la.log, paths.run);
      const cidrB = await allocateBridgeCidr(paths.var, stateDir(paths, "app1.prd"), lb.log, paths.run);
      assert.notEqual(cidrA, cidrB);
      assert.equal(await allocateBridgeCidr(paths.var, stateDir(paths, "app1.dev"), la.log, paths.run), cidrA, "kept in the state dir");
      const a = daemonFor(root, "app1.dev", la.log, { bridgeCidr: cidrA });
      const b = daemonFor(root, "app1.prd", lb.log, { bridgeCidr: cidrB, socketGroup: "daemon", socketMode: 0o640 });
      assert.equal(await a.isRunning(), false);

      const t0 = Date.now();
      await Promise.all([a.start(), b.start(), a.start()]);
      t.diagnostic(`both daemons answered /_ping after ${Date.now() - t0} ms`);
      assert.ok(await a.isRunning());
      assert.ok(await b.isRunning());

      const pa = readPidFile(a.pidFile)!;
      const pb = readPidFile(b.pidFile)!;
      assert.notEqual(pa, pb);
      assert.equal(procComm(pa), "dockerd");
      assert.ok(messages(la.records).includes("starting docker daemon"));
      const cmdLine = messages(la.records).find((m) => m.includes("--data-root="));
      assert.ok(cmdLine?.includes(`--exec-root=${a.execRoot}`) && cmdLine.includes(`>>${a.logFile} 2>&1`), cmdLine);
      assert.equal(messages(la.records).filter((m) => m === "starting docker daemon").length, 1, "concurrent start() calls start one daemon");
      assert.ok(fs.statSync(a.logFile).size > 0, "dockerd writes its output to dockerd.log");

      // each dockerd runs its own containerd, with its socket under the short exec root
      for (const d of [a, b]) {
        const pid = readPidFile(d.pidFile)!;
        const ctr = containerdChildOf(pid);
        assert.ok(ctr !== undefined, "a containerd child");
        assert.ok(procCmdline(ctr).join(" ").includes(d.execRoot));
        assert.ok(fs.statSync(path.join(d.execRoot, "containerd", "containerd.sock")).isSocket());
      }

      // sockets: group and mode as configured
      const sa = fs.statSync(a.socketPath);
      const sb = fs.statSync(b.socketPath);
      assert.equal(sa.gid, groupId(a.socketGroup));
      assert.equal(sa.mode & 0o777, 0o660);
      assert.equal(sb.gid, groupId("daemon"));
      assert.equal(sb.mode & 0o777, 0o640);

      // bridges: one each, with the service's gateway, and docker0 never created
      const brA = await dockerCli(a.socketPath, ["network", "inspect", "bridge", "--format", "{{json .Options}} {{range .IPAM.Config}}{{.Subnet}}{{end}}"]);
      assert.ok(brA.includes(a.bridge) && brA.includes(cidrA), brA);
      for (const [d, cidr] of [[a, cidrA], [b, cidrB]] as const) {
        const addr = fs.readFileSync(`/sys/class/net/${d.bridge}/operstate`, "utf8");
        assert.ok(addr.length > 0);
        assert.equal(fs.readFileSync(path.join(d.stateDir, "bridge.cidr"), "utf8").trim(), cidr);
      }

      // images: imported into one daemon only
      const id = await importImage(a.socketPath, "busybox:latest");
      assert.match(id, /^sha256:/);
      const ca = a.client();
      const cb = b.client();
      assert.equal((await ca.listImages()).length, 1);
      assert.equal((await cb.listImages()).length, 0, "the other service does not see the image");
      assert.ok(fs.readdirSync(path.join(root, "data", "app1.dev", "image")).length > 0);
      assert.equal((await ca.version()).ApiVersion, "1.41");

      // a container of A lives on A's bridge
      const ip = await dockerCli(a.socketPath, ["run", "--rm", "busybox:latest", "ip", "-4", "-o", "addr", "show", "eth0"]);
      const gw = gatewayOf(cidrA).split("/")[0]!;
      assert.ok(ip.includes(gw.replace(/\.1$/, ".")), ip);

      const t1 = Date.now();
      await Promise.all([a.stop(), b.stop()]);
      t.diagnostic(`both daemons stopped in ${Date.now() - t1} ms`);
      assert.ok(messages(la.records).includes("no more container handled by docker daemon. shut it down"));
      assert.ok(!pidAlive(pa) && !pidAlive(pb));
      for (const d of [a, b]) {
        assert.ok(!fs.existsSync(d.socketPath) && !fs.existsSync(d.pidFile));
        assert.ok(!fs.existsSync(d.execRoot), "exec root removed after a clean stop");
        assert.equal(await d.isRunning(), false);
      }
      await assertNothingLeft(root);
      await a.stop(); // stopping a stopped daemon is a no-op
    } finally {
      await cleanupEverything(root);
    }
    await assertNothingLeft(root);
  });

  void test("start() is idempotent and isRunning ignores a stale pid file", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const l = testLogger("svc1");
      const d = daemonFor(root, "svc1", l.log, { bridgeCidr: "172.30.201.0/24" });
      fs.mkdirSync(d.stateDir, { recursive: true });
      fs.writeFileSync(d.pidFile, `${process.pid}\n`); // a live pid that is not dockerd
      fs.writeFileSync(d.socketPath, "");
      assert.equal(await d.isRunning(), false);
      await d.start();
      const pid = readPidFile(d.pidFile)!;
      assert.notEqual(pid, process.pid);
      await d.start();
      assert.equal(readPidFile(d.pidFile), pid);
      assert.equal(messages(l.records).filter((m) => m === "starting docker daemon").length, 1);
      await d.stop();
      await assertNothingLeft(root);
    } finally {
      await cleanupEverything(root);
    }
  });

  void test("after SIGKILL of dockerd: isRunning is false, start() recovers, stop() leaves nothing", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const l = testLogger("svc1");
      const d = daemonFor(root, "svc1", l.log, { bridgeCidr: "172.30.202.0/24" });
      await d.start();
      const pid = readPidFile(d.pidFile)!;
      const ctr = containerdChildOf(pid);
      signal(pid, "SIGKILL");
      assert.ok(await waitPidGone(pid, 5000));
      if (ctr !== undefined) assert.ok(await waitPidGone(ctr, 5000), "containerd dies with its dockerd");
      assert.ok(fs.existsSync(d.pidFile) && fs.existsSync(d.socketPath), "pid file and socket left behind");
      assert.ok(isSelfBindMount(d.dataDir), "the data-root self-bind is left behind too");
      assert.equal(await d.isRunning(), false);

      await d.start();
      const pid2 = readPidFile(d.pidFile)!;
      assert.notEqual(pid2, pid);
      assert.ok(await d.isRunning());
      await importImage(d.socketPath, "busybox:latest");
      assert.equal((await d.client().listImages()).length, 1);

      await d.stop();
      assert.ok(!isSelfBindMount(d.dataDir), `stop() unmounts the data root dockerd no longer unmounts itself; its log:\n${l.records.map((r) => r.msg).join("\n")}`);
      await assertNothingLeft(root);
    } finally {
      await cleanupEverything(root);
    }
  });

  void test("stop() escalates to KILL after its timeout and cleans up the containers left running", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const l = testLogger("svc1");
      const d = daemonFor(root, "svc1", l.log, { bridgeCidr: "172.30.203.0/24" });
      await d.start();
      await importImage(d.socketPath, "busybox:latest");
      // sleep as pid 1 ignores TERM: dockerd's shutdown waits for it
      await dockerCli(d.socketPath, ["run", "-d", "--name", "sleeper", "busybox:latest", "sleep", "600"]);
      const t0 = Date.now();
      await d.stop(300);
      t.diagnostic(`stop with KILL after 300 ms took ${Date.now() - t0} ms`);
      assert.ok(messages(l.records).some((m) => m.startsWith("kill -KILL ")));
      await assertNothingLeft(root);
      assert.deepEqual(
        fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && procCmdline(Number(p)).join(" ") === "sleep 600"),
        [],
        "the container's process is gone",
      );
    } finally {
      await cleanupEverything(root);
    }
  });

  void test("a 63-character service name under a long SVCMGR_ROOT still starts (short exec root)", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const base = makeTempRoot();
    const svc = `${"a".repeat(30)}.${"b".repeat(32)}`;
    assert.equal(svc.length, 63);
    // as long as the root may be with the socket still within the 107 bytes of a unix socket path
    const root = path.join(base, "r".repeat(107 - `${base}/`.length - `/var/${svc}/docker.sock`.length));
    try {
      const l = testLogger(svc);
      const d = daemonFor(root, svc, l.log, { bridgeCidr: "172.30.204.0/24" });
      assert.equal(d.socketPath.length, 107);
      assert.ok(`${d.stateDir}/exec/containerd/containerd-debug.sock`.length > 104, "an exec root under the state dir would break containerd");
      await d.start();
      assert.ok(await d.isRunning());
      await d.stop();
      await assertNothingLeft(root);
    } finally {
      await cleanupEverything(root);
      await cleanupEverything(base);
    }
  });

  void test("a socket path over 107 bytes is refused before anything changes", async (t) => {
    if (!requireDocker(t)) return;
    const base = makeTempRoot();
    const root = path.join(base, "r".repeat(80));
    try {
      const d = daemonFor(root, "app1.dev", testLogger().log, { bridgeCidr: "172.30.205.0/24" });
      await assert.rejects(d.start(), (e: unknown) => e instanceof ActionError && /over the 107/.test(e.message));
      await assertNothingLeft(root);
      assert.ok(!fs.existsSync(d.stateDir));
    } finally {
      await cleanupEverything(base);
    }
  });

  void test("a dockerd that cannot start: ActionError quoting dockerd.log, nothing left behind", LONG, async (t) => {
    if (!requireDocker(t)) return;
    const root = makeTempRoot();
    try {
      const l = testLogger("svc1");
      // fails after dockerd has bind-mounted its data root and started containerd
      const d = daemonFor(root, "svc1", l.log, { bridgeCidr: "172.30.206.0/24", extraArgs: ["--storage-driver=nosuchdriver"] });
      await assert.rejects(d.start(), (e: unknown) => {
        assert.ok(e instanceof ActionError);
        assert.match(e.message, /docker daemon exited with code 1/);
        assert.match(e.message, /last lines of .*dockerd\.log:\n.*error initializing graphdriver/s);
        return true;
      });
      assert.ok(!isSelfBindMount(d.dataDir));
      assert.equal(await d.isRunning(), false);
      await assertNothingLeft(root);
    } finally {
      await cleanupEverything(root);
    }
  });

  void test("images travel between services through a local registry on 127.0.0.1 (no --insecure-registry)", LONG, async (t) => {
    if (!requireRegistry(t)) return;
    const root = makeTempRoot();
    const registry = await startLocalRegistry();
    try {
      const a = daemonFor(root, "app2.dev", testLogger().log, { bridgeCidr: "172.30.207.0/24" });
      const b = daemonFor(root, "app2.prd", testLogger().log, { bridgeCidr: "172.30.208.0/24" });
      await Promise.all([a.start(), b.start()]);
      await importImage(a.socketPath, "busybox:latest");
      const ref = await pushToRegistry(a.socketPath, "busybox:latest", registry, "team/busybox:1");
      await dockerCli(b.socketPath, ["pull", ref]);
      const tags = (await b.client().listImages()).flatMap((i) => i.RepoTags ?? []);
      assert.deepEqual(tags, [ref]);
      await Promise.all([a.stop(), b.stop()]);
      await assertNothingLeft(root);
    } finally {
      await registry.stop();
      await cleanupEverything(root);
    }
  });
});
