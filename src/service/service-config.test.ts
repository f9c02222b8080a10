import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { parseServiceConfig, usesPrivateDaemon } from "./service-config.js";
import { formatProblem } from "../util/errors.js";

const ctx = { nodename: "node1", varDir: "/r/var/svc1", etcDir: "/r/etc" };
const problems = (text: string, name = "svc1") => parseServiceConfig(name, `/r/etc/${name}.conf`, text, ctx).problems.map(formatProblem);
const fixture = (name: string) => fs.readFileSync(new URL(`../../test/fixtures/${name}.conf`, import.meta.url), "utf8");

describe("the tutorials' configs", () => {
  for (const name of ["app1.dev", "app.opensvc.com", "busybox.opensvc.com"]) {
    test(`${name} loads and validates unchanged`, () => {
      const cfg = parseServiceConfig(name, `/etc/svcmgr/${name}.conf`, fixture(name), ctx);
      assert.deepEqual(cfg.problems, []);
      assert.equal(cfg.defaults.values.service_type, "DEV");
    });
  }

  test("the legacy [vg#1] vgname form is a disk of type vg, and mnt_opts an alias of mnt_opt", () => {
    const cfg = parseServiceConfig("app.opensvc.com", "/x/app.opensvc.com.conf", fixture("app.opensvc.com"), ctx);
    const vg = cfg.resources.find((r) => r.rid === "vg#1")!;
    assert.equal(vg.group, "disk");
    assert.equal(vg.manifest.type, "vg");
    assert.equal(vg.text.name, "vgapp");
    assert.equal(cfg.resources.find((r) => r.rid === "fs#2")!.text.mnt_opt, "rw");
    assert.equal(cfg.resources.find((r) => r.rid === "container#2")!.text.run_args, "-v /var/lib/svcmgr/app.opensvc.com/docker.sock:/docker.sock -p 8888:8000");
  });

  test("subsets and their parallel flag", () => {
    const cfg = parseServiceConfig("busybox.opensvc.com", "/x/b.conf", fixture("busybox.opensvc.com"), ctx);
    assert.deepEqual(
      cfg.subsets.map((s) => [s.group, s.name, s.parallel]),
      [
        ["container", "01appservers", true],
        ["container", "02webservers", false],
      ],
    );
  });
});

