// get / set / unset of keywords: edits touch only their own lines, and an edit
// that would make the config invalid is refused with nothing written. A
// keyword's name and its aliases, in any case, are one keyword: get, set and
// unset find it under whichever spelling the file uses.
import { UsageError, ConfigError, type ConfigProblem, formatProblem } from "../util/errors.js";
import { parseIni, serializeIni, setValue, unsetValue, removeSection, type IniDocument, type IniEntry, type SameKey } from "../config/ini.js";
import { classifySection, parseServiceConfig, type ConfigContext, type ServiceConfig } from "./service-config.js";
import { commonResourceKeywords, findKeyword, type KeywordDef } from "../config/keyword.js";
import { defaultKeywords, subsetKeywords } from "./default-keywords.js";
import { findManifest, manifestsOf } from "../drivers/registry.js";

export interface KeywordEdit {
  section: string;
  key: string;
  /** undefined: unset */
  value?: string;
}

/** `SECTION.KEY` (the key is after the last dot; no section means DEFAULT). */
export function parseKwPath(spec: string): { section: string; key: string } {
  const dot = spec.lastIndexOf(".");
  const section = dot < 0 ? "DEFAULT" : spec.slice(0, dot);
  const key = (dot < 0 ? spec : spec.slice(dot + 1)).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || !section || /[\][\n]/.test(section)) {
    throw new UsageError(`--kw ${spec}: expected SECTION.KEY, e.g. container#1.run_image or DEFAULT.app`);
  }
  return { section, key };
}

/** `SECTION.KEY=VALUE`, split at the first `=` (values may contain `=`). */
export function parseKwAssignment(spec: string): KeywordEdit {
  const eq = spec.indexOf("=");
  if (eq < 0) throw new UsageError(`--kw ${spec}: expected SECTION.KEY=VALUE`);
  return { ...parseKwPath(spec.slice(0, eq)), value: spec.slice(eq + 1) };
}

/**
 * Apply set and unset edits. A keyword already in the section under another
 * spelling (an alias, another case) is edited there: set rewrites its value in
 * place, keeping the key as written; unset removes it.
 */
export function applyKeywordEdits(doc: IniDocument, edits: readonly KeywordEdit[]): IniDocument {
  let d = doc;
  for (const e of edits) {
    if (e.value === undefined) {
      d = parseIni(serializeIni(d));
      unsetValue(d, e.section, e.key, sameKeyword(d, e.section, e.key));
    } else {
      d = setValue(d, e.section, e.key, e.value, sameKeyword(d, e.section, e.key));
    }
  }
  return d;
}

const key = (p: ConfigProblem): string => formatProblem({ ...p, line: 0 });

/**
 * Apply edits to a config text and validate the result. Problems the edit
 * introduces are refused; problems the file already had do not block an edit
 * (it may be the one that fixes them).
 */
export function editConfigText(
  name: string,
  file: string,
  text: string,
  ctx: ConfigContext,
  change: (doc: IniDocument) => IniDocument,
): { text: string; config: ServiceConfig } {
  const before = parseServiceConfig(name, file, text, ctx);
  const afterText = serializeIni(change(parseIni(text)));
  const after = parseServiceConfig(name, file, afterText, ctx);
  const old = new Set(before.problems.map(key));
  const added = after.problems.filter((p) => !old.has(key(p)));
  if (added.length) throw new ConfigError(added);
  return { text: afterText, config: after };
}

export function removeSections(doc: IniDocument, sections: readonly string[]): IniDocument {
  for (const s of sections) {
    if (!removeSection(doc, s)) throw new UsageError(`no section [${s}]`);
  }
  return doc;
}

/**
 * The keyword definitions a section accepts, its driver picked by the section's
 * `type` as the document has it (every driver of the group when that names
 * none); undefined for a section that cannot exist.
 */
function keywordDefsOf(doc: IniDocument, section: string): KeywordDef[] | undefined {
  const kind = classifySection(section);
  if (kind.kind === "default") return defaultKeywords;
  if (kind.kind === "subset") return subsetKeywords;
  if (kind.kind === "unknown") return undefined;
  const type = kind.legacyType ?? doc.section(section)?.entries.find((e) => e.key.toLowerCase() === "type")?.value;
  const manifest = findManifest(kind.group, type);
  const own = manifest ? [manifest] : manifestsOf(kind.group);
  return [...own.flatMap((m) => m.keywords), ...commonResourceKeywords];
}

/** The keys that name the same keyword as `key` in the section: its name and aliases, in any case; undefined for an unknown keyword. */
function sameKeyword(doc: IniDocument, section: string, key: string): SameKey | undefined {
  const def = findKeyword(keywordDefsOf(doc, section) ?? [], key);
  return def && ((k) => findKeyword([def], k) !== undefined);
}

/** A keyword's entry as written: under `key` itself, else under its name or an alias in any case. */
export function keywordEntry(doc: IniDocument, section: string, key: string): IniEntry | undefined {
  return doc.get(section, key, sameKeyword(doc, section, key));
}

/**
 * A keyword's value as written (any alias spelling), or with `evaluate` as
 * the service sees it: references expanded, default applied.
 */
export function readKeyword(cfg: ServiceConfig, section: string, key: string, evaluate: boolean): { known: boolean; value: string | undefined } {
  const def = findKeyword(keywordDefsOf(cfg.doc, section) ?? [], key);
  if (!def) return { known: false, value: undefined };
  const written = keywordEntry(cfg.doc, section, key)?.value;
  if (written !== undefined && !evaluate) return { known: true, value: written };
  const effective =
    section === "DEFAULT"
      ? cfg.defaults.text
      : (cfg.resources.find((r) => r.section === section)?.text ??
        Object.fromEntries(cfg.subsets.filter((s) => s.section === section).map((s) => ["parallel", String(s.parallel)])));
  return { known: true, value: effective[def.name] ?? written };
}
