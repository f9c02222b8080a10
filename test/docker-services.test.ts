// The tutorials replayed on real dockerd processes, one private daemon per service.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { CliRoot, dedent } from "./support/cli.js";
import { cleanupEverything, importImage, isRoot, leftovers, RUN_DIR, testLogger } from "./support/docker-fixture.js";
import { nextBridgeCidr } from "./support/reliability.js";
import { PrivateDockerDaemon } from "../src/drivers/container-docker/daemon.js";
import { startImageRegistry, type ImageRegistry } from "./support/registry-images.js";
import { findExecutable } from "../src/util/which.js";
import { readPidFile, waitPidGone } from "../src/util/proc.js";

const skip = !isRoot() ? "needs root (dockerd, bridges, mounts)" : ["dockerd", "docker", "busybox", "docker-registry"].find((p) => !findExecutable(p)) ? "dockerd, docker, busybox-static or docker-registry missing (npm test installs them)" : false;
if (skip) console.log(`# skipping the docker tests: ${skip}`);

interface LogLine {
  time: string;
  rid?: string;
  msg: string;
}
const jsonLog = (r: CliRoot, svc: string): LogLine[] =>
  r.read(`log/${svc}.log`).trim().split("\n").map((l) => JSON.parse(l) as LogLine);

function ok(res: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(res.code, 0, `${what} failed:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

async function withRoot(r: CliRoot): Promise<void> {
  await cleanupEverything(r.root);
  const left = await leftovers(r.root);
  assert.deepEqual(left, { processes: [], bridges: [], mounts: [] }, "nothing of the test is left");
}

describe("first tutorial: six segregated docker environments", { skip }, () => {
  const r = new CliRoot("svt-");
  let images: ImageRegistry;
  const services = ["app1.dev", "app1.int", "app1.prd", "app2.dev", "app2.int", "app2.prd"];
  const ref = (svc: string) => images.image(svc.replace(".", ":"));
  before(async () => {
    images = await startImageRegistry(services.map((s) => ({ ref: s.replace(".", ":") })));
  });
  after(async () => {
    await images?.stop();
    await withRoot(r);
    r.cleanup();
  });

  test("each service pulls its image through its own daemon and sees only that one", () => {
    for (const s of services) {
      ok(r.run(["create", "-s", s, "--env", s.split(".")[1]!.toUpperCase()]), "create");
      ok(r.run(["-s", s, "set", "--kw", `docker_data_dir=${r.root}/data/${s}`, "--kw", `container#1.run_image=${ref(s)}`, "--kw", "container#1.run_command=sleep 3600", "--kw", "container#1.run_args=--init"]), "set");
    }
    const tree = r.run(["print", "status"], { as: "app1.dev" });
    assert.equal(
      tree.stdout,
      dedent(`
        app1.dev
        overall                   down
        |- avail                  down
        |  '- container#1    .... down     ${ref("app1.dev")}
        |                                  # docker daemon is not running
        |- sync                   n/a
        '- hb                     n/a
`),
    );
    assert.equal(ok(r.run(["--refresh"], { as: "svcmon" }), "svcmon --refresh").trim().split("\n").length, services.length + 3);
    for (const s of services) assert.ok(!fs.existsSync(r.file(`var/${s}/bridge.cidr`)), `evaluating ${s}'s status picked no bridge subnet`);
    for (const s of services) ok(r.run(["-s", s, "docker", "pull", ref(s)]), `docker pull in ${s}`);
    const cidr = fs.readFileSync(r.file("var/app1.dev/bridge.cidr"), "utf8").trim();
    assert.equal(fs.readlinkSync(path.join(RUN_DIR, "subnets", cidr.replace("/", "-"))), path.resolve(r.file("var/app1.dev")), "its daemon's start picked one and claimed it host-wide");
    for (const s of services) {
      const listed = ok(r.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], { as: s }), "docker images").trim().split("\n");
      assert.deepEqual(listed, [ref(s)], `${s} sees only its own image`);
      assert.ok(fs.readdirSync(`${r.root}/data/${s}`).includes("image"), `${s} has its own data root`);
    }
    const before = r.run(["print", "status"], { as: "app1.dev" }).stdout;
    assert.match(before, /# can not find container id/);
  });

  test("the first start runs the container, svcmon shows six rows", () => {
    const out = ok(r.run(["start"], { as: "app1.dev" }), "start");
    assert.match(out, new RegExp(`APP1\\.DEV\\.CONTAINER#1 docker -H unix://${r.root}/var/app1\\.dev/docker\\.sock run -d --name=app1\\.dev\\.container\\.1 .* --init ${ref("app1.dev").replace(/\./g, "\\.")} sleep 3600\n`));
    assert.match(out, /wait for container up status\n.*wait for container operational\n/);
    assert.match(r.run(["print", "status"], { as: "app1.dev" }).stdout, new RegExp(`'- container#1    \\.\\.\\.\\. up       [0-9a-f]{12}@${ref("app1.dev").replace(/\./g, "\\.")}\n`));
    ok(r.run(["-s", "app1.int,app1.prd,app2.*", "start", "--parallel"]), "mass start");
    const mon = ok(r.run([], { as: "svcmon" }), "svcmon").split("\n").slice(3, 9);
    assert.deepEqual(
      mon.map((l) => l.split(/\s+/).filter(Boolean)),
      services.map((s) => [s, s.split(".")[1]!.toUpperCase(), "hosted", "up", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "up", "up", "False"]),
    );
    const pids = services.map((s) => readPidFile(r.file(`var/${s}/docker.pid`)));
    assert.equal(new Set(pids).size, 6, "six daemons");
    const sockets = services.map((s) => fs.statSync(r.file(`var/${s}/docker.sock`)));
    assert.ok(sockets.every((st) => st.isSocket() && (st.mode & 0o777) === 0o660));
  });

  test("allupservices stop stops them all and every daemon shuts down", () => {
    const out = ok(r.run(["stop"], { as: "allupservices" }), "allupservices stop");
    for (const s of services) {
      assert.match(out, new RegExp(`${s.toUpperCase().replace(".", "\\.")}\\.CONTAINER#1 docker -H unix://\\S+ stop [0-9a-f]{12}\n`));
      assert.ok(!fs.existsSync(r.file(`var/${s}/docker.pid`)) || readPidFile(r.file(`var/${s}/docker.pid`)) === undefined);
    }
    assert.equal((out.match(/no more container handled by docker daemon\. shut it down/g) ?? []).length, 6);
    const mon = ok(r.run([], { as: "svcmon" }), "svcmon");
    assert.equal((mon.match(/ down +n\/a/g) ?? []).length, 6);
  });

  test("a second start uses docker start, not run, after starting the daemon", () => {
    const out = ok(r.run(["start"], { as: "app1.prd" }), "start");
    assert.match(out, /APP1\.PRD\.CONTAINER#1 starting docker daemon\n/, "under the rid of the container that needed it, as in the tutorial");
    assert.match(out, /APP1\.PRD\.CONTAINER#1 docker -H unix:\/\/\S+ start [0-9a-f]{12}\n/);
    assert.doesNotMatch(out, / run -d /);
    assert.equal(ok(r.run(["docker", "ps", "--format", "{{.Names}}"], { as: "app1.prd" }), "docker ps"), "app1.prd.container.1\n");
    ok(r.run(["stop"], { as: "app1.prd" }), "stop");
  });
});

