// Debian's chromium, started by us (its pid and profile ours, so that they are
// removed whatever happens) and driven by playwright-core over CDP: no browser
// download. The flags are the ones known to work on this machine (no network
// but the loopback: background connections would only fail).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { findExecutable } from "../../src/util/which.js";

export const CHROMIUM = "/usr/bin/chromium";

export function chromiumMissing(): string | false {
  return fs.existsSync(CHROMIUM) || findExecutable("chromium") ? false : "Debian's chromium is not installed (scripts/setup.sh installs it)";
}

export interface RealBrowser {
  browser: Browser;
  pid: number;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<RealBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-chromium-"));
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
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "about:blank",
  ];
  // its own process group: the renderers and helpers go with it
  const child: ChildProcess = spawn(CHROMIUM, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  const kill = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  };
  try {
    const ws = await new Promise<string>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => reject(new Error(`chromium did not start within 30 s:\n${err}`)), 30_000);
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited ${code}:\n${err}`));
      });
    });
    child.stderr!.resume();
    const browser = await chromium.connectOverCDP(ws);
    return {
      browser,
      pid: child.pid!,
      async close() {
        await browser.close().catch(() => undefined);
        kill();
        await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    kill();
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