describe("validation: one error per kind, with file and line", () => {
  test("a typo in a keyword, with a suggestion", () => {
    const text = fixture("app1.dev").replace("run_image", "run_imag");
    assert.deepEqual(problems(text, "app1.dev"), [
      "app1.dev.conf:8: [container#1] run_image: missing mandatory keyword",
      "app1.dev.conf:10: [container#1] run_imag: unknown keyword (did you mean run_image?)",
    ]);
  });

  test("unknown section and unknown resource group", () => {
    assert.deepEqual(problems("[DEFAULT]\n[foo]\n[contaner#1]\nrun_image = x\n"), [
      "svc1.conf:2: [foo]: unknown section (expected DEFAULT, <group>#<id> with group one of ip, disk, fs, container, app, or subset#<group>:<name>)",
      'svc1.conf:3: [contaner#1]: unknown resource group "contaner" (did you mean container?)',
    ]);
  });

  test("missing mandatory keyword", () => {
    assert.deepEqual(problems("[fs#1]\nmnt = /a\ntype = ext4\n"), ["svc1.conf:1: [fs#1] dev: missing mandatory keyword"]);
  });

  test("bad values", () => {
    assert.deepEqual(problems("[DEFAULT]\nservice_type = PROD\nrollback = maybe\ndocker_socket_mode = 999\n[container#1]\nrun_image = x\nstart_timeout = soon\n"), [
      'svc1.conf:2: [DEFAULT] service_type: "PROD" is not one of PRD, PPRD, REC, INT, DEV, TST, TMP, DRP, FOR, PRA, PRJ, STG',
      'svc1.conf:3: [DEFAULT] rollback: not a boolean: "maybe" (use true or false)',
      "svc1.conf:4: [DEFAULT] docker_socket_mode: not an octal file mode (e.g. 0660)",
      'svc1.conf:7: [container#1] start_timeout: not a duration: "soon" (e.g. 30s, 2m)',
    ]);
  });

  test("run_args: refused and unknown options", () => {
    assert.deepEqual(problems("[container#1]\nrun_image = x\nrun_args = --name foo --restart=always --frobnicate\n"), [
      "svc1.conf:3: [container#1] run_args: --name is refused: svcmgr names the container <service>.container.<N> itself",
      "svc1.conf:3: [container#1] run_args: --restart is refused: svcmgr, not docker, restarts the service's containers",
      'svc1.conf:3: [container#1] run_args: unknown docker run option "--frobnicate"',
    ]);
  });

  test("a subset section naming no resource", () => {
    assert.deepEqual(problems("[container#1]\nrun_image = x\nsubset = a\n[subset#container:b]\nparallel = true\n"), ["svc1.conf:4: [subset#container:b]: no container resource has subset = b"]);
  });

  test("duplicate keys, aliases included, and duplicate sections", () => {
    assert.deepEqual(problems("[fs#1]\nmnt = /a\nmnt = /b\ndev = /dev/x\ntype = ext4\nmnt_opt = rw\nmnt_opts = ro\n[fs#1]\n"), [
      "svc1.conf:3: [fs#1] mnt: duplicate key (first on line 2)",
      "svc1.conf:7: [fs#1] mnt_opts: set twice (also on line 6, mnt_opt and its aliases are one keyword)",
      "svc1.conf:8: [fs#1]: duplicate section (first on line 1)",
    ]);
  });

  test("problems found by the INI reader have the FILE:LINE: [SECTION] KEY: message form too (SPEC §5)", () => {
    assert.deepEqual(problems("[DEFAULT]\napp = a\napp = b\n", "dup"), ["dup.conf:3: [DEFAULT] app: duplicate key (first on line 2)"]);
    assert.deepEqual(problems("[DEFAULT]\n= x\n[container#1]\nrun_image = busybox\n[bad\n"), [
      "svc1.conf:2: [DEFAULT]: missing key before =",
      "svc1.conf:5: unclosed section header [bad (missing ])",
    ]);
  });

  test("a keyword of another driver of the group", () => {
    assert.deepEqual(problems("[disk#1]\ntype = loop\nfile = /a\nvgname = x\n"), ["svc1.conf:4: [disk#1] vgname: not a keyword of type loop, only of type vg"]);
  });

  test("garbage lines and keys outside a section", () => {
    assert.deepEqual(problems("stray = 1\n[DEFAULT]\nthis is not ini\n"), [
      "svc1.conf:1: stray: key outside of any section",
      'svc1.conf:3: [DEFAULT]: invalid line "this is not ini" (expected [section], key = value, or a # comment)',
    ]);
  });

  test("disk without a type", () => {
    assert.deepEqual(problems("[disk#1]\nfile = /a\n"), ["svc1.conf:1: [disk#1] type: missing type (one of loop, vg)"]);
  });
});

