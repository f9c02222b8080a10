// How svcmgr was invoked, turned into one canonical argument list:
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

function joinMultiWordAction(args: string[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args;
    if (a.startsWith("-")) {
      if (VALUED.has(a)) i++;
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && MULTI_WORD.has(`${a}_${next}`)) {
      return [...args.slice(0, i), `${a}_${next}`, ...args.slice(i + 2)];
    }
    return args;
  }
  return args;
}
