// Every option of `docker run` (docker CLI 28.2): what svcmgr does with it.
// Supported options are read into RunOptions as the CLI's flag types read them
// (pflag: ints in Go literal syntax, Go durations, go-units sizes); refused ones
// carry the reason and what to use instead. The README's table of run_args
// options is generated from this table (a test compares them).
import { exactNumber, goParseInt, parseBool, parseCPUs, parseDuration, ramInBytes } from "./run-args-go.js";
import { parseNetwork, validateDNSSearch, validateDeviceCgroupRule, validateExtraHost, validateIPAddress, validateLabel, validateLink, validateSysctl, type NetworkAttachment } from "./run-args-specs.js";
import {
  isCdiName,
  parseDevice,
  parseGpus,
  parseMount,
  parseThrottleBps,
  parseThrottleIops,
  parseUlimit,
  parseWeightDevice,
  type DeviceRequest,
  type Mount,
  type Ulimit,
} from "./run-args-storage.js";

/** The values of docker run's options, as the CLI holds them after reading the words (containerOptions). */
export interface RunOptions {
  lists: Record<ListName, string[]>;
  sysctls: Record<string, string>;
  mounts: Mount[];
  networks: NetworkAttachment[];
  gpus: DeviceRequest[];
  ulimits: Map<string, Ulimit>;
  weightDevices: { Path: string; Weight: number }[];
  throttle: Record<"readBps" | "writeBps" | "readIOps" | "writeIOps", { Path: string; Rate: number }[]>;
  flags: Record<BoolName, boolean>;
  strings: Record<StringName, string>;
  numbers: Record<NumberName, number>;
  /** long names of the options given (pflag's Changed) */
  changed: Set<string>;
}

type ListName =
  | "volumes" | "tmpfs" | "links" | "aliases" | "linkLocalIPs" | "env" | "labels" | "deviceCgroupRules" | "devices" | "publish" | "expose"
  | "dns" | "dnsSearch" | "dnsOptions" | "extraHosts" | "volumesFrom" | "envFile" | "capAdd" | "capDrop" | "groupAdd" | "securityOpt"
  | "storageOpt" | "labelsFile" | "loggingOpts";
type BoolName = "privileged" | "publishAll" | "stdin" | "tty" | "oomKillDisable" | "readonlyRootfs" | "noHealthcheck" | "init";
type StringName =
  | "pidMode" | "utsMode" | "usernsMode" | "cgroupnsMode" | "entrypoint" | "hostname" | "domainname" | "user" | "workingDir" | "cpusetCpus"
  | "cpusetMems" | "ipv4Address" | "ipv6Address" | "ipcMode" | "loggingDriver" | "cgroupParent" | "volumeDriver" | "stopSignal" | "isolation"
  | "healthCmd" | "runtime";
type NumberName =
  | "oomScoreAdj" | "memory" | "memoryReservation" | "memorySwap" | "kernelMemory" | "cpuShares" | "cpuPeriod" | "cpuRealtimePeriod"
  | "cpuRealtimeRuntime" | "cpuQuota" | "cpus" | "blkioWeight" | "swappiness" | "pidsLimit" | "stopTimeout" | "shmSize" | "healthInterval"
  | "healthTimeout" | "healthStartPeriod" | "healthRetries";

const LISTS: ListName[] = [
  "volumes", "tmpfs", "links", "aliases", "linkLocalIPs", "env", "labels", "deviceCgroupRules", "devices", "publish", "expose", "dns", "dnsSearch",
  "dnsOptions", "extraHosts", "volumesFrom", "envFile", "capAdd", "capDrop", "groupAdd", "securityOpt", "storageOpt", "labelsFile", "loggingOpts",
];

export function newRunOptions(): RunOptions {
  const numbers = Object.fromEntries(
    ["oomScoreAdj", "memory", "memoryReservation", "memorySwap", "kernelMemory", "cpuShares", "cpuPeriod", "cpuRealtimePeriod", "cpuRealtimeRuntime", "cpuQuota", "cpus", "blkioWeight", "pidsLimit", "stopTimeout", "shmSize", "healthInterval", "healthTimeout", "healthStartPeriod", "healthRetries"].map((k) => [k, 0]),
  ) as Record<NumberName, number>;
  numbers.swappiness = -1;
  return {
    lists: Object.fromEntries(LISTS.map((l) => [l, []])) as unknown as Record<ListName, string[]>,
    sysctls: {},
    mounts: [],
    networks: [],
    gpus: [],
    ulimits: new Map(),
    weightDevices: [],
    throttle: { readBps: [], writeBps: [], readIOps: [], writeIOps: [] },
    flags: { privileged: false, publishAll: false, stdin: false, tty: false, oomKillDisable: false, readonlyRootfs: false, noHealthcheck: false, init: false },
    strings: Object.fromEntries(
      ["pidMode", "utsMode", "usernsMode", "cgroupnsMode", "entrypoint", "hostname", "domainname", "user", "workingDir", "cpusetCpus", "cpusetMems", "ipv4Address", "ipv6Address", "ipcMode", "loggingDriver", "cgroupParent", "volumeDriver", "stopSignal", "isolation", "healthCmd", "runtime"].map((k) => [k, ""]),
    ) as Record<StringName, string>,
    numbers,
    changed: new Set(),
  };
}

