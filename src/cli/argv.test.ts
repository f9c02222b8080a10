import { test } from "node:test";
import assert from "node:assert/strict";
import { actionWord, normalizeArgv } from "./argv.js";

test("multi-word actions are joined, with or without global options before them", () => {
  assert.deepEqual(normalizeArgv("/usr/bin/svcmgr", ["-s", "app1.dev", "print", "status"]).args, ["-s", "app1.dev", "print_status"]);
  assert.deepEqual(normalizeArgv("svcmgr", ["print", "config", "--format", "json"]).args, ["print_config", "--format", "json"]);
  assert.deepEqual(normalizeArgv("svcmgr", ["--waitlock", "5", "validate", "config"]).args, ["--waitlock", "5", "validate_config"]);
  assert.deepEqual(normalizeArgv("svcmgr", ["print_status"]).args, ["print_status"]);
  // docker passthrough arguments are never rewritten
  assert.deepEqual(normalizeArgv("svcmgr", ["-s", "a", "docker", "print", "status"]).args, ["-s", "a", "docker", "print", "status"]);
});

test("a shortcut named after the service selects it", () => {
  assert.deepEqual(normalizeArgv("/r/bin/app1.dev", ["print", "status"]), { program: "svcmgr", args: ["-s", "app1.dev", "print_status"] });
});

test("allupservices is svcmgr --status up,warn", () => {
  assert.deepEqual(normalizeArgv("/x/bin/allupservices.js", ["stop"]).args, ["--status", "up,warn", "stop"]);
});

test("svcmon is its own program", () => {
  assert.equal(normalizeArgv("/x/bin/svcmon.js", []).program, "svcmon");
});

test("the action word is the first word that is neither an option nor a global option's value", () => {
  assert.equal(actionWord(["-s", "start", "--waitlock", "5", "stop", "--rid", "x"]), "stop");
  assert.equal(actionWord(["--all", "--color", "never", "print_status"]), "print_status");
  assert.equal(actionWord(["--version"]), undefined);
  assert.equal(actionWord(["--", "start"]), undefined);
});
