// The agent's API (SPEC §10) with real unix users and groups: each team reaches
// its own services through its team socket and the non-root CLI, and nothing
// else; events, resumes, metrics, the OpenAPI document and hostile requests.
// The services are app resources (a flag file), so no Docker is needed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { CliRoot, LAUNCHER, readFirstThenClose } from "./support/cli.js";
import { until } from "./support/web.js";
import { isRoot } from "./support/docker-fixture.js";
import { ok } from "./support/reliability.js";
import { onSse, type SseEvent } from "./support/sse.js";
import { findExecutable } from "../src/util/which.js";
import { pidAlive, signal, waitPidGone } from "../src/util/proc.js";
import { ActionBody } from "../src/agent/api/schemas.js";

const skip = !isRoot() ? "needs root (users, groups, the agent's sockets)" : ["useradd", "groupadd", "runuser"].find((p) => !findExecutable(p)) ? "useradd, groupadd or runuser missing" : false;
if (skip) console.log(`# skipping the API tests: ${skip}`);

const tag = `${process.pid}`;
const teams = [
  { group: `sag1_${tag}`, user: `sau1_${tag}`, services: ["a1", "a2"] },
  { group: `sag2_${tag}`, user: `sau2_${tag}`, services: ["b1"] },
] as const;

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: "utf8" });

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

