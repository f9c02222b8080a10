// One section of <etc>/node.conf ([node], [cluster]) checked like a service
// config: every problem as FILE:LINE: [SECTION] KEY: message.
import fs from "node:fs";
import { parseIni, type IniDocument } from "./ini.js";
import { findKeyword, type KeywordDef } from "./keyword.js";
import { ConfigError, errorMessage, type ConfigProblem } from "../util/errors.js";
import { suggest } from "../util/suggest.js";

export interface NodeSection {
  /** canonical keyword → typed value, for the keywords given (defaults not applied) */
  values: Record<string, unknown>;
  /** canonical keyword → its line */
  lines: Record<string, number>;
  /** the section's own line, undefined when the file has no such section */
  line: number | undefined;
  problems: ConfigProblem[];
}

/** node.conf's text, undefined without the file; unreadable: a ConfigError naming it. */
export function readNodeConf(file: string): IniDocument | undefined {
  try {
    return parseIni(fs.readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError([{ file, line: 0, message: `cannot read: ${errorMessage(e)}` }]);
  }
}

export function checkNodeSection(file: string, doc: IniDocument, section: string, defs: readonly KeywordDef[], opts: { ownsGlobalProblems?: boolean } = {}): NodeSection {
  const problems: ConfigProblem[] = [];
  const problem = (line: number, message: string, key?: string) => problems.push({ file, line, section, ...(key !== undefined && { key }), message });
  for (const p of doc.problems) if (p.section === section || (opts.ownsGlobalProblems && p.section === undefined)) problems.push({ file, ...p });
  const values: Record<string, unknown> = {};
  const lines: Record<string, number> = {};
  const sections = doc.sections.filter((s) => s.name === section);
  for (const sec of sections) {
    for (const e of sec.entries) {
      const def = findKeyword(defs, e.key);
      if (!def) {
        const hint = suggest(e.key, defs.map((d) => d.name));
        problem(e.line, `unknown keyword${hint ? ` (did you mean ${hint}?)` : ""}`, e.key);
        continue;
      }
      if (lines[def.name] !== undefined) continue; // a duplicate, reported by the INI layer
      lines[def.name] = e.line;
      const parsed = def.schema.safeParse(e.value);
      if (!parsed.success) for (const i of parsed.error.issues) problem(e.line, i.message, def.name);
      else values[def.name] = parsed.data;
    }
  }
  return { values, lines, line: sections[0]?.line, problems };
}
