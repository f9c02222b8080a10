// The storage and device values of `docker run` options (-v, --mount,
// --device, --gpus, --ulimit, blkio limits), read as the docker CLI 28 reads
// them (compose's ParseVolume, docker/cli opts, go-units) into the Engine
// API's JSON shapes. Errors are the CLI's own messages.
import { csvRecord, cut, exactNumber, goParseInt, parseBool, pathClean, ramInBytes } from "./run-args-go.js";
import { kvMap } from "./run-args-specs.js";

// ---- volumes: compose's ParseVolume ----------------------------------------------

export interface VolumeSpec {
  source: string;
  target: string;
  bind: boolean;
}

const isLetter = (c: string) => /^\p{L}$/u.test(c);

/** loader.ParseVolume, as far as -v needs it: a source makes it a bind (or named volume). */
export function parseVolume(spec: string): VolumeSpec {
  if (spec === "") throw new Error("invalid empty volume spec");
  if (Buffer.byteLength(spec) <= 2) return { source: "", target: spec, bind: false };
  const chars = [...spec];
  let source = "";
  let target = "";
  let buffer: string[] = [];
  const end = "\u0000end";
  for (const ch of [...chars, end]) {
    if (ch === ":" && buffer.length === 1 && isLetter(buffer[0]!)) {
      buffer.push(ch);
    } else if (ch === ":" || ch === end) {
      const str = buffer.join("");
      if (buffer.length === 0) throw new Error(`invalid spec: ${spec}: empty section between colons`);
      if (source === "" && ch === end) target = str;
      else if (source === "") source = str;
      else if (target === "") target = str;
      else if (ch === ":") throw new Error(`invalid spec: ${spec}: too many colons`);
      buffer = [];
    } else buffer.push(ch);
  }
  const first = [...source][0] ?? "";
  const bind = source !== "" && (".~/".includes(source[0]!) || ([...source].length > 1 && (source.startsWith("\\\\") || (isLetter(first) && source[first.length] === ":"))));
  return { source, target, bind };
}

// ---- --mount: opts.MountOpt ------------------------------------------------------

