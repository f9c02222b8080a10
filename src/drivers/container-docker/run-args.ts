// docker-run options (the `run_args` keyword) turned into Engine API
// container-create options. Unknown and refused options are config errors, so a
// typo never reaches the daemon.

export interface CreateOptions {
  Hostname?: string;
  User?: string;
  WorkingDir?: string;
  Env: string[];
  Labels: Record<string, string>;
  Entrypoint?: string[];
  Tty: boolean;
  OpenStdin: boolean;
  StopSignal?: string;
  ExposedPorts: Record<string, Record<string, never>>;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  HostConfig: {
    Binds: string[];
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    NetworkMode?: string;
    Privileged: boolean;
    ReadonlyRootfs: boolean;
    Init?: boolean;
    CapAdd: string[];
    CapDrop: string[];
    ExtraHosts: string[];
    Dns: string[];
    Tmpfs: Record<string, string>;
    Memory?: number;
    ShmSize?: number;
  };
}

export interface ParsedRunArgs {
  options: CreateOptions;
  errors: string[];
}

type Handler = (o: CreateOptions, v: string) => string | undefined;

const REFUSED: Record<string, string> = {
  "--name": "svcmgr names the container <service>.container.<N> itself",
  "--restart": "svcmgr, not docker, restarts the service's containers",
  "--rm": "use the rm keyword instead",
};

/** Go-style durations as docker accepts them (1m30s, 500ms), in nanoseconds. */
function parseGoDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/gy;
  const unit = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    end = re.lastIndex;
  }
  return end === s.length && s.length > 0 ? Math.round(total) : undefined;
}

function parseBytes(s: string): number | undefined {
  const m = /^(\d+)([bkmg])?$/i.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "b").toLowerCase() as "b"];
}

function publish(o: CreateOptions, v: string): string | undefined {
  // [ip:]hostPort:containerPort[/proto] | containerPort[/proto]
  const m = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(\d{0,5}):)?(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(v);
  if (!m) return `bad -p value "${v}" (expected [ip:]hostPort:containerPort[/proto])`;
  const key = `${m[3]}/${(m[4] ?? "tcp").toLowerCase()}`;
  o.ExposedPorts[key] = {};
  if (m[2] !== undefined || m[1] !== undefined) {
    (o.HostConfig.PortBindings[key] ??= []).push({ HostIp: (m[1] ?? "").replace(/^\[|\]$/g, ""), HostPort: m[2] ?? "" });
  }
  return undefined;
}

const health = (field: "Interval" | "Timeout" | "StartPeriod"): Handler => (o, v) => {
  const ns = parseGoDuration(v);
  if (ns === undefined) return `bad duration "${v}" (e.g. 5s, 1m30s)`;
  (o.Healthcheck ??= {})[field] = ns;
  return undefined;
};

const VALUED: Record<string, Handler> = {
  "--volume": (o, v) => (v.split(":").length >= 2 && v.split(":")[1]!.startsWith("/") ? void o.HostConfig.Binds.push(v) : `bad -v value "${v}" (expected /host/path:/container/path[:opts])`),
  "--publish": publish,
  "--env": (o, v) => void o.Env.push(v.includes("=") ? v : `${v}=${process.env[v] ?? ""}`),
  "--network": (o, v) => void (o.HostConfig.NetworkMode = v),
  "--hostname": (o, v) => void (o.Hostname = v),
  "--entrypoint": (o, v) => void (o.Entrypoint = v === "" ? [""] : [v]),
  "--user": (o, v) => void (o.User = v),
  "--workdir": (o, v) => (v.startsWith("/") ? void (o.WorkingDir = v) : `--workdir needs an absolute path, got "${v}"`),
  "--label": (o, v) => {
    const i = v.indexOf("=");
    o.Labels[i < 0 ? v : v.slice(0, i)] = i < 0 ? "" : v.slice(i + 1);
    return undefined;
  },
  "--add-host": (o, v) => void o.HostConfig.ExtraHosts.push(v),
  "--dns": (o, v) => void o.HostConfig.Dns.push(v),
  "--cap-add": (o, v) => void o.HostConfig.CapAdd.push(v),
  "--cap-drop": (o, v) => void o.HostConfig.CapDrop.push(v),
  "--tmpfs": (o, v) => {
    const [dir = "", opts = ""] = v.split(/:(.*)/s);
    o.HostConfig.Tmpfs[dir] = opts;
    return undefined;
  },
  "--stop-signal": (o, v) => void (o.StopSignal = v),
  "--memory": (o, v) => ((o.HostConfig.Memory = parseBytes(v)) === undefined ? `bad --memory "${v}"` : undefined),
  "--shm-size": (o, v) => ((o.HostConfig.ShmSize = parseBytes(v)) === undefined ? `bad --shm-size "${v}"` : undefined),
  "--health-cmd": (o, v) => void ((o.Healthcheck ??= {}).Test = ["CMD-SHELL", v]),
  "--health-interval": health("Interval"),
  "--health-timeout": health("Timeout"),
  "--health-start-period": health("StartPeriod"),
  "--health-retries": (o, v) => (/^\d+$/.test(v) ? void ((o.Healthcheck ??= {}).Retries = Number(v)) : `bad --health-retries "${v}"`),
};

