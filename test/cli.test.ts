// The command line as the first tutorial uses it, before any container runs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CliRoot, dedent } from "./support/cli.js";

const SERVICES = ["app1.dev", "app1.int", "app1.prd", "app2.dev", "app2.int", "app2.prd"];

describe("creating and configuring the six services of the first tutorial", () => {
  const r = new CliRoot();
  after(() => r.cleanup());

  test("create prints each implicit [DEFAULT] keyword and makes a shortcut", () => {
    for (const s of SERVICES) {
      const res = r.run(["create", "-s", s]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        "Implicitly add [DEFAULT] mode = hosted\nImplicitly add [DEFAULT] service_type = TST\nImplicitly add [DEFAULT] nodes = deb1.opensvc.com\nImplicitly add [DEFAULT] autostart_node = deb1.opensvc.com\n",
      );
      assert.equal(fs.readlinkSync(r.file(`bin/${s}`)), path.resolve("bin/svcmgr.js"));
    }
    assert.equal(r.run(["create", "-s", "app1.dev"]).code, 2, "creating an existing service is refused");
  });

  test("svcmon lists the six services as TST, exactly as the tutorial shows", () => {
    const res = r.run([], { as: "svcmon" });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      dedent(`
        service  service container container ip        disk       fs         share      app        hb        sync      avail      overall
        name     type    type      status    status    status     status     status     status     status    status    status     status     frozen
        -------  ------- --------- --------- ------    ------     ------     ------     ------     ------    ------    ------     -------    ------
        app1.dev TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
        app1.int TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
        app1.prd TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
        app2.dev TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
        app2.int TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
        app2.prd TST     hosted    n/a       n/a       n/a        n/a        n/a        n/a        n/a       n/a       n/a        n/a        False
`),
    );
  });

  test("set --kw (and the legacy --param/--value) change the service type; svcmon shows it", () => {
    for (const s of SERVICES) {
      const env = s.split(".")[1]!.toUpperCase();
      const res = s.startsWith("app1") ? r.run(["-s", s, "set", "--kw", `DEFAULT.service_type=${env}`]) : r.run(["set", "--param", "service_type", "--value", env], { as: s });
      assert.equal(res.code, 0, res.stderr);
    }
    const types = r.run([], { as: "svcmon" }).stdout.split("\n").slice(3, 9).map((l) => l.split(/\s+/).slice(0, 2).join(" "));
    assert.deepEqual(types, ["app1.dev DEV", "app1.int INT", "app1.prd PRD", "app2.dev DEV", "app2.int INT", "app2.prd PRD"]);
    assert.equal(r.run(["-s", "app2.prd", "get", "--kw", "DEFAULT.service_type"]).stdout, "PRD\n");
  });

  test("the shortcut runs print config; set keeps the previous file as .bak", () => {
    const res = r.run(["-s", "app1.dev", "set", "--kw", "docker_data_dir=/opt/app1.dev", "--kw", "container#1.type=docker", "--kw", "container#1.run_image=37fca75d01ff", "--kw", "container#1.run_command=/bin/bash"]);
    assert.equal(res.code, 0, res.stderr);
    const conf = r.run(["print", "config"], { as: "app1.dev" });
    assert.equal(conf.code, 0, conf.stderr);
    assert.equal(conf.stdout, "[DEFAULT]\nmode = hosted\nservice_type = DEV\nnodes = deb1.opensvc.com\nautostart_node = deb1.opensvc.com\ndocker_data_dir = /opt/app1.dev\n\n[container#1]\ntype = docker\nrun_image = 37fca75d01ff\nrun_command = /bin/bash\n");
    assert.match(r.read("etc/app1.dev.conf.bak"), /service_type = DEV/);
    assert.doesNotMatch(r.read("etc/app1.dev.conf.bak"), /container#1/);
    const json = JSON.parse(r.run(["-s", "app1.dev", "print_config", "--format", "json"]).stdout) as Record<string, Record<string, string>>;
    assert.equal(json["container#1"]!.run_image, "37fca75d01ff");
    assert.equal(json["container#1"]!.start_timeout, "60s", "defaults appear in the parsed form");
  });

  test("comments and layout survive set and unset", () => {
    const file = r.file("etc/app2.dev.conf");
    fs.writeFileSync(file, "# team2's dev copy\n[DEFAULT]\n; the type\nservice_type = DEV\nnodes = deb1.opensvc.com\n\n[container#1]\nrun_image = busybox   # a value with a hash\nrun_args = --net=none -e A=B\n    -e C=D\n");
    assert.equal(r.run(["-s", "app2.dev", "set", "--kw", "container#1.run_command=/bin/sh"]).code, 0);
    assert.equal(r.run(["-s", "app2.dev", "unset", "--kw", "DEFAULT.nodes"]).code, 0);
    assert.equal(fs.readFileSync(file, "utf8"), "# team2's dev copy\n[DEFAULT]\n; the type\nservice_type = DEV\n\n[container#1]\nrun_image = busybox   # a value with a hash\nrun_args = --net=none -e A=B\n    -e C=D\nrun_command = /bin/sh\n");
  });

  test("print status of a service that never started", () => {
    const res = r.run(["print", "status"], { as: "app1.dev" });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      dedent(`
        app1.dev
        overall                   down
        |- avail                  down
        |  '- container#1    .... down     37fca75d01ff
        |                                  # docker daemon is not running
        |- sync                   n/a
        '- hb                     n/a
`),
    );
  });

  test("freeze and thaw show in svcmon's frozen column", () => {
    assert.equal(r.run(["-s", "app1.int", "freeze"]).stdout, "app1.int: frozen\n");
    assert.match(r.run(["-s", "app1.int"], { as: "svcmon" }).stdout, /app1\.int .* True\n$/);
    assert.equal(r.run(["-s", "app1.int", "thaw"]).stdout, "app1.int: thawed\n");
    assert.match(r.run(["-s", "app1.int"], { as: "svcmon" }).stdout, /False\n$/);
  });

  test("selectors: globs and lists", () => {
    const res = r.run(["-s", "app1.*,app2.prd", "get", "--kw", "service_type"]);
    assert.equal(res.stdout, "DEV\nINT\nPRD\nPRD\n");
    assert.equal(r.run(["-s", "nope.*", "print", "status"]).code, 2);
  });
});

