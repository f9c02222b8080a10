// The network values of `docker run` options (ports, networks, hosts, DNS) and
// the small validators of its list options, read as the docker CLI 28 reads
// them (docker/cli opts, go-connections/nat) into the Engine API's JSON
// shapes; and the key=value files of --env-file and --label-file. Errors are
// the CLI's own messages.
import { csvRecord, cut, exactNumber, formatIP, goParseInt, parseIP } from "./run-args-go.js";

const fail = (message: string): never => {
  throw new Error(message);
};

// ---- ports: nat.ParsePortSpecs, --expose ----------------------------------------

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

function portRange(ports: string): [number, number] {
  if (ports === "") throw new Error("empty string specified for ports");
  const u16 = (s: string) => Number(goParseInt(s, 10, 16, false));
  if (!ports.includes("-")) return [u16(ports), u16(ports)];
  const parts = ports.split("-");
  const [start, end] = [u16(parts[0]!), u16(parts[1]!)];
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** nat.SplitProtoPort */
function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split("/");
  if (raw === "" || parts[0] === "") return ["", ""];
  if (parts.length === 1) return ["tcp", raw];
  if (parts[1] === "") return ["tcp", parts[0]!];
  return [parts[1]!, parts[0]!];
}

/** `-p` long syntax (published=8080,target=80) to the short one, as the CLI converts it. */
function standardNotation(publish: string): string {
  if (!publish.includes("=")) return publish;
  const params: Record<string, string> = { protocol: "tcp" };
  for (const param of publish.split(",")) {
    const [k, v, ok] = cut(param, "=");
    if (!ok || k === "") throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
    params[k] = v;
  }
  return `${params.published ?? ""}:${params.target ?? ""}/${params.protocol}`;
}

