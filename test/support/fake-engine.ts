// A recording fake Docker Engine on a unix socket: just enough of the API for
// `docker run -d` (the real CLI) and svcmgr's client to send their
// container-create request, which it keeps verbatim (raw body and query).
// It answers as Debian's dockerd 20.10 does: Engine API 1.41 on Linux, so the
// CLI negotiates down to 1.41 and sends a 1.41-shaped body.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

export const FAKE_API_VERSION = "1.41";
export const FAKE_CONTAINER_ID = "f".repeat(64);

export interface RecordedCreate {
  /** the query string of POST /containers/create, parsed */
  query: Record<string, string>;
  /** the body exactly as sent */
  raw: string;
}

export interface FakeEngine {
  socketPath: string;
  /** every create request received, in order */
  creates: RecordedCreate[];
  /** requests the fake does not know (method and path), for diagnostics */
  unexpected: string[];
  close(): Promise<void>;
}

const HEADERS = { "Api-Version": FAKE_API_VERSION, Ostype: "linux", "Docker-Experimental": "false", Server: "Docker/20.10.24 (linux)" };

function reply(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, HEADERS);
    res.end();
    return;
  }
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { ...HEADERS, "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json" });
  res.end(text);
}

export async function startFakeEngine(): Promise<FakeEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "svfake-"));
  const socketPath = path.join(dir, "docker.sock");
  const creates: RecordedCreate[] = [];
  const unexpected: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://docker");
      const p = url.pathname.replace(/^\/v[0-9.]+/, "");
      if (p === "/_ping") return reply(res, 200, req.method === "HEAD" ? undefined : "OK");
      if (p === "/version") return reply(res, 200, { Version: "20.10.24", ApiVersion: FAKE_API_VERSION, MinAPIVersion: "1.12", Os: "linux", Arch: "amd64" });
      if (req.method === "POST" && p === "/containers/create") {
        creates.push({ query: Object.fromEntries(url.searchParams), raw: Buffer.concat(chunks).toString("utf8") });
        return reply(res, 201, { Id: FAKE_CONTAINER_ID, Warnings: [] });
      }
      // what `docker run -d` does after the create: wait for the next exit, then start
      if (req.method === "POST" && /^\/containers\/[0-9a-f]+\/wait$/.test(p)) return reply(res, 200, { StatusCode: 0 });
      if (req.method === "POST" && /^\/containers\/[0-9a-f]+\/start$/.test(p)) return reply(res, 204);
      // `--pull always` and `-d=false` (both refused by svcmgr): the CLI pulls, or attaches; the fake does neither
      if (req.method === "POST" && p === "/images/create") return reply(res, 404, { message: "the fake engine pulls nothing" });
      if (req.method === "POST" && /^\/containers\/[0-9a-f]+\/attach$/.test(p)) return reply(res, 404, { message: "the fake engine attaches nothing" });
      unexpected.push(`${req.method} ${req.url}`);
      return reply(res, 404, { message: `the fake engine does not answer ${req.method} ${p}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    creates,
    unexpected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
