// Hostile input: values with ;, $(...), backticks, quotes and newlines reach
// their target literally or are refused, never through a shell; names and
// resource ids that try to leave their directory are refused with nothing
// written; unknown options and actions exit 2 with a message that helps.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CliRoot } from "../support/cli.js";
import { cleanupEverything, isRoot, leftovers } from "../support/docker-fixture.js";
import { containerSection, IMAGE, nextBridgeCidr, ok, recordFigures, setUpService, socketOf } from "../support/reliability.js";
import { findExecutable } from "../../src/util/which.js";
import { readMountInfo } from "../../src/util/mountinfo.js";
import { splitWords } from "../../src/util/shell-words.js";

const noDocker = !isRoot() ? "needs root (dockerd, mounts)" : ["dockerd", "docker", "busybox"].find((p) => !findExecutable(p)) ? "dockerd, docker or busybox missing" : false;

/** Every file and directory under the root, with each file's content: what "nothing written" compares. */
function snapshot(root: string): string {
  const entries = (fs.readdirSync(root, { recursive: true }) as string[]).map(String).sort();
  return entries.map((e) => (fs.statSync(path.join(root, e)).isFile() ? `${e}\n${fs.readFileSync(path.join(root, e), "utf8")}` : e)).join("\n");
}

const figures = { refusedInvocations: 0, literalValues: 0 };
after(() => recordFigures("hostile-input", figures));

