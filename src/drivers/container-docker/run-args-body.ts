// The container-create body built from docker run's options, as the docker CLI
// 28.2 builds it (opts.go parse(), run -d, the Engine API client's changes at
// API 1.41), field for field in the order of the Go structs it serialises.
import { compactJSON, cut } from "./run-args-go.js";
import { RELATIVE, refuse, type RunOptions } from "./run-args-options.js";
import { endpoints, kvMap, parseExpose, parseKvFile, parsePortSpec, type EndpointSettings, type PortBinding } from "./run-args-specs.js";
import { isCdiName, parseDevice, parseVolume, type DeviceMapping, type DeviceRequest, type Mount, type Ulimit } from "./run-args-storage.js";

/** What svcmgr puts on the command line around run_args. */
export interface RunContext {
  name: string;
  image: string;
  command?: readonly string[];
  /** svcmgr's labels, given as --label before run_args */
  labels: readonly (readonly [string, string])[];
}

/** What docker run reads besides its words. */
export interface RunIO {
  /** the environment `-e VAR` and env files' bare `VAR` lines read */
  env: Readonly<Record<string, string | undefined>>;
  /** reads a file (env files, label files, seccomp profiles); absent: do not read them (config validation) */
  readFile?: (path: string) => Buffer;
}

type Healthcheck = { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };

/** container.CreateRequest: Config, HostConfig, NetworkingConfig, as JSON. */
export interface CreateBody {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: Healthcheck;
  Image: string;
  Volumes: Record<string, Record<string, never>>;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: Record<string, unknown> & { Binds: string[] | null; PortBindings: Record<string, PortBinding[]>; NetworkMode: string };
  NetworkingConfig: { EndpointsConfig: Record<string, EndpointSettings> };
}

const fail = (message: string): never => {
  throw new Error(message);
};
const orNull = <T>(a: T[]): T[] | null => (a.length ? a : null);
const RESERVED_LABEL = /^com\.svcmgr\./;

