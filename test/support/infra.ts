// Real infrastructure for the ip/disk/fs tests: a veth pair whose peer lives
// in a network namespace of the test's own, loop devices backed by files
// under a test root, and a clean-up that leaves none of it behind.
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { findExecutable } from "../../src/util/which.js";
import { mountsUnder } from "../../src/util/mountinfo.js";

/** Run a program, throwing with its stderr when it fails; returns stdout. */
export function sh(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(findExecutable(cmd!) ?? cmd!, args, { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  if (r.error) throw new Error(`${argv.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Like sh, but never throws: for clean-up steps. */
export function trySh(argv: string[], timeoutMs = 30_000): { code: number; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(findExecutable(cmd!) ?? cmd!, args, { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

/** IPv4 addresses of every host interface (this network namespace), as ifname → addresses. */
export function hostAddresses(netns?: string): Map<string, string[]> {
  const argv = [...(netns ? ["ip", "netns", "exec", netns] : []), "ip", "-j", "addr", "show"];
  const links = JSON.parse(sh(argv) || "[]") as { ifname: string; addr_info?: { family?: string; local?: string }[] }[];
  return new Map(links.map((l) => [l.ifname, (l.addr_info ?? []).filter((a) => a.family === "inet" && a.local).map((a) => a.local!)]));
}

export interface TestNet {
  /** network namespace holding the peer end */
  netns: string;
  /** host end of the veth pair: the service's ipdev */
  hostIf: string;
  /** peer end, inside netns */
  peerIf: string;
  /** 10.200.N: the /24 of the pair */
  prefix: string;
  /** address of the host end (10.200.N.1/24): gives the link its network */
  hostAddr: string;
  /** address of the peer end (10.200.N.2/24) */
  peerAddr: string;
  /** a free address of the network for the service (10.200.N.10) */
  serviceAddr: string;
}

/** A 10.200.N.0/24 that no host interface and no route uses yet. */
function freeSubnet(): string {
  const used = new Set<string>();
  for (const addrs of hostAddresses().values()) for (const a of addrs) used.add(a.split(".").slice(0, 3).join("."));
  for (const line of sh(["ip", "-4", "route", "show", "table", "all"]).split("\n")) {
    const m = /\b(10\.200\.\d+)\.\d+/.exec(line);
    if (m) used.add(m[1]!);
  }
  for (let i = 0; i < 200; i++) {
    const n = 1 + crypto.randomInt(254);
    if (!used.has(`10.200.${n}`)) return `10.200.${n}`;
  }
  throw new Error("no free 10.200.N.0/24 subnet found");
}

/**
 * A veth pair: host end up with 10.200.N.1/24, peer end moved into a new
 * namespace, up with 10.200.N.2/24. Names are unique (a random tag) and at
 * most 15 characters. On failure, what was created is removed again.
 */
export function createTestNet(tag = crypto.randomBytes(3).toString("hex")): TestNet {
  const prefix = freeSubnet();
  const net: TestNet = {
    netns: `svins${tag}`,
    hostIf: `svih${tag}`,
    peerIf: `svip${tag}`,
    prefix,
    hostAddr: `${prefix}.1`,
    peerAddr: `${prefix}.2`,
    serviceAddr: `${prefix}.10`,
  };
  try {
    sh(["ip", "netns", "add", net.netns]);
    sh(["ip", "link", "add", net.hostIf, "type", "veth", "peer", "name", net.peerIf]);
    sh(["ip", "link", "set", net.peerIf, "netns", net.netns]);
    sh(["ip", "addr", "add", `${net.hostAddr}/24`, "dev", net.hostIf]);
    sh(["ip", "link", "set", net.hostIf, "up"]);
    sh(["ip", "netns", "exec", net.netns, "ip", "link", "set", "lo", "up"]);
    sh(["ip", "netns", "exec", net.netns, "ip", "addr", "add", `${net.peerAddr}/24`, "dev", net.peerIf]);
    sh(["ip", "netns", "exec", net.netns, "ip", "link", "set", net.peerIf, "up"]);
  } catch (e) {
    deleteTestNet(net);
    throw e;
  }
  return net;
}

/** Remove the namespace (which takes the peer, hence the pair, with it) and the host end. Safe to call twice. */
export function deleteTestNet(net: TestNet): string[] {
  const errors: string[] = [];
  trySh(["ip", "netns", "del", net.netns]);
  trySh(["ip", "link", "del", net.hostIf]);
  if (trySh(["ip", "link", "show", "dev", net.hostIf]).code === 0) errors.push(`interface ${net.hostIf} still exists`);
  if (sh(["ip", "netns", "list"]).split("\n").some((l) => l.split(" ")[0] === net.netns)) errors.push(`namespace ${net.netns} still exists`);
  return errors;
}

/** Loop devices whose backing file lies under dir (also once the file is deleted): [device, file]. */
export function loopsUnder(dir: string): [string, string][] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const out = JSON.parse(sh(["losetup", "-J", "-l"]) || '{"loopdevices":[]}') as { loopdevices?: { name: string; "back-file"?: string | null }[] };
  return (out.loopdevices ?? [])
    .map((l): [string, string] => [l.name, (l["back-file"] ?? "").replace(/ \(deleted\)$/, "")])
    .filter(([, f]) => f.startsWith(prefix));
}

/** The loop device a file is attached to, if any (losetup -j). */
export function loopOf(file: string): string | undefined {
  const r = trySh(["losetup", "-j", file]);
  return /^(\/dev\/loop\d+):/m.exec(r.stdout)?.[1];
}

/**
 * Unmount (lazily when busy) everything still mounted under dir and detach
 * every loop device backed by a file under it. Returns what could not be undone.
 */
export function releaseDisks(dir: string): string[] {
  const errors: string[] = [];
  for (const mnt of mountsUnder(dir)) {
    if (trySh(["umount", mnt]).code !== 0) trySh(["umount", "-l", mnt]);
  }
  if (mountsUnder(dir).length) errors.push(`still mounted: ${mountsUnder(dir).join(", ")}`);
  for (const [dev] of loopsUnder(dir)) trySh(["losetup", "-d", dev]);
  const left = loopsUnder(dir);
  if (left.length) errors.push(`loop devices still attached: ${left.map(([d, f]) => `${d} (${f})`).join(", ")}`);
  return errors;
}

/** Files and directories directly in dir (empty when it does not exist). */
export function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * GET url from inside a network namespace, with curl when installed, else
 * with node's fetch (Debian's static busybox wget segfaults here); returns the body.
 */
export function httpGetInNetns(netns: string, url: string): string {
  const curl = findExecutable("curl");
  const client = curl
    ? [curl, "-sS", "--fail", "--max-time", "10", url]
    : [process.execPath, "-e", "fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); process.stdout.write(await r.text()); })", url];
  const r = spawnSync(findExecutable("ip")!, ["netns", "exec", netns, ...client], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) throw new Error(`GET ${url} in ${netns} exited ${r.status ?? r.signal}: ${(r.stderr || String(r.error ?? "")).trim()}`);
  return r.stdout;
}