export interface Mount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  ImageOptions?: { Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export function parseMount(value: string, relative: (p: string) => never): Mount {
  const fields = csvRecord(value);
  let type = "volume";
  let source = "";
  let target = "";
  let readOnly = false;
  let consistency = "";
  let bindO: NonNullable<Mount["BindOptions"]> | undefined;
  let volO: { NoCopy?: boolean; Labels: Record<string, string>; Subpath?: string; DriverConfig: { Name?: string; Options?: Record<string, string> } } | undefined;
  let imageO: NonNullable<Mount["ImageOptions"]> | undefined;
  let tmpfsO: NonNullable<Mount["TmpfsOptions"]> | undefined;
  const vol = () => (volO ??= { Labels: {}, DriverConfig: {} });
  const setOnMap = (m: Record<string, string>, v: string) => {
    const [k, val] = cut(v, "=");
    if (k !== "") m[k] = val;
  };
  const boolOf = (key: string, val: string) => {
    try {
      return parseBool(val);
    } catch {
      throw new Error(`invalid value for ${key}: ${val}`);
    }
  };
  for (const field of fields) {
    const [rawKey, val, ok] = cut(field, "=");
    const key = rawKey.toLowerCase();
    if (!ok) {
      if (key === "readonly" || key === "ro") readOnly = true;
      else if (key === "volume-nocopy") vol().NoCopy = true;
      else if (key === "bind-nonrecursive") (bindO ??= {}).NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case "type":
        type = val.toLowerCase();
        break;
      case "source":
      case "src":
        if (!val.startsWith("/") && val.startsWith(".")) relative(val);
        source = val;
        break;
      case "target":
      case "dst":
      case "destination":
        target = val;
        break;
      case "readonly":
      case "ro":
        readOnly = boolOf(key, val);
        break;
      case "consistency":
        consistency = val.toLowerCase();
        break;
      case "bind-propagation":
        (bindO ??= {}).Propagation = val.toLowerCase();
        break;
      case "bind-nonrecursive":
        (bindO ??= {}).NonRecursive = boolOf(key, val);
        break;
      case "bind-recursive":
        if (val === "disabled") (bindO ??= {}).NonRecursive = true;
        else if (val === "writable") (bindO ??= {}).ReadOnlyNonRecursive = true;
        else if (val === "readonly") (bindO ??= {}).ReadOnlyForceRecursive = true;
        else if (val !== "enabled") throw new Error(`invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        break;
      case "volume-subpath":
        vol().Subpath = val;
        break;
      case "volume-nocopy":
        try {
          vol().NoCopy = parseBool(val);
        } catch {
          throw new Error(`invalid value for volume-nocopy: ${val}`);
        }
        break;
      case "volume-label":
        setOnMap(vol().Labels, val);
        break;
      case "volume-driver":
        vol().DriverConfig.Name = val;
        break;
      case "volume-opt":
        setOnMap((vol().DriverConfig.Options ??= {}), val);
        break;
      case "image-subpath":
        (imageO ??= {}).Subpath = val;
        break;
      case "tmpfs-size":
        try {
          (tmpfsO ??= {}).SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case "tmpfs-mode":
        try {
          (tmpfsO ??= {}).Mode = Number(goParseInt(val, 8, 32, false));
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (type === "") throw new Error("type is required");
  if (target === "") throw new Error("target is required");
  for (const [opts, t, what] of [[volO, "volume", "volume"], [imageO, "image", "image"], [bindO, "bind", "bind"], [tmpfsO, "tmpfs", "tmpfs"]] as const) {
    if (opts && type !== t) throw new Error(`cannot mix '${what}-*' options with mount type '${type}'`);
  }
  if (bindO?.ReadOnlyNonRecursive && !readOnly) throw new Error("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction");
  if (bindO?.ReadOnlyForceRecursive) {
    if (!readOnly) throw new Error("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction");
    if (bindO.Propagation !== "rprivate") throw new Error("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
    // the Engine API client refuses it below API 1.44
    throw new Error("bind-recursive=readonly requires API v1.44 or later");
  }
  // JSON omitempty: only what is set, in the Mount struct's field order
  const m: Mount = {};
  m.Type = type;
  if (source !== "") m.Source = source;
  m.Target = target;
  if (readOnly) m.ReadOnly = true;
  if (consistency !== "") m.Consistency = consistency;
  if (bindO) m.BindOptions = omitEmpty(bindO, ["Propagation", "NonRecursive", "ReadOnlyNonRecursive", "ReadOnlyForceRecursive"]);
  if (volO) {
    const v: NonNullable<Mount["VolumeOptions"]> = {};
    if (volO.NoCopy) v.NoCopy = true;
    if (Object.keys(volO.Labels).length) v.Labels = volO.Labels;
    if (volO.Subpath) v.Subpath = volO.Subpath;
    v.DriverConfig = omitEmpty(volO.DriverConfig, ["Name", "Options"]);
    if (volO.DriverConfig.Options && Object.keys(volO.DriverConfig.Options).length === 0) delete v.DriverConfig.Options;
    m.VolumeOptions = v;
  }
  if (imageO) m.ImageOptions = omitEmpty(imageO, ["Subpath"]);
  if (tmpfsO) m.TmpfsOptions = omitEmpty(tmpfsO, ["SizeBytes", "Mode"]);
  return m;
}

function omitEmpty<T extends object>(o: T, order: (keyof T)[]): T {
  const out = {} as T;
  for (const k of order) if (o[k] !== undefined && o[k] !== "" && o[k] !== false && o[k] !== 0) out[k] = o[k];
  return out;
}

// ---- --device --------------------------------------------------------------------

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

function validDeviceMode(mode: string): boolean {
  return mode !== "" && [...mode].every((c, i) => "rwm".includes(c) && mode.indexOf(c) === i);
}

/** A CDI device name (vendor.com/class=name): passed as a device request, not a path. */
export function isCdiName(device: string): boolean {
  if (device === "" || device.startsWith("/")) return false;
  const [qualifier, name, ok] = cut(device, "=");
  if (!ok || qualifier === "" || name === "") return false;
  const [vendor, klass, ok2] = cut(qualifier, "/");
  if (!ok2 || vendor === "" || klass === "") return false;
  const vc = /^[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]$/;
  // the docker CLI 28 crashes (a slice out of range in its CDI parser) on a one-letter vendor, or class
  const oneLetter = (x: string) => /^[A-Za-z]$/.test(x);
  if (oneLetter(vendor) || (vc.test(vendor) && oneLetter(klass))) throw new Error(`invalid CDI device ${device}: its vendor and class need two characters or more`);
  return vc.test(vendor) && vc.test(klass) && /^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$/.test(name);
}

/** validateLinuxPath + parseLinuxDevice: /dev/x[:/dev/y][:rwm] */
export function parseDevice(val: string): DeviceMapping {
  if ((val.match(/:/g) ?? []).length > 2) throw new Error(`bad format for path: ${val}`);
  const split = val.split(":");
  if (split[0] === "") throw new Error(`bad format for path: ${val}`);
  let containerPath: string;
  let validated: string;
  if (split.length === 1) {
    containerPath = split[0]!;
    validated = pathClean(containerPath);
  } else if (split.length === 2) {
    if (validDeviceMode(split[1]!)) {
      containerPath = split[0]!;
      validated = `${pathClean(containerPath)}:${split[1]}`;
    } else {
      containerPath = split[1]!;
      validated = `${split[0]}:${pathClean(containerPath)}`;
    }
  } else {
    containerPath = split[1]!;
    if (!validDeviceMode(split[2]!)) throw new Error(`bad mode specified: ${split[2]}`);
    validated = val;
  }
  if (!containerPath.startsWith("/")) throw new Error(`${containerPath} is not an absolute path`);
  const arr = validated.split(":");
  let permissions = "rwm";
  let dst = "";
  if (arr.length === 3) permissions = arr[2]!;
  if (arr.length >= 2) {
    if (validDeviceMode(arr[1]!)) permissions = arr[1]!;
    else dst = arr[1]!;
  }
  const src = arr[0]!;
  return { PathOnHost: src, PathInContainer: dst === "" ? src : dst, CgroupPermissions: permissions };
}

// ---- --gpus: opts.GpuOpts ----------------------------------------------------------

export interface DeviceRequest {
  Driver: string;
  Count: number;
  DeviceIDs: string[] | null;
  Capabilities: string[][] | null;
  Options: Record<string, string> | null;
}

function gpuCount(s: string): number {
  if (s === "all") return -1;
  try {
    return exactNumber(goParseInt(s, 10, 64, true));
  } catch (e) {
    const why = (e as Error).message.replace(/^.*: /, "");
    throw new Error(`invalid count (${s}): value must be either "all" or an integer: ${why}`, { cause: e });
  }
}

export function parseGpus(value: string): DeviceRequest {
  const req: DeviceRequest = { Driver: "", Count: 0, DeviceIDs: null, Capabilities: null, Options: null };
  const seen = new Set<string>();
  for (const field of csvRecord(value)) {
    const [key, val, withValue] = cut(field, "=");
    if (seen.has(key)) throw new Error(`gpu request key '${key}' can be specified only once`);
    seen.add(key);
    if (!withValue) {
      seen.add("count");
      req.Count = gpuCount(key);
      continue;
    }
    if (key === "driver") req.Driver = val;
    else if (key === "count") req.Count = gpuCount(val);
    else if (key === "device") req.DeviceIDs = val.split(",");
    else if (key === "capabilities") req.Capabilities = [[...val.split(","), "gpu"]];
    else if (key === "options") {
      let optFields: string[];
      try {
        optFields = csvRecord(val);
      } catch (e) {
        throw new Error(`failed to read gpu options: ${(e as Error).message}`, { cause: e });
      }
      req.Options = kvMap(optFields);
    } else throw new Error(`unexpected key '${key}' in '${field}'`);
  }
  if (!seen.has("count") && req.DeviceIDs === null) req.Count = 1;
  req.Options ??= {};
  req.Capabilities ??= [["gpu"]];
  return req;
}

// ---- --ulimit, --blkio-weight-device, --device-*-bps/iops ------------------------

export interface Ulimit {
  Name: string;
  Hard: number;
  Soft: number;
}

const ULIMITS = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

/** units.ParseUlimit: nofile=1024[:2048] */
export function parseUlimit(val: string): Ulimit {
  const [name, limits, ok] = cut(val, "=");
  if (!ok) throw new Error(`invalid ulimit argument: ${val}`);
  if (!ULIMITS.includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = limits.split(":");
  if (parts.length > 2) throw new Error(`too many limit value arguments - ${limits}, can only have up to two, \`soft[:hard]\``);
  const int = (s: string) => goParseInt(s, 10, 64, true);
  const hardBig = parts.length === 2 ? int(parts[1]!) : undefined;
  const soft = int(parts[0]!);
  const hard = hardBig ?? soft;
  if (hard !== -1n) {
    if (soft === -1n) throw new Error(`ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${hard}`);
    if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  }
  return { Name: name, Hard: exactNumber(hard, "ulimit"), Soft: exactNumber(soft, "ulimit") };
}

function devicePath(val: string): [string, string] {
  const [k, v, ok] = cut(val, ":");
  if (!ok || k === "") throw new Error(`bad format: ${val}`);
  if (!k.startsWith("/dev/")) throw new Error(`bad format for device path: ${val}`);
  return [k, v];
}

export function parseWeightDevice(val: string): { Path: string; Weight: number } {
  const [path, v] = devicePath(val);
  let weight: number;
  try {
    weight = Number(goParseInt(v, 10, 16, false));
  } catch {
    throw new Error(`invalid weight for device: ${val}`);
  }
  if (weight > 0 && (weight < 10 || weight > 1000)) throw new Error(`invalid weight for device: ${val}`);
  return { Path: path, Weight: weight };
}

export function parseThrottleBps(val: string): { Path: string; Rate: number } {
  const [path, v] = devicePath(val);
  try {
    return { Path: path, Rate: ramInBytes(v) };
  } catch {
    throw new Error(`invalid rate for device: ${val}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
  }
}

export function parseThrottleIops(val: string): { Path: string; Rate: number } {
  const [path, v] = devicePath(val);
  try {
    return { Path: path, Rate: exactNumber(goParseInt(v, 10, 64, false)) };
  } catch {
    throw new Error(`invalid rate for device: ${val}. The correct format is <device-path>:<number>. Number must be a positive integer`);
  }
}
