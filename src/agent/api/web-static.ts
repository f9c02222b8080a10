// The dashboard's files (src/agent/web/: plain HTML, CSS and ES modules, no
// build step), read once when the agent starts and served from memory. Only
// the files found there exist: no path from a request reaches the disk.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export interface WebFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** src/agent/web of this checkout, from the source, the tsc build (dist/) or the bundle (dist/bundle/). */
export function webRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, "src", "agent", "web");
    if (fs.existsSync(path.join(candidate, "index.html"))) return candidate;
  }
  throw new Error(`the dashboard's files (src/agent/web/index.html) are not found above ${from}`);
}

/** Every servable file of the folder, by its name (no subfolders). */
export function loadWebFiles(dir: string): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (!type || !/^[a-z0-9][a-z0-9.-]*$/.test(name)) continue;
    const body = fs.readFileSync(path.join(dir, name));
    files.set(name, { body, type, etag: `"${crypto.createHash("sha256").update(body).digest("base64url").slice(0, 16)}"` });
  }
  return files;
}
