// The differential check of run_args: the host's docker CLI and svcmgr send
// their create request for the same words to a recording fake engine, and the
// bodies are compared as sent, normalised only where the CLI itself is not
// deterministic or where JSON does not order (see normalizeBody).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { dockerCliArgs } from "../../src/drivers/container-docker/engine.js";
import { DockerodeEngine } from "../../src/drivers/container-docker/dockerode-engine.js";
import { createRequest, runCommandLine, type CreateRequest, type RunContext } from "../../src/drivers/container-docker/run-args.js";
import { findExecutable } from "../../src/util/which.js";
import { formatCommand, splitWords } from "../../src/util/shell-words.js";
import type { FakeEngine, RecordedCreate } from "./fake-engine.js";

export const CORPUS = new URL("../fixtures/run-args-corpus.txt", import.meta.url).pathname;
export const FIXTURES = new URL("../fixtures/run-args/", import.meta.url).pathname.replace(/\/$/, "");

export interface CorpusEntry {
  line: number;
  source: string;
  runArgs: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  expect: "equal" | "refused" | "invalid";
}

/**
 * test/fixtures/run-args-corpus.txt: one run_args per line, after a comment
 * naming where it comes from; `;; IMAGE [COMMAND]` ends it when the command
 * has them. Directives for the next entry: `# env: NAME=value` (set for both
 * the CLI and svcmgr; nothing else is in their environment), `# expect:
 * refused` (docker takes it, svcmgr refuses it and says why), `# expect:
 * invalid` (docker refuses it too). `{fixtures}` is test/fixtures/run-args.
 */
export function readCorpus(file = CORPUS): CorpusEntry[] {
  const entries: CorpusEntry[] = [];
  let source = "";
  let env: Record<string, string> = {};
  let expect: CorpusEntry["expect"] = "equal";
  fs.readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, i) => {
      const line = text.trim();
      if (line === "") return;
      let m: RegExpExecArray | null;
      if ((m = /^#\s*env:\s*([^=\s]+)=(.*)$/.exec(line))) env[m[1]!] = m[2]!;
      else if ((m = /^#\s*expect:\s*(refused|invalid)\s*$/.exec(line))) expect = m[1] as CorpusEntry["expect"];
      else if (line.startsWith("#")) source = line.replace(/^#\s*/, "");
      else {
        const [args, run = "busybox"] = line.replaceAll("{fixtures}", FIXTURES).split(" ;; ");
        const [image, ...command] = splitWords(run);
        entries.push({ line: i + 1, source, runArgs: args!, image: image!, command, env, expect });
        source = "";
        env = {};
        expect = "equal";
      }
    });
  return entries;
}

/** The docker CLI a user of this host runs through `svcmgr -s SVC docker`: `docker` looked up on PATH, as the passthrough spawns it. */
export function hostDockerCli(): string | undefined {
  return findExecutable(dockerCliArgs("/")[0]!, process.env.PATH ?? "");
}

export interface CliRun {
  code: number | null;
  stderr: string;
  create?: RecordedCreate;
}

/** The line svcmgr logs, run by a shell as a human pasting it would, with exactly `env` as environment. */
export function runPasted(fake: FakeEngine, line: string, env: Record<string, string>, cwd: string): Promise<CliRun> {
  const before = fake.creates.length;
  return new Promise((resolve, reject) => {
    const child = spawn("/bin/sh", ["-c", line], { env, cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, create: fake.creates.length > before ? fake.creates[before] : undefined });
    });
  });
}

export interface SvcmgrRun {
  line: string;
  error?: string;
  create?: RecordedCreate;
}

/** svcmgr's side: the request it builds for the entry, sent with its own client, and the line it logs for it. */
export async function svcmgrCreate(fake: FakeEngine, e: CorpusEntry, env: Record<string, string>): Promise<SvcmgrRun> {
  const words = splitWords(e.runArgs);
  const ctx: RunContext = {
    name: "diff.container.1",
    image: e.image,
    command: e.command.length ? e.command : undefined,
    labels: [["com.svcmgr.service", "diff"], ["com.svcmgr.rid", "container#1"], ["com.svcmgr.config-hash", "0123456789abcdef"]],
  };
  const line = formatCommand(runCommandLine(dockerCliArgs(fake.socketPath), ctx, words));
  let request: CreateRequest;
  try {
    request = createRequest(words, ctx, { env, readFile: (p) => fs.readFileSync(p) });
  } catch (err) {
    return { line, error: (err as Error).message };
  }
  const before = fake.creates.length;
  // svcmgr's own client, as the container driver sends it
  const engine = new DockerodeEngine(fake.socketPath);
  try {
    await engine.createContainer(request.query.name, { ...request.body });
  } finally {
    engine.close();
  }
  return { line, create: fake.creates[before] };
}

// Paths of the body whose JSON objects are Go maps: encoding/json writes their
// keys sorted, JavaScript in insertion order; the same map either way.
const MAP_PATHS = [
  "Labels",
  "Volumes",
  "ExposedPorts",
  "HostConfig.PortBindings",
  "HostConfig.LogConfig.Config",
  "HostConfig.StorageOpt",
  "HostConfig.Tmpfs",
  "HostConfig.Sysctls",
  "HostConfig.Mounts.*.VolumeOptions.Labels",
  "HostConfig.Mounts.*.VolumeOptions.DriverConfig.Options",
  "HostConfig.DeviceRequests.*.Options",
  "NetworkingConfig.EndpointsConfig",
  "NetworkingConfig.EndpointsConfig.*.DriverOpts",
];
// Arrays the CLI fills by ranging over a Go map, in random order: -v values
// (ListOpts.GetMap) and -e values (through the proxy-config map of runRun).
const MAP_ORDERED_ARRAYS = ["HostConfig.Binds", "Env"];

function at(obj: unknown, p: string[], fn: (parent: Record<string, unknown>, key: string) => void): void {
  if (obj === null || typeof obj !== "object") return;
  const [head, ...rest] = p;
  const o = obj as Record<string, unknown>;
  const keys = head === "*" ? Object.keys(o) : [head!];
  for (const k of keys) {
    if (!(k in o)) continue;
    if (rest.length === 0) fn(o, k);
    else at(o[k], rest, fn);
  }
}

/** The body as sent, with only the normalisations above: compared as JSON text, so field order, nulls and empty values count. */
export function normalizeBody(raw: string): string {
  const body = JSON.parse(raw) as Record<string, unknown>;
  for (const p of MAP_PATHS) {
    at(body, p.split("."), (parent, key) => {
      const m = parent[key];
      if (m && typeof m === "object" && !Array.isArray(m)) parent[key] = Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    });
  }
  for (const p of MAP_ORDERED_ARRAYS) {
    at(body, p.split("."), (parent, key) => {
      const a = parent[key];
      if (Array.isArray(a)) parent[key] = [...(a as string[])].sort();
    });
  }
  return JSON.stringify(body, null, 1);
}

/** A fresh working directory and empty docker config for the CLI: nothing of the host's user settings leaks in. */
export function cliHome(root: string): { cwd: string; env: Record<string, string> } {
  const home = path.join(root, "home");
  fs.mkdirSync(path.join(home, ".docker"), { recursive: true });
  return { cwd: home, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, DOCKER_CONFIG: path.join(home, ".docker") } };
}