/** Reads a file docker run would read, with the CLI's words for a missing one. */
function readFile(io: RunIO, path: string): Buffer | undefined {
  if (!io.readFile) return undefined;
  try {
    return io.readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`open ${path}: ${code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

/** opts.ReadKVEnvStrings over -e (deduplicated by name, the last one winning, as the CLI's proxy-config map does) and env files. */
function environment(o: RunOptions, io: RunIO): string[] | null {
  const byName = new Map<string, string>();
  for (const raw of o.lists.env) {
    const [k, , hasValue] = cut(raw, "=");
    const fromEnv = io.env[k];
    byName.set(k, hasValue ? raw : fromEnv !== undefined ? `${k}=${fromEnv}` : raw);
  }
  const vars: string[] = [];
  for (const f of o.lists.envFile) {
    const content = readFile(io, f);
    if (content) vars.push(...parseKvFile(f, content, (k) => io.env[k]));
  }
  vars.push(...byName.values());
  return orNull(vars);
}

function labels(o: RunOptions, ctx: RunContext, io: RunIO): Record<string, string> {
  const fromFiles: string[] = [];
  for (const f of o.lists.labelsFile) {
    const content = readFile(io, f);
    if (content) fromFiles.push(...parseKvFile(f, content));
  }
  const user = [...fromFiles, ...o.lists.labels];
  for (const l of user) if (RESERVED_LABEL.test(cut(l, "=")[0])) refuse(`label ${cut(l, "=")[0]} is refused: com.svcmgr.* labels are svcmgr's own`);
  return kvMap([...fromFiles, ...ctx.labels.map(([k, v]) => `${k}=${v}`), ...o.lists.labels]);
}

/** parseSecurityOpts + parseSystemPaths: a seccomp profile file is sent inline, `systempaths=unconfined` becomes empty masked/read-only paths. */
function securityOpts(o: RunOptions, io: RunIO): { opts: string[] | null; unconfinedPaths: boolean } {
  const given = o.lists.securityOpt;
  if (given.length === 0) return { opts: null, unconfinedPaths: false };
  const out: string[] = [];
  let unconfinedPaths = false;
  for (const opt of given) {
    let [k, v, ok] = cut(opt, "=");
    if (!ok && k !== "no-new-privileges") [k, v, ok] = cut(opt, ":");
    if ((!ok || v === "") && k !== "no-new-privileges") fail(`Invalid --security-opt: "${opt}"`);
    let value = opt;
    if (k === "seccomp" && v !== "builtin" && v !== "unconfined") {
      if (!v.startsWith("/")) refuse(`--security-opt ${opt} is refused: ${RELATIVE}`);
      const content = readFile(io, v);
      if (content) {
        try {
          value = `seccomp=${compactJSON(content.toString("utf8"))}`;
        } catch (e) {
          fail(`compacting json for seccomp profile (${v}) failed: ${(e as Error).message}`);
        }
      }
    }
    if (value === "systempaths=unconfined") unconfinedPaths = true;
    else out.push(value);
  }
  return { opts: out, unconfinedPaths };
}

function healthcheck(o: RunOptions): Healthcheck | undefined {
  const n = o.numbers;
  const cmd = o.strings.healthCmd;
  const have = cmd !== "" || n.healthInterval !== 0 || n.healthTimeout !== 0 || n.healthStartPeriod !== 0 || n.healthRetries !== 0;
  if (o.flags.noHealthcheck) {
    if (have) fail("--no-healthcheck conflicts with --health-* options");
    return { Test: ["NONE"] };
  }
  if (!have) return undefined;
  if (n.healthInterval < 0) fail("--health-interval cannot be negative");
  if (n.healthTimeout < 0) fail("--health-timeout cannot be negative");
  if (n.healthRetries < 0) fail("--health-retries cannot be negative");
  if (n.healthStartPeriod < 0) fail("--health-start-period cannot be negative");
  const h: Healthcheck = {};
  if (cmd !== "") h.Test = ["CMD-SHELL", cmd];
  if (n.healthInterval) h.Interval = n.healthInterval;
  if (n.healthTimeout) h.Timeout = n.healthTimeout;
  if (n.healthStartPeriod) h.StartPeriod = n.healthStartPeriod;
  if (n.healthRetries) h.Retries = n.healthRetries;
  return h;
}

/** The Engine API client's normalizeCapabilities: upper case, CAP_ prefix, no duplicates, sorted. */
function capabilities(caps: string[]): string[] | null {
  const norm = [...new Set(caps.map((c) => c.toUpperCase()).map((c) => (c === "ALL" || c.startsWith("CAP_") ? c : `CAP_${c}`)))];
  return norm.length ? norm.sort() : null;
}

function checkMode(value: string, valid: boolean, message: string): string {
  if (!valid) fail(message);
  return value;
}

const containerMode = (v: string) => v.startsWith("container:") && v.length > "container:".length;

export function buildCreateBody(o: RunOptions, ctx: RunContext, io: RunIO): CreateBody {
  const { flags: f, strings: s, numbers: n, lists: l } = o;
  if (n.swappiness !== -1 && (n.swappiness < 0 || n.swappiness > 100)) fail(`invalid value: ${n.swappiness}. Valid memory swappiness range is 0-100`);

  // -v: a source makes it a bind, else an anonymous volume (the CLI keeps one of each spelling)
  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const spec of new Set(l.volumes)) {
    const v = parseVolume(spec);
    if (v.source === "") {
      volumes[spec] = {};
      continue;
    }
    if (v.bind && v.source.startsWith(".")) refuse(`-v ${spec} is refused: ${RELATIVE}`);
    binds.push(spec);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of l.tmpfs) {
    const [k, v] = cut(t, ":");
    tmpfs[k] = v;
  }
  const entrypoint = s.entrypoint !== "" ? [s.entrypoint] : o.changed.has("entrypoint") ? [""] : null;

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of l.publish) {
    for (const [port, b] of parsePortSpec(p)) {
      exposed[port] = {};
      (bindings[port] ??= []).push(b);
    }
  }
  for (const e of l.expose) for (const port of parseExpose(e)) exposed[port] = {};

  const devices: DeviceMapping[] = [];
  const cdi: string[] = [];
  for (const d of l.devices) {
    if (isCdiName(d)) cdi.push(d);
    else devices.push(parseDevice(d));
  }
  const env = environment(o, io);
  const labelMap = labels(o, ctx, io);
  const pidMode = checkMode(s.pidMode, s.pidMode === "" || s.pidMode === "host" || containerMode(s.pidMode), "--pid: invalid PID mode");
  const utsMode = checkMode(s.utsMode, s.utsMode === "" || s.utsMode === "host", "--uts: invalid UTS mode");
  const usernsMode = checkMode(s.usernsMode, s.usernsMode === "" || s.usernsMode === "host", "--userns: invalid USER mode");
  const cgroupnsMode = checkMode(s.cgroupnsMode, ["", "private", "host"].includes(s.cgroupnsMode), "--cgroupns: invalid CGROUP mode");
  if (s.loggingDriver === "none" && l.loggingOpts.length) fail("invalid logging opts for driver none");
  const logConfig = kvMap(l.loggingOpts);
  const security = securityOpts(o, io);
  const storage: Record<string, string> = {};
  for (const opt of l.storageOpt) {
    const [k, v, ok] = cut(opt, "=");
    if (!ok) fail("invalid storage option");
    storage[k] = v;
  }
  const health = healthcheck(o);
  const deviceRequests: DeviceRequest[] = [...o.gpus];
  if (cdi.length) deviceRequests.push({ Driver: "cdi", Count: 0, DeviceIDs: cdi, Capabilities: null, Options: null });
  const networkMode = o.networks[0]?.target ?? "default";
  const endpointsConfig = endpoints(o);

  const hostConfig: CreateBody["HostConfig"] = {
    Binds: orNull(binds),
    ContainerIDFile: "",
    LogConfig: { Type: s.loggingDriver, Config: logConfig },
    NetworkMode: networkMode,
    PortBindings: bindings,
    RestartPolicy: { Name: "no", MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: s.volumeDriver,
    VolumesFrom: orNull(l.volumesFrom),
    // the CLI sends its terminal's size; svcmgr has none (and below API 1.42 the daemon ignores it)
    ConsoleSize: [0, 0],
    CapAdd: capabilities(l.capAdd),
    CapDrop: capabilities(l.capDrop),
    CgroupnsMode: cgroupnsMode,
    Dns: [...l.dns],
    DnsOptions: [...l.dnsOptions],
    DnsSearch: [...l.dnsSearch],
    ExtraHosts: orNull(l.extraHosts),
    GroupAdd: orNull(l.groupAdd),
    IpcMode: s.ipcMode,
    Cgroup: "",
    Links: orNull(l.links),
    OomScoreAdj: n.oomScoreAdj,
    PidMode: pidMode,
    Privileged: f.privileged,
    PublishAllPorts: f.publishAll,
    ReadonlyRootfs: f.readonlyRootfs,
    SecurityOpt: security.opts,
    ...(Object.keys(storage).length ? { StorageOpt: storage } : {}),
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
    UTSMode: utsMode,
    UsernsMode: usernsMode,
    ShmSize: n.shmSize,
    ...(Object.keys(o.sysctls).length ? { Sysctls: o.sysctls } : {}),
    ...(s.runtime ? { Runtime: s.runtime } : {}),
    Isolation: s.isolation,
    // container.Resources, embedded
    CpuShares: n.cpuShares,
    Memory: n.memory,
    NanoCpus: n.cpus,
    CgroupParent: s.cgroupParent,
    BlkioWeight: n.blkioWeight,
    BlkioWeightDevice: o.weightDevices,
    BlkioDeviceReadBps: o.throttle.readBps,
    BlkioDeviceWriteBps: o.throttle.writeBps,
    BlkioDeviceReadIOps: o.throttle.readIOps,
    BlkioDeviceWriteIOps: o.throttle.writeIOps,
    CpuPeriod: n.cpuPeriod,
    CpuQuota: n.cpuQuota,
    CpuRealtimePeriod: n.cpuRealtimePeriod,
    CpuRealtimeRuntime: n.cpuRealtimeRuntime,
    CpusetCpus: s.cpusetCpus,
    CpusetMems: s.cpusetMems,
    Devices: devices,
    DeviceCgroupRules: orNull(l.deviceCgroupRules),
    DeviceRequests: orNull(deviceRequests),
    ...(n.kernelMemory ? { KernelMemory: n.kernelMemory } : {}),
    MemoryReservation: n.memoryReservation,
    MemorySwap: n.memorySwap,
    MemorySwappiness: n.swappiness,
    OomKillDisable: f.oomKillDisable,
    PidsLimit: n.pidsLimit,
    Ulimits: [...o.ulimits.values()].sort((a: Ulimit, b: Ulimit) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    ...(o.mounts.length ? { Mounts: o.mounts satisfies Mount[] } : {}),
    MaskedPaths: security.unconfinedPaths ? [] : null,
    ReadonlyPaths: security.unconfinedPaths ? [] : null,
    ...(o.changed.has("init") ? { Init: f.init } : {}),
  };

  return {
    Hostname: s.hostname,
    Domainname: s.domainname,
    User: s.user,
    // run -d: nothing attached
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    Tty: f.tty,
    OpenStdin: f.stdin,
    StdinOnce: false,
    Env: env,
    Cmd: ctx.command && ctx.command.length ? [...ctx.command] : null,
    ...(health ? { Healthcheck: health } : {}),
    Image: ctx.image,
    Volumes: volumes,
    WorkingDir: s.workingDir,
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labelMap,
    ...(s.stopSignal ? { StopSignal: s.stopSignal } : {}),
    ...(o.changed.has("stop-timeout") ? { StopTimeout: n.stopTimeout } : {}),
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpointsConfig },
  };
}