describe("bad input: a clear error, exit 2, nothing changed", () => {
  const r = new CliRoot();
  before(() => assert.equal(r.run(["create", "-s", "svc1"]).code, 0));
  after(() => r.cleanup());
  const snapshot = () => fs.readdirSync(r.root, { recursive: true }).map(String).sort().join("\n") + r.read("etc/svc1.conf");

  const cases: [string, string[], RegExp][] = [
    ["a service name that leaves its directory", ["create", "-s", "../x"], /invalid service name "\.\.\/x"/],
    ["a service name with a space", ["create", "-s", "A B"], /invalid service name/],
    ["a 64-character service name", ["create", "-s", "a".repeat(64)], /invalid service name/],
    ["an empty service name", ["create", "-s", ""], /create needs the service name|invalid service name/],
    ["an unknown action", ["-s", "svc1", "strat"], /unknown command 'strat'[\s\S]*Did you mean start\?/],
    ["an unknown option", ["-s", "svc1", "start", "--frobnicate"], /unknown option '--frobnicate'/],
    ["an unknown keyword in set", ["-s", "svc1", "set", "--kw", "DEFAULT.servce_type=DEV"], /svc1\.conf:\d+: \[DEFAULT\] servce_type: unknown keyword \(did you mean service_type\?\)/],
    ["a bad value in set", ["-s", "svc1", "set", "--kw", "DEFAULT.service_type=PROD"], /service_type: "PROD" is not one of/],
    ["a --kw without =", ["-s", "svc1", "set", "--kw", "DEFAULT.app"], /expected SECTION\.KEY=VALUE/],
    ["a --rid that is not a resource id", ["-s", "svc1", "start", "--rid", "../../etc"], /--rid \.\.\/\.\.\/etc: not a resource id/],
    ["an unknown service", ["-s", "nosuch", "print", "status"], /no such service: nosuch/],
    ["a state change on every service without --all", ["stop"], /name them with -s, or select them with --status or --all/],
    ["an empty resource selection", ["-s", "svc1", "start", "--rid", "container#1"], /--rid container#1: no such resource/],
    ["a bad --env on create", ["create", "-s", "svc2", "--env", "PROD"], /service_type: "PROD" is not one of/],
    ["a bad --waitlock", ["-s", "svc1", "freeze", "--waitlock", "soon"], /--waitlock soon: expected a number of seconds/],
  ];
  for (const [what, args, message] of cases) {
    test(what, () => {
      const before = snapshot();
      const res = r.run(args);
      assert.equal(res.code, 2, `exit code of ${args.join(" ")}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
      assert.equal(snapshot(), before, "nothing changed");
    });
  }

  test("validate config names the file and line of a typo", () => {
    fs.writeFileSync(r.file("etc/svc1.conf"), "[DEFAULT]\nservice_type = DEV\n\n[container#1]\ntype = docker\nrun_imag = busybox\n");
    const res = r.run(["-s", "svc1", "validate", "config"]);
    assert.equal(res.code, 2);
    assert.equal(res.stderr, "svc1.conf:4: [container#1] run_image: missing mandatory keyword\nsvc1.conf:6: [container#1] run_imag: unknown keyword (did you mean run_image?)\n");
    const start = r.run(["-s", "svc1", "start"]);
    assert.equal(start.code, 2, "an invalid config starts nothing");
    assert.match(start.stderr, /svc1\.conf:6: \[container#1\] run_imag: unknown keyword/);
    // an edit that fixes the config is accepted although the file is invalid
    assert.equal(r.run(["-s", "svc1", "set", "--kw", "container#1.run_image=busybox"]).code, 0);
    assert.equal(r.run(["-s", "svc1", "unset", "--kw", "container#1.run_imag"]).code, 0);
    assert.equal(r.run(["-s", "svc1", "validate", "config"]).stdout, "svc1: valid\n");
  });

  test("--help works for the program and each action", () => {
    const main = r.run(["--help"]);
    assert.equal(main.code, 0);
    for (const a of ["create", "start", "print_status", "svcmon"]) assert.match(main.stdout + r.run([], { as: "svcmon" }).stdout, new RegExp(a === "svcmon" ? "service" : a));
    const start = r.run(["start", "--help"]);
    assert.equal(start.code, 0);
    assert.match(start.stdout, /--rid <rids>/);
    assert.match(start.stdout, /--disable-rollback/);
    assert.equal(r.run(["print", "status", "--help"]).code, 0);
  });

  // the program registers only the action a command line names: the others must still be found, named and suggested
  test("--version, a first word alone, an alias and a misspelling work with only the named action built", () => {
    const version = r.run(["--version"]);
    assert.deepEqual([version.code, version.stdout], [0, "0.1.0\n"]);
    const print = r.run(["print"]);
    assert.equal(print.code, 2);
    assert.match(print.stderr, /unknown action "print": did you mean print status or print config\?/);
    assert.match(r.run(["--status", "up", "strat"]).stderr, /Did you mean start\?/);
    assert.equal(r.run(["-s", "svc1", "print-config"]).code, 0);
    // an action's unknown option is refused, and the action is not run
    const bad = r.run(["-s", "svc1", "print_config", "--frobnicate"]);
    assert.deepEqual([bad.code, bad.stdout], [2, ""]);
  });
});

describe("plans, edits and deletion", () => {
  const r = new CliRoot();
  after(() => r.cleanup());
  before(() => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.copyFileSync(path.resolve("test/fixtures/busybox.opensvc.com.conf"), r.file("etc/busybox.opensvc.com.conf"));
  });

  test("start --dry-run prints the tutorial's order and changes nothing", () => {
    const res = r.run(["-s", "busybox.opensvc.com", "start", "--dry-run"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      [
        "busybox.opensvc.com: start plan",
        "   1. ip: ip#1",
        "   2. disk: vg#1",
        "   3. fs (one after the other): fs#1 fs#2",
        "   4. container subset 00database: container#1",
        "   5. container subset 01appservers (in parallel): container#2 container#3 container#4 container#5",
        "   6. container subset 02webservers (one after the other): container#6 container#7",
        "",
      ].join("\n"),
    );
    const stop = r.run(["-s", "busybox.opensvc.com", "stopcontainer", "--dry-run", "--subsets", "01appservers,02webservers"]);
    assert.match(stop.stdout, /1\. container subset 02webservers \(one after the other\): container#7 container#6\n.*2\. container subset 01appservers \(in parallel\): container#5 container#4 container#3 container#2\n$/s);
    assert.ok(!fs.existsSync(r.file("var/busybox.opensvc.com/action.lock")));
  });

  test("edit config: an invalid result is refused and the old file kept; a valid one is saved", () => {
    const editor = r.file("editor.sh");
    const file = r.file("etc/busybox.opensvc.com.conf");
    const before = fs.readFileSync(file, "utf8");
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/^vgname/vgnme/" "$1"\n', { mode: 0o755 });
    const bad = r.run(["-s", "busybox.opensvc.com", "edit", "config"], { env: { EDITOR: editor } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /busybox\.opensvc\.com\.conf:\d+: \[vg#1\] vgnme: unknown keyword \(did you mean vgname\?\)/);
    assert.equal(fs.readFileSync(file, "utf8"), before);
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/^app = OSVCLAB/app = LAB2/" "$1"\n', { mode: 0o755 });
    assert.equal(r.run(["-s", "busybox.opensvc.com", "edit", "config"], { env: { EDITOR: editor } }).code, 0);
    assert.equal(fs.readFileSync(file, "utf8"), before.replace("app = OSVCLAB", "app = LAB2"));
  });

  test("delete --rid removes sections; delete removes the service", () => {
    assert.equal(r.run(["-s", "busybox.opensvc.com", "delete", "--rid", "container#7"]).code, 0);
    assert.doesNotMatch(r.read("etc/busybox.opensvc.com.conf"), /container#7/);
    assert.match(r.read("etc/busybox.opensvc.com.conf"), /\[container#6\]/);
  });

  test("concurrent set calls on one config lose no update", async () => {
    const kws = [...[1, 2, 3, 4, 5, 6].map((i) => `container#${i}.tags=t${i}`), "ip#1.tags=front", "DEFAULT.app=LAB3"];
    const results = await Promise.all(kws.map((kw) => r.runAsync(["-s", "busybox.opensvc.com", "set", "--kw", kw])));
    assert.deepEqual(results.map((x) => x.code), kws.map(() => 0), results.map((x) => x.stderr).join(""));
    const text = r.read("etc/busybox.opensvc.com.conf");
    for (const kw of kws) assert.match(text, new RegExp(`^${kw.split(".").pop()!.replace("=", " = ")}$`, "m"));
  });
});

describe("get", () => {
  const r = new CliRoot();
  after(() => r.cleanup());
  test("as written (any alias), evaluated with --eval, defaults, unset and unknown keywords", () => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.copyFileSync(path.resolve("test/fixtures/app.opensvc.com.conf"), r.file("etc/app.opensvc.com.conf"));
    const get = (...kw: string[]) => r.run(["-s", "app.opensvc.com", "get", ...kw.flatMap((k) => ["--kw", k])]);
    assert.equal(get("fs#2.mnt_opt").stdout, "rw\n", "mnt_opts is written, mnt_opt asked: one keyword");
    assert.equal(get("container#1.start_timeout").stdout, "60s\n", "the default when unset");
    assert.equal(r.run(["-s", "app.opensvc.com", "get", "--eval", "--kw", "container#1.run_image"]).stdout, "f66342b343ae\n");
    const unset = get("DEFAULT.docker_bridge_cidr");
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /DEFAULT\.docker_bridge_cidr is not set/);
    const unknown = get("container#1.nope");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--kw container#1\.nope: unknown keyword/);
  });
});

describe("keyword aliases: set, unset and get find a keyword under any of its names", () => {
  const r = new CliRoot();
  after(() => r.cleanup());
  const conf = () => r.read("etc/x.conf");

  test("create --env writes service_type; set --kw env= edits that line in place", () => {
    assert.equal(r.run(["create", "-s", "x", "--env", "DEV"]).code, 0);
    const before = conf();
    assert.match(before, /^service_type = DEV$/m);
    const res = r.run(["-s", "x", "set", "--kw", "env=PRD"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(conf(), before.replace("service_type = DEV", "service_type = PRD"));
    assert.equal(r.run(["-s", "x", "get", "--kw", "env"]).stdout, "PRD\n");
    assert.equal(r.run(["-s", "x", "set", "--param", "env", "--value", "INT"]).code, 0);
    assert.equal(conf(), before.replace("service_type = DEV", "service_type = INT"));
  });

  test("a file written with the aliases: set and unset by the canonical names change only their own lines", () => {
    const text = [
      "# hand-written",
      "[DEFAULT]",
      "env = DEV",
      "container_data_dir = /opt/x",
      "",
      "[container#1]",
      "image = busybox   ; the image",
      "command = /bin/sh",
      "# end",
      "",
    ].join("\n");
    fs.writeFileSync(r.file("etc/x.conf"), text);
    const run = (...args: string[]) => r.run(["-s", "x", ...args]);
    let res = run("set", "--kw", "container#1.run_image=nginx:1.25", "--kw", "DEFAULT.service_type=PRD");
    assert.equal(res.code, 0, res.stderr);
    let want = text.replace("image = busybox   ; the image", "image = nginx:1.25").replace("env = DEV", "env = PRD");
    assert.equal(conf(), want);
    assert.equal(run("get", "--kw", "container#1.run_image").stdout, "nginx:1.25\n");
    assert.equal(run("get", "--kw", "DEFAULT.service_type").stdout, "PRD\n");
    res = run("unset", "--kw", "container#1.run_command", "--kw", "docker_data_dir");
    assert.equal(res.code, 0, res.stderr);
    want = want.replace("command = /bin/sh\n", "").replace("container_data_dir = /opt/x\n", "");
    assert.equal(conf(), want);
    // run_image is mandatory: unsetting it (through its alias) is refused as a config problem, not as "not set"
    res = run("unset", "--kw", "container#1.run_image");
    assert.equal(res.code, 2);
    assert.equal(res.stderr, "x.conf:5: [container#1] run_image: missing mandatory keyword\n");
    assert.equal(conf(), want);
    // what is under no name at all is still "not set"
    res = run("unset", "--kw", "container#1.run_command");
    assert.equal(res.code, 2);
    assert.match(res.stderr, /container#1\.run_command is not set/);
  });
});

describe("config problems are printed as validate config prints them, by every action (SPEC §5)", () => {
  const r = new CliRoot();
  after(() => r.cleanup());
  const dup = "[DEFAULT]\napp = a\napp = b\n";
  const line = "dup.conf:3: [DEFAULT] app: duplicate key (first on line 2)\n";

  test("validate config: an INI-level problem has the [SECTION] KEY: form", () => {
    assert.equal(r.run(["create", "-s", "dup"]).code, 0);
    fs.writeFileSync(r.file("etc/dup.conf"), dup);
    const res = r.run(["-s", "dup", "validate", "config"]);
    assert.equal(res.code, 2);
    assert.equal(res.stderr, line);
  });

  test("start and set: the same lines, no prefix, exit 2, nothing changed", () => {
    const start = r.run(["-s", "dup", "start"]);
    assert.equal(start.code, 2);
    assert.equal(start.stderr, line);
    const set = r.run(["-s", "dup", "set", "--kw", "DEFAULT.rollback=maybe"]);
    assert.equal(set.code, 2);
    assert.equal(set.stderr, 'dup.conf:4: [DEFAULT] rollback: not a boolean: "maybe" (use true or false)\n');
    assert.equal(r.read("etc/dup.conf"), dup);
  });

  test("create: the same lines, no prefix, exit 2, nothing created", () => {
    const res = r.run(["create", "-s", "bad", "--env", "PROD", "--kw", "container#1.run_imag=x"]);
    assert.equal(res.code, 2);
    assert.equal(
      res.stderr,
      [
        'bad.conf:3: [DEFAULT] service_type: "PROD" is not one of PRD, PPRD, REC, INT, DEV, TST, TMP, DRP, FOR, PRA, PRJ, STG',
        "bad.conf:7: [container#1] run_image: missing mandatory keyword",
        "bad.conf:8: [container#1] run_imag: unknown keyword (did you mean run_image?)",
        "",
      ].join("\n"),
    );
    assert.ok(!fs.existsSync(r.file("etc/bad.conf")));
  });

  test("other errors keep their prefix", () => {
    const res = r.run(["-s", "dup", "unset", "--kw", "DEFAULT.nodes"]);
    assert.equal(res.code, 2);
    assert.equal(res.stderr, "dup: DEFAULT.nodes is not set\n");
    assert.equal(r.run(["create", "-s", "dup"]).stderr, `svcmgr: service dup already exists (${r.file("etc/dup.conf")})\n`);
  });
});
