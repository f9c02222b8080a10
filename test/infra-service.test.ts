// The second tutorial's "Service Startup" on real parts: a service address on
// a veth whose peer lives in a network namespace of the test, two loop disks,
// an ext4 filesystem with a nested one holding the private daemon's data dir
// (docker_daemon_args = --ip <service address>), and three containers whose
// published ports answer on the service address only.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { CliRoot, type CliResult } from "./support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "./support/docker-fixture.js";
import { startImageRegistry, type ImageRegistry } from "./support/registry-images.js";
import { createTestNet, deleteTestNet, entries, hostAddresses, loopOf, loopsUnder, releaseDisks, sh, httpGetInNetns, type TestNet } from "./support/infra.js";
import { findExecutable } from "../src/util/which.js";
import { mountsUnder } from "../src/util/mountinfo.js";
import { pidAlive, procCmdline, readPidFile } from "../src/util/proc.js";

const TOOLS = ["dockerd", "docker", "busybox", "docker-registry", "ip", "losetup", "blkid", "mkfs.ext4", "e2fsck", "mount", "umount"];
const missing = TOOLS.filter((p) => !findExecutable(p));
const skip = !isRoot() ? "needs root (veth pairs, network namespaces, loop devices, mounts, dockerd)" : missing.length ? `not installed: ${missing.join(", ")} (scripts/setup.sh installs them)` : false;
if (skip) console.log(`# skipping the infra service tests: ${skip}`);

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