export interface OptionDef {
  long: string;
  short?: string;
  /** other long names of the same option (hidden in docker's help) */
  aliases?: string[];
  /** a flag without a value (pflag bool: `--x`, `--x=false`) */
  bool?: boolean;
  /** reads one value into the options; throws with the reason when it is invalid */
  set?: (o: RunOptions, value: string) => void;
  /** why svcmgr refuses the option, and what to use instead */
  refused?: string;
  /** accepted as docker accepts it, without any effect on the container (the README says why) */
  noop?: string;
  /** a note for the README about how svcmgr reads it */
  note?: string;
}

const list = (name: ListName, validate?: (v: string) => string) => (o: RunOptions, v: string) => void o.lists[name].push(validate ? validate(v) : v);
const str = (name: StringName) => (o: RunOptions, v: string) => void (o.strings[name] = v);
const bool = (name: BoolName) => (o: RunOptions, v: string) => void (o.flags[name] = parseBool(v));
const int = (name: NumberName, bits = 64) => (o: RunOptions, v: string) => void (o.numbers[name] = exactNumber(goParseInt(v, 0, bits, true)));
const bytes = (name: NumberName) => (o: RunOptions, v: string) => void (o.numbers[name] = ramInBytes(v));
const duration = (name: NumberName) => (o: RunOptions, v: string) => void (o.numbers[name] = exactNumber(parseDuration(v), "duration"));

const API = "the service's docker daemon (Debian's dockerd 20.10) speaks Engine API 1.41";
const PULL = "svcmgr never pulls when it starts a container: pull into the service's daemon first (`svcmgr -s SVC docker pull IMAGE`)";
export const RELATIVE = "a relative path would depend on the directory svcmgr runs in: write it absolute";