describe("private daemon or the host's (SPEC §4: private when a data dir is set)", () => {
  const values = (text: string) => parseServiceConfig("svc1", "/r/etc/svc1.conf", text, ctx).defaults.values;

  test("docker_data_dir (or its alias) gives a private daemon; without it, or with docker_daemon_private = false, the host's", () => {
    assert.equal(usesPrivateDaemon(values("[DEFAULT]\ndocker_data_dir = /srv/d\n")), true);
    assert.equal(usesPrivateDaemon(values("[DEFAULT]\ncontainer_data_dir = /srv/d\n")), true);
    assert.equal(usesPrivateDaemon(values("[DEFAULT]\nservice_type = DEV\n")), false);
    assert.equal(usesPrivateDaemon(values("[DEFAULT]\ndocker_daemon_private = true\n")), true);
    assert.equal(usesPrivateDaemon(values("[DEFAULT]\ndocker_daemon_private = false\n")), false);
  });

  test("keywords of the private daemon: refused next to docker_daemon_private = false, accepted (and ignored at start) without a data dir", () => {
    assert.deepEqual(problems("[DEFAULT]\ndocker_daemon_private = false\ndocker_daemon_args = --ip 10.0.0.1\n"), [
      "svc1.conf:3: [DEFAULT] docker_daemon_args: configures the private daemon, but docker_daemon_private = false (line 2): remove one of them",
    ]);
    assert.deepEqual(problems("[DEFAULT]\nservice_type = DEV\ndocker_bridge_cidr = 172.30.9.0/24\ndocker_socket_group = team1\n"), []);
    assert.deepEqual(problems("[DEFAULT]\ndocker_data_dir = /srv/d\ndocker_bridge_cidr = 172.30.9.0/24\ndocker_socket_mode = 0600\n"), []);
    assert.deepEqual(problems("[DEFAULT]\ndocker_daemon_private = true\ndocker_bridge_cidr = 172.30.9.0/24\n"), []);
  });

  test("a bad value next to docker_daemon_private = false is reported once, as a bad value", () => {
    assert.deepEqual(
      problems("[DEFAULT]\ndocker_daemon_private = false\ndocker_socket_mode = 999\n").map((p) => p.split(":").slice(0, 3).join(":")),
      ["svc1.conf:3: [DEFAULT] docker_socket_mode"],
    );
  });
});

describe("references", () => {
  test("{name}, {nodename}, {var}, {etc}, {rid} and {SECTION.KEY} are expanded", () => {
    const cfg = parseServiceConfig(
      "app1.dev",
      "/r/etc/app1.dev.conf",
      "[DEFAULT]\napp = A1\ndocker_data_dir = /srv/{name}/{nodename}\n[container#1]\nrun_image = img:{DEFAULT.app}\nrun_command = echo {rid} {var} {etc} {svcname}\n[container#2]\nrun_image = {container#1.run_image}\n",
      ctx,
    );
    assert.deepEqual(cfg.problems, []);
    assert.equal(cfg.defaults.text.docker_data_dir, "/srv/app1.dev/node1");
    assert.equal(cfg.resources[0]!.text.run_command, "echo container#1 /r/var/svc1 /r/etc app1.dev");
    assert.equal(cfg.resources[1]!.text.run_image, "img:A1");
  });

  test("unknown references, loops and runtime-only attributes are errors where they cannot be used", () => {
    const p = problems("[container#1]\nrun_image = {nope}\n[container#2]\nrun_image = {container#3.run_image}\n[container#3]\nrun_image = {container#2.run_image}\nrun_command = {disk#1.exposed_dev}\n[disk#1]\ntype = loop\nfile = /a\n");
    assert.match(p.join("\n"), /svc1\.conf:2: \[container#1\] run_image: unknown reference \{nope\}/);
    assert.match(p.join("\n"), /loops back on itself/);
    assert.match(p.join("\n"), /\{disk#1\.exposed_dev\} is only known at action time/);
  });

  test("a filesystem may name its loop disk's device, resolved at action time", () => {
    const cfg = parseServiceConfig("s", "/x/s.conf", "[disk#1]\ntype = loop\nfile = /a\n[fs#1]\ntype = ext4\nmnt = /m\ndev = {disk#1.exposed_dev}\n", ctx);
    assert.deepEqual(cfg.problems, []);
    assert.equal(cfg.resources.find((r) => r.rid === "fs#1")!.text.dev, "{disk#1.exposed_dev}");
  });

  test("docker format strings are not references", () => {
    const cfg = parseServiceConfig("s", "/x/s.conf", "[container#1]\nrun_image = x\nrun_command = echo {{.Status}}\n", ctx);
    assert.deepEqual(cfg.problems, []);
  });
});