describe("second tutorial: three containers, volumes, published ports, upgrade", { skip }, () => {
  const r = new CliRoot("svt-");
  let images: ImageRegistry;
  const svc = "app.opensvc.com";
  const port = 20000 + (process.pid % 20000);
  before(async () => {
    images = await startImageRegistry([{ ref: "busybox:latest" }, { ref: "busybox:v2", changes: ["ENV VERSION=2"] }]);
    fs.mkdirSync(r.file("www"), { recursive: true });
    fs.writeFileSync(r.file("www/index.html"), "hello from container#2\n");
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(
      r.file(`etc/${svc}.conf`),
      [
        "[DEFAULT]",
        "app = OSVCLAB",
        "service_type = DEV",
        `docker_data_dir = ${r.root}/data/{name}`,
        "",
        "[container#1]",
        "type = docker",
        `run_image = ${images.image("busybox:latest")}`,
        "run_command = sleep 3600",
        "run_args = --init",
        "",
        "[container#2]",
        "type = docker",
        `run_image = ${images.image("busybox:latest")}`,
        "run_command = httpd -f -p 8000 -h /www",
        `run_args = --init -v ${r.root}/www:/www:ro -p 127.0.0.1:${port}:8000`,
        "",
        "[container#3]",
        "type = docker",
        `run_image = ${images.image("busybox:latest")}`,
        "run_command = sh -c 'echo started > /vol1/log; exec sleep 3600'",
        `run_args = --init -v ${r.root}/vol1:/vol1:rw -e GREETING=hi`,
        "",
      ].join("\n"),
    );
    ok(r.run(["-s", svc, "docker", "pull", images.image("busybox:latest")]), "pull");
  });
  after(async () => {
    await images?.stop();
    await withRoot(r);
    r.cleanup();
  });

  test("start in order; the published port answers; the volume is written", async () => {
    const out = ok(r.run(["-s", svc, "start"]), "start");
    const order = [...out.matchAll(/CONTAINER#(\d) docker -H \S+ run /g)].map((m) => m[1]);
    assert.deepEqual(order, ["1", "2", "3"]);
    const res = await fetch(`http://127.0.0.1:${port}/index.html`);
    assert.equal(await res.text(), "hello from container#2\n");
    assert.equal(fs.readFileSync(r.file("vol1/log"), "utf8"), "started\n");
    const tree = r.run(["-s", svc, "print", "status"]).stdout;
    assert.match(tree, /^overall                   up\n/m);
  });

  test("stop --rid container#1 leaves the others up; the tree shows warn", () => {
    const out = ok(r.run(["-s", svc, "stop", "--rid", "container#1"]), "stop --rid");
    assert.match(out, /CONTAINER#1 docker -H \S+ stop [0-9a-f]{12}\n/);
    assert.doesNotMatch(out, /shut it down/);
    const tree = r.run(["-s", svc, "print", "status"]).stdout.split("\n");
    assert.equal(tree[1], "overall                   warn");
    assert.equal(tree[2], "|- avail                  warn");
    assert.match(tree[3]!, /^\|  \|- container#1    \.\.\.\. down     [0-9a-f]{12}@/);
    assert.match(tree[4]!, /^\|  \|- container#2    \.\.\.\. up       /);
    ok(r.run(["-s", svc, "start", "--rid", "container#1"]), "start --rid");
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /^overall                   up$/m);
  });

  test("stopcontainer and startcontainer act on every container", () => {
    const stop = ok(r.run(["-s", svc, "stopcontainer"]), "stopcontainer");
    assert.deepEqual([...stop.matchAll(/CONTAINER#(\d) docker -H \S+ stop /g)].map((m) => m[1]), ["3", "2", "1"]);
    assert.match(stop, /no more container handled by docker daemon\. shut it down/);
    const down = r.run(["-s", svc, "print", "status"]).stdout;
    assert.equal((down.match(/# docker daemon is not running/g) ?? []).length, 3);
    const start = ok(r.run(["-s", svc, "startcontainer"]), "startcontainer");
    assert.deepEqual([...start.matchAll(/CONTAINER#(\d) docker -H \S+ start /g)].map((m) => m[1]), ["1", "2", "3"]);
  });

  test("upgrade: change run_image, restart --rid container#1, the new image runs", () => {
    ok(r.run(["-s", svc, "docker", "pull", images.image("busybox:v2")]), "pull v2");
    ok(r.run(["-s", svc, "set", "--kw", `container#1.run_image=${images.image("busybox:v2")}`]), "set");
    const drift = r.run(["-s", svc, "print", "status"]).stdout;
    assert.match(drift, /container#1    \.\.\.\. warn /);
    assert.match(drift, /# config changed: restart to apply/);
    const out = ok(r.run(["-s", svc, "restart", "--rid", "container#1"]), "restart");
    assert.match(out, /CONTAINER#1 docker -H \S+ rm [0-9a-f]{12}/);
    assert.match(out, /CONTAINER#1 docker -H \S+ run -d --name=app\.opensvc\.com\.container\.1 /);
    const env = ok(r.run(["-s", svc, "docker", "exec", "app.opensvc.com.container.1", "sh", "-c", "echo $VERSION"]), "exec");
    assert.equal(env, "2\n");
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /^overall                   up$/m);
  });

  test("the tutorial's upgrade: stop --rid, change run_image: warn while stopped too; start --rid re-creates it", () => {
    ok(r.run(["-s", svc, "stop", "--rid", "container#1"]), "stop --rid");
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /container#1    \.\.\.\. down /);
    ok(r.run(["-s", svc, "set", "--kw", `container#1.run_image=${images.image("busybox:latest")}`]), "set back to the first image");
    const drift = r.run(["-s", svc, "print", "status"]).stdout;
    assert.match(drift, /container#1    \.\.\.\. warn     [0-9a-f]{12}@\S+\n\|  \|  \|\s+# config changed: restart to apply/);
    assert.match(drift, /^\|- avail                  warn$/m);
    const out = ok(r.run(["-s", svc, "start", "--rid", "container#1"]), "start --rid");
    assert.match(out, /CONTAINER#1 docker -H \S+ rm [0-9a-f]{12}/);
    assert.match(out, /CONTAINER#1 docker -H \S+ run -d --name=app\.opensvc\.com\.container\.1 /);
    assert.equal(ok(r.run(["-s", svc, "docker", "exec", "app.opensvc.com.container.1", "sh", "-c", "echo ${VERSION:-1}"]), "exec"), "1\n");
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /^overall                   up$/m);
    ok(r.run(["-s", svc, "stop"]), "stop");
  });
});

describe("complex orchestration: subsets, parallel start, rollback", { skip }, () => {
  const r = new CliRoot("svt-");
  let images: ImageRegistry;
  const svc = "busybox.opensvc.com";
  before(async () => {
    images = await startImageRegistry([{ ref: "opensvc/busybox:date" }]);
    const img = images.image("opensvc/busybox:date");
    const container = (n: number, subset: string) => [`[container#${n}]`, "type = docker", `run_image = ${img}`, "run_command = sleep 3600", "run_args = --init", `subset = ${subset}`, ""];
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(
      r.file(`etc/${svc}.conf`),
      [
        "[DEFAULT]",
        "service_type = DEV",
        `docker_data_dir = ${r.root}/data/{name}`,
        "",
        ...container(1, "00database"),
        ...[2, 3, 4, 5].flatMap((n) => container(n, "01appservers")),
        "[subset#container.docker:01appservers]",
        "parallel = true",
        "",
        ...container(6, "02webservers"),
        ...container(7, "02webservers"),
        "[subset#container.docker:02webservers]",
        "parallel = false",
        "",
      ].join("\n"),
    );
    ok(r.run(["-s", svc, "docker", "pull", img]), "pull");
  });
  after(async () => {
    await images?.stop();
    await withRoot(r);
    r.cleanup();
  });

  /** [first line, "wait for container operational" line] times of each rid in the last action. */
  function spans(from: number): Map<string, [number, number]> {
    const out = new Map<string, [number, number]>();
    for (const l of jsonLog(r, svc).slice(from)) {
      if (!l.rid) continue;
      const t = Date.parse(l.time);
      const s = out.get(l.rid) ?? [t, t];
      out.set(l.rid, [Math.min(s[0], t), Math.max(s[1], t)]);
    }
    return out;
  }

  test("start: #1 first, the four app servers at once, #6 done before #7 begins", () => {
    const from = fs.existsSync(r.file(`log/${svc}.log`)) ? jsonLog(r, svc).length : 0;
    const out = ok(r.run(["start"], { as: "busybox.opensvc.com" }), "start");
    const sp = spans(from);
    const s = (n: number) => sp.get(`container#${n}`)!;
    for (const n of [2, 3, 4, 5]) assert.ok(s(n)[0] >= s(1)[1], `container#${n} starts after container#1 is up`);
    const app = [2, 3, 4, 5].map(s);
    const latestStart = Math.max(...app.map((x) => x[0]));
    const earliestEnd = Math.min(...app.map((x) => x[1]));
    assert.ok(latestStart < earliestEnd, `the app servers' spans overlap: ${JSON.stringify(app)}`);
    for (const n of [2, 3, 4, 5]) assert.ok(s(6)[0] >= s(n)[1], "the web servers wait for every app server");
    assert.ok(s(7)[0] >= s(6)[1], "#6 is operational before #7 begins");
    assert.equal((out.match(/ run -d /g) ?? []).length, 7);
    // the status cache the start wrote (most containers from what their start established, without asking again) is what asking says
    const cache = () => (JSON.parse(fs.readFileSync(r.file(`var/${svc}/status.json`), "utf8")) as { resources: { rid: string; status: string; label: string; log: unknown[] }[] }).resources.map(({ rid, status, label, log }) => ({ rid, status, label, log }));
    const written = cache();
    ok(r.run(["-s", svc, "--refresh"], { as: "svcmon" }), "svcmon --refresh");
    assert.deepEqual(written, cache());
    assert.ok(written.every((c) => c.status === "up" && /^[0-9a-f]{12}@/.test(c.label)), JSON.stringify(written));
  });

  test("stop is the exact reverse", () => {
    const out = ok(r.run(["stop"], { as: "busybox.opensvc.com" }), "stop");
    const order = [...out.matchAll(/CONTAINER#(\d) docker -H \S+ stop /g)].map((m) => Number(m[1]));
    assert.deepEqual(order.slice(0, 2), [7, 6]);
    assert.deepEqual([...order.slice(2, 6)].sort(), [2, 3, 4, 5]);
    assert.equal(order[6], 1);
    assert.match(out, /CONTAINER#1 wait for container down status\n.*no more container handled by docker daemon\. shut it down/s);
  });

  test("a container that exits at once fails the start; what this start brought up is rolled back; what was up stays up", () => {
    ok(r.run(["-s", svc, "start", "--rid", "container#1"]), "start #1");
    ok(r.run(["-s", svc, "set", "--kw", "container#6.run_command=false"]), "set");
    const res = r.run(["-s", svc, "start"]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /CONTAINER#1 container .* is already up/);
    assert.match(res.stdout, /CONTAINER#6 container exited with code 1 right after start/);
    // #6's exit is known when dockerd tells (20-130 ms after its start call returned: svcmgr waits no fixed time), so #7 may
    // have begun meanwhile: it is rolled back then, and nothing of this start stays up
    const rolled = /start failed: container#6: container exited with code 1 right after start.*; rolled back: (.*)$/m.exec(res.stdout)?.[1] ?? "";
    assert.deepEqual(rolled.split(", ").filter((x) => x !== "container#7").sort(), ["container#2", "container#3", "container#4", "container#5"], rolled);
    if (!/CONTAINER#7 docker/.test(res.stdout)) assert.doesNotMatch(rolled, /container#7/);
    const tree = r.run(["-s", svc, "print", "status"]).stdout;
    assert.match(tree, /container#1    \.\.\.\. up /);
    for (const n of [2, 3, 4, 5, 6, 7]) assert.match(tree, new RegExp(`container#${n}    \\.\\.\\.\\. down `));
    const noRollback = r.run(["-s", svc, "start", "--disable-rollback"]);
    assert.equal(noRollback.code, 1);
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /container#5    \.\.\.\. up /);
    ok(r.run(["-s", svc, "set", "--kw", "container#6.run_command=sleep 3600"]), "set");
    ok(r.run(["-s", svc, "stop"]), "stop");
  });

  test("the last container exiting at once fails the start too (the action's last look), and everything is rolled back", () => {
    ok(r.run(["-s", svc, "set", "--kw", "container#7.run_command=false"]), "set");
    const res = r.run(["-s", svc, "start"]);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /CONTAINER#7 container exited (with code 1 )?right after start/);
    assert.match(res.stdout, /start failed: container#7: container exited .*; rolled back: container#6, container#\d, container#\d, container#\d, container#\d, container#1$/m);
    const tree = r.run(["-s", svc, "print", "status"]).stdout;
    for (const n of [1, 2, 3, 4, 5, 6, 7]) assert.match(tree, new RegExp(`container#${n}    \\.\\.\\.\\. down `));
    ok(r.run(["-s", svc, "set", "--kw", "container#7.run_command=sleep 3600"]), "set");
    ok(r.run(["-s", svc, "stop"]), "stop");
  });

  test("a daemon killed with SIGKILL: status says so, the next start recovers", async () => {
    ok(r.run(["-s", svc, "start", "--rid", "container#1"]), "start");
    const pid = readPidFile(r.file(`var/${svc}/docker.pid`))!;
    process.kill(pid, "SIGKILL");
    assert.ok(await waitPidGone(pid, 5000), "the daemon is gone");
    const tree = r.run(["-s", svc, "print", "status"]).stdout;
    assert.match(tree, /container#1    \.\.\.\. down     \S+\n\|  \|  \|\s+# docker daemon is not running/);
    const out = ok(r.run(["-s", svc, "start", "--rid", "container#1"]), "start after kill");
    assert.match(out, /starting docker daemon/);
    assert.match(r.run(["-s", svc, "print", "status"]).stdout, /container#1    \.\.\.\. up /);
    ok(r.run(["-s", svc, "stop"]), "stop");
    const { stdout } = await execa("pgrep", ["-f", r.root], { reject: false });
    assert.equal(stdout.trim(), "", "no process of the service is left");
  });
});

describe("docker_daemon_private = false: containers on the host's daemon", { skip }, () => {
  const r = new CliRoot("svt-");
  // "the host's daemon": a dockerd started here on its own socket, reached through DOCKER_HOST
  let host: PrivateDockerDaemon;
  let env: NodeJS.ProcessEnv;
  const svc = "shared.dev";
  before(async () => {
    host = new PrivateDockerDaemon({ svc: "host", stateDir: r.file("var/hostdocker"), dataDir: r.file("hostdata"), extraArgs: [], runDir: RUN_DIR, bridgeCidr: nextBridgeCidr(), log: testLogger().log });
    await host.start();
    await importImage(host.socketPath, "busybox:host");
    env = { DOCKER_HOST: `unix://${host.socketPath}` };
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(
      r.file(`etc/${svc}.conf`),
      ["[DEFAULT]", "docker_daemon_private = false", "", "[container#1]", "type = docker", "run_image = busybox:host", "run_command = sleep 600", "run_args = --init", ""].join("\n"),
    );
  });
  after(async () => {
    await host?.stop().catch(() => undefined);
    await withRoot(r);
    r.cleanup();
  });

  test("start runs the container on that daemon, starting and configuring no daemon of its own", () => {
    const out = ok(r.run(["-s", svc, "start"], { env }), "start");
    assert.match(out, new RegExp(`SHARED\\.DEV\\.CONTAINER#1 docker -H unix://${host.socketPath} run -d --name=shared\\.dev\\.container\\.1 `));
    assert.doesNotMatch(out, /starting docker daemon|dockerd|ip link/);
    assert.ok(!fs.existsSync(r.file(`var/${svc}/docker.pid`)), "no private daemon");
    assert.ok(!fs.existsSync(r.file(`var/${svc}/bridge.cidr`)), "no bridge subnet of its own");
    assert.match(r.run(["-s", svc, "print", "status"], { env }).stdout, /container#1    \.\.\.\. up       [0-9a-f]{12}@busybox:host/);
    assert.equal(ok(r.run(["-s", svc, "docker", "ps", "--format", "{{.Names}}"], { env }), "docker ps"), "shared.dev.container.1\n");
  });

  test("stop stops the container and leaves the host's daemon running", async () => {
    const out = ok(r.run(["-s", svc, "stop"], { env }), "stop");
    assert.match(out, /CONTAINER#1 docker -H \S+ stop [0-9a-f]{12}\n/);
    assert.doesNotMatch(out, /shut it down/);
    assert.ok(await host.isRunning(), "the host's daemon still answers");
  });

  test("without docker_data_dir nor docker_daemon_private a service is on the host's daemon too (SPEC §4 default)", async () => {
    const implicit = "implicit.dev";
    fs.writeFileSync(r.file(`etc/${implicit}.conf`), ["[DEFAULT]", "service_type = DEV", "", "[container#1]", "type = docker", "run_image = busybox:host", "run_command = sleep 600", "run_args = --init", ""].join("\n"));
    const out = ok(r.run(["-s", implicit, "start"], { env }), "start");
    assert.match(out, new RegExp(`IMPLICIT\\.DEV\\.CONTAINER#1 docker -H unix://${host.socketPath} run -d --name=implicit\\.dev\\.container\\.1 `));
    assert.doesNotMatch(out, /starting docker daemon/);
    assert.ok(!fs.existsSync(r.file(`var/${implicit}/docker.pid`)), "no private daemon");
    assert.match(ok(r.run(["-s", implicit, "docker", "ps", "--format", "{{.Names}}"], { env }), "docker ps"), /^implicit\.dev\.container\.1$/m);
    ok(r.run(["-s", implicit, "stop"], { env }), "stop");
    // a private daemon's keyword without a private daemon: accepted, and said to be ignored
    ok(r.run(["-s", implicit, "set", "--kw", "docker_socket_group=root"]), "set docker_socket_group");
    const again = ok(r.run(["-s", implicit, "start"], { env }), "start again");
    assert.match(again, new RegExp(`WARNING IMPLICIT\\.DEV\\.CONTAINER#1 docker_socket_group ignored: no docker_data_dir, so no private daemon; the containers run on the host's docker daemon \\(${host.socketPath}\\)`));
    ok(r.run(["-s", implicit, "stop"], { env }), "stop");
    assert.ok(await host.isRunning(), "the host's daemon still answers");
    fs.rmSync(r.file(`etc/${implicit}.conf`));
  });

  test("with the host's daemon down: status says so, start fails naming the socket and starts nothing", async () => {
    await host.stop();
    assert.match(r.run(["-s", svc, "print", "status"], { env }).stdout, /container#1    \.\.\.\. down .*\n.*# docker daemon is not running/);
    const res = r.run(["-s", svc, "start"], { env });
    assert.equal(res.code, 1);
    assert.match(res.stdout + res.stderr, new RegExp(`the host's docker daemon does not answer on ${host.socketPath} \\(docker_daemon_private = false: svcmgr does not start it\\)`));
    assert.equal(await host.isRunning(), false, "svcmgr did not start it");
  });

  test("keywords of a private daemon next to docker_daemon_private = false are a config error", () => {
    const conf = r.read(`etc/${svc}.conf`);
    const set = r.run(["-s", svc, "set", "--kw", "docker_bridge_cidr=172.30.250.0/24"]);
    assert.equal(set.code, 2, set.stdout + set.stderr);
    assert.match(set.stderr, /\[DEFAULT\] docker_bridge_cidr: configures the private daemon, but docker_daemon_private = false/);
    assert.equal(r.read(`etc/${svc}.conf`), conf, "the file is unchanged");
    fs.writeFileSync(r.file(`etc/${svc}.conf`), conf.replace("docker_daemon_private = false\n", `docker_daemon_private = false\ndocker_data_dir = ${r.root}/d\n`));
    const res = r.run(["-s", svc, "validate", "config"]);
    assert.equal(res.code, 2);
    assert.match(res.stdout + res.stderr, /shared\.dev\.conf:3: \[DEFAULT\] docker_data_dir: configures the private daemon, but docker_daemon_private = false \(line 2\): remove one of them/);
  });
});

test("the docker tests leave no daemon, bridge or mount behind", { skip }, async () => {
  const left = await leftovers(path.join("/tmp", "svt-"));
  assert.deepEqual(left.processes, []);
});
