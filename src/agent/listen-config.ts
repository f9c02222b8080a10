// Where the agent serves the API and the dashboard on TCP (SPEC §11):
// `--listen ADDR:PORT [--tls-cert F --tls-key F]` on the command line, else
// `listen`, `tls_cert`, `tls_key` in the [node] section of <etc>/node.conf.
// node.conf is checked like a service config (every problem as FILE:LINE:
// [node] KEY: message, exit 2); other sections ([cluster]) are not ours.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { z } from "zod";
import { kw, type KeywordDef } from "../config/keyword.js";
import { checkNodeSection, readNodeConf } from "../config/node-section.js";
import { ConfigError, UsageError, errorMessage } from "../util/errors.js";
import { nodeConfFile, type Paths } from "../util/paths.js";


export interface ListenConfig {
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** where it was asked for: "--listen" or node.conf:LINE */
  from: string;
}

export interface ListenFlags {
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** `127.0.0.1:7620`, `[::1]:7620`, `localhost:7620`, `0.0.0.0:7620`. */
export function parseListen(text: string): { host: string; port: number } | string {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text.trim()) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!m) return `"${text}" is not ADDR:PORT (e.g. 127.0.0.1:7620)`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} out of range (1-65535)`;
  const host = m[1]!;
  if (text.trim().startsWith("[") && net.isIPv6(host) === false) return `"${host}" is not an IPv6 address`;
  if (!net.isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) return `"${host}" is not an address or host name`;
  return { host, port };
}

const listenSchema = z.string().transform((s, ctx) => {
  const r = parseListen(s);
  if (typeof r === "string") {
    ctx.addIssue({ code: "custom", message: r });
    return z.NEVER;
  }
  return r;
});

export const NODE_KEYWORDS: KeywordDef[] = [
  { name: "listen", schema: listenSchema, text: "ADDR:PORT where the agent serves its API and the web dashboard on TCP (tokens required)" },
  { name: "tls_cert", schema: kw.absPath(), text: "PEM certificate (chain) for HTTPS on listen" },
  { name: "tls_key", schema: kw.absPath(), text: "PEM private key of tls_cert" },
];

function readPem(file: string, what: string): Buffer | string {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    return `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`;
  }
}

/** A certificate and key that node's TLS accepts together, or why not. */
function tlsPair(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } | string {
  const cert = readPem(certFile, "certificate");
  if (typeof cert === "string") return cert;
  const key = readPem(keyFile, "key");
  if (typeof key === "string") return key;
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    return `${certFile} and ${keyFile} are not a usable certificate and key: ${errorMessage(e)}`;
  }
  return { cert, key };
}

/** The [node] section of node.conf, checked; undefined without the file. Throws ConfigError. */
export function readNodeListen(paths: Paths): ListenConfig | undefined {
  const file = nodeConfFile(paths);
  const doc = readNodeConf(file);
  if (!doc) return undefined;
  const sec = checkNodeSection(file, doc, "node", NODE_KEYWORDS, { ownsGlobalProblems: true });
  const { problems, lines } = sec;
  const values = sec.values as { listen?: { host: string; port: number }; tls_cert?: string; tls_key?: string };
  const problem = (line: number, message: string, key?: string) => problems.push({ file, line, section: "node", ...(key !== undefined && { key }), message });
  if (problems.length === 0 && (values.tls_cert === undefined) !== (values.tls_key === undefined)) {
    const [have, missing] = values.tls_cert !== undefined ? ["tls_cert", "tls_key"] : ["tls_key", "tls_cert"];
    problem(lines[have]!, `needs ${missing} too`, have);
  }
  if (problems.length === 0 && values.tls_cert !== undefined && values.listen === undefined) problem(lines.tls_cert!, "TLS without listen: set listen = ADDR:PORT too", "tls_cert");
  let pair: { cert: Buffer; key: Buffer } | undefined;
  if (problems.length === 0 && values.tls_cert !== undefined && values.tls_key !== undefined) {
    const r = tlsPair(values.tls_cert, values.tls_key);
    if (typeof r === "string") problem(lines.tls_cert!, r, "tls_cert");
    else pair = r;
  }
  if (problems.length) throw new ConfigError(problems);
  if (!values.listen) return undefined;
  return { ...values.listen, ...(pair && { tls: pair }), from: `${file}:${lines.listen}` };
}

/** The command line's --listen (and TLS files) win over node.conf's; undefined: no TCP. */
export function resolveListen(paths: Paths, flags: ListenFlags): ListenConfig | undefined {
  if (flags.listen === undefined) {
    if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) throw new UsageError("--tls-cert and --tls-key need --listen ADDR:PORT");
    return readNodeListen(paths);
  }
  const addr = parseListen(flags.listen);
  if (typeof addr === "string") throw new UsageError(`--listen ${flags.listen}: ${addr}`);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  if (flags.tlsCert === undefined || flags.tlsKey === undefined) return { ...addr, from: "--listen" };
  const pair = tlsPair(path.resolve(flags.tlsCert), path.resolve(flags.tlsKey));
  if (typeof pair === "string") throw new UsageError(pair);
  return { ...addr, tls: pair, from: "--listen" };
}

/** The dashboard's address as a person types it. */
export function listenUrl(l: { host: string; port: number; tls?: unknown }): string {
  return `${l.tls ? "https" : "http"}://${net.isIPv6(l.host) ? `[${l.host}]` : l.host}:${l.port}/`;
}
