// Byte-for-byte forwarding between a TCP port on 127.0.0.1 and a unix socket
// (a file, so seen from every network namespace): how the browser, in a
// network namespace of its own, reaches the agent on the host's loopback.
// Run as a program: `forward.ts tcp:PORT=unix:PATH unix:PATH=tcp:PORT ...`
// (listen on the left, connect to the right), until killed.
import fs from "node:fs";
import net from "node:net";

export type End = { tcp: number } | { unix: string };

export function parseEnd(text: string): End {
  const [kind, rest] = [text.slice(0, text.indexOf(":")), text.slice(text.indexOf(":") + 1)];
  if (kind === "tcp" && /^\d+$/.test(rest)) return { tcp: Number(rest) };
  if (kind === "unix" && rest.startsWith("/")) return { unix: rest };
  throw new Error(`not tcp:PORT nor unix:/PATH: ${text}`);
}

const connect = (to: End): net.Socket => ("tcp" in to ? net.connect(to.tcp, "127.0.0.1") : net.connect(to.unix));

/** Listen on `from`, pipe each connection to a new one to `to`. */
export function forward(from: End, to: End): Promise<net.Server> {
  const server = net.createServer((a) => {
    const b = connect(to);
    a.pipe(b).pipe(a);
    const end = () => (a.destroy(), b.destroy());
    a.on("error", end).on("close", end);
    b.on("error", end).on("close", end);
  });
  if ("unix" in from) fs.rmSync(from.unix, { force: true });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if ("tcp" in from) server.listen(from.tcp, "127.0.0.1", () => resolve(server));
    else server.listen(from.unix, () => resolve(server));
  });
}

if (process.argv[1]?.endsWith("forward.ts")) {
  const pairs = process.argv.slice(2).map((p) => p.split("=").map(parseEnd) as [End, End]);
  Promise.all(pairs.map(([a, b]) => forward(a, b)))
    .then(() => process.stdout.write("forwarding\n"))
    .catch((e: unknown) => {
      process.stderr.write(`forward: ${String(e)}\n`);
      process.exit(1);
    });
}
