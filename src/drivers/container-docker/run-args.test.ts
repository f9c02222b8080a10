import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequest, parseRunArgs, runArgsErrors, runCommandLine, type CreateBody, type RunIO } from "./run-args.js";
import { OPTIONS, runArgsReference } from "./run-args-options.js";
import { splitWords, formatCommand } from "../../util/shell-words.js";

const ctx = { name: "svc.container.1", image: "busybox", labels: [["com.svcmgr.service", "svc"]] as const };
const body = (s: string, io: RunIO = { env: {} }): CreateBody => createRequest(splitWords(s), ctx, io).body;
const errors = (s: string): string[] => runArgsErrors(splitWords(s));

test("the tutorial's run_args: a bind mount, a published port, a tty with stdin open", () => {
  const b = body("-v /var/lib/svcmgr/app/docker.sock:/docker.sock -p 8888:8000 -t -i -d");
  assert.deepEqual(b.HostConfig.Binds, ["/var/lib/svcmgr/app/docker.sock:/docker.sock"]);
  assert.deepEqual(b.HostConfig.PortBindings, { "8000/tcp": [{ HostIp: "", HostPort: "8888" }] });
  assert.deepEqual(b.ExposedPorts, { "8000/tcp": {} });
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.deepEqual([b.AttachStdin, b.AttachStdout, b.AttachStderr], [false, false, false], "always detached");
  assert.deepEqual(body("-v /opt/app/vol1:/vol1:rw -p 42222:22").HostConfig.Binds, ["/opt/app/vol1:/vol1:rw"]);
});

test("what issue 15 found: each now means what docker run means", () => {
  // -p 80 publishes on a random host port
  assert.deepEqual(body("-p 80").HostConfig.PortBindings, { "80/tcp": [{ HostIp: "", HostPort: "" }] });
  // -e VAR: from the environment of the process creating the container, or the bare name when unset
  assert.deepEqual(body("-e VAR", { env: { VAR: "x y" } }).Env, ["VAR=x y"]);
  assert.deepEqual(body("-e VAR", { env: {} }).Env, ["VAR"]);
  // --add-host name=ip is sent as name:ip
  assert.deepEqual(body("--add-host name=10.0.0.1 --add-host v6=[::1]").HostConfig.ExtraHosts, ["name:10.0.0.1", "v6:::1"]);
  // valid syntax that used to be a "bad value"
  assert.deepEqual(Object.keys(body("-p 9000-9002:9000-9002").HostConfig.PortBindings), ["9000/tcp", "9001/tcp", "9002/tcp"]);
  assert.deepEqual(body("-v /data").Volumes, { "/data": {} });
  assert.equal(body("-v /data").HostConfig.Binds, null);
  assert.equal(body("-m 1GB").HostConfig.Memory, 1024 ** 3);
  // options that were "unknown"
  for (const s of ["--mount type=tmpfs,target=/t", "--device /dev/fuse", "--ulimit nofile=1024", "--sysctl net.core.somaxconn=1024", "--security-opt no-new-privileges", "--log-driver syslog --log-opt tag=x", "--cpus 1.5", "--pids-limit 100", "--ipc host", "--pid host", "--cap-drop ALL"]) {
    assert.deepEqual(errors(s), [], s);
  }
  assert.equal(body("--cpus 1.5").HostConfig.NanoCpus, 1.5e9);
  assert.deepEqual(body("--ulimit nofile=1024:2048").HostConfig.Ulimits, [{ Name: "nofile", Hard: 2048, Soft: 1024 }]);
  assert.deepEqual(body("--device /dev/ttyUSB0:/dev/modem:rw").HostConfig.Devices, [{ PathOnHost: "/dev/ttyUSB0", PathInContainer: "/dev/modem", CgroupPermissions: "rw" }]);
  assert.deepEqual(body("--cap-add net_admin --cap-add NET_ADMIN").HostConfig.CapAdd, ["CAP_NET_ADMIN"]);
});

test("values with = stay whole, long and short forms, grouped flags", () => {
  const b = body("--net=none -e A=B=C --env 'X=hello world' -p127.0.0.1:8080:80/udp -dit --hostname=h1 --entrypoint /bin/sh --privileged -e=Y=1");
  assert.equal(b.HostConfig.NetworkMode, "none");
  assert.deepEqual(b.Env, ["A=B=C", "X=hello world", "Y=1"]);
  assert.deepEqual(b.HostConfig.PortBindings["80/udp"], [{ HostIp: "127.0.0.1", HostPort: "8080" }]);
  assert.equal(b.Hostname, "h1");
  assert.deepEqual(b.Entrypoint, ["/bin/sh"]);
  assert.equal(b.HostConfig.Privileged, true);
  assert.equal(b.Tty, true);
  assert.deepEqual(body("--entrypoint=").Entrypoint, [""], "an empty entrypoint resets the image's");
});

test("healthchecks: Go durations in nanoseconds", () => {
  const b = body("--health-cmd 'test -f /ready' --health-interval 1s --health-retries 3 --health-timeout=500ms --health-start-period 1m30s");
  assert.deepEqual(b.Healthcheck, { Test: ["CMD-SHELL", "test -f /ready"], Interval: 1e9, Timeout: 5e8, StartPeriod: 90e9, Retries: 3 });
  assert.deepEqual(body("--no-healthcheck").Healthcheck, { Test: ["NONE"] });
  assert.match(errors("--health-interval 5")[0]!, /missing unit in duration "5"/);
});

