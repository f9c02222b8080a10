// The launcher (bin/svcmgr.js) as a command: NODE_EXTRA_CA_CERTS is kept from
// node's start-up (node 20 parses the whole CA store when it is set), given
// back to every child, and loaded after all by a command that may talk TLS
// (node.conf names an https etcd endpoint), which runs itself again. And its
// hand-over of root's start, stop and restart to the agent, when none is there.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import { CliRoot, LAUNCHER, readFirstThenClose } from "./support/cli.js";
import { until } from "./support/web.js";

// a file that is not there: a node that loads it says so on stderr
const CA = "/nonexistent/svcmgr-test-ca.pem";
const LOADED = /Ignoring extra certs from `\/nonexistent\/svcmgr-test-ca\.pem`/;

describe("the launcher defers NODE_EXTRA_CA_CERTS", () => {
  const r = new CliRoot("svc-launch-");
  after(() => r.cleanup());
  const env = { NODE_EXTRA_CA_CERTS: CA };

  test("a command that makes no TLS connection starts without loading the file (node run directly does load it)", () => {
    const res = r.run(["--version"], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, "0.1.0\n");
    assert.doesNotMatch(res.stderr, LOADED);
    const direct = spawnSync(process.execPath, [LAUNCHER, "--version"], { env: { ...r.env, ...env }, encoding: "utf8" });
    assert.equal(direct.stdout, "0.1.0\n");
    assert.match(direct.stderr, LOADED, "the check above would not see a load");
  });

  test("a service's commands get the variable back, and no trace of the hand-over", () => {
    const out = r.file("hook.env");
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(r.file("etc/hook.conf"), `[app#1]\nstart = sh -c 'echo "$NODE_EXTRA_CA_CERTS|\${SVCMGR_DEFERRED_CA-unset}" > ${out}'\nstop = true\n`);
    const res = r.run(["-s", "hook", "start"], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(fs.readFileSync(out, "utf8"), `${CA}|unset\n`);
    assert.doesNotMatch(res.stderr, LOADED);
  });

  test("with an https etcd endpoint in node.conf, the command runs again in a node that loads it, with its exit code", () => {
    fs.writeFileSync(r.file("etc/node.conf"), "[cluster]\nname = c1\nnodes = deb1.opensvc.com\netcd_endpoints = https://127.0.0.1:2\n");
    const res = r.run(["--version"], { env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, "0.1.0\n");
    assert.match(res.stderr, LOADED);
    const bad = r.run(["--no-such-option"], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--no-such-option'/);
    fs.writeFileSync(r.file("etc/node.conf"), "[cluster]\nname = c1\nnodes = deb1.opensvc.com\netcd_endpoints = http://127.0.0.1:2\n");
    assert.doesNotMatch(r.run(["--version"], { env }).stderr, LOADED, "plain http needs no CA");
  });
});

describe("a reader that goes away", () => {
  const r = new CliRoot("svc-pipe-");
  after(() => r.cleanup());

  const piped = (args: string[], meanwhile?: () => void, as = "svcmgr") => readFirstThenClose([r.program(as), ...args], r.env, meanwhile);

  test("does not stop an action half-way: the start goes on to its last resource, exits 0, no EPIPE trace", async () => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    // app#1 takes a moment, so that the reader is gone before the next lines are written
    const apps = [1, 2, 3].map((n) => `[app#${n}]\nstart = sh -c 'sleep ${n === 1 ? 1 : 0}; touch ${r.file(`up${n}`)}'\nstop = rm -f ${r.file(`up${n}`)}\ncheck = test -f ${r.file(`up${n}`)}\n`);
    fs.writeFileSync(r.file("etc/piped.conf"), apps.join("\n"));
    const { code, stderr, runningAfterClose } = await piped(["-s", "piped", "start"]);
    assert.ok(runningAfterClose, "the start was still under way when its reader left");
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|at .*svcmgr/);
    for (const n of [1, 2, 3]) assert.ok(fs.existsSync(r.file(`up${n}`)), `app#${n} started`);
    const status = r.run(["-s", "piped", "print", "status"]);
    assert.match(status.stdout, /overall\s+up/);
    assert.doesNotMatch(r.run(["-s", "piped", "stop"]).stdout, /took over the lock/, "the start let go of its lock");
  });

  test("ends a command that only follows: logs --follow stops at its next line, as tail -f does", async () => {
    // the actions above left lines in the log; a start writes more, which the follower can no longer print
    const { code, stderr, runningAfterClose } = await piped(["-s", "piped", "logs", "--follow"], () => assert.equal(r.run(["-s", "piped", "start"]).code, 0));
    assert.ok(runningAfterClose, "it followed until there was something to write");
    assert.equal(code, 0, `killed after 10 s, still following: ${stderr}`);
    assert.doesNotMatch(stderr, /EPIPE|at .*svcmgr/);
  });

  test("ends svcmon --watch at its next redraw", async () => {
    // a 2 s period: still waiting for its next frame 300 ms after the reader left
    const { code, stderr, runningAfterClose } = await piped(["--watch", "--interval", "2"], undefined, "svcmon");
    assert.ok(runningAfterClose, "it was redrawing");
    assert.equal(code, 0, `killed after 10 s, still redrawing: ${stderr}`);
  });
});

describe("root's start, stop and restart with no agent to take them", { skip: process.getuid?.() !== 0 ? "the hand-over is root's (run as root)" : false }, () => {
  const r = new CliRoot("svc-handover-");
  after(() => r.cleanup());

  test("an agent killed outright (its socket left, nobody listening): the CLI acts itself, as with no agent", async () => {
    const flag = r.file("up.flag");
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.writeFileSync(r.file("etc/solo.conf"), `[app#1]\nstart = touch ${flag}\nstop = rm -f ${flag}\ncheck = test -e ${flag}\n`);
    const sock = r.file("var/_agent/api.sock");
    fs.mkdirSync(r.file("var/_agent"), { recursive: true });
    // a listener SIGKILLed leaves its socket file behind, as a killed agent does
    const holder = spawn(process.execPath, ["-e", "require('net').createServer().listen(process.argv[1])", sock], { stdio: "ignore" });
    await until("the socket", () => fs.existsSync(sock), 5000);
    holder.kill("SIGKILL");
    await new Promise((res) => holder.on("exit", res));
    assert.ok(fs.existsSync(sock), "the socket stays");
    for (const action of ["start", "restart", "stop"]) {
      const res = r.run(["-s", "solo", action]);
      assert.equal(res.code, 0, `${action}: ${res.stderr}`);
      assert.match(res.stdout, /SOLO\.APP#1 {3}(touch|rm -f) /, action);
      assert.equal(fs.existsSync(flag), action !== "stop", `${action} done`);
    }
  });
});