/** One -p value: its exposed ports and bindings, in order. */
export function parsePortSpec(publish: string): [string, PortBinding][] {
  const raw = standardNotation(publish);
  const parts = raw.split(":");
  const n = parts.length;
  let [ip, hostPort] = n === 1 ? ["", ""] : n === 2 ? ["", parts[0]!] : [parts.slice(0, n - 2).join(":"), parts[n - 2]!];
  const [proto, containerPort] = splitProtoPort(parts[n - 1]!);
  if (ip !== "" && ip.startsWith("[")) {
    const m = /^\[([^[\]]*)\]$/.exec(ip);
    if (!m) throw new Error(`invalid IP address ${ip}: address ${ip}:: missing ']' in address`);
    ip = m[1]!;
  }
  if (ip !== "" && !parseIP(ip)) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === "") throw new Error(`no port specified: ${raw}<empty>`);
  let start: number, end: number;
  try {
    [start, end] = portRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let [hStart, hEnd] = [0, 0];
  if (hostPort !== "") {
    try {
      [hStart, hEnd] = portRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== "" && end - start !== hEnd - hStart && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  if (!["tcp", "udp", "sctp"].includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const out: [string, PortBinding][] = [];
  for (let i = 0; i <= end - start; i++) {
    if (hostPort !== "") hostPort = String(hStart + i);
    if (start === end && hStart !== hEnd) hostPort = `${hostPort}-${hEnd}`;
    out.push([`${start + i}/${proto.toLowerCase()}`, { HostIp: ip, HostPort: hostPort }]);
  }
  return out;
}

/** One --expose value: the ports it exposes. */
export function parseExpose(e: string): string[] {
  if (e.includes(":")) throw new Error(`invalid port format for --expose: ${e}`);
  const [proto, port] = splitProtoPort(e);
  let start: number, end: number;
  try {
    [start, end] = portRange(port);
  } catch (err) {
    throw new Error(`invalid range format for --expose: ${e}, error: ${(err as Error).message}`, { cause: err });
  }
  const out: string[] = [];
  for (let i = start; i <= end; i++) out.push(`${i}/${proto}`);
  return out;
}

// ---- --network (and its advanced syntax) ---------------------------------------------

export interface NetworkAttachment {
  target: string;
  aliases: string[];
  driverOpts?: Record<string, string>;
  links: string[];
  ipv4: string;
  ipv6: string;
  linkLocalIPs: string[];
  macAddress: string;
  gwPriority: number;
}

/** opts.NetworkOpt.Set: a name, or name=NET,alias=A,ip=…,driver-opt=k=v,gw-priority=N (lower-cased, as the CLI does). */
export function parseNetwork(value: string): NetworkAttachment {
  const att: NetworkAttachment = { target: "", aliases: [], links: [], ipv4: "", ipv6: "", linkLocalIPs: [], macAddress: "", gwPriority: 0 };
  if (!/\w+=\w+/.test(value)) return { ...att, target: value };
  for (const field of csvRecord(value)) {
    const [k, v, ok] = cut(field.toLowerCase(), "=");
    if (!ok || k === "") throw new Error(`invalid field ${field}`);
    const [key, val] = [k.trim(), v.trim()];
    if (key === "name") att.target = val;
    else if (key === "alias") att.aliases.push(val);
    else if (key === "ip") att.ipv4 = val;
    else if (key === "ip6") att.ipv6 = val;
    else if (key === "mac-address") att.macAddress = val;
    else if (key === "link-local-ip") att.linkLocalIPs.push(val);
    else if (key === "driver-opt") {
      const [dk, dv, dok] = cut(val, "=");
      if (!dok || dk === "") throw new Error("invalid key value pair format in driver options");
      (att.driverOpts ??= {})[dk.trim()] = dv.trim();
    } else if (key === "gw-priority") {
      try {
        att.gwPriority = exactNumber(goParseInt(val, 10, 64, true));
      } catch (e) {
        throw new Error(`invalid gw-priority (${val}): ${(e as Error).message.replace(/^.*: /, "")}`, { cause: e });
      }
    } else throw new Error(`invalid field key ${key}`);
  }
  if (att.target === "") throw new Error("network name/id is not specified");
  return att;
}

/** NetworkMode.IsUserDefined (Linux): not default, bridge, host, none or container:… */
export function isUserDefinedNetwork(n: string): boolean {
  return !["default", "bridge", "host", "none"].includes(n) && !n.startsWith("container:");
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

function endpoint(n: NetworkAttachment): EndpointSettings | undefined {
  if (n.target.trim() === "") fail("no name set for network");
  if (!isUserDefinedNetwork(n.target)) {
    if (n.aliases.length) fail("network-scoped aliases are only supported for user-defined networks");
    if (n.links.length) fail("links are only supported for user-defined networks");
  }
  if (n.macAddress) fail(`"specify mac-address per network" requires API version 1.44, but the Docker daemon API version is 1.41`);
  const ipam = n.ipv4 || n.ipv6 || n.linkLocalIPs.length ? { ...(n.ipv4 ? { IPv4Address: n.ipv4 } : {}), ...(n.ipv6 ? { IPv6Address: n.ipv6 } : {}), ...(n.linkLocalIPs.length ? { LinkLocalIPs: n.linkLocalIPs } : {}) } : null;
  return {
    IPAMConfig: ipam,
    Links: n.links.length ? n.links : null,
    Aliases: n.aliases.length ? n.aliases : null,
    MacAddress: "",
    DriverOpts: n.driverOpts && Object.keys(n.driverOpts).length ? n.driverOpts : null,
    GwPriority: n.gwPriority,
    NetworkID: "",
    EndpointID: "",
    Gateway: "",
    IPAddress: "",
    IPPrefixLen: 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** What endpoints() reads of the options (RunOptions has it; named here so that this file needs no option table). */
export interface NetworkOptions {
  lists: { aliases: string[]; links: string[]; linkLocalIPs: string[] };
  strings: { ipv4Address: string; ipv6Address: string };
  networks: NetworkAttachment[];
}

/** parseNetworkOpts: --network, with --network-alias, --link, --ip, --ip6, --link-local-ip on the first one. */
export function endpoints(o: NetworkOptions): Record<string, EndpointSettings> {
  const withContainerOptions = (n: NetworkAttachment): NetworkAttachment => {
    const l = o.lists;
    if (n.aliases.length && l.aliases.length) fail("conflicting options: cannot specify both --network-alias and per-network alias");
    if (n.ipv4 && o.strings.ipv4Address) fail("conflicting options: cannot specify both --ip and per-network IPv4 address");
    if (n.ipv6 && o.strings.ipv6Address) fail("conflicting options: cannot specify both --ip6 and per-network IPv6 address");
    if (n.linkLocalIPs.length && l.linkLocalIPs.length) fail("conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses");
    return {
      ...n,
      aliases: l.aliases.length ? [...l.aliases] : n.aliases,
      links: isUserDefinedNetwork(n.target) && l.links.length ? [...l.links] : n.links,
      ipv4: o.strings.ipv4Address || n.ipv4,
      ipv6: o.strings.ipv6Address || n.ipv6,
      linkLocalIPs: l.linkLocalIPs.length ? [...l.linkLocalIPs] : n.linkLocalIPs,
    };
  };
  const out: Record<string, EndpointSettings> = {};
  if (o.networks.length === 0) {
    const blank: NetworkAttachment = { target: "default", aliases: [], links: [], ipv4: "", ipv6: "", linkLocalIPs: [], macAddress: "", gwPriority: 0 };
    out.default = endpoint(withContainerOptions(blank))!;
  }
  let userDefined = false;
  let other = false;
  o.networks.forEach((n0, i) => {
    if (isUserDefinedNetwork(n0.target)) userDefined = true;
    else other = true;
    const n = i === 0 ? withContainerOptions(n0) : n0;
    const ep = endpoint(n)!;
    if (n.target in out) fail(`network "${n.target}" is specified multiple times`);
    // a lone network without options: the CLI leaves its endpoint out
    const blank = !ep.IPAMConfig && !ep.Links && !ep.Aliases && !ep.DriverOpts && ep.GwPriority === 0;
    if (!(i === 0 && o.networks.length === 1 && blank)) out[n.target] = ep;
  });
  if (userDefined && other) fail("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
  return out;
}

// ---- small validators of list options ------------------------------------------------

/** opts.ValidateExtraHost: name:ip or name=ip, sent as name:ip (brackets of IPv6 removed). */
export function validateExtraHost(val: string): string {
  let [k, v, ok] = cut(val, "=");
  if (!ok) [k, v, ok] = cut(val, ":");
  if (!ok || k === "" || k.includes(":")) throw new Error(`bad format for add-host: "${val}"`);
  if (v !== "host-gateway") {
    if (v.length > 2 && v.startsWith("[") && v.endsWith("]")) v = v.slice(1, -1);
    if (!parseIP(v.trim())) throw new Error(`invalid IP address in add-host: "${v}"`);
  }
  return `${k}:${v}`;
}

/** opts.ValidateIPAddress: the address in canonical form. */
export function validateIPAddress(val: string): string {
  const ip = parseIP(val.trim());
  if (!ip) throw new Error(`IP address is not correctly formatted: ${val}`);
  return formatIP(ip);
}

const DOMAIN = /^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/;

/** opts.ValidateDNSSearch */
export function validateDNSSearch(val: string): string {
  const v = val.replace(/^ +| +$/g, "");
  if (v === ".") return v;
  const m = DOMAIN.exec(v);
  if (!/[a-zA-Z]/.test(v) || !m || m[1]!.length >= 255) throw new Error(`${v} is not a valid domain`);
  return m[1]!;
}

/** opts.ValidateLink (name[:alias]) */
export function validateLink(val: string): string {
  if (val === "") throw new Error("empty string specified for links");
  if (val.split(":").length > 2) throw new Error(`bad format for links: ${val}`);
  return val;
}

/** opts.ValidateLabel */
export function validateLabel(value: string): string {
  const key = cut(value, "=")[0].replace(/^[ \t]+/, "");
  if (key === "") throw new Error(`invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return value;
}

/** opts.ValidateSysctl: the namespaced ones docker allows. */
export function validateSysctl(val: string): string {
  const [k, , ok] = cut(val, "=");
  const allowed = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"];
  if (!ok || k === "" || !(allowed.includes(k) || k.startsWith("net.") || k.startsWith("fs.mqueue."))) throw new Error(`sysctl '${val}' is not allowed`);
  return val;
}

export function validateDeviceCgroupRule(val: string): string {
  if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(val)) throw new Error(`invalid device cgroup format '${val}'`);
  return val;
}

/** opts.ConvertKVStringsToMap */
export function kvMap(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const [k, val] = cut(v, "=");
    out[k] = val;
  }
  return out;
}

/**
 * kvfile.Parse (--env-file, --label-file): KEY=VALUE lines, # comments; a KEY
 * alone takes its value from lookup, or is left out.
 */
export function parseKvFile(filename: string, content: Buffer, lookup?: (k: string) => string | undefined): string[] {
  const fail = (why: string) => new Error(`invalid env file (${filename}): ${why}`);
  const out: string[] = [];
  let text = content;
  const lines: Buffer[] = [];
  while (text.length > 0) {
    const nl = text.indexOf(0x0a);
    const line = nl < 0 ? text : text.subarray(0, nl);
    lines.push(line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);
    text = nl < 0 ? Buffer.alloc(0) : text.subarray(nl + 1);
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  lines.forEach((bytes, idx) => {
    if (bytes.length > 65536) throw fail("bufio.Scanner: token too long");
    let s: string;
    try {
      s = decoder.decode(bytes);
    } catch {
      throw fail(`invalid utf8 bytes at line ${idx + 1}: [${[...bytes].join(" ")}]`);
    }
    if (idx === 0) s = s.replace(/^\ufeff/, "");
    const line = s.replace(/^[\s\u0085]+/u, "");
    if (line === "" || line.startsWith("#")) return;
    const [key, , hasValue] = cut(line, "=");
    if (key === "") throw fail(`no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw fail(`variable '${key}' contains whitespaces`);
    if (hasValue) out.push(line);
    else if (lookup) {
      const v = lookup(line);
      if (v !== undefined) out.push(`${key}=${v}`);
    }
  });
  return out;
}
