// Values for a generated differential check of run_args: for each docker run
// option, valid spellings and near misses (Go literal ints, durations, sizes,
// odd specs), so that generated command lines hit the corners of each parser.
import fc from "fast-check";
import { OPTIONS } from "../../src/drivers/container-docker/run-args-options.js";
import { quoteArg } from "../../src/util/shell-words.js";
import { FIXTURES } from "./run-args-diff.js";

export const VALUES: Record<string, string[]> = {
  env: ["A=1", "A", "HOME", "B=", "=x", "A=2", "a b=c"],
  "env-file": [`${FIXTURES}/app.env`, "/nonexistent"],
  label: ["a=b", "a", " a=b", "a b=c", "=x", "com.svcmgr.x=1"],
  "label-file": [`${FIXTURES}/labels.txt`],
  entrypoint: ["", "/bin/sh", "a b"],
  hostname: ["h", ""],
  user: ["1:1", "root"],
  workdir: ["/w", "rel", ""],
  "stop-signal": ["SIGTERM", "9"],
  "stop-timeout": ["0", "-1", "10", "x", "0x10"],
  expose: ["80", "80-82", "80/udp", "80:80", "", "x", "80-"],
  "health-cmd": ["true", ""],
  "health-interval": ["1s", "0", "-1s", "1.5m", "x", "1h1m1.123456789s", ".5s", "1.s", "5"],
  "health-timeout": ["2s", "0s"],
  "health-start-period": ["100ms", "1µs", "3μs"],
  "health-retries": ["3", "-1", "0", "010"],
  volume: ["/a:/b", "/a", "a:/b", "/a:/b:ro", "x:/y", "a:b:c:d", "", "/a::/b", "~/x:/y", "C:\\x:/y", "ab", "/a:/b:ro:z", "./r:/r", "é:/x", "\\\\srv\\share:/x"],
  mount: ["type=bind,src=/a,dst=/b", "type=volume,dst=/v", "dst=/v,volume-nocopy=false", "type=tmpfs,dst=/t,tmpfs-size=1g,tmpfs-mode=700", "type=bind,dst=/b,bind-recursive=writable,ro", "type=bind,src=/a,dst=/b,bind-recursive=readonly,ro,bind-propagation=rprivate", "type=tmpfs,dst=/t,volume-driver=x", "src=/a", "type=,dst=/x", "type=volume,dst=/v,volume-label=a=b,volume-label==c,volume-opt=o", "type=npipe,src=x,dst=/y", "\"type=bind,src=/a\",dst=/b", "type=bind,src=/a,dst=/b,readonly=maybe", "type=bind,src=./a,dst=/b"],
  tmpfs: ["/t", "/t:size=1m", ":x", "/t:"],
  "volumes-from": ["c1", "c2:ro"],
  "volume-driver": ["local"],
  "storage-opt": ["size=1G", "a=b=c", "x"],
  network: ["host", "none", "bridge", "default", "net1", "container:c1", "name=net1,alias=A", "name=net1,driver-opt=x=y,driver-opt=z", "name=net1,gw-priority=x", "name=", "NAME=Net1", "name=net1,mac-address=92:d0:c6:0a:29:33", "a=b,bogus=1", ""],
  "network-alias": ["a1", "a2"],
  publish: ["80", "8080:80", "1.2.3.4:80:80", "[::1]:80:80", "80-81:80-81", "80-82:80", "80:80-81", "x", "80/sctp", "::80", "published=1,target=2", "a=b", ",=", "65536", "0:0", ":80", "1.2.3.4::80", "300.1.1.1:80:80", "[::1:80:80"],
  "add-host": ["h:1.2.3.4", "h=::1", "h:[::1]", "h:host-gateway", "h", ":1.2.3.4", "h:bad", "h::::1", "h=1.2.3.4=5"],
  dns: ["1.1.1.1", "::1", "x", " 1.1.1.1", "::ffff:1.2.3.4", "01.1.1.1", "fe80::1%eth0", "1:0:0:0:0:0:0:0", "2001:db8:0:0:1:0:0:1"],
  "dns-option": ["ndots:1"],
  "dns-search": ["a.com", ".", "a..b", "1.2", "a.com.", "-a", "a_b.c", " a.b ", ":a"],
  ip: ["1.2.3.4"],
  "ip6": ["::1"],
  link: ["a", "a:b", "a:b:c", "", "/a:/b/c"],
  "link-local-ip": ["169.254.0.1"],
  "cap-add": ["net_admin", "ALL", "cap_x", "all"],
  "cap-drop": ["ALL", "chown"],
  "security-opt": ["no-new-privileges", "no-new-privileges=true", "label:disable", "apparmor=x", "x", "seccomp=unconfined", `seccomp=${FIXTURES}/seccomp.json`, "systempaths=unconfined", "seccomp:builtin", "a="],
  "group-add": ["a", "1"],
  userns: ["host", "", "x"],
  cgroupns: ["host", "private", "x"],
  pid: ["host", "container:x", "container:", "x", ""],
  ipc: ["host", "x", "container:y"],
  uts: ["host", "x"],
  sysctl: ["net.a=1", "kernel.sem=1 2", "x=1", "net.a", "fs.mqueue.x=1=2"],
  runtime: ["runc"],
  isolation: ["default", "x"],
  "cgroup-parent": ["/p"],
  device: ["/dev/a", "/dev/a:/dev/b", "/dev/a:rw", "/dev/a:/dev/b:rwm", "/dev/a:/dev/b:x", "a:b:c:d", ":/x", "/dev/a:b", "v.com/c=n", "v/c=n", "v.com/c=", "/dev/../x"],
  "device-cgroup-rule": ["c 1:2 rwm", "x"],
  gpus: ["all", "1", "count=2", "device=0", "\"device=0,1\"", "capabilities=compute", "driver=x,options=a=b", "x", "all,all", "count=x", "\"options=a=b,c\""],
  pull: ["never", "always", "missing", "", "x"],
  memory: ["0x1p10", "1.e2", "1g", "1GB", "512", "1.5m", "1 kb", "x", "-1", "1kib", "1KiB", "1e3", "1_0k", "10.m", "1 ", "1p"],
  "memory-reservation": ["1m"],
  "memory-swap": ["-1", "2g", "-2"],
  "memory-swappiness": ["0", "100", "-1", "101"],
  "kernel-memory": ["1m"],
  "oom-score-adj": ["-1000", "5"],
  "pids-limit": ["-1", "10", "0b1"],
  "shm-size": ["64m", "0"],
  cpus: ["0x1.8p1", "1p1", "0b1e1", "2.5e-1", "1", "0.5", "1/3", "3/4", "1e-3", "-1", "x", ".5", "1_0", "0x1", "1/0"],
  "cpu-shares": ["1024", "0o17", "017", "1__0"],
  "cpu-period": ["100000"],
  "cpu-quota": ["-1"],
  "cpu-rt-period": ["1"],
  "cpu-rt-runtime": ["1"],
  "cpuset-cpus": ["0-1"],
  "cpuset-mems": ["0"],
  "blkio-weight": ["10", "65536", "0x10"],
  "blkio-weight-device": ["/dev/a:100", "/dev/a:5", "a:100", "/dev/a:0"],
  "device-read-bps": ["/dev/a:1mb", "/dev/a:x", "/dev/a:-1"],
  "device-write-bps": ["/dev/a:1"],
  "device-read-iops": ["/dev/a:10", "/dev/a:1k"],
  "device-write-iops": ["/dev/a:1"],
  ulimit: ["nofile=1", "nofile=1:2", "nofile=-1", "core=-1:-1", "x=1", "nofile=1:2:3", "nofile=a", "nofile=2:-1", "nofile"],
  "log-driver": ["none", "json-file", "syslog"],
  "log-opt": ["max-size=1m", "x", "a=b=c"],
};

const usable = OPTIONS.filter((d) => !d.refused);

/** One option as a user may write it: long or short name, `=value` or a separate word, booleans with or without a value. */
const optionWords: fc.Arbitrary<string[]> = fc
  .record({ def: fc.constantFrom(...usable), short: fc.boolean(), inline: fc.boolean(), pick: fc.nat(), boolValue: fc.constantFrom("", "=true", "=false", "=1", "=0") })
  .map(({ def, short, inline, pick, boolValue }) => {
    const name = def.short && short ? `-${def.short}` : `--${def.long}`;
    if (def.bool) return [name + boolValue];
    const pool = VALUES[def.long] ?? ["x", "1", ""];
    const value = pool[pick % pool.length]!;
    return inline ? [`${name}=${value}`] : [name, value];
  });

/** A run_args value: one to five options, as text (quoted as a user would). */
export const runArgsText: fc.Arbitrary<string> = fc.array(optionWords, { minLength: 1, maxLength: 5 }).map((ws) => ws.flat().map(quoteArg).join(" "));
