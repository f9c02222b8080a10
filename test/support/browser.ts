// Debian's chromium, started by us (its pid and profile ours, so that they are
// removed whatever happens) and driven by playwright-core over CDP: no browser
// download. The flags are the ones known to work on this machine (no network
// but the loopback: background connections would only fail).
//
// It runs in a network namespace of its own: Chromium aborts every request in
// flight (ERR_NETWORK_CHANGED) when an address appears on any link of its
// namespace, and other tests and services make bridges on the host all the
// time. The ports it may reach on the host's 127.0.0.1 (the agent's) are
// forwarded through unix sockets (forward.ts), and so is its CDP port back.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { findExecutable } from "../../src/util/which.js";
import { forward } from "./forward.js";

export const CHROMIUM = "/usr/bin/chromium";
const CDP_PORT = 9222; // inside its namespace: nothing else listens there
const REPO = path.resolve(import.meta.dirname, "../..");

export function chromiumMissing(): string | false {
  if (!fs.existsSync(CHROMIUM) && !findExecutable("chromium")) return "Debian's chromium is not installed (scripts/setup.sh installs it)";
  return findExecutable("unshare") ? false : "unshare (util-linux) missing";
}

export interface RealBrowser {
  browser: Browser;
  pid: number;
  close(): Promise<void>;
}

const sh = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** Chromium that reaches the host's 127.0.0.1 on `ports` only (the same port numbers, inside its namespace). */
export async function launchChromium(ports: number[]): Promise<RealBrowser> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-chromium-"));
  const servers: net.Server[] = [];
  let child: ChildProcess | undefined;
  const kill = (): void => {
    try {
      if (child?.pid) process.kill(-child.pid, "SIGKILL"); // its process group: renderers and the forwarder too
    } catch {
      // gone already
    }
  };
  const cleanup = (): void => {
    for (const s of servers) s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) servers.push(await forward({ unix: path.join(dir, `${p}.sock`) }, { tcp: p }));
    const cdp = await forward({ tcp: 0 }, { unix: path.join(dir, "cdp.sock") });
    servers.push(cdp);
    const cdpHostPort = (cdp.address() as net.AddressInfo).port;
    const inside = [...ports.map((p) => `tcp:${p}=unix:${path.join(dir, `${p}.sock`)}`), `unix:${path.join(dir, "cdp.sock")}=tcp:${CDP_PORT}`];
    const args = [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      `--user-data-dir=${path.join(dir, "profile")}`,
      `--remote-debugging-port=${CDP_PORT}`,
      "about:blank",
    ];
    const script = [
      "ip link set lo up",
      `${sh(process.execPath)} --import tsx ${sh(path.join(REPO, "test/support/forward.ts"))} ${inside.map(sh).join(" ")} >&2 &`,
      // its temporary files (the profile's singleton socket, /tmp/org.chromium.Chromium.*) in our dir, which cleanup() removes: the SIGKILL below leaves them otherwise
      `exec env TMPDIR=${sh(dir)} ${sh(CHROMIUM)} ${args.map(sh).join(" ")}`,
    ].join("\n");
    // its own process group (detached), in a new network namespace with only lo
    child = spawn("unshare", ["--net", "--", "sh", "-c", script], { detached: true, cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
    const proc = child;
    let err = "";
    const ws = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`chromium did not start within 30 s:\n${err}`)), 30_000);
      let devtools: string | undefined;
      let forwarding = false;
      proc.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        devtools ??= /DevTools listening on ws:\/\/127\.0\.0\.1:\d+(\/\S+)/.exec(err)?.[1];
        forwarding ||= err.includes("forwarding\n");
        if (devtools && forwarding) {
          clearTimeout(timer);
          resolve(`ws://127.0.0.1:${cdpHostPort}${devtools}`);
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited ${code}:\n${err}`));
      });
    });
    const browser = await chromium.connectOverCDP(ws);
    return {
      browser,
      pid: proc.pid!,
      async close() {
        await browser.close().catch(() => undefined);
        kill();
        await new Promise<void>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.once("exit", () => resolve())));
        cleanup();
      },
    };
  } catch (e) {
    kill();
    cleanup();
    throw e;
  }
}
