// Service names and selectors (`app1.*,app2.prd`): what the command line needs
// before it reads any config, kept apart from the config code (and zod).
import fs from "node:fs";
import { UsageError } from "../util/errors.js";
import { configFile, type Paths } from "../util/paths.js";

const NAME_RE = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
/** SPEC §2: their .conf files in <etc> are the node's own (node.conf, cluster.conf), not services */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(["node", "cluster"]);

export function checkServiceName(name: string): string {
  // SPEC §2's pattern and nothing more: it has no "/", so a name never leaves its directory
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `invalid service name ${JSON.stringify(name)}: use 1 to 63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit (e.g. app1.dev)`,
    );
  }
  if (RESERVED_NAMES.has(name)) throw new UsageError(`invalid service name ${JSON.stringify(name)}: reserved (<etc>/${name}.conf is the node's own configuration)`);
  return name;
}

export function listServiceNames(paths: Paths): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(paths.etc);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return files
    .filter((f) => f.endsWith(".conf"))
    .map((f) => f.slice(0, -5))
    .filter((n) => NAME_RE.test(n) && !RESERVED_NAMES.has(n))
    .sort();
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/** Names and globs, comma separated (`app1.*,app2.prd`). A plain name must exist; a glob may match nothing. */
export function resolveSelector(paths: Paths, selector: string): string[] {
  return matchSelector(listServiceNames(paths), selector, (term) => `no such service: ${term} (no ${configFile(paths, term)})`);
}

/** The selector's names among `all` (the services an agent's team socket shows, say). */
export function matchSelector(all: readonly string[], selector: string, missing: (term: string) => string = (t) => `no such service: ${t}`): string[] {
  const out = new Set<string>();
  for (const term of selector.split(",").map((t) => t.trim()).filter(Boolean)) {
    if (/[*?[]/.test(term)) {
      const re = globToRegExp(term);
      for (const n of all) if (re.test(n)) out.add(n);
    } else {
      checkServiceName(term);
      if (!all.includes(term)) throw new UsageError(missing(term));
      out.add(term);
    }
  }
  if (out.size === 0) throw new UsageError(`no service matches -s ${selector}`);
  return [...out].sort();
}