export const OPTIONS: OptionDef[] = [
  // svcmgr's own, and what cannot apply to a service's container
  { long: "name", refused: "svcmgr names the container <service>.container.<N> itself" },
  { long: "restart", refused: "svcmgr, not docker, restarts the service's containers" },
  { long: "rm", bool: true, refused: "use the rm keyword instead" },
  { long: "detach", short: "d", bool: true, noop: "a service's containers always run detached (`-d=false` is refused)", set: (_o, v) => void (parseBool(v) || refuse("a service's containers always run detached")) },
  { long: "attach", short: "a", refused: "a service's containers run detached: read their output with `svcmgr -s SVC docker logs NAME`" },
  { long: "detach-keys", refused: "a service's containers run detached: nothing attaches to them" },
  { long: "sig-proxy", bool: true, refused: "a service's containers run detached: svcmgr stops them with stop_timeout" },
  { long: "cidfile", refused: "svcmgr finds its container by name: `svcmgr -s SVC docker inspect -f {{.Id}} NAME` gives its id" },
  { long: "pull", set: (_o, v) => {
    if (!["always", "missing", "never", ""].includes(v)) fail(`invalid pull option: '${v}': must be one of "always", "missing" or "never"`);
    if (v === "always" || v === "missing") refuse(PULL);
  }, noop: `only \`--pull never\`, what svcmgr does anyway (\`always\` and \`missing\` are refused: ${PULL})` },
  { long: "quiet", short: "q", bool: true, set: (_o, v) => void parseBool(v), noop: "it only silences the CLI's pull output" },
  { long: "platform", refused: "svcmgr does not pull: pull the image for that platform into the service's daemon (`svcmgr -s SVC docker pull --platform P IMAGE`) and run that image" },
  { long: "disable-content-trust", bool: true, set: (_o, v) => void (parseBool(v) || refuse("svcmgr does not verify image signatures (content trust)")), noop: "svcmgr does not verify image signatures (`--disable-content-trust=false` is refused)" },
  { long: "use-api-socket", bool: true, refused: "it would copy the CLI user's registry credentials into the container: mount the service's socket instead (`-v {var}/docker.sock:/var/run/docker.sock`)" },
  { long: "help", bool: true, refused: "it prints docker's usage, it is not a container option" },
  // not for a Linux daemon at API 1.41: refused as the docker CLI refuses them
  { long: "annotation", refused: `it needs Engine API 1.43, and ${API}` },
  { long: "health-start-interval", refused: `it needs Engine API 1.44, and ${API}` },
  { long: "mac-address", refused: `a MAC address is set per network since Engine API 1.44, and ${API}` },
  { long: "cpu-count", refused: "Windows only (the service's docker daemon runs on Linux)" },
  { long: "cpu-percent", refused: "Windows only (the service's docker daemon runs on Linux)" },
  { long: "io-maxbandwidth", refused: "Windows only (the service's docker daemon runs on Linux)" },
  { long: "io-maxiops", refused: "Windows only (the service's docker daemon runs on Linux)" },

  // container config
  { long: "env", short: "e", set: (o, v) => {
    if (v.split("=")[0] === "") fail(`invalid environment variable: ${v}`);
    o.lists.env.push(v);
  }, note: "`-e VAR` takes VAR from svcmgr's environment when the container is created, as the CLI takes it from its own" },
  { long: "env-file", set: (o, v) => o.lists.envFile.push(absolute(v)), note: "read when the container is created; relative paths are refused" },
  { long: "label", short: "l", set: list("labels", validateLabel), note: "`com.svcmgr.*` labels are svcmgr's" },
  { long: "label-file", set: (o, v) => o.lists.labelsFile.push(absolute(v)), note: "read when the container is created; relative paths are refused" },
  { long: "entrypoint", set: str("entrypoint") },
  { long: "hostname", short: "h", set: str("hostname") },
  { long: "domainname", set: str("domainname") },
  { long: "user", short: "u", set: str("user") },
  { long: "workdir", short: "w", set: str("workingDir") },
  { long: "interactive", short: "i", bool: true, set: bool("stdin") },
  { long: "tty", short: "t", bool: true, set: bool("tty") },
  { long: "stop-signal", set: str("stopSignal") },
  { long: "stop-timeout", set: int("stopTimeout") },
  { long: "expose", set: list("expose") },
  { long: "health-cmd", set: str("healthCmd") },
  { long: "health-interval", set: duration("healthInterval") },
  { long: "health-timeout", set: duration("healthTimeout") },
  { long: "health-start-period", set: duration("healthStartPeriod") },
  { long: "health-retries", set: int("healthRetries") },
  { long: "no-healthcheck", bool: true, set: bool("noHealthcheck") },

  // storage
  { long: "volume", short: "v", set: list("volumes"), note: "relative host paths are refused" },
  { long: "mount", set: (o, v) => o.mounts.push(parseMount(v, () => refuse(RELATIVE))), note: "relative sources are refused" },
  { long: "tmpfs", set: list("tmpfs") },
  { long: "volumes-from", set: list("volumesFrom") },
  { long: "volume-driver", set: str("volumeDriver") },
  { long: "storage-opt", set: list("storageOpt") },
  { long: "read-only", bool: true, set: bool("readonlyRootfs") },

  // networking
  { long: "network", aliases: ["net"], set: (o, v) => o.networks.push(parseNetwork(v)) },
  { long: "network-alias", aliases: ["net-alias"], set: list("aliases") },
  { long: "publish", short: "p", set: list("publish") },
  { long: "publish-all", short: "P", bool: true, set: bool("publishAll") },
  { long: "add-host", set: list("extraHosts", validateExtraHost) },
  { long: "dns", set: list("dns", validateIPAddress) },
  { long: "dns-option", aliases: ["dns-opt"], set: list("dnsOptions") },
  { long: "dns-search", set: list("dnsSearch", validateDNSSearch) },
  { long: "ip", set: str("ipv4Address") },
  { long: "ip6", set: str("ipv6Address") },
  { long: "link", set: list("links", validateLink) },
  { long: "link-local-ip", set: list("linkLocalIPs") },

  // security and namespaces
  { long: "privileged", bool: true, set: bool("privileged") },
  { long: "cap-add", set: list("capAdd") },
  { long: "cap-drop", set: list("capDrop") },
  { long: "security-opt", set: list("securityOpt"), note: "a seccomp profile file is read when the container is created; relative paths are refused" },
  { long: "group-add", set: list("groupAdd") },
  { long: "userns", set: str("usernsMode") },
  { long: "cgroupns", set: str("cgroupnsMode") },
  { long: "pid", set: str("pidMode") },
  { long: "ipc", set: str("ipcMode") },
  { long: "uts", set: str("utsMode") },
  { long: "sysctl", set: (o, v) => {
    const [k, ...rest] = validateSysctl(v).split("=");
    o.sysctls[k!] = rest.join("=");
  } },
  { long: "init", bool: true, set: bool("init") },
  { long: "runtime", set: str("runtime") },
  { long: "isolation", set: str("isolation") },
  { long: "cgroup-parent", set: str("cgroupParent") },

  // devices
  { long: "device", set: (o, v) => o.lists.devices.push(isCdiName(v) ? v : (parseDevice(v), v)) },
  { long: "device-cgroup-rule", set: list("deviceCgroupRules", validateDeviceCgroupRule) },
  { long: "gpus", set: (o, v) => o.gpus.push(parseGpus(v)) },

  // resources
  { long: "memory", short: "m", set: bytes("memory") },
  { long: "memory-reservation", set: bytes("memoryReservation") },
  { long: "memory-swap", set: (o, v) => void (o.numbers.memorySwap = v === "-1" ? -1 : ramInBytes(v)) },
  { long: "memory-swappiness", set: int("swappiness") },
  { long: "kernel-memory", set: bytes("kernelMemory") },
  { long: "oom-kill-disable", bool: true, set: bool("oomKillDisable") },
  { long: "oom-score-adj", set: int("oomScoreAdj") },
  { long: "pids-limit", set: int("pidsLimit") },
  { long: "shm-size", set: bytes("shmSize") },
  { long: "cpus", set: (o, v) => void (o.numbers.cpus = parseCPUs(v)) },
  { long: "cpu-shares", short: "c", set: int("cpuShares") },
  { long: "cpu-period", set: int("cpuPeriod") },
  { long: "cpu-quota", set: int("cpuQuota") },
  { long: "cpu-rt-period", set: int("cpuRealtimePeriod") },
  { long: "cpu-rt-runtime", set: int("cpuRealtimeRuntime") },
  { long: "cpuset-cpus", set: str("cpusetCpus") },
  { long: "cpuset-mems", set: str("cpusetMems") },
  { long: "blkio-weight", set: (o, v) => void (o.numbers.blkioWeight = Number(goParseInt(v, 0, 16, false))) },
  { long: "blkio-weight-device", set: (o, v) => void o.weightDevices.push(parseWeightDevice(v)) },
  { long: "device-read-bps", set: (o, v) => void o.throttle.readBps.push(parseThrottleBps(v)) },
  { long: "device-write-bps", set: (o, v) => void o.throttle.writeBps.push(parseThrottleBps(v)) },
  { long: "device-read-iops", set: (o, v) => void o.throttle.readIOps.push(parseThrottleIops(v)) },
  { long: "device-write-iops", set: (o, v) => void o.throttle.writeIOps.push(parseThrottleIops(v)) },
  { long: "ulimit", set: (o, v) => {
    const u = parseUlimit(v);
    o.ulimits.set(u.Name, u);
  } },

  // logging
  { long: "log-driver", set: str("loggingDriver") },
  { long: "log-opt", set: list("loggingOpts") },
];