describe("names and resource ids that try to leave their directory", () => {
  const r = new CliRoot("svt-");
  const outside = path.join(path.dirname(r.root), `escape-${process.pid}`);
  before(() => {
    ok(r.run(["create", "-s", "svc1"]), "create");
    ok(r.run(["-s", "svc1", "set", "--kw", `container#1.run_image=${IMAGE}`, "--kw", "app#1.start=/bin/true"]), "set");
  });
  after(() => {
    r.cleanup();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const names = [
    "..",
    `../escape-${process.pid}`,
    `../../tmp/escape-${process.pid}`,
    `/tmp/escape-${process.pid}`,
    "svc1/../../x",
    "x/",
    ".hidden",
    "-x",
    "ａｐｐ",
    "svc1\nx",
    "x;touch /tmp/pwned",
    "$(id)",
    "a".repeat(64),
  ];
  const actions: string[][] = [["create"], ["print", "config"], ["set", "--kw", "DEFAULT.app=x"], ["delete", "--force"], ["docker", "ps"]];

  test(`${names.length} hostile service names × ${actions.length} actions: exit 2, nothing written`, async () => {
    const before = snapshot(r.root);
    const runs = names.flatMap((name) => actions.map((action) => (action[0] === "create" ? ["create", "-s", name] : ["-s", name, ...action])));
    // two at a time: the machine has two cores
    for (let i = 0; i < runs.length; i += 2) {
      const batch = runs.slice(i, i + 2);
      const results = await Promise.all(batch.map((args) => r.runAsync(args)));
      results.forEach((res, j) => {
        const args = batch[j]!;
        figures.refusedInvocations++;
        assert.equal(res.code, 2, `${JSON.stringify(args)}: ${res.stdout}${res.stderr}`);
        assert.match(res.stderr, /invalid service name|no service matches|create needs the service name/, JSON.stringify(args));
        assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
      });
    }
    // through a shortcut too: a link named like that runs as -s <name>
    for (const base of ["-x", "$(id)", "ａｐｐ", ".hidden"]) {
      const res = r.run(["print", "config"], { as: base });
      figures.refusedInvocations++;
      assert.equal(res.code, 2, `shortcut ${base}: ${res.stderr}`);
      assert.match(res.stderr, /invalid service name/);
    }
    fs.rmSync(r.file("links"), { recursive: true, force: true }); // the test's own shortcut links
    assert.equal(snapshot(r.root), before, "nothing written in the root");
    assert.ok(!fs.existsSync(outside), "nothing written next to it");
  });

  const rids: [string[], RegExp][] = [
    [["delete", "--rid", "../escape"], /--rid \.\.\/escape: not a resource or subset section/],
    [["delete", "--rid", "container#1/../../x"], /not a resource or subset section/],
    [["delete", "--rid", "DEFAULT"], /not a resource or subset section/],
    [["stop", "--rid", "container#../x"], /not a resource id/],
    [["start", "--rid", "container#1;id"], /not a resource id/],
    [["start", "--rid", "container#1,../../etc/passwd"], /not a resource id/],
    [["startcontainer", "--rid", "app#1"], /the container actions act on container resources only/],
    [["start", "--subsets", "../x"], /no resource matches --subsets \.\.\/x/],
    [["start", "--tags", "$(id)"], /no resource matches --tags \$\(id\)/],
    [["get", "--kw", "../../etc/passwd"], /unknown keyword|expected SECTION\.KEY/],
    [["set", "--kw", "../../etc/passwd.key=1"], /unknown section/],
    [["set", "--kw", "container#1]\n[ip#1.ipname=1.2.3.4"], /expected SECTION\.KEY/],
    [["set", "--kw", "container#1.run_image=busybox\n[DEFAULT]"], /an image reference has no spaces/],
    [["set", "--kw", "container#1.run_args=--name x"], /--name is refused/],
    [["set", "--kw", "container#1.run_args=--init 'unterminated"], /unterminated ' quote/],
  ];
  for (const [args, message] of rids) {
    test(`${JSON.stringify(args)} is refused, nothing written`, () => {
      const before = snapshot(r.root);
      const res = r.run(["-s", "svc1", ...args]);
      figures.refusedInvocations++;
      assert.equal(res.code, 2, res.stdout + res.stderr);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /);
      assert.equal(snapshot(r.root), before);
    });
  }

  test("a value cannot inject a section: extra lines become continuation lines", () => {
    ok(r.run(["-s", "svc1", "set", "--kw", "app#1.start=/bin/echo a\n[ip#9]\nipname = 1.2.3.4\n\n[DEFAULT]\nrollback = false"]), "set");
    const text = r.read("etc/svc1.conf");
    assert.match(text, /^start = \/bin\/echo a\n {4}\[ip#9\]\n {4}ipname = 1\.2\.3\.4\n {4}\[DEFAULT\]\n {4}rollback = false$/m);
    assert.doesNotMatch(text, /^\[ip#9\]/m);
    const json = JSON.parse(ok(r.run(["-s", "svc1", "print", "config", "--format", "json"]), "print config")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json).sort(), ["DEFAULT", "app#1", "container#1"]);
    figures.literalValues++;
  });
});

describe("values reach their target literally or are refused at validation", () => {
  const r = new CliRoot("svt-");
  before(() => ok(r.run(["create", "-s", "svc1"]), "create"));
  after(() => r.cleanup());

  const refused: [string, string, RegExp][] = [
    ["ip#1.ipname", "1.2.3.4;touch /tmp/x", /ipname: not an address or host name/],
    ["ip#1.ipname", "$(touch /tmp/x)", /ipname: not an address or host name/],
    ["ip#1.ipname", "`touch /tmp/x`", /ipname: not an address or host name/],
    ["ip#1.ipname", "1.2.3.4 && id", /ipname: not an address or host name/],
    ["ip#1.ipname", "a|b", /ipname: not an address or host name/],
    ["ip#1.ipdev", "lo;id", /ipdev: not an interface name/],
    ["ip#1.netmask", "24;id", /netmask: not a netmask/],
    ["fs#1.mnt", "relative/$(id)", /mnt: must be an absolute path/],
    ["fs#1.mnt_opt", "rw;touch /tmp/x", /mnt_opt: not a mount option list/],
    ["fs#1.type", "ext4;id", /type: not a filesystem type/],
    ["disk#1.name", "vg;id", /name: not a volume group name/],
    ["DEFAULT.docker_socket_group", "docker;id", /docker_socket_group: not a unix group name/],
    ["DEFAULT.docker_data_dir", "rel/$(id)", /docker_data_dir: must be an absolute path/],
  ];

  for (const [kw, value, message] of refused) {
    test(`${kw} = ${value}: refused by set and by validate`, () => {
      const file = r.file("etc/svc1.conf");
      const before = fs.readFileSync(file, "utf8");
      const extra = kw.startsWith("ip#") ? ["--kw", "ip#1.ipname=10.0.0.1", "--kw", "ip#1.ipdev=lo"] : kw.startsWith("fs#") ? ["--kw", "fs#1.type=tmpfs", "--kw", "fs#1.dev=tmpfs", "--kw", "fs#1.mnt=/mnt/x"] : kw.startsWith("disk#") ? ["--kw", "disk#1.type=vg"] : [];
      const res = r.run(["-s", "svc1", "set", ...extra, "--kw", `${kw}=${value}`]);
      figures.refusedInvocations++;
      assert.equal(res.code, 2, res.stdout + res.stderr);
      assert.match(res.stderr, message);
      assert.equal(fs.readFileSync(file, "utf8"), before, "the config is unchanged");
      // the same value written by hand: validate names the line, start refuses to act
      const [section, key] = [kw.slice(0, kw.lastIndexOf(".")), kw.slice(kw.lastIndexOf(".") + 1)];
      const others = extra.filter((e) => e.startsWith(`${section}.`) && !e.startsWith(`${kw}=`)).map((e) => e.slice(section.length + 1).replace("=", " = "));
      const hand = section === "DEFAULT" ? before.replace("[DEFAULT]\n", `[DEFAULT]\n${key} = ${value}\n`) : `${before}\n[${section}]\n${[...others, `${key} = ${value}`].join("\n")}\n`;
      fs.writeFileSync(file, hand);
      try {
        const v = r.run(["-s", "svc1", "validate", "config"]);
        assert.equal(v.code, 2, v.stdout + v.stderr);
        assert.match(v.stderr, new RegExp(`^svc1\\.conf:\\d+: \\[${section.replace(/[#.]/g, "\\$&")}\\] ${key}: `, "m"));
        const s = r.run(["-s", "svc1", "start"]);
        assert.equal(s.code, 2, "an invalid config starts nothing");
      } finally {
        fs.writeFileSync(file, before);
      }
    });
  }

  test("app commands run without a shell: ; $(...) and backticks are arguments of the program", () => {
    const marker = r.file("pwned");
    ok(r.run(["-s", "svc1", "set", "--kw", `app#1.start=/bin/echo $(touch ${marker}) ; touch ${marker} \`touch ${marker}\` "a'b" 'c"d'`]), "set");
    const res = r.run(["-s", "svc1", "start"]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.ok(res.stdout.includes(`output:\n$(touch ${marker}) ; touch ${marker} \`touch ${marker}\` a'b c"d\n`), res.stdout);
    assert.ok(!fs.existsSync(marker), "nothing ran in a shell");
    ok(r.run(["-s", "svc1", "unset", "--kw", "app#1.start"]), "unset");
    figures.literalValues++;
  });

  test("a mount point with $(...), ; and backticks is mounted at that literal path", { skip: !isRoot() && "needs root (mount)" }, () => {
    const weird = [r.file("a$(id)"), r.file("b;touch pwned"), r.file("c`id` d'e\"")];
    try {
      weird.forEach((mnt, i) => ok(r.run(["-s", "svc1", "set", "--kw", `fs#${i + 1}.type=tmpfs`, "--kw", `fs#${i + 1}.dev=tmpfs`, "--kw", `fs#${i + 1}.mnt=${mnt}`, "--kw", `fs#${i + 1}.mnt_opt=size=1m`]), "set"));
      const res = r.run(["-s", "svc1", "start"]);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const mounted = readMountInfo().map((m) => m.mountPoint);
      for (const mnt of weird) assert.ok(mounted.includes(mnt), `${mnt} is mounted: ${mounted.filter((m) => m.startsWith(r.root)).join(", ")}`);
      assert.deepEqual(fs.readdirSync(r.root).filter((f) => /uid=/.test(f) || f === "pwned"), [], "no command substitution happened");
      const status = ok(r.run(["-s", "svc1", "print", "status"]), "status");
      for (const i of [1, 2, 3]) assert.match(status, new RegExp(`fs#${i} +\\.\\.\\.\\. up `));
      ok(r.run(["-s", "svc1", "stop"]), "stop");
      assert.deepEqual(readMountInfo().filter((m) => m.mountPoint.startsWith(r.root)), []);
      figures.literalValues += weird.length;
    } finally {
      for (const mnt of weird) spawnSync("umount", [mnt]);
      for (const i of [1, 2, 3]) r.run(["-s", "svc1", "delete", "--rid", `fs#${i}`]);
    }
  });
});

describe("unknown options and actions: exit 2 and a message that helps", () => {
  const r = new CliRoot("svt-");
  before(() => {
    ok(r.run(["create", "-s", "svc1"]), "create");
    ok(r.run([], { as: "svcmon" }), "svcmon"); // makes the test's svcmon link before the snapshots
  });
  after(() => r.cleanup());

  const cases: [string, string[], RegExp, string?][] = [
    ["an unknown option before the action", ["--frobnicate", "-s", "svc1", "start"], /unknown option '--frobnicate'/],
    ["a misspelled action option", ["-s", "svc1", "start", "--ridd", "container#1"], /unknown option '--ridd'\n\(Did you mean --rid\?\)/],
    ["an option of another action", ["-s", "svc1", "print", "status", "--dry-run"], /unknown option '--dry-run'/],
    ["a misspelled action", ["-s", "svc1", "stat"], /unknown command 'stat'\n\(Did you mean start\?\)/],
    ["an action with no likeness", ["-s", "svc1", "xyzzy"], /unknown command 'xyzzy'/],
    ["print alone", ["-s", "svc1", "print"], /unknown action "print": did you mean print status or print config\?/],
    ["print with a misspelled second word", ["-s", "svc1", "print", "statu"], /unknown action "print statu": did you mean print status\?/],
    ["validate alone", ["-s", "svc1", "validate"], /did you mean validate config\?/],
    ["an option without its value", ["-s", "svc1", "start", "--rid"], /option '--rid <rids>' argument missing/],
    ["-s without a value", ["-s"], /option '-s, --service <selector>' argument missing/],
    ["extra arguments", ["-s", "svc1", "start", "now", "please"], /too many arguments for 'start'/],
    ["a bad --format", ["-s", "svc1", "print", "status", "--format", "xml"], /argument 'xml' is invalid\. Allowed choices are table, json/],
    ["a bad --format of print config", ["-s", "svc1", "print", "config", "--format", "yaml"], /Allowed choices are table, json/],
    ["a bad --color", ["--color", "sometimes", "-s", "svc1", "print", "status"], /Allowed choices are auto, always, never/],
    ["a bad --lines", ["-s", "svc1", "logs", "--lines", "ten"], /--lines ten: expected a whole number/],
    ["a negative --waitlock", ["-s", "svc1", "start", "--waitlock", "-1"], /--waitlock -1: expected a number of seconds/],
    ["svcmon: an unknown option", ["--frobnicate"], /unknown option '--frobnicate'/, "svcmon"],
    ["svcmon: a bad --format", ["--format", "xml"], /Allowed choices are table, json/, "svcmon"],
    ["svcmon: a bad --interval", ["--watch", "--interval", "soon"], /--interval soon: expected a number of seconds/, "svcmon"],
    ["svcmon: extra arguments", ["app1"], /too many arguments/, "svcmon"],
    ["a shortcut with an unknown action", ["strat"], /unknown command 'strat'\n\(Did you mean start\?\)/, "svc1"],
  ];
  for (const [what, args, message, as] of cases) {
    test(what, { timeout: 20_000 }, () => {
      const before = snapshot(r.root);
      const res = r.run(args, { as });
      figures.refusedInvocations++;
      assert.equal(res.code, 2, `${args.join(" ")}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
      assert.equal(res.stdout, "");
      assert.equal(snapshot(r.root), before, "nothing changed");
    });
  }
});

describe("hostile run_command and run_args reach the container literally", { skip: noDocker }, () => {
  const r = new CliRoot("svt-");
  const svc = "hostile.svc";
  const marker = `/tmp/pwned-${process.pid}`;
  let startOut = "";
  before(async () => {
    const config = [
      "[DEFAULT]",
      `docker_data_dir = ${r.root}/data/{name}`,
      `docker_bridge_cidr = ${nextBridgeCidr()}`,
      "",
      ...containerSection(1, {
        command: `sh -c 'echo "$1"; echo "$2"; echo "$X"; echo "$Y"; exec sleep 3600' x '$(touch ${marker})' 'line1\n    line2;\`touch ${marker}\`'`,
        args: `--init -e 'X=;touch ${marker};\`id\`$(id)"q"' -e "Y=a'b\\"c\\$(id)" --label 'evil=$(touch ${marker}); rm -rf /'`,
      }),
    ].join("\n");
    await setUpService(r, svc, config);
  });
  after(async () => {
    fs.rmSync(marker, { force: true });
    r.run(["-s", svc, "stop"]);
    await cleanupEverything(r.root);
    r.cleanup();
  });

  test("the container prints every hostile value as it was written", async () => {
    startOut = ok(r.run(["-s", svc, "start"]), "start");
    const sock = socketOf(r, svc);
    let logs = "";
    for (let i = 0; i < 100 && logs.split("\n").length < 6; i++) {
      logs = spawnSync("docker", ["-H", `unix://${sock}`, "logs", `${svc}.container.1`], { encoding: "utf8" }).stdout;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(logs, [`$(touch ${marker})`, "line1", `line2;\`touch ${marker}\``, `;touch ${marker};\`id\`$(id)"q"`, "a'b\"c$(id)", ""].join("\n"));
    const label = spawnSync("docker", ["-H", `unix://${sock}`, "inspect", "--format", '{{index .Config.Labels "evil"}}', `${svc}.container.1`], { encoding: "utf8" }).stdout;
    assert.equal(label, `$(touch ${marker}); rm -rf /\n`);
    assert.ok(!fs.existsSync(marker), "nothing ran on the host");
    const inside = spawnSync("docker", ["-H", `unix://${sock}`, "exec", `${svc}.container.1`, "ls", "/tmp"], { encoding: "utf8" });
    assert.equal(inside.stdout, "", "nor in the container");
    figures.literalValues += 6;
  });

  test("the logged docker run line, pasted into a shell, gives the same words and runs nothing", () => {
    // the record goes on until the next timestamped line: a value with a newline spans two
    const cmd = /(docker -H \S+ run -d --name=[\s\S]*?)\n(?=\d\d:\d\d:\d\d )/.exec(startOut)?.[1];
    assert.ok(cmd, startOut);
    const words = splitWords(cmd);
    assert.ok(words.includes(`$(touch ${marker})`));
    assert.ok(words.includes(`line1\nline2;\`touch ${marker}\``));
    // the shell's own reading of the line: printf each word NUL-terminated instead of running docker
    const sh = spawnSync("sh", ["-c", `printf '%s\\0' ${cmd.slice("docker ".length)}`], { encoding: "utf8" });
    assert.equal(sh.status, 0, sh.stderr);
    assert.deepEqual(sh.stdout.split("\0").slice(0, -1), words.slice(1));
    assert.ok(!fs.existsSync(marker), "pasting the line ran nothing");
  });

  test("stop leaves nothing behind", async () => {
    ok(r.run(["-s", svc, "stop"]), "stop");
    assert.deepEqual(await leftovers(r.root), { processes: [], bridges: [], mounts: [] });
  });
});