const FLAGS: Record<string, (o: CreateOptions) => void> = {
  "--tty": (o) => void (o.Tty = true),
  "--interactive": (o) => void (o.OpenStdin = true),
  "--detach": () => undefined, // containers always run detached
  "--privileged": (o) => void (o.HostConfig.Privileged = true),
  "--read-only": (o) => void (o.HostConfig.ReadonlyRootfs = true),
  "--init": (o) => void (o.HostConfig.Init = true),
  "--no-healthcheck": (o) => void (o.Healthcheck = { Test: ["NONE"] }),
};

const ALIASES: Record<string, string> = {
  "-v": "--volume",
  "-p": "--publish",
  "-e": "--env",
  "--net": "--network",
  "-h": "--hostname",
  "-u": "--user",
  "-w": "--workdir",
  "-l": "--label",
  "-m": "--memory",
  "-t": "--tty",
  "-i": "--interactive",
  "-d": "--detach",
};

export function emptyCreateOptions(): CreateOptions {
  return {
    Env: [],
    Labels: {},
    Tty: false,
    OpenStdin: false,
    ExposedPorts: {},
    HostConfig: { Binds: [], PortBindings: {}, Privileged: false, ReadonlyRootfs: false, CapAdd: [], CapDrop: [], ExtraHosts: [], Dns: [], Tmpfs: {} },
  };
}

export function parseRunArgs(words: readonly string[]): ParsedRunArgs {
  const o = emptyCreateOptions();
  const errors: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith("-") || word === "-") {
      errors.push(`unexpected argument "${word}": put the command in run_command and the image in run_image`);
      continue;
    }
    let name = word;
    let value: string | undefined;
    const eq = word.indexOf("=");
    if (word.startsWith("--") && eq > 0) [name, value] = [word.slice(0, eq), word.slice(eq + 1)];
    else if (!word.startsWith("--") && word.length > 2) {
      // -p8080:80 or grouped short flags like -dit
      const short = ALIASES[word.slice(0, 2)];
      if (short && VALUED[short]) [name, value] = [word.slice(0, 2), word.slice(2).replace(/^=/, "")];
      else if ([...word.slice(1)].every((c) => FLAGS[ALIASES[`-${c}`] ?? ""])) {
        for (const c of word.slice(1)) FLAGS[ALIASES[`-${c}`]!]!(o);
        continue;
      }
    }
    const canonical = ALIASES[name] ?? name;
    if (REFUSED[canonical]) {
      errors.push(`${canonical} is refused: ${REFUSED[canonical]}`);
      if (VALUED[canonical] === undefined && value === undefined && canonical !== "--rm") i++;
      continue;
    }
    const flag = FLAGS[canonical];
    if (flag) {
      if (value !== undefined && !["true", "false"].includes(value)) errors.push(`${canonical} takes no value`);
      else if (value !== "false") flag(o);
      continue;
    }
    const handler = VALUED[canonical];
    if (!handler) {
      errors.push(`unknown docker run option "${name}"`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= words.length) {
        errors.push(`${name} needs a value`);
        continue;
      }
      value = words[++i]!;
    }
    const err = handler(o, value);
    if (err) errors.push(err);
  }
  return { options: o, errors };
}
