import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRunArgs } from "./run-args.js";
import { splitWords } from "../../util/shell-words.js";

const parse = (s: string) => parseRunArgs(splitWords(s));

test("the tutorial's run_args become API options", () => {
  const { options, errors } = parse("-v /var/lib/svcmgr/app/docker.sock:/docker.sock -p 8888:8000 -t -i -d");
  assert.deepEqual(errors, []);
  assert.deepEqual(options.HostConfig.Binds, ["/var/lib/svcmgr/app/docker.sock:/docker.sock"]);
  assert.deepEqual(options.HostConfig.PortBindings, { "8000/tcp": [{ HostIp: "", HostPort: "8888" }] });
  assert.deepEqual(options.ExposedPorts, { "8000/tcp": {} });
  assert.equal(options.Tty, true);
  assert.equal(options.OpenStdin, true);
});

test("values with = stay whole, long and short forms, grouped flags", () => {
  const { options, errors } = parse("--net=none -e A=B=C --env 'X=hello world' -p127.0.0.1:8080:80/udp -dit --hostname=h1 --entrypoint /bin/sh --privileged");
  assert.deepEqual(errors, []);
  assert.equal(options.HostConfig.NetworkMode, "none");
  assert.deepEqual(options.Env, ["A=B=C", "X=hello world"]);
  assert.deepEqual(options.HostConfig.PortBindings["80/udp"], [{ HostIp: "127.0.0.1", HostPort: "8080" }]);
  assert.equal(options.Hostname, "h1");
  assert.deepEqual(options.Entrypoint, ["/bin/sh"]);
  assert.equal(options.HostConfig.Privileged, true);
  assert.equal(options.Tty, true);
});

test("healthchecks", () => {
  const { options, errors } = parse("--health-cmd 'test -f /ready' --health-interval 1s --health-retries 3 --health-timeout=500ms --health-start-period 1m30s");
  assert.deepEqual(errors, []);
  assert.deepEqual(options.Healthcheck, { Test: ["CMD-SHELL", "test -f /ready"], Interval: 1e9, Retries: 3, Timeout: 5e8, StartPeriod: 90e9 });
});

test("shell metacharacters are literal, never interpreted", () => {
  const { options, errors } = parse(`-e 'A=$(touch /tmp/pwned)' -e "B=\`id\`;rm -rf /" --label x=';'`);
  assert.deepEqual(errors, []);
  assert.deepEqual(options.Env, ["A=$(touch /tmp/pwned)", "B=`id`;rm -rf /"]);
  assert.deepEqual(options.Labels, { x: ";" });
});

test("refused, unknown and incomplete options are errors", () => {
  assert.deepEqual(parse("--name x --restart always --rm --bogus -p").errors, [
    "--name is refused: svcmgr names the container <service>.container.<N> itself",
    "--restart is refused: svcmgr, not docker, restarts the service's containers",
    "--rm is refused: use the rm keyword instead",
    'unknown docker run option "--bogus"',
    "-p needs a value",
  ]);
  assert.deepEqual(parse("-p notaport").errors, ['bad -p value "notaport" (expected [ip:]hostPort:containerPort[/proto])']);
  assert.deepEqual(parse("-v relative").errors, ['bad -v value "relative" (expected /host/path:/container/path[:opts])']);
  assert.match(parse("busybox").errors[0]!, /unexpected argument "busybox"/);
});

test("splitWords splits like a shell without expanding", () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g "h\\"i" $HOME`), ["a", "b c", "d e", "f g", 'h"i', "$HOME"]);
  assert.throws(() => splitWords(`"open`), /unterminated/);
});
