// How svcmgr was invoked (and by whom: throughAgent), turned into one canonical argument list:
//   <svc> ACTION ...        → -s <svc> ACTION ...
//   allupservices ACTION    → --status up,warn ACTION ...
//   print status            → print_status (multi-word actions)
import path from "node:path";

export const MULTI_WORD = new Set(["print_status", "print_config", "validate_config", "edit_config"]);
/** global options whose value is the next word */
const VALUED = new Set(["-s", "--service", "--status", "--waitlock", "--color", "--format", "--env", "--kw"]);

export type Program = "svcmgr" | "svcmon";

export function normalizeArgv(argv0: string, args: readonly string[]): { program: Program; args: string[] } {
  const invoked = path.basename(argv0).replace(/\.(c|m)?js$/, "");
  let out = [...args];
  let program: Program = "svcmgr";
  if (invoked === "svcmon") program = "svcmon";
  else if (invoked === "allupservices") out = ["--status", "up,warn", ...out];
  else if (invoked !== "svcmgr" && invoked !== "node" && invoked !== "main") out = ["-s", invoked, ...out];
  if (program === "svcmgr") out = joinMultiWordAction(out);
  return { program, args: out };
}

/** Where the action word is: the first word that is neither an option nor a global option's value (-1: none). */
function actionIndex(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return -1;
    if (a.startsWith("-")) {
      if (VALUED.has(a)) i++;
      continue;
    }
    return i;
  }
  return -1;
}

/** The action word of a canonical argument list (normalizeArgv's), if there is one. */
export function actionWord(args: readonly string[]): string | undefined {
  return args[actionIndex(args)];
}

function joinMultiWordAction(args: string[]): string[] {
  const i = actionIndex(args);
  const next = args[i + 1];
  if (i < 0 || next === undefined || !MULTI_WORD.has(`${args[i]}_${next}`)) return args;
  return [...args.slice(0, i), `${args[i]}_${next}`, ...args.slice(i + 2)];
}

/**
 * Does this command go through the agent's API? A user who is not root does
 * (root reads and acts on the services itself); root too for what only the
 * agent streams (`streams`: logs --follow, svcmon --watch). Decided before
 * the agent client is loaded at all.
 */
export function throughAgent(streams = false): boolean {
  return streams || process.getuid?.() !== 0;
}