test("shell metacharacters are literal, never interpreted; the logged line pastes back to the same words", () => {
  const words = splitWords(`-e 'A=$(touch /tmp/pwned)' -e "B=\`id\`;rm -rf /" --label x=';' -v "/a b:/c"`);
  const b = createRequest(words, ctx, { env: {} }).body;
  assert.deepEqual(b.Env, ["A=$(touch /tmp/pwned)", "B=`id`;rm -rf /"]);
  assert.equal(b.Labels.x, ";");
  const line = formatCommand(runCommandLine(["docker", "-H", "unix:///s"], ctx, words));
  assert.deepEqual(splitWords(line), ["docker", "-H", "unix:///s", "run", "-d", "--name=svc.container.1", "--label=com.svcmgr.service=svc", ...words, "busybox"]);
});

test("svcmgr's own options are refused with what to use instead; -d, -t, -i are accepted", () => {
  assert.deepEqual(errors("--name x --restart always --rm"), [
    "--name is refused: svcmgr names the container <service>.container.<N> itself",
    "--restart is refused: svcmgr, not docker, restarts the service's containers",
    "--rm is refused: use the rm keyword instead",
  ]);
  for (const [s, why] of [
    ["--detach-keys ctrl-a,a", /nothing attaches/],
    ["-a stdout", /docker logs/],
    ["--sig-proxy=false", /detached/],
    ["--cidfile /tmp/id", /docker inspect/],
    ["--pull always", /docker pull/],
    ["-d=false", /always run detached/],
    ["--mac-address 92:d0:c6:0a:29:33", /API 1\.44/],
    ["--annotation a=b", /API 1\.43/],
    ["--label com.svcmgr.rid=x", /svcmgr's own/],
    ["-v ./data:/data", /write it absolute/],
    ["--env-file rel.env", /write it absolute/],
  ] as const) {
    const e = errors(s);
    assert.equal(e.length, 1, s);
    assert.match(e[0]!, /is refused: /, s);
    assert.match(e[0]!, why, s);
  }
  assert.deepEqual(errors("-t -i -d"), []);
  assert.deepEqual(errors("-itd --pull never -q"), []);
});

test("an option docker does not know is unknown, and what follows it is not blamed", () => {
  assert.deepEqual(errors("--bogus value -p 80"), ['unknown docker run option "--bogus"']);
  assert.deepEqual(errors("-dx"), ['unknown docker run option "-x" (in "-dx")']);
  assert.deepEqual(errors("-p"), ["-p needs a value"]);
  assert.match(errors("busybox")[0]!, /unexpected argument "busybox": put the command in run_command and the image in run_image/);
  assert.deepEqual(errors("-p 80 --"), []);
  // every option of the table is known under all its names
  for (const d of OPTIONS) {
    for (const n of [`--${d.long}`, ...(d.aliases ?? []).map((a) => `--${a}`), ...(d.short ? [`-${d.short}`] : [])]) {
      assert.doesNotMatch(parseRunArgs([n, ...(d.bool ? [] : ["x"])]).errors.join(), /unknown docker run option/, n);
    }
  }
});

test("bad values are config errors with docker's own reason", () => {
  assert.deepEqual(errors("-p notaport"), ["invalid containerPort: notaport"]);
  assert.deepEqual(errors("--ulimit nofile=2:1"), ['invalid argument "nofile=2:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1']);
  assert.deepEqual(errors("--sysctl kernel.panic=1"), [`invalid argument "kernel.panic=1" for "--sysctl" flag: sysctl 'kernel.panic=1' is not allowed`]);
  assert.deepEqual(errors("--cpus x"), ['invalid argument "x" for "--cpus" flag: failed to parse x as a rational number']);
});

test("files docker run reads are read when the container is created, not when the config is read", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svra-"));
  try {
    const env = path.join(dir, "app.env");
    assert.deepEqual(errors(`--env-file ${env}`), [], "a missing file is no config error (a filesystem resource may bring it)");
    const io: RunIO = { env: { HOME_DIR: "/home/x" }, readFile: (p) => fs.readFileSync(p) };
    assert.throws(() => body(`--env-file ${env}`, io), new RegExp(`open ${env}: no such file or directory`));
    fs.writeFileSync(env, "# comment\nA=1\n  B=two words \nHOME_DIR\nNOT_SET\n");
    assert.deepEqual(body(`--env-file ${env} -e A=2`, io).Env, ["A=1", "B=two words ", "HOME_DIR=/home/x", "A=2"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("README's table of run_args options is generated from the option table", () => {
  const readme = fs.readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  assert.ok(readme.includes(runArgsReference()), "README.md: paste the output of runArgsReference() (see the run_args options section)");
});

test("splitWords splits like a shell without expanding", () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g "h\\"i" $HOME`), ["a", "b c", "d e", "f g", 'h"i', "$HOME"]);
  assert.throws(() => splitWords(`"open`), /unterminated/);
});
