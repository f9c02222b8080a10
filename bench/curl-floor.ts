// The curl floor: the lightest client there is for the same work as `svcmgr
// start` of the orchestration service — one `curl --unix-socket` per Engine
// API call, the create and start calls svcmgr makes, in the same order and
// with the same parallelism (subsets in order, the members of a parallel one
// at once with `&` and `wait`), the create bodies svcmgr sends (built by the
// same createRequest), and nothing else: no inspect, no check that a
// container did not exit at once, no lock, no status. Run by /bin/sh (dash).
//
// Written as three scripts next to the bodies: run.sh (create + start of
// each container), start.sh (start of each), stop.sh (stop of each in the
// reverse order; the daemon's shutdown is the floor's daemon-down).
import fs from "node:fs";
import path from "node:path";
import type { FloorSpec } from "./floor.js";

export interface CurlFloor {
  run: string;
  start: string;
  stop: string;
}

/** POSIX single quotes: the value as one word. */
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** One stage's commands: in sequence, or each in the background and then waited for (a failure fails the script). */
function stage(lines: string[][], parallel: boolean): string[] {
  if (!parallel || lines.length < 2) return lines.map((l) => `${l.join(" && ")} || exit 1`);
  const out = lines.map((l, i) => `{ ${l.join(" && ")}; } & p${i}=$!`);
  out.push(lines.map((_, i) => `wait $p${i} || exit 1`).join("; "));
  return out;
}

/**
 * The scripts for these stages and bodies, on the API version svcmgr pins
 * (`/v1.41/...`), written under `dir`.
 */
export function writeCurlFloor(dir: string, spec: Pick<FloorSpec, "socket" | "stages" | "create">, apiVersion: string): CurlFloor {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(spec.create)) fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(body));
  const head = [
    "#!/bin/sh",
    `S=${q(spec.socket)}`,
    `B=${q(dir)}`,
    `U=http://docker/v${apiVersion}`,
    // -f: an HTTP error fails the call (a 304 "already started" does not)
    'c() { curl -sSf --unix-socket "$S" -o /dev/null -X POST "$@"; }',
  ];
  const create = (n: string): string => `c -H 'Content-Type: application/json' --data-binary @"$B/${n}.json" "$U/containers/create?name=${n}"`;
  const start = (n: string): string => `c "$U/containers/${n}/start"`;
  const stop = (n: string): string => `c "$U/containers/${n}/stop?t=10"`;
  const script = (name: string, body: string[]): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, [...head, ...body, ""].join("\n"), { mode: 0o755 });
    return file;
  };
  const reversed = [...spec.stages].reverse().map((s) => ({ parallel: s.parallel, names: [...s.names].reverse() }));
  return {
    run: script("run.sh", spec.stages.flatMap((s) => stage(s.names.map((n) => [create(n), start(n)]), s.parallel))),
    start: script("start.sh", spec.stages.flatMap((s) => stage(s.names.map((n) => [start(n)]), s.parallel))),
    stop: script("stop.sh", reversed.flatMap((s) => stage(s.names.map((n) => [stop(n)]), s.parallel))),
  };
}