function ok(res: CliResult, what: string): string {
  assert.equal(res.code, 0, `${what} failed (exit ${res.code}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** Index of the first line matching re in out, asserting there is one. */
function lineIndex(out: string, re: RegExp, what: string): number {
  const i = out.split("\n").findIndex((l) => re.test(l));
  assert.ok(i >= 0, `no line for ${what} (${re}) in:\n${out}`);
  return i;
}

/** The steps appear in this order in out. */
function assertOrder(out: string, steps: [string, RegExp][]): void {
  const at = steps.map(([what, re]) => [what, lineIndex(out, re, what)] as const);
  for (let i = 1; i < at.length; i++) {
    assert.ok(at[i]![1] > at[i - 1]![1], `${at[i]![0]} (line ${at[i]![1]}) comes after ${at[i - 1]![0]} (line ${at[i - 1]![1]}):\n${out}`);
  }
}

describe("second tutorial on real parts: ip, loop disks, nested ext4 filesystems, containers on the service address", { skip, timeout: 15 * 60_000 }, () => {
  const svc = "app.opensvc.com";
  const SVC = esc(svc.toUpperCase());
  let r: CliRoot;
  let net: TestNet;
  let images: ImageRegistry;
  let img: string;
  // paths, set once the root exists
  let mnt1 = "";
  let mnt2 = "";
  let disk1 = "";
  let disk2 = "";

  /** Nothing of the service is left on the host: address, mounts, loop devices, daemon, bridge. */
  async function assertAllDown(what: string): Promise<void> {
    assert.deepEqual(hostAddresses().get(net.hostIf), [net.hostAddr], `${what}: only the test's own address is left on ${net.hostIf}`);
    assert.deepEqual(mountsUnder(r.root), [], `${what}: nothing mounted under the root`);
    assert.deepEqual(loopsUnder(r.root), [], `${what}: no loop device attached to the disk files`);
    const pid = readPidFile(r.file(`var/${svc}/docker.pid`));
    assert.ok(pid === undefined || !pidAlive(pid), `${what}: no dockerd left`);
    assert.deepEqual(await leftovers(r.root), { processes: [], bridges: [], mounts: [] }, `${what}: no process, bridge or mount left`);
  }

  before(async () => {
    r = new CliRoot("svti-");
    mnt1 = r.file("opt/svc");
    mnt2 = r.file("opt/svc/appdata");
    disk1 = r.file("disk1.img");
    disk2 = r.file("disk2.img");
    net = createTestNet();
    images = await startImageRegistry([{ ref: "busybox:latest" }]);
    img = images.image("busybox:latest");
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(
      r.file(`etc/${svc}.conf`),
      [
        "[DEFAULT]",
        "app = OSVCLAB",
        "service_type = DEV",
        `docker_data_dir = ${mnt2}`,
        `docker_daemon_args = --ip ${net.serviceAddr}`,
        "",
        "[container#1]",
        "type = docker",
        `run_image = ${img}`,
        "run_command = sleep 3600",
        "run_args = --init",
        "",
        "[container#2]",
        "type = docker",
        `run_image = ${img}`,
        "run_command = httpd -f -p 8000 -h /www",
        `run_args = --init -v ${mnt1}/www:/www:ro -p 8080:8000`,
        "",
        "[container#3]",
        "type = docker",
        `run_image = ${img}`,
        "run_command = sh -c 'echo started > /vol1/log; exec sleep 3600'",
        `run_args = --init -v ${mnt1}/vol1:/vol1:rw -p 42222:22`,
        "",
        "[ip#1]",
        `ipdev = ${net.hostIf}`,
        `ipname = ${net.serviceAddr}`,
        "",
        "[disk#1]",
        "type = loop",
        `file = ${disk1}`,
        "size = 200m",
        "",
        "[disk#2]",
        "type = loop",
        `file = ${disk2}`,
        "size = 200m",
        "",
        "[fs#1]",
        "mnt_opt = rw",
        `mnt = ${mnt1}`,
        "dev = {disk#1.exposed_dev}",
        "type = ext4",
        "",
        "[fs#2]",
        "mnt_opts = rw",
        `mnt = ${mnt2}`,
        "dev = {disk#2.exposed_dev}",
        "type = ext4",
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    const errors: string[] = [];
    try {
      await images?.stop();
    } catch (e) {
      errors.push(`registry: ${String(e)}`);
    }
    if (r) {
      try {
        await cleanupEverything(r.root); // daemons, containers, bridges, mounts under the root
      } catch (e) {
        errors.push(String(e));
      }
      const left = releaseDisks(r.root); // umount -l what resisted, losetup -d the loop devices
      if (left.length) errors.push(...left);
      r.cleanup();
    }
    if (net) errors.push(...deleteTestNet(net));
    assert.deepEqual(errors, [], "clean-up left nothing behind");
  });

  test("provision creates the loop files and both filesystems; the image is pulled into the daemon on fs#2", () => {
    ok(r.run(["-s", svc, "validate", "config"]), "validate config");
    const out = ok(r.run(["-s", svc, "provision", "--rid", "ip,disk,fs"]), "provision");
    assert.match(out, new RegExp(`${SVC}\\.DISK#1 +truncate -s 209715200 ${esc(disk1)}\n`));
    assert.match(out, new RegExp(`${SVC}\\.DISK#2 +truncate -s 209715200 ${esc(disk2)}\n`));
    const dev1 = loopOf(disk1);
    const dev2 = loopOf(disk2);
    assert.ok(dev1 && dev2, "both loop files are attached");
    assert.match(out, new RegExp(`${SVC}\\.FS#1 +mkfs\\.ext4 ${esc(dev1)}\n`));
    assert.match(out, new RegExp(`${SVC}\\.FS#2 +mkfs\\.ext4 ${esc(dev2)}\n`));
    assert.equal(fs.statSync(disk1).size, 200 * 1024 * 1024);
    assert.deepEqual(mountsUnder(r.root), [mnt2, mnt1]);
    assert.match(sh(["blkid", "-p", "-o", "value", "-s", "TYPE", dev1]), /^ext4$/m);

    // what the containers serve and write lives on fs#1
    fs.mkdirSync(`${mnt1}/www`);
    fs.writeFileSync(`${mnt1}/www/index.html`, "hello from container#2 on fs#1\n");
    fs.mkdirSync(`${mnt1}/vol1`);
    // the tutorial's "docker images are present in the local repository"
    ok(r.run(["-s", svc, "docker", "pull", img]), "docker pull");
    const listed = ok(r.run(["-s", svc, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]), "docker images");
    assert.equal(listed, `${img}\n`);
    assert.ok(entries(mnt2).includes("image"), "the daemon's data root is on fs#2");
  });

  test("stop takes the provisioned parts down; the data stays on the disks, not in the mount points", async () => {
    const out = ok(r.run(["-s", svc, "stop"]), "stop");
    assert.match(out, /no more container handled by docker daemon\. shut it down/);
    assertOrder(out, [
      ["fs#2 umount", new RegExp(`\\.FS#2 +umount ${esc(mnt2)}$`)],
      ["fs#1 umount", new RegExp(`\\.FS#1 +umount ${esc(mnt1)}$`)],
      ["disk#2 detach", /\.DISK#2 +losetup -d \/dev\/loop\d+$/],
      ["disk#1 detach", /\.DISK#1 +losetup -d \/dev\/loop\d+$/],
      ["ip#1 del", new RegExp(`\\.IP#1 +ip addr del ${esc(net.serviceAddr)}/24 dev ${net.hostIf}$`)],
    ]);
    await assertAllDown("after stop");
    assert.deepEqual(entries(mnt1), [], "fs#1's mount point is empty once unmounted");
  });

  test("start brings it all up in order: ip → disk → fs#1 → fs#2 → containers; the port answers on the service address", async () => {
    const out = ok(r.run(["-s", svc, "start"]), "start");
    const dev1 = loopOf(disk1)!;
    const dev2 = loopOf(disk2)!;
    assert.ok(dev1 && dev2, "both disks attached");
    assertOrder(out, [
      ["ip#1 availability check", new RegExp(`\\.IP#1 +checking ${esc(net.serviceAddr)} availability$`)],
      ["ip#1 add", new RegExp(`\\.IP#1 +ip addr add ${esc(net.serviceAddr)}/24 dev ${net.hostIf}$`)],
      ["disk#1 losetup", new RegExp(`\\.DISK#1 +losetup --find --show ${esc(disk1)}$`)],
      ["disk#2 losetup", new RegExp(`\\.DISK#2 +losetup --find --show ${esc(disk2)}$`)],
      ["fs#1 e2fsck", new RegExp(`\\.FS#1 +e2fsck -p ${esc(dev1)}$`)],
      ["fs#1 mount", new RegExp(`\\.FS#1 +mount -t ext4 -o rw ${esc(dev1)} ${esc(mnt1)}$`)],
      ["fs#2 e2fsck", new RegExp(`\\.FS#2 +e2fsck -p ${esc(dev2)}$`)],
      ["fs#2 mount", new RegExp(`\\.FS#2 +mount -t ext4 -o rw ${esc(dev2)} ${esc(mnt2)}$`)],
      ["daemon start", new RegExp(`${SVC}\\.CONTAINER#1 starting docker daemon$`)],
      ["container#1", /\.CONTAINER#1 docker -H unix:\/\/\S+ run -d --name=app\.opensvc\.com\.container\.1 /],
      ["container#1 operational", /\.CONTAINER#1 wait for container operational$/],
      ["container#2", new RegExp(`\\.CONTAINER#2 docker -H unix://\\S+ run -d --name=app\\.opensvc\\.com\\.container\\.2 .* -p 8080:8000 ${esc(img)} httpd -f -p 8000 -h /www$`)],
      ["container#3", /\.CONTAINER#3 docker -H unix:\/\/\S+ run -d --name=app\.opensvc\.com\.container\.3 /],
    ]);
    assert.doesNotMatch(out, /mkfs|truncate/, "a start formats and creates nothing");
    assert.ok(hostAddresses().get(net.hostIf)?.includes(net.serviceAddr), "the service address is on the test interface");

    const pid = readPidFile(r.file(`var/${svc}/docker.pid`));
    assert.ok(pid !== undefined && pidAlive(pid), "the private daemon runs");
    const argv = procCmdline(pid).join(" ");
    assert.match(argv, new RegExp(`--data-root[= ]${esc(mnt2)}(?: |$)`));
    assert.match(argv, new RegExp(`--ip[= ]${esc(net.serviceAddr)}(?: |$)`));

    // a client on the other side of the veth reaches container#2 through the service address
    assert.equal(httpGetInNetns(net.netns, `http://${net.serviceAddr}:8080/index.html`), "hello from container#2 on fs#1\n");
    const res = await fetch(`http://${net.serviceAddr}:8080/index.html`);
    assert.equal(await res.text(), "hello from container#2 on fs#1\n");
    // as in the tutorial's docker ps: the published ports are bound to the service address
    const ps = ok(r.run(["-s", svc, "docker", "ps", "--format", "{{.Names}} {{.Ports}}"]), "docker ps").trim().split("\n").map((l) => l.trimEnd()).sort();
    assert.deepEqual(ps, [
      "app.opensvc.com.container.1",
      `app.opensvc.com.container.2 ${net.serviceAddr}:8080->8000/tcp`,
      `app.opensvc.com.container.3 ${net.serviceAddr}:42222->22/tcp`,
    ]);
    assert.equal(fs.readFileSync(`${mnt1}/vol1/log`, "utf8"), "started\n", "container#3 wrote on fs#1");
  });

  test("print status shows every resource up, in the tutorial's layout", () => {
    const dev1 = loopOf(disk1)!;
    const dev2 = loopOf(disk2)!;
    const tree = ok(r.run(["print", "status"], { as: svc }), "print status").split("\n");
    const ids = ok(r.run(["-s", svc, "docker", "ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.ID}}"]), "docker ps").trim().split("\n");
    const id = (n: number): string => ids.find((l) => l.startsWith(`${svc}.container.${n} `))!.split(" ")[1]!.slice(0, 12);
    assert.deepEqual(tree, [
      svc,
      "overall                   up",
      "|- avail                  up",
      `|  |- container#1    .... up       ${id(1)}@${img}`,
      `|  |- container#2    .... up       ${id(2)}@${img}`,
      `|  |- container#3    .... up       ${id(3)}@${img}`,
      `|  |- disk#1         .... up       ${disk1}`,
      `|  |- disk#2         .... up       ${disk2}`,
      `|  |- fs#1           .... up       ${dev1}@${mnt1}`,
      `|  |- fs#2           .... up       ${dev2}@${mnt2}`,
      `|  '- ip#1           .... up       ${net.serviceAddr}@${net.hostIf}`,
      "|- sync                   n/a",
      "'- hb                     n/a",
      "",
    ]);
  });

  test("a second start leaves everything alone and says so", () => {
    const out = ok(r.run(["-s", svc, "start"]), "start again");
    assert.match(out, new RegExp(`\\.IP#1 +${esc(net.serviceAddr)} is already up on ${net.hostIf}\n`));
    assert.match(out, new RegExp(`\\.DISK#1 +${esc(disk1)} is already up on /dev/loop\\d+\n`));
    assert.match(out, new RegExp(`\\.FS#2 +fs\\(/dev/loop\\d+ ${esc(mnt2)}\\) is already mounted\n`));
    assert.match(out, /\.CONTAINER#3 container app\.opensvc\.com\.container\.3 is already up\n/);
    assert.doesNotMatch(out, /ip addr add|losetup --find|mount -t| run -d | start [0-9a-f]{12}/);
  });

  test("stop takes it all down in the exact reverse order and leaves no address, mount, loop device or daemon", async () => {
    const out = ok(r.run(["-s", svc, "stop"]), "stop");
    assertOrder(out, [
      ["container#3 stop", /\.CONTAINER#3 docker -H unix:\/\/\S+ stop [0-9a-f]{12}$/],
      ["container#2 stop", /\.CONTAINER#2 docker -H unix:\/\/\S+ stop [0-9a-f]{12}$/],
      ["container#1 stop", /\.CONTAINER#1 docker -H unix:\/\/\S+ stop [0-9a-f]{12}$/],
      ["daemon shut down", /\.CONTAINER#1 no more container handled by docker daemon\. shut it down$/],
      ["fs#2 umount", new RegExp(`\\.FS#2 +umount ${esc(mnt2)}$`)],
      ["fs#1 umount", new RegExp(`\\.FS#1 +umount ${esc(mnt1)}$`)],
      ["disk#2 detach", /\.DISK#2 +losetup -d \/dev\/loop\d+$/],
      ["disk#1 detach", /\.DISK#1 +losetup -d \/dev\/loop\d+$/],
      ["ip#1 del", new RegExp(`\\.IP#1 +ip addr del ${esc(net.serviceAddr)}/24 dev ${net.hostIf}$`)],
    ]);
    await assertAllDown("after stop");
    const tree = ok(r.run(["-s", svc, "print", "status"]), "print status");
    assert.match(tree, /^overall                   down$/m);
    assert.match(tree, new RegExp(`^\\|  \\|- fs#1           \\.\\.\\.\\. down     \\{disk#1\\.exposed_dev\\}@${esc(mnt1)}$`, "m"));
    assert.match(tree, new RegExp(`^\\|  '- ip#1           \\.\\.\\.\\. down     ${esc(net.serviceAddr)}@${net.hostIf}$`, "m"));
  });

  test("the address already held on the other side of the link: start exits 1 before touching anything", async () => {
    sh(["ip", "netns", "exec", net.netns, "ip", "addr", "add", `${net.serviceAddr}/24`, "dev", net.peerIf]);
    try {
      const res = r.run(["-s", svc, "start"]);
      assert.equal(res.code, 1, `start must fail:\n${res.stdout}\n${res.stderr}`);
      const all = res.stdout + res.stderr;
      assert.match(all, new RegExp(`${esc(net.serviceAddr)} is already in use \\(answers on ${net.hostIf}\\)`));
      assert.doesNotMatch(all, /ip addr add|losetup|e2fsck|mount -t|starting docker daemon|docker -H/, "nothing was touched");
      assert.deepEqual(hostAddresses(net.netns).get(net.peerIf)?.sort(), [net.peerAddr, net.serviceAddr].sort(), "the other holder keeps its address");
      await assertAllDown("after the refused start");
    } finally {
      sh(["ip", "netns", "exec", net.netns, "ip", "addr", "del", `${net.serviceAddr}/24`, "dev", net.peerIf]);
    }
  });

  test("a mount failing in the middle of a start rolls back the address and the disks this start brought up", async () => {
    ok(r.run(["-s", svc, "set", "--kw", "fs#2.mnt_opts=rw,no_such_option"]), "set");
    try {
      const res = r.run(["-s", svc, "start"]);
      assert.equal(res.code, 1, `start must fail:\n${res.stdout}\n${res.stderr}`);
      const out = res.stdout;
      assertOrder(out, [
        ["ip#1 add", /\.IP#1 +ip addr add /],
        ["fs#1 mount", new RegExp(`\\.FS#1 +mount -t ext4 -o rw /dev/loop\\d+ ${esc(mnt1)}$`)],
        ["fs#2 mount", new RegExp(`\\.FS#2 +mount -t ext4 -o rw,no_such_option /dev/loop\\d+ ${esc(mnt2)}$`)],
        ["fs#2 error", /ERROR +\S+\.FS#2 +mount -t ext4 .* exited 32: /],
        ["rollback", /rollback: stopping fs#1, disk#2, disk#1, ip#1$/],
        ["fs#1 umount", new RegExp(`\\.FS#1 +umount ${esc(mnt1)}$`)],
        ["disk#2 detach", /\.DISK#2 +losetup -d /],
        ["disk#1 detach", /\.DISK#1 +losetup -d /],
        ["ip#1 del", /\.IP#1 +ip addr del /],
      ]);
      assert.match(out, /ERROR +APP\.OPENSVC\.COM start failed: fs#2: mount -t ext4 -o rw,no_such_option \/dev\/loop\d+ \S+ exited 32: mount: .*wrong fs type.*; rolled back: fs#1, disk#2, disk#1, ip#1\n/s);
      assert.doesNotMatch(out, /CONTAINER#\d docker|starting docker daemon/, "no container is touched");
      await assertAllDown("after the rollback");
    } finally {
      ok(r.run(["-s", svc, "set", "--kw", "fs#2.mnt_opts=rw"]), "set back");
    }
  });

  test("with fs#2 down, the containers refuse to start: docker_data_dir lies on fs#2; nothing is written in its mount point", async () => {
    ok(r.run(["-s", svc, "start", "--rid", "ip,disk,fs#1"]), "start ip, disks, fs#1");
    assert.deepEqual(mountsUnder(r.root), [mnt1]);
    assert.ok(fs.existsSync(mnt2), "the mount point of fs#2 exists on fs#1");
    assert.deepEqual(entries(mnt2), []);

    const res = r.run(["-s", svc, "start", "--rid", "container"]);
    assert.equal(res.code, 1, `start --rid container must fail:\n${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout + res.stderr, new RegExp(`docker_data_dir ${esc(mnt2)} lies on fs#2 \\(${esc(mnt2)}\\), which is down: start fs#2 first`));
    assert.doesNotMatch(res.stdout, /starting docker daemon|docker -H/);
    const pass = r.run(["-s", svc, "docker", "ps"]);
    assert.notEqual(pass.code, 0, "the docker passthrough is refused too");
    assert.match(pass.stdout + pass.stderr, /lies on fs#2 .* which is down/);

    assert.deepEqual(entries(mnt2), [], "nothing was written into fs#2's mount point");
    const pid = readPidFile(r.file(`var/${svc}/docker.pid`));
    assert.ok(pid === undefined || !pidAlive(pid), "no daemon was started");
    const tree = ok(r.run(["-s", svc, "print", "status"]), "print status");
    assert.match(tree, /^\|  \|- fs#1           \.\.\.\. up       /m);
    assert.match(tree, /^\|  \|- fs#2           \.\.\.\. down     /m);
    assert.match(tree, /^overall                   warn$/m);

    ok(r.run(["-s", svc, "stop"]), "stop");
    await assertAllDown("after the last stop");
  });
});