function fail(message: string): never {
  throw new Error(message);
}

/** A value docker takes and svcmgr does not: the message says why, and what to write instead. */
export class Refused extends Error {}

export function refuse(why: string): never {
  throw new Refused(why);
}

function absolute(p: string): string {
  if (!p.startsWith("/")) refuse(RELATIVE);
  return p;
}

export const BY_LONG = new Map<string, OptionDef>();
export const BY_SHORT = new Map<string, OptionDef>();
for (const def of OPTIONS) {
  for (const n of [def.long, ...(def.aliases ?? [])]) BY_LONG.set(n, def);
  if (def.short) BY_SHORT.set(def.short, def);
}

/** `-p, --publish` as docker names an option in its messages. */
export function flagName(def: OptionDef): string {
  return def.short ? `-${def.short}, --${def.long}` : `--${def.long}`;
}

/** The README's table of run_args options. */
export function runArgsReference(): string {
  const rows = OPTIONS.map((d) => {
    const names = [...(d.short ? [`-${d.short}`] : []), `--${d.long}`, ...(d.aliases ?? []).map((a) => `--${a}`)].map((n) => `\`${n}\``).join(", ");
    const what = d.refused ? `refused: ${d.refused}` : d.noop ? `accepted, no effect: ${d.noop}` : d.note ? `supported; ${d.note}` : "supported";
    // markdown: | escaped, < and > written as entities outside code spans
    const cell = what
      .split("`")
      .map((part, i) => (i % 2 ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;")))
      .join("`")
      .replace(/\|/g, "\\|");
    return `| ${names} | ${cell} |`;
  });
  return ["| option | in svcmgr |", "|---|---|", ...rows].join("\n");
}
