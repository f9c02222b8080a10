// `run_args`: docker run options, turned into the Engine API create request
// that the docker CLI itself sends for the same words.
//
// Why a translation and not the docker CLI: svcmgr validates run_args when it
// reads a config (errors are FILE:LINE config errors, synchronously, with no
// daemon and no docker CLI needed), and a start sends one API request with no
// process spawned. So this is a complete translation of `docker run` 28.2
// (cli/command/container/opts.go and the parsers under it) at Engine API 1.41,
// the version of the service's daemon (Debian's dockerd 20.10): every option
// that shapes the container, with the CLI's defaults, the exact JSON body the
// CLI sends (its nulls, empty arrays and maps, its field order) and its
// normalisations (`--add-host a=ip` -> `a:ip`, capabilities, `-p 80`). A test
// runs the host's docker CLI and this code over a corpus of real commands
// against a recording fake engine and compares the bodies
// (test/run-args-differential.test.ts).
//
// parseRunArgs reads the words (pure: config validation calls it);
// createRequest builds the request, reading what `docker run` reads when it
// runs: files named by --env-file, --label-file and seccomp profiles, and the
// environment for `-e VAR` (svcmgr's own, as the CLI reads its own).
import { cut } from "./run-args-go.js";
import { BY_LONG, BY_SHORT, Refused, flagName, newRunOptions, type OptionDef, type RunOptions } from "./run-args-options.js";
import { buildCreateBody, type CreateBody, type RunContext, type RunIO } from "./run-args-body.js";

export type { CreateBody, RunContext, RunIO } from "./run-args-body.js";

export interface ParsedRunArgs {
  options: RunOptions;
  errors: string[];
}

/** The words of run_args as docker run's flag parser (pflag, interspersed off) reads them. */
export function parseRunArgs(words: readonly string[]): ParsedRunArgs {
  const o = newRunOptions();
  const errors: string[] = [];
  const apply = (def: OptionDef, shown: string, value: string): void => {
    if (def.refused) {
      errors.push(`${shown} is refused: ${def.refused}`);
      return;
    }
    try {
      def.set!(o, value);
      o.changed.add(def.long);
    } catch (e) {
      if (e instanceof Refused) errors.push(`${shown}${def.bool ? "=" : " "}${value} is refused: ${e.message}`);
      else errors.push(`invalid argument "${value}" for "${flagName(def)}" flag: ${(e as Error).message}`);
    }
  };
  let i = 0;
  while (i < words.length) {
    const word = words[i++]!;
    if (word === "--") {
      if (i < words.length) errors.push(unexpected(words[i]!));
      break;
    }
    if (word.length < 2 || word[0] !== "-") {
      errors.push(unexpected(word));
      break;
    }
    if (word[1] === "-") {
      const body = word.slice(2);
      if (body === "" || body[0] === "-" || body[0] === "=") {
        errors.push(`bad flag syntax: ${word}`);
        break;
      }
      const [name, inline, hasInline] = cut(body, "=");
      const def = BY_LONG.get(name);
      if (!def) {
        errors.push(`unknown docker run option "--${name}"`);
        break; // as docker: what follows may be its value, not an option
      }
      let value: string;
      if (hasInline) value = inline;
      else if (def.bool) value = "true";
      else if (i < words.length) value = words[i++]!;
      else {
        errors.push(`--${name} needs a value`);
        break;
      }
      apply(def, `--${name}`, value);
      continue;
    }
    // shorthands: -d, -dit, -p8080:80, -p=8080:80, -it -p 80
    let rest = word.slice(1);
    while (rest.length > 0) {
      const c = rest[0]!;
      const def = BY_SHORT.get(c);
      if (!def) {
        errors.push(`unknown docker run option "-${c}"${rest.length > 1 || word.length > 2 ? ` (in "${word}")` : ""}`);
        i = words.length;
        break;
      }
      let value: string;
      if (rest.length > 2 && rest[1] === "=") {
        value = rest.slice(2);
        rest = "";
      } else if (def.bool) {
        value = "true";
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        value = rest.slice(1);
        rest = "";
      } else if (i < words.length) {
        value = words[i++]!;
        rest = "";
      } else {
        errors.push(`-${c} needs a value`);
        break;
      }
      apply(def, `-${c}`, value);
    }
  }
  return { options: o, errors: [...new Set(errors)] };
}

function unexpected(word: string): string {
  return `unexpected argument "${word}": put the command in run_command and the image in run_image`;
}

export interface CreateRequest {
  /** the query of POST /containers/create */
  query: { name: string };
  body: CreateBody;
}

/**
 * The create request `docker -H SOCK run -d --name=NAME --label=... WORDS IMAGE CMD`
 * sends (the line svcmgr logs). Throws an Error listing what is wrong.
 */
export function createRequest(words: readonly string[], ctx: RunContext, io: RunIO): CreateRequest {
  const { options, errors } = parseRunArgs(words);
  if (errors.length) throw new Error(errors.join("; "));
  return { query: { name: ctx.name }, body: buildCreateBody(options, ctx, io) };
}

/** The `docker ... run` line svcmgr logs for a create: the user's words between svcmgr's options and the image, as a human would paste it. */
export function runCommandLine(cliPrefix: readonly string[], ctx: RunContext, words: readonly string[]): string[] {
  const labels = ctx.labels.map(([k, v]) => `--label=${k}=${v}`);
  return [...cliPrefix, "run", "-d", `--name=${ctx.name}`, ...labels, ...words, ctx.image, ...(ctx.command ?? [])];
}

/**
 * Every problem of a run_args value that can be known from the config alone
 * (files are read, and `-e VAR` looked up, only when the container is created).
 */
export function runArgsErrors(words: readonly string[]): string[] {
  const { options, errors } = parseRunArgs(words);
  if (errors.length) return errors;
  try {
    buildCreateBody(options, { name: "x", image: "x", labels: [] }, { env: {} });
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
