// Team isolation with real unix users: each team's services put their private
// docker socket in the team's group; a member of one team drives its own
// daemons with the docker CLI and is refused by the other team's. The modes
// svcmgr gives its files and directories are no wider than that needs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { CliRoot } from "../support/cli.js";
import { cleanupEverything, importImage, isRoot, leftovers } from "../support/docker-fixture.js";
import { IMAGE, nextBridgeCidr, ok, recordFigures, socketOf } from "../support/reliability.js";
import { findExecutable } from "../../src/util/which.js";
import { groupId } from "../../src/util/group.js";

const skip = !isRoot() ? "needs root (users, groups, dockerd)" : ["dockerd", "docker", "busybox", "useradd", "runuser"].find((p) => !findExecutable(p)) ? "dockerd, docker, busybox, useradd or runuser missing" : false;

const tag = `${process.pid}`;
const teams = [
  { team: 1, group: `svg1_${tag}`, user: `svu1_${tag}`, services: ["app1.dev", "app1.prd"] },
  { team: 2, group: `svg2_${tag}`, user: `svu2_${tag}`, services: ["app2.dev", "app2.prd"] },
] as const;

function sh(cmd: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Run a command as a user, with no home and no docker client config of root's. */
function asUser(user: string, argv: string[]): { code: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: "/nonexistent", DOCKER_CONFIG: "/nonexistent/.docker" };
  delete env.DOCKER_HOST;
  const r = spawnSync("runuser", ["-u", user, "--", ...argv], { encoding: "utf8", env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const mode = (p: string): number => fs.statSync(p).mode & 0o7777;
const octal = (m: number): string => m.toString(8).padStart(4, "0");

describe("team isolation with real users and groups", { skip }, () => {
  const r = new CliRoot("svt-");
  const all = teams.flatMap((t) => t.services);

  before(async () => {
    for (const t of teams) {
      const g = sh("groupadd", [t.group]);
      assert.equal(g.code, 0, g.out);
      const u = sh("useradd", ["-M", "-N", "-g", t.group, "-s", "/bin/sh", t.user]);
      assert.equal(u.code, 0, u.out);
    }
    // the test root stands for /var/lib and /etc: traversable by everyone, as those are
    fs.chmodSync(r.root, 0o711);
    for (const t of teams) {
      for (const s of t.services) ok(r.run(["create", "-s", s, "--env", s.endsWith("dev") ? "DEV" : "PRD", "--kw", `docker_data_dir=${r.root}/data/${s}`, "--kw", `docker_bridge_cidr=${nextBridgeCidr()}`]), `create ${s}`);
      ok(
        r.run([
          "-s",
          `app${t.team}.*`,
          "set",
          "--kw",
          `docker_socket_group=${t.group}`,
          "--kw",
          `docker_data_dir=${r.root}/data/{name}`,
          "--kw",
          `container#1.run_image=${IMAGE}`,
          "--kw",
          "container#1.run_command=sleep 3600",
          "--kw",
          "container#1.run_args=--init",
        ]),
        `set app${t.team}.*`,
      );
    }
    for (const s of all) {
      ok(r.run(["-s", s, "docker", "version", "--format", "{{.Server.APIVersion}}"]), `daemon of ${s}`);
      await importImage(socketOf(r, s), IMAGE);
    }
    ok(r.run(["-s", all.join(","), "start", "--parallel"]), "start all");
  });

  after(async () => {
    try {
      r.run(["-s", all.join(","), "stop", "--parallel"]);
      await cleanupEverything(r.root);
    } finally {
      for (const t of teams) {
        sh("userdel", [t.user]);
        sh("groupdel", [t.group]);
      }
    }
    for (const t of teams) {
      assert.equal(groupId(t.group), undefined, `group ${t.group} removed`);
      assert.notEqual(sh("id", [t.user]).code, 0, `user ${t.user} removed`);
    }
  });

  test("each team's user drives its own daemons with the docker CLI", () => {
    for (const t of teams) {
      for (const s of t.services) {
        const res = asUser(t.user, ["docker", "-H", `unix://${socketOf(r, s)}`, "ps", "--format", "{{.Names}}"]);
        assert.equal(res.code, 0, `${t.user} on ${s}: ${res.stderr}`);
        assert.equal(res.stdout, `${s}.container.1\n`);
      }
      // write access too: the team member runs a container of its own on its daemon
      const s = t.services[0];
      const run = asUser(t.user, ["docker", "-H", `unix://${socketOf(r, s)}`, "run", "--rm", IMAGE, "echo", `hello team${t.team}`]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `hello team${t.team}\n`);
    }
  });

  test("and gets permission denied on the other team's", () => {
    for (const t of teams) {
      const others = teams.filter((o) => o !== t).flatMap((o) => o.services);
      for (const s of others) {
        const res = asUser(t.user, ["docker", "-H", `unix://${socketOf(r, s)}`, "ps"]);
        assert.notEqual(res.code, 0, `${t.user} must not reach ${s}`);
        assert.match(res.stderr, /permission denied/i);
        assert.equal(res.stdout, "");
        // nor look into its state dir, nor read any config or log
        assert.notEqual(asUser(t.user, ["ls", r.file(`var/${s}`)]).code, 0);
      }
      for (const s of all) {
        assert.notEqual(asUser(t.user, ["cat", r.file(`etc/${s}.conf`)]).code, 0, "configs are root's");
        assert.notEqual(asUser(t.user, ["cat", r.file(`log/${s}.log`)]).code, 0, "logs are root's");
        assert.notEqual(asUser(t.user, ["cat", r.file(`var/${s}/dockerd.log`)]).code, 0, "the daemon's log is root's");
      }
      assert.notEqual(asUser(t.user, ["ls", r.file("var")]).code, 0, "the var dir can be traversed, not listed");
    }
  });

  test("modes: no file or directory wider than needed", () => {
    const seen: Record<string, string> = {};
    const expect = (p: string, want: number, gid = 0): void => {
      const st = fs.statSync(p);
      seen[p.slice(r.root.length + 1)] = `${octal(st.mode & 0o7777)} ${st.uid}:${st.gid}`;
      assert.equal(octal(mode(p)), octal(want), `mode of ${p}`);
      assert.equal(st.uid, 0, `owner of ${p}`);
      assert.equal(st.gid, gid, `group of ${p}`);
    };
    expect(r.file("var"), 0o711);
    expect(r.file("log"), 0o750);
    for (const t of teams) {
      const gid = groupId(t.group)!;
      for (const s of t.services) {
        expect(r.file(`var/${s}`), 0o750, gid);
        const sock = socketOf(r, s);
        assert.ok(fs.statSync(sock).isSocket());
        expect(sock, 0o660, gid);
        expect(r.file(`etc/${s}.conf`), 0o640);
        expect(r.file(`etc/${s}.conf.bak`), 0o640);
        expect(r.file(`log/${s}.log`), 0o640);
        expect(r.file(`var/${s}/status.json`), 0o640);
        expect(r.file(`var/${s}/dockerd.log`), 0o640);
        // nothing in the state dir is writable by the group or readable by others
        for (const f of fs.readdirSync(r.file(`var/${s}`))) {
          const p = r.file(`var/${s}/${f}`);
          const m = mode(p);
          assert.equal(m & 0o002, 0, `${p} is not world-writable`);
          if (!fs.statSync(p).isSocket()) assert.equal(m & 0o020, 0, `${p} is not group-writable`);
        }
      }
    }
    recordFigures("team-isolation", { users: teams.length, services: all.length, modes: seen });
  });

  test("a config an operator left world-readable: set writes it 0640 and its .bak too", () => {
    const file = r.file("etc/app1.prd.conf");
    fs.chmodSync(file, 0o644);
    ok(r.run(["-s", "app1.prd", "set", "--kw", "DEFAULT.app=TEAM1"]), "set");
    assert.equal(octal(mode(file)), "0640");
    assert.equal(octal(mode(`${file}.bak`)), "0640", "the previous version is no more readable than the config");
  });

  test("stop leaves nothing running and the modes in place", async () => {
    ok(r.run(["-s", all.join(","), "stop", "--parallel"]), "stop");
    const left = await leftovers(r.root);
    assert.deepEqual(left, { processes: [], bridges: [], mounts: [] });
    for (const t of teams) for (const s of t.services) assert.equal(octal(mode(r.file(`var/${s}`))), "0750");
  });
});
