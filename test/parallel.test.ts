// Mass actions with --parallel: every service's outcome is reported, whatever
// the others did (a failed start, an invalid config, a frozen service).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { CliRoot } from "./support/cli.js";

describe("--parallel reports every service's outcome", () => {
  const r = new CliRoot();
  after(() => r.cleanup());

  test("one fails, one is invalid, one is frozen: the good ones are started, each outcome said, exit 2", () => {
    fs.mkdirSync(r.file("etc"), { recursive: true });
    fs.mkdirSync(r.file("flags"), { recursive: true });
    const app = (svc: string, start = `/usr/bin/touch ${r.file(`flags/${svc}`)}`) =>
      ["[app#1]", `start = ${start}`, `stop = /bin/rm -f ${r.file(`flags/${svc}`)}`, `check = /usr/bin/test -e ${r.file(`flags/${svc}`)}`, ""].join("\n");
    for (const s of ["p1", "p2", "p3", "p5"]) fs.writeFileSync(r.file(`etc/${s}.conf`), app(s));
    fs.writeFileSync(r.file("etc/pbad.conf"), app("pbad", "/bin/false"));
    fs.writeFileSync(r.file("etc/pinv.conf"), app("pinv") + "colour = red\n");
    assert.equal(r.run(["-s", "p5", "freeze"]).code, 0);
    const res = r.run(["-s", "p*", "start", "--parallel"]);
    assert.equal(res.code, 2, "the worst outcome: a config error");
    for (const s of ["p1", "p2", "p3"]) assert.ok(fs.existsSync(r.file(`flags/${s}`)), `${s} started beside the failures`);
    assert.ok(!fs.existsSync(r.file("flags/p5")), "the frozen one skipped");
    assert.match(res.stdout, /^p5: frozen, skipped/m);
    assert.match(res.stdout, /PBAD.*start failed: app#1/);
    assert.match(res.stderr, /pinv\.conf:\d+: \[app#1\] colour: unknown keyword/);
    r.run(["-s", "p*", "stop", "--parallel"]);
  });
});