function request(socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, agent: false, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A reader of the event stream, collecting what it gets. */
function readEvents(socketPath: string, lastEventId?: number): { events: SseEvent[]; close(): void; until(pred: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent> } {
  const events: SseEvent[] = [];
  const waiters: (() => void)[] = [];
  const req = http.get({ socketPath, path: "/v1/events", agent: false, headers: lastEventId ? { "Last-Event-ID": String(lastEventId) } : {} }, (res) => {
    onSse(res, (e) => {
      events.push(e);
      waiters.splice(0).forEach((w) => w());
    });
  });
  req.on("error", () => undefined);
  return {
    events,
    close: () => req.destroy(),
    async until(pred, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no such event within ${ms} ms; got ${JSON.stringify(events.map((e) => [e.event, e.data]))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

describe("the agent's API", { skip }, () => {
  const r = new CliRoot("sapi-", "api-node");
  const agentLog = (): string => (fs.existsSync(r.file("log/_agent.log")) ? r.read("log/_agent.log") : "");
  const api = r.file("var/_agent/api.sock");
  const team = (g: string) => r.file(`var/_agent/team/${g}.sock`);
  const flag = (svc: string) => r.file(`flags/${svc}.up`);

  /** a user's CLI, with no home of root's */
  const asUser = (user: string, args: string[], as?: string) => {
    const env: NodeJS.ProcessEnv = { ...r.env, HOME: "/nonexistent" };
    const program = as === "svcmon" ? "bin/svcmon.js" : "bin/svcmgr.js";
    const res = spawnSync("runuser", ["-u", user, "--", process.execPath, program, ...args], { encoding: "utf8", env });
    return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  };

  before(() => {
    for (const t of teams) {
      assert.equal(sh("groupadd", [t.group]).status, 0);
      assert.equal(sh("useradd", ["-M", "-N", "-g", t.group, "-s", "/bin/sh", t.user]).status, 0);
    }
    fs.chmodSync(r.root, 0o711);
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.mkdirSync(r.file("flags"), { recursive: true });
    for (const t of teams) {
      for (const s of t.services) {
        const conf = ["[DEFAULT]", `docker_socket_group = ${t.group}`, "autostart_node = nobody", "", "[app#1]", `start = /usr/bin/touch ${flag(s)}`, `stop = /bin/rm -f ${flag(s)}`, `check = /usr/bin/test -e ${flag(s)}`, ""];
        fs.writeFileSync(r.file(`etc/${s}.conf`), conf.join("\n"));
      }
    }
    // root's only: an app whose check looks, then takes a while to answer, so that the agent's own evaluations lag behind an action's
    const slow = ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", `start = /usr/bin/touch ${flag("slow1")}`, `stop = /bin/rm -f ${flag("slow1")}`, `check = /bin/sh -c 'test -e ${flag("slow1")}; up=$?; sleep 0.4; exit $up'`, ""];
    fs.writeFileSync(r.file("etc/slow1.conf"), slow.join("\n"));
    // root's only, for the CLI's hand-over to the agent: a start that fails (rolled back), a start that takes 1.5 s
    const failing = ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", `start = /usr/bin/touch ${flag("fail1")}`, `stop = /bin/rm -f ${flag("fail1")}`, `check = /usr/bin/test -e ${flag("fail1")}`, "", "[app#2]", "start = /bin/false", "check = /bin/false", ""];
    fs.writeFileSync(r.file("etc/fail1.conf"), failing.join("\n"));
    const long = ["[DEFAULT]", "autostart_node = nobody", "", "[app#1]", `start = /bin/sh -c 'sleep 1.5; touch ${flag("long1")}'`, `stop = /bin/rm -f ${flag("long1")}`, `check = /usr/bin/test -e ${flag("long1")}`, ""];
    fs.writeFileSync(r.file("etc/long1.conf"), long.join("\n"));
    ok(r.run(["daemon", "start"], { env: { SVCMGR_BOOT_ID_FILE: r.file("boot_id") } }), "daemon start");
  });

  after(async () => {
    r.run(["daemon", "stop"]);
    const pid = (() => {
      try {
        return (JSON.parse(r.read("var/_agent/agent.pid")) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    })();
    if (pid && pidAlive(pid)) {
      signal(pid, "SIGKILL");
      await waitPidGone(pid, 5000);
    }
    for (const t of teams) {
      sh("userdel", [t.user]);
      sh("groupdel", [t.group]);
    }
    r.cleanup();
  });

  test("one socket per team group, root:group 0660; the root socket 0600", () => {
    const st = fs.statSync(api);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
    for (const t of teams) {
      const s = fs.statSync(team(t.group));
      assert.equal(s.mode & 0o777, 0o660, `${t.group}.sock mode`);
      assert.equal(s.gid, Number(sh("getent", ["group", t.group]).stdout.split(":")[2]));
    }
  });

  test("a team member sees and acts on its own services without sudo, as root's CLI prints it", () => {
    const [a] = teams;
    const mon = asUser(a.user, [], "svcmon");
    assert.equal(mon.code, 0, mon.stderr);
    const rows = mon.stdout.trim().split("\n").slice(3).map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(rows, ["a1", "a2"], "only the team's services");

    const start = asUser(a.user, ["-s", "a1", "start"]);
    assert.equal(start.code, 0, start.stderr);
    assert.ok(fs.existsSync(flag("a1")), "started for real");
    assert.match(agentLog(), new RegExp(`a1: start succeeded \\(action [0-9a-f-]{36}, asked through the team socket of group ${a.group}\\)`), "the agent's log names the team socket");
    assert.match(start.stdout, /^\d\d:\d\d:\d\d INFO {4}A1\.APP#1 {3}\/usr\/bin\/touch /m);
    // what the member saw is what the service log, as root prints it, says
    const rootLogs = ok(r.run(["-s", "a1", "logs"]), "logs").trim().split("\n");
    const seen = start.stdout.trim().split("\n");
    assert.deepEqual(rootLogs.slice(-seen.length), seen);

    assert.equal(asUser(a.user, ["-s", "a1", "print", "status"]).stdout, ok(r.run(["-s", "a1", "print", "status"]), "root's print status"));
    assert.match(asUser(a.user, ["-s", "a1", "freeze"]).stdout, /^a1: frozen$/m);
    assert.match(ok(r.run(["svcmon", "-s", "a1", "--format", "json"].slice(1), { as: "svcmon" }), "svcmon"), /"frozen": true/);
    assert.match(asUser(a.user, ["-s", "a1", "thaw"]).stdout, /^a1: thawed$/m);
    const stop = asUser(a.user, ["-s", "a1", "stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!fs.existsSync(flag("a1")), "stopped for real");
    assert.equal(asUser(a.user, ["-s", "a1", "logs", "--lines", "3"]).stdout, ok(r.run(["-s", "a1", "logs", "--lines", "3"]), "root's logs"));
  });

  test("a member's logs --follow, streamed by the agent, ends when its reader goes away", async () => {
    const [a] = teams;
    const argv = ["runuser", "-u", a.user, "--", process.execPath, "bin/svcmgr.js", "-s", "a1", "logs", "--follow"];
    ok(r.run(["-s", "a1", "start"]), "start"); // lines for the follower's first read
    // the stop writes more, which the agent streams to a reader that is gone
    const { code, stderr, runningAfterClose } = await readFirstThenClose(argv, { ...r.env, HOME: "/nonexistent" }, () => void ok(r.run(["-s", "a1", "stop"]), "stop"));
    assert.ok(runningAfterClose, "it followed until there was something to write");
    assert.equal(code, 0, `killed after 10 s, still following: ${stderr}`);
    assert.doesNotMatch(stderr, /EPIPE/);
  });

  test("the other team's service does not exist for a member: 404 on the socket, 'no such service' and exit 2 in the CLI", async () => {
    const [a] = teams;
    for (const args of [["-s", "b1", "print", "status"], ["-s", "b1", "start"]]) {
      const res = asUser(a.user, args);
      assert.equal(res.code, 2, args.join(" "));
      assert.match(res.stderr, /no such service: b1/);
    }
    assert.ok(!fs.existsSync(flag("b1")), "nothing was started");
    const got = await request(team(a.group), "GET", "/v1/services/b1");
    assert.equal(got.status, 404);
    assert.deepEqual(got.json(), { error: "no such service: b1" });
    assert.equal((await request(team(a.group), "POST", "/v1/services/b1/actions/start", "{}")).status, 404);
    const list = (await request(team(a.group), "GET", "/v1/services")).json() as { name: string }[];
    assert.deepEqual(list.map((s) => s.name), ["a1", "a2"]);
  });

  test("a member cannot open the other team's socket nor the root one", () => {
    const [a, b] = teams;
    for (const sock of [team(b.group), api]) {
      const res = spawnSync("runuser", ["-u", a.user, "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", sock, "http://agent/v1/services"], { encoding: "utf8" });
      assert.equal(res.status, 7, `curl as ${a.user} on ${sock} could not connect (exit 7), got ${res.status}: ${res.stdout}`);
    }
  });

  test("events arrive for a CLI action within 1 s; Last-Event-ID resumes after the given event", async () => {
    const reader = readEvents(api);
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    ok(r.run(["-s", "a2", "start"]), "start a2");
    const begin = await reader.until((e) => e.event === "action" && e.data.service === "a2" && e.data.phase === "begin");
    const up = await reader.until((e) => e.event === "status" && e.data.service === "a2" && e.data.rid === "app#1" && e.data.to === "up");
    console.log(`# CLI start -> action event ${Math.round(begin.at - t0)} ms, status event ${Math.round(up.at - t0)} ms (the CLI's own run included)`);
    assert.ok(up.at - t0 < 1000 + 2000, "within the CLI's run plus 1 s");
    ok(r.run(["-s", "a2", "stop"]), "stop a2");
    const down = await reader.until((e) => e.event === "status" && e.data.service === "a2" && e.data.rid === "app#1" && e.data.to === "down");
    reader.close();
    const ids = reader.events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), "ids increase");
    const resumed = readEvents(api, begin.id);
    const again = await resumed.until((e) => e.id === down.id);
    resumed.close();
    assert.equal(resumed.events[0]!.id > begin.id, true, "nothing at or before the given id");
    assert.deepEqual(resumed.events.slice(0, resumed.events.indexOf(again) + 1).map((e) => e.id), ids.slice(ids.indexOf(begin.id) + 1, ids.indexOf(down.id) + 1), "the same events, in order");
  });

  test("an action run by the agent: once its status event is out, the service's page says the same", async () => {
    const reader = readEvents(api);
    await new Promise((res) => setTimeout(res, 200));
    try {
      assert.equal((await request(api, "POST", "/v1/services/slow1/actions/start", "{}")).status, 202);
      await reader.until((e) => e.event === "status" && e.data.service === "slow1" && e.data.rid === "app#1" && e.data.to === "up", 10_000);
      // what a live page does on that event: it asks for the service
      const got = (await request(api, "GET", "/v1/services/slow1")).json() as { overall: string; resources: { rid: string; status: string }[] };
      assert.equal(got.resources.find((x) => x.rid === "app#1")?.status, "up", "the event said up; the service's view must too");
      assert.equal(got.overall, "up");
    } finally {
      reader.close();
      r.run(["-s", "slow1", "stop"]);
    }
  });

  test("an action followed (?follow=1): its lines as they are written, then its end; a late follower gets the same; another team's socket has no such action", async () => {
    const posted = await request(api, "POST", "/v1/services/slow1/actions/start", "{}");
    assert.equal(posted.status, 202, posted.text);
    const id = (posted.json() as { id: string }).id;
    const follow = (socket: string) =>
      new Promise<{ status: number; type: string | undefined; items: { at: number; item: Record<string, unknown> }[] }>((resolve, reject) => {
        const items: { at: number; item: Record<string, unknown> }[] = [];
        http
          .get({ socketPath: socket, path: `/v1/actions/${id}?follow=1`, agent: false }, (res) => {
            let buf = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              buf += d;
              for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
                items.push({ at: performance.now(), item: JSON.parse(buf.slice(0, i)) as Record<string, unknown> });
                buf = buf.slice(i + 1);
              }
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], items }));
          })
          .on("error", reject);
      });
    try {
      const live = await follow(api);
      assert.equal(live.status, 200);
      assert.match(live.type ?? "", /application\/x-ndjson/);
      const end = live.items.at(-1)!;
      assert.deepEqual(end.item, { type: "end", state: "succeeded", exitCode: 0 }, "its end, last");
      const lines = live.items.slice(0, -1);
      assert.ok(lines.length > 0 && lines.every((l) => l.item.type === "line"), JSON.stringify(live.items));
      const touch = lines.find((l) => /\/usr\/bin\/touch /.test(String(l.item.msg)));
      assert.ok(touch, "the start's command line");
      // the check answers 0.4 s after it looks: the touch was streamed while the action still ran
      assert.ok(end.at - touch.at > 250, `the start's line came ${Math.round(end.at - touch.at)} ms before the end: streamed, not sent at the end`);
      const record = (await request(api, "GET", `/v1/actions/${id}`)).json() as { lines: { msg: string }[] };
      assert.deepEqual(lines.map((l) => l.item.msg), record.lines.map((l) => l.msg), "the record's lines, in order");
      const late = await follow(api);
      assert.deepEqual(late.items.map((i) => i.item), live.items.map((i) => i.item), "a follower after the end gets the same");
      const other = await follow(team(teams[0].group));
      assert.equal(other.status, 404, "slow1 is root's: no such action on a team's socket");
    } finally {
      r.run(["-s", "slow1", "stop"]);
    }
  });

  /** the last action of a service, as its history says: who ran it */
  const lastBy = async (svc: string) => ((await request(api, "GET", `/v1/services/${svc}/history`)).json() as { action: string; by: string; ok?: boolean }[])[0];
  /** a command's output without what differs from run to run */
  const sameness = (out: string) => out.replace(/^\d\d:\d\d:\d\d /gm, "");

  test("root's start and stop are the agent's when it runs, printed as the CLI prints its own; --local and options the API has no field for stay in the CLI", async () => {
    const before = agentLog().length;
    const local = r.run(["-s", "a2", "start", "--local"]);
    assert.equal(local.code, 0, local.stderr);
    assert.equal((await lastBy("a2"))?.by, "other", "--local: run by the CLI itself");
    ok(r.run(["-s", "a2", "stop", "--local"]), "stop --local");

    const mark = agentLog().length;
    assert.doesNotMatch(agentLog().slice(before), /a2: (start|stop) asked/, "--local: not the agent's, not in its log");
    const handed = r.run(["-s", "a2", "start"]);
    assert.equal(handed.code, 0, handed.stderr);
    assert.ok(fs.existsSync(flag("a2")), "started for real");
    const last = await lastBy("a2");
    assert.deepEqual([last?.action, last?.by, last?.ok], ["start", "agent", true], "run by the agent");
    assert.equal(sameness(handed.stdout), sameness(local.stdout), "the same lines as the CLI's own start");
    assert.equal(handed.stderr, "");

    const stop = r.run(["-s", "a2", "stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await lastBy("a2"))?.by, "agent");
    assert.ok(!fs.existsSync(flag("a2")), "stopped for real");
    assert.match(stop.stdout, /A2\.APP#1 {3}\/bin\/rm -f /);
    // the agent's log says what was asked through which socket, and how it ended, by action id
    const said = agentLog().slice(mark);
    for (const action of ["start", "stop"]) {
      const id = new RegExp(`a2: ${action} asked through api\\.sock \\(action ([0-9a-f-]{36})\\)`).exec(said)?.[1];
      assert.ok(id, `${action} asked, in _agent.log: ${said}`);
      assert.ok(said.includes(`a2: ${action} succeeded (action ${id}, asked through api.sock)`), `${action} ended, in _agent.log: ${said}`);
    }

    // a part of the service: the log says which, as the CLI's options say it
    ok(r.run(["-s", "a2", "start", "--rid", "app#1"]), "start --rid app#1");
    assert.match(agentLog(), /a2: start of --rid app#1 asked through api\.sock \(action /);
    ok(r.run(["-s", "a2", "stop", "--local"]), "stop --local");

    // an option the API has no field for: the CLI runs it
    ok(r.run(["-s", "a2", "start", "--parallel"]), "start --parallel");
    assert.equal((await lastBy("a2"))?.by, "other", "--parallel: the CLI's");
    ok(r.run(["-s", "a2", "stop", "--local"]), "stop --local");
  });

  test("--waitlock goes with the action: behind another action's lock, the agent waits as long as the CLI would, and gives up with the CLI's error", async () => {
    const lock = r.file("var/long1/action.lock");
    // the CLI's own start holds the lock 1.5 s: a handed-over one waits for it, then is the agent's
    const first = r.runAsync(["-s", "long1", "start", "--local"]);
    try {
      await until("long1's lock", () => fs.existsSync(lock), 5000);
      const waited = r.run(["-s", "long1", "start", "--waitlock", "10"]);
      assert.equal(waited.code, 0, waited.stdout + waited.stderr);
      assert.equal((await lastBy("long1"))?.by, "agent", "handed over, --waitlock with it");
    } finally {
      ok(await first, "the first start");
    }
    // a restart holds it again: with 0.2 s to wait, the agent gives up as the CLI does
    const second = r.runAsync(["-s", "long1", "restart", "--local"]);
    try {
      await until("long1's lock", () => fs.existsSync(lock), 5000);
      const local = r.run(["-s", "long1", "start", "--local", "--waitlock", "0.2"]);
      const t0 = performance.now();
      const handed = r.run(["-s", "long1", "start", "--waitlock", "0.2"]);
      const took = performance.now() - t0;
      assert.equal(local.code, 1, local.stdout + local.stderr);
      assert.match(local.stderr, /lock/);
      assert.equal(handed.code, 1, handed.stdout + handed.stderr);
      assert.equal(handed.stderr, local.stderr, "the same error");
      assert.ok(took < 1000, `gave up after ${Math.round(took)} ms, not the API's default hour`);
      assert.ok(fs.existsSync(lock), "the restart still held the lock meanwhile");
    } finally {
      ok(await second, "the restart");
      r.run(["-s", "long1", "stop", "--local"]);
    }
  });

  test("a failed start handed over: exit 1 and its rollback printed, as the CLI's own; a refused one: the CLI's error and exit 2", async () => {
    const local = r.run(["-s", "fail1", "start", "--local"]);
    const handed = r.run(["-s", "fail1", "start"]);
    assert.equal(local.code, 1, local.stdout + local.stderr);
    assert.equal(handed.code, 1, handed.stdout + handed.stderr);
    assert.equal((await lastBy("fail1"))?.by, "agent");
    assert.match(agentLog(), /"level":40,.*fail1: start failed: .*asked through api\.sock\)/, "a warning in the agent's log, with the failure");
    assert.match(handed.stdout, /FAIL1\.APP#1 {3}\/bin\/rm -f /, "rolled back");
    assert.ok(!fs.existsSync(flag("fail1")), "nothing left up");
    assert.equal(sameness(handed.stdout), sameness(local.stdout));
    assert.equal(handed.stderr, local.stderr);

    const badLocal = r.run(["-s", "fail1", "start", "--rid", "app#9", "--local"]);
    const bad = r.run(["-s", "fail1", "start", "--rid", "app#9"]);
    assert.equal(badLocal.code, 2, badLocal.stderr);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(bad.stderr, badLocal.stderr, "the same error");
    assert.notEqual(bad.stderr, "");
  });

  test("Ctrl-C while a handed-over start runs: the CLI says the agent carries on, exits 130, and the start completes", async () => {
    const child = spawn(LAUNCHER, ["-s", "long1", "start"], { env: r.env });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      // the agent runs it: its first line, the start's command, is printed
      await until("the start's first line", () => /LONG1\.APP#1 {3}\/bin\/sh -c /.test(stdout), 5000);
      child.kill("SIGINT");
      assert.equal(await exited, 130);
      assert.match(stderr, /interrupted; the agent carries on with long1's start/);
      await until("the start to go on to its end", () => fs.existsSync(flag("long1")), 10_000);
      const last = await until("long1's start in its history", async () => ((await lastBy("long1"))?.ok === true ? lastBy("long1") : undefined), 5000);
      assert.equal(last?.by, "agent");
    } finally {
      child.kill("SIGKILL");
      r.run(["-s", "long1", "stop", "--local"]);
    }
  });

  test("a team's event stream carries its own services' events only", async () => {
    const [a] = teams;
    const mine = readEvents(team(a.group));
    await new Promise((res) => setTimeout(res, 200));
    ok(r.run(["-s", "b1", "start"]), "start b1");
    ok(r.run(["-s", "a1", "start"]), "start a1");
    await mine.until((e) => e.data.service === "a1");
    mine.close();
    assert.ok(!mine.events.some((e) => e.data.service === "b1"), "no event of the other team's service");
    ok(r.run(["-s", "a1,b1", "stop"]), "stop");
  });

  test("50 concurrent clients and a stalled event reader do not slow an action down", async () => {
    const act = async (): Promise<number> => {
      const t0 = performance.now();
      const { id } = (await request(api, "POST", "/v1/services/a2/actions/restart", "{}")).json() as { id: string };
      for (;;) {
        const rec = (await request(api, "GET", `/v1/actions/${id}`)).json() as { state: string; exitCode?: number };
        if (rec.state === "succeeded" || rec.state === "failed") {
          assert.equal(rec.state, "succeeded");
          return performance.now() - t0;
        }
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    const quiet = await act();
    // a reader that never reads: its socket's buffers fill, the agent must not wait for it
    const stalled = net.connect(api);
    stalled.write("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    stalled.pause();
    let stop = false;
    const clients = Array.from({ length: 50 }, async () => {
      let n = 0;
      while (!stop) {
        await request(api, "GET", "/v1/services");
        n++;
      }
      return n;
    });
    const loaded = await act();
    stop = true;
    const served = await Promise.all(clients);
    stalled.destroy();
    console.log(`# restart through the API: ${Math.round(quiet)} ms quiet, ${Math.round(loaded)} ms under 50 clients (${served.reduce((x, y) => x + y, 0)} requests served meanwhile) and a stalled reader`);
    assert.ok(loaded < quiet * 3 + 1000, `an action under load took ${Math.round(loaded)} ms, ${Math.round(quiet)} ms quiet`);
  });

  test("/metrics parses as Prometheus text; a team's metrics show its services only", async () => {
    const res = await request(api, "GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    const families = parsePrometheusTextFormat(res.text) as { name: string; metrics: { labels?: Record<string, string>; value?: string; buckets?: unknown }[] }[];
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const n of ["svcmgr_service_status", "svcmgr_resource_status", "svcmgr_actions_total", "svcmgr_action_duration_seconds", "svcmgr_restarts_total"]) assert.ok(byName.has(n), `${n} is there`);
    const status = byName.get("svcmgr_service_status")!.metrics.filter((m) => m.labels?.service === "a1" && m.value === "1");
    assert.equal(status.length, 1, "one current status per service");
    assert.ok(byName.get("svcmgr_actions_total")!.metrics.some((m) => m.labels?.service === "a2" && m.labels.action === "restart" && Number(m.value) >= 1));
    const teamText = (await request(team(teams[0].group), "GET", "/metrics")).text;
    assert.doesNotMatch(teamText, /service="b1"/);
    assert.match(teamText, /service="a1"/);
  });

  test("the OpenAPI document is made from the schemas that validate requests", async () => {
    const doc = (await request(api, "GET", "/v1/openapi.json")).json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; additionalProperties: boolean } }> } }>> };
    assert.match(doc.openapi, /^3\./);
    for (const p of ["/v1/services", "/v1/services/{name}", "/v1/services/{name}/config", "/v1/services/{name}/actions/{action}", "/v1/actions/{id}", "/v1/events", "/v1/services/{name}/logs", "/metrics"]) assert.ok(doc.paths[p], p);
    const schema = doc.paths["/v1/services/{name}/actions/{action}"]!.post!.requestBody!.content["application/json"]!.schema;
    assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(ActionBody.shape).sort());
    assert.equal(schema.additionalProperties, false, "unknown fields refused, as the validator does");
  });

  test("clients come and go, actions run: the agent keeps no file descriptor of theirs", async () => {
    const pid = (JSON.parse(r.read("var/_agent/agent.pid")) as { pid: number }).pid;
    const fds = () => fs.readdirSync(`/proc/${pid}/fd`).length;
    const settle = async () => {
      // closed sockets are released asynchronously: the count settles within a moment
      for (let i = 0, last = -1; i < 50; i++) {
        const n = fds();
        if (n === last) return n;
        last = n;
        await new Promise((res) => setTimeout(res, 100));
      }
      return fds();
    };
    const before = await settle();
    for (let round = 0; round < 5; round++) {
      const readers = Array.from({ length: 20 }, () => readEvents(api));
      await Promise.all(Array.from({ length: 40 }, () => request(api, "GET", "/v1/services")));
      const { id } = (await request(api, "POST", "/v1/services/a2/actions/restart", "{}")).json() as { id: string };
      for (let st = ""; st !== "succeeded" && st !== "failed"; ) {
        st = ((await request(api, "GET", `/v1/actions/${id}`)).json() as { state: string }).state;
        await new Promise((res) => setTimeout(res, 20));
      }
      readers.forEach((x) => x.close());
    }
    const after = await settle();
    console.log(`# agent file descriptors: ${before} before, ${after} after 100 event readers, 200 requests and 5 actions`);
    assert.ok(after <= before + 2, `${after - before} descriptors more than before`);
  });

  test("bad requests get a JSON error and the right code; a flood of idle connections blocks nobody", async () => {
    const post = (path: string, body?: string | Buffer, headers?: Record<string, string>) => request(api, "POST", path, body, headers);
    const cases: [Promise<Reply>, number, RegExp][] = [
      [post("/v1/services/a1/actions/start", Buffer.alloc(100_000, "a")), 413, /over 65536 bytes/],
      [post("/v1/services/a1/actions/start", "{nope"), 400, /not JSON/],
      [post("/v1/services/a1/actions/start", JSON.stringify({ rid: "app#1", colour: "red" })), 400, /unknown field "colour"/],
      [post("/v1/services/a1/actions/start", JSON.stringify({ force: "yes" })), 400, /^force: /],
      [post("/v1/services/a1/actions/explode", "{}"), 404, /no such action: explode/],
      [post("/v1/services/zz/actions/start", "{}"), 404, /no such service: zz/],
      [request(api, "GET", "/v1/services/..%2f..%2fetc%2fpasswd"), 404, /no such service/],
      [request(api, "GET", "/v1/services/a1%00/config"), 404, /no such service/],
      [request(api, "GET", "/v1/services/a1/../../../metrics"), 200, /svcmgr_/],
      [request(api, "GET", "/nope"), 404, /no such endpoint/],
      [request(api, "GET", "/v1/actions/not-an-id"), 404, /no such action/],
    ];
    for (const [p, code, re] of cases) {
      const res = await p;
      assert.equal(res.status, code, res.text);
      if (code !== 200) assert.match((res.json() as { error: string }).error, re);
      else assert.match(res.text, re);
    }
    // hundreds of connections opened and left idle: another client is still answered at once
    const idle = await Promise.all(Array.from({ length: 300 }, () => new Promise<net.Socket>((res) => {
      const s = net.connect(api, () => res(s));
      s.on("error", () => res(s));
    })));
    const t0 = performance.now();
    const res = await request(api, "GET", "/v1/services/a1");
    const ms = performance.now() - t0;
    idle.forEach((s) => s.destroy());
    assert.equal(res.status, 200);
    assert.ok(ms < 1000, `answered in ${Math.round(ms)} ms beside 300 idle connections`);
    assert.equal(ok(r.run(["daemon", "status"]), "status").startsWith("agent running"), true, "the agent is still there");
  });
});
