import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyKeywordEdits, editConfigText, keywordEntry, type KeywordEdit } from "./edit.js";
import { parseIni, serializeIni } from "../config/ini.js";
import { ConfigError } from "../util/errors.js";

const ctx = { nodename: "node1", varDir: "/r/var/svc1", etcDir: "/r/etc" };
const apply = (text: string, ...edits: KeywordEdit[]): string => serializeIni(applyKeywordEdits(parseIni(text), edits));
const set = (section: string, key: string, value: string): KeywordEdit => ({ section, key, value });
const unset = (section: string, key: string): KeywordEdit => ({ section, key, value: undefined });

// A config with comments, odd spacing and every alias spelling: an edit must change one line and nothing else.
const conf = [
  "# app1.dev, written by hand",
  "[DEFAULT]",
  "service_type = DEV   ; was env",
  "container_data_dir=/opt/app1",
  "",
  "; the database",
  "[container#1]",
  "type = docker",
  "image = busybox",
  "command = /bin/sh",
  "    -c 'sleep 1'",
  "rm = true",
  "",
  "[vg#1]",
  "VGName = vgapp",
  "",
  "[fs#1]",
  "mnt_opts  =  rw",
  "mnt = /a",
  "dev = /dev/x",
  "type = ext4",
  "",
].join("\n");

describe("set and unset: a keyword's aliases and its name are one keyword", () => {
  const pairs: [section: string, asked: string, written: string, line: string][] = [
    ["DEFAULT", "env", "service_type", "service_type = DEV   ; was env"],
    ["DEFAULT", "docker_data_dir", "container_data_dir", "container_data_dir=/opt/app1"],
    ["container#1", "run_image", "image", "image = busybox"],
    ["container#1", "Run_Image", "image", "image = busybox"],
    ["vg#1", "name", "VGName", "VGName = vgapp"],
    ["vg#1", "vgname", "VGName", "VGName = vgapp"],
    ["fs#1", "mnt_opt", "mnt_opts", "mnt_opts  =  rw"],
  ];
  for (const [section, asked, written, line] of pairs) {
    test(`set ${section}.${asked} rewrites the line of ${written} in place; unset removes it`, () => {
      const value = line.startsWith("container_data_dir") ? "/opt/other" : "NEW";
      const prefix = /^[^=]*=\s*/.exec(line)![0];
      assert.equal(apply(conf, set(section, asked, value)), conf.replace(line, prefix + value));
      assert.equal(apply(conf, unset(section, asked)), conf.replace(line + "\n", ""));
      assert.equal(keywordEntry(parseIni(conf), section, asked)?.key, written);
    });
  }

  test("a multi-line value under an alias is replaced whole, continuation lines included", () => {
    assert.equal(apply(conf, set("container#1", "run_command", "/bin/true")), conf.replace("command = /bin/sh\n    -c 'sleep 1'\n", "command = /bin/true\n"));
    assert.equal(apply(conf, unset("container#1", "run_command")), conf.replace("command = /bin/sh\n    -c 'sleep 1'\n", ""));
  });

  test("the canonical name written in the file is found through an alias too", () => {
    const text = "[DEFAULT]\nservice_type = DEV\n\n[container#1]\nrun_image = busybox\n";
    assert.equal(apply(text, set("DEFAULT", "env", "PRD")), text.replace("service_type = DEV", "service_type = PRD"));
    assert.equal(apply(text, set("container#1", "image", "nginx")), text.replace("run_image = busybox", "run_image = nginx"));
    assert.equal(apply(text, unset("container#1", "image")), text.replace("run_image = busybox\n", ""));
  });

  test("the spelling asked for is taken first when the file has both", () => {
    const both = "[DEFAULT]\nservice_type = DEV\nenv = PRD\n";
    assert.equal(apply(both, set("DEFAULT", "env", "TST")), "[DEFAULT]\nservice_type = DEV\nenv = TST\n");
    assert.equal(apply(both, unset("DEFAULT", "service_type")), "[DEFAULT]\nenv = PRD\n");
  });

  test("a keyword not in the file is added as asked; an unknown keyword matches itself only", () => {
    assert.equal(apply("[DEFAULT]\napp = x\n", set("DEFAULT", "env", "DEV")), "[DEFAULT]\napp = x\nenv = DEV\n");
    assert.equal(apply("[DEFAULT]\nfoo = x\n", set("DEFAULT", "Foo", "y")), "[DEFAULT]\nfoo = x\nFoo = y\n");
    assert.equal(keywordEntry(parseIni("[DEFAULT]\nfoo = x\n"), "DEFAULT", "FOO"), undefined);
    // a keyword of another driver of the group is not this section's keyword
    assert.equal(keywordEntry(parseIni("[disk#1]\ntype = loop\nvgname = x\n"), "disk#1", "name"), undefined);
  });

  test("editConfigText: setting an alias of a keyword the file has is no 'set twice'", () => {
    const text = "[DEFAULT]\nservice_type = DEV\n\n[container#1]\nimage = busybox\n";
    const r = editConfigText("x", "/r/etc/x.conf", text, ctx, (d) => applyKeywordEdits(d, [set("DEFAULT", "env", "PRD"), set("container#1", "run_image", "nginx")]));
    assert.equal(r.text, "[DEFAULT]\nservice_type = PRD\n\n[container#1]\nimage = nginx\n");
    assert.equal(r.config.defaults.values.service_type, "PRD");
    assert.throws(
      () => editConfigText("x", "/r/etc/x.conf", text, ctx, (d) => applyKeywordEdits(d, [unset("container#1", "run_image")])),
      (e: unknown) => e instanceof ConfigError && e.message === "x.conf:4: [container#1] run_image: missing mandatory keyword",
    );
  });
});
