// A service's configuration: the INI document read into typed resources and
// subsets, with every problem reported as FILE:LINE: [SECTION] KEY: message.
// Pure: no file system access here (see service/repository.ts).
import path from "node:path";
import type { ConfigProblem } from "../util/errors.js";
import { commonResourceKeywords, findKeyword, suggest, type KeywordDef } from "../config/keyword.js";
import { parseIni, type IniSection } from "../config/ini.js";
import { defaultKeywords, subsetKeywords } from "./default-keywords.js";
import { isResourceGroup, START_ORDER, type ResourceGroup } from "../config/groups.js";
import { findManifest, manifestsOf } from "../drivers/registry.js";
import type { KeywordManifest as DriverManifest } from "../config/manifest.js";
import { PRIVATE_DAEMON_KEYWORDS, type ConfigContext, type ResourceConfig, type ServiceConfig, type SubsetConfig } from "../config/types.js";

export type { ConfigContext, DefaultValues, ResourceConfig, ServiceConfig, SubsetConfig } from "../config/types.js";
export { PRIVATE_DAEMON_KEYWORDS, usesPrivateDaemon } from "../config/types.js";

const RID_RE = /^([a-z]+)#([A-Za-z0-9_-]+)$/;
const SUBSET_RE = /^subset#([a-z]+)(?:\.([a-z0-9]+))?:([A-Za-z0-9_.-]+)$/;
/** {name}, {nodename}, {container#1.run_image}, {DEFAULT.app}; a brace not followed by a letter is literal (e.g. {{.Status}}) */
const REF_RE = /\{([A-Za-z][A-Za-z0-9_]*(?:#[A-Za-z0-9_-]+)?(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}/g;
/** bounds of the expansion of one keyword's value (see expand in parseServiceConfig) */
const MAX_REFERENCES = 4096;
const MAX_EXPANDED_CHARS = 1 << 20;
/** attributes that exist only once the resource is up: left in place at load, expanded at action time */
export const RUNTIME_ATTRIBUTES: Readonly<Record<string, readonly ResourceGroup[]>> = { exposed_dev: ["disk"] };

type SectionKind =
  | { kind: "default" }
  | { kind: "resource"; group: ResourceGroup; rid: string; legacyType?: string }
  | { kind: "subset"; group: ResourceGroup; name: string }
  | { kind: "unknown"; message: string };

export function classifySection(name: string): SectionKind {
  if (name === "DEFAULT") return { kind: "default" };
  const sub = SUBSET_RE.exec(name);
  if (sub) {
    const group = sub[1]!;
    if (!isResourceGroup(group)) return { kind: "unknown", message: `unknown resource group "${group}" in subset section` };
    return { kind: "subset", group, name: sub[3]! };
  }
  const m = RID_RE.exec(name);
  if (!m) return { kind: "unknown", message: `unknown section (expected DEFAULT, <group>#<id> with group one of ${START_ORDER.join(", ")}, or subset#<group>:<name>)` };
  if (m[1] === "vg") return { kind: "resource", group: "disk", rid: name, legacyType: "vg" };
  if (!isResourceGroup(m[1]!)) {
    const hint = suggest(m[1]!, START_ORDER);
    return { kind: "unknown", message: `unknown resource group "${m[1]}"${hint ? ` (did you mean ${hint}?)` : ""}` };
  }
  return { kind: "resource", group: m[1], rid: name };
}

function keywordsFor(kind: SectionKind, manifest: DriverManifest | undefined): KeywordDef[] {
  if (kind.kind === "default") return defaultKeywords;
  if (kind.kind === "subset") return subsetKeywords;
  const own = manifest?.keywords ?? [];
  return [...own, ...commonResourceKeywords.filter((c) => !own.some((k) => k.name === c.name))];
}

export function parseServiceConfig(name: string, file: string, content: string, ctx: ConfigContext): ServiceConfig {
  const doc = parseIni(content);
  const base = path.basename(file);
  const problems: ConfigProblem[] = doc.problems.map((p) => ({ file: base, line: p.line, section: p.section, key: p.key, message: p.message }));
  const problem = (line: number, section: string | undefined, key: string | undefined, message: string): void =>
    void problems.push({ file: base, line, section, key, message });

  // 1. Classify sections, pick drivers, map keys to canonical keywords.
  interface Raw {
    sec: Pick<IniSection, "name" | "line">;
    kind: SectionKind;
    manifest: DriverManifest | undefined;
    defs: KeywordDef[];
    entries: Map<string, { def: KeywordDef; value: string; line: number }>;
  }
  const raws: Raw[] = [];
  const reported = new Set(doc.problems.map((p) => p.line));
  const seen = new Set<string>();
  for (const sec of doc.sections) {
    if (seen.has(sec.name)) continue; // the INI layer reported the duplicate section
    seen.add(sec.name);
    const kind = classifySection(sec.name);
    if (kind.kind === "unknown") {
      problem(sec.line, sec.name, undefined, kind.message);
      continue;
    }
    let manifest: DriverManifest | undefined;
    if (kind.kind === "resource") {
      const typeEntry = sec.entries.find((e) => e.key.toLowerCase() === "type");
      const single = manifestsOf(kind.group).length === 1 && manifestsOf(kind.group)[0]!.type === "";
      const type = kind.legacyType ?? (single ? undefined : typeEntry?.value);
      manifest = findManifest(kind.group, type);
      if (!manifest) {
        const types = manifestsOf(kind.group).map((m) => m.type);
        problem(typeEntry?.line ?? sec.line, sec.name, "type", type === undefined ? `missing type (one of ${types.join(", ")})` : `unknown type "${type}" (one of ${types.join(", ")})`);
        continue;
      }
    }
    const defs = keywordsFor(kind, manifest);
    const entries = new Map<string, { def: KeywordDef; value: string; line: number }>();
    for (const e of sec.entries) {
      const def = findKeyword(defs, e.key);
      if (!def) {
        const other = kind.kind === "resource" ? manifestsOf(kind.group).find((m) => m !== manifest && findKeyword(m.keywords, e.key)) : undefined;
        const hint = suggest(e.key, defs.flatMap((d) => [d.name, ...(d.aliases ?? [])]));
        problem(e.line, sec.name, e.key, other ? `not a keyword of type ${manifest?.type}, only of type ${other.type}` : `unknown keyword${hint ? ` (did you mean ${hint}?)` : ""}`);
        continue;
      }
      const prev = entries.get(def.name);
      if (prev && reported.has(e.line)) continue; // a duplicate key, reported by the INI layer
      if (prev) {
        problem(e.line, sec.name, e.key, `set twice (also on line ${prev.line}${def.aliases?.length ? `, ${def.name} and its aliases are one keyword` : ""})`);
        continue;
      }
      entries.set(def.name, { def, value: e.value, line: e.line });
    }
    raws.push({ sec, kind, manifest, defs, entries });
  }

  // 2. Expand references. {SECTION.KEY} looks at the raw value of another section (expanded in turn).
  const bySection = new Map(raws.map((r) => [r.sec.name, r]));
  const expanding = new Set<string>();
  /** SECTION.KEY → its expanded text, once known to expand without error */
  const expanded = new Map<string, string>();
  // References may nest without looping and still double at each level ({a.x} = {b.y}{b.y}, ...):
  // each keyword's expansion gets a budget, so that no file makes the parser hang or run out of memory.
  const newBudget = (): { refs: number; chars: number; exceeded: boolean } => ({ refs: 0, chars: 0, exceeded: false });
  const expand = (value: string, rid: string | undefined, allowRuntime: boolean, onError: (m: string) => void, budget = newBudget()): string =>
    value.replace(REF_RE, (whole, ref: string) => {
      if (budget.exceeded) return whole;
      if (++budget.refs > MAX_REFERENCES) {
        budget.exceeded = true;
        onError(`references expand too much (more than ${MAX_REFERENCES} references)`);
        return whole;
      }
      const lower = ref.toLowerCase();
      if (lower === "name" || lower === "svcname") return name;
      if (lower === "nodename") return ctx.nodename;
      if (lower === "var") return ctx.varDir;
      if (lower === "etc") return ctx.etcDir;
      if (lower === "rid") {
        if (rid) return rid;
        onError(`{rid} is only defined in resource sections`);
        return whole;
      }
      const dot = ref.lastIndexOf(".");
      const secName = dot > 0 ? ref.slice(0, dot) : "";
      const key = ref.slice(dot + 1).toLowerCase();
      const target = bySection.get(secName);
      if (!target) {
        onError(dot > 0 ? `reference ${whole}: no section [${secName}]` : `unknown reference ${whole} (use {name}, {nodename}, {var}, {etc}, {rid} or {SECTION.KEY})`);
        return whole;
      }
      const groups = RUNTIME_ATTRIBUTES[key];
      if (groups && target.kind.kind === "resource" && groups.includes(target.kind.group)) {
        if (allowRuntime) return whole;
        onError(`reference ${whole} is only known at action time and this keyword does not accept it`);
        return whole;
      }
      const def = findKeyword(target.defs, key);
      const entry = def ? target.entries.get(def.name) : undefined;
      const text = entry?.value ?? def?.default;
      if (text === undefined) {
        onError(`reference ${whole}: [${secName}] has no value for ${key}`);
        return whole;
      }
      const guard = `${secName}.${def!.name}`;
      if (expanding.has(guard)) {
        onError(`reference ${whole} loops back on itself`);
        return whole;
      }
      expanding.add(guard);
      try {
        const memoKey = `${guard}\n${allowRuntime}`;
        let out = expanded.get(memoKey);
        if (out === undefined) {
          let failed = false;
          const fail = (m: string): void => {
            failed = true;
            onError(m);
          };
          out = expand(text, target.kind.kind === "resource" ? target.kind.rid : undefined, allowRuntime, fail, budget);
          if (!failed && !budget.exceeded) expanded.set(memoKey, out);
        }
        budget.chars += out.length;
        if (budget.chars > MAX_EXPANDED_CHARS && !budget.exceeded) {
          budget.exceeded = true;
          onError(`references expand too much (more than ${MAX_EXPANDED_CHARS} characters)`);
        }
        return budget.exceeded ? whole : out;
      } finally {
        expanding.delete(guard);
      }
    });

  // 3. Type every keyword (defaults included) and build the model.
  const typed = (r: Raw): { text: Record<string, string>; values: Record<string, unknown> } => {
    const text: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const rid = r.kind.kind === "resource" ? r.kind.rid : undefined;
    for (const def of r.defs) {
      const entry = r.entries.get(def.name);
      const line = entry?.line ?? r.sec.line;
      if (!entry && def.required) {
        problem(r.sec.line, r.sec.name, def.name, "missing mandatory keyword");
        continue;
      }
      const raw = entry?.value ?? def.default;
      if (raw === undefined) continue;
      let ok = true;
      const expanded = expand(raw, rid, def.runtimeRefs === true, (m) => {
        ok = false;
        problem(line, r.sec.name, entry ? def.name : undefined, m);
      });
      if (!ok) continue;
      const parsed = def.schema.safeParse(expanded);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) problem(line, r.sec.name, def.name, issue.message);
        continue;
      }
      text[def.name] = expanded;
      values[def.name] = parsed.data;
    }
    return { text, values };
  };

  let defaults: ServiceConfig["defaults"] = { text: {}, values: {} };
  const resources: ResourceConfig[] = [];
  const subsets: SubsetConfig[] = [];
  const fallbackDefault = raws.find((r) => r.kind.kind === "default");
  if (!fallbackDefault) {
    // A file without [DEFAULT] still gets the defaults of every keyword.
    const pseudo: Raw = { sec: { name: "DEFAULT", line: 1 }, kind: { kind: "default" }, manifest: undefined, defs: defaultKeywords, entries: new Map() };
    const d = typed(pseudo);
    defaults = { text: d.text, values: d.values };
  }
  for (const r of raws) {
    const { text, values } = typed(r);
    if (r.kind.kind === "default") defaults = { text, values };
    else if (r.kind.kind === "subset") subsets.push({ group: r.kind.group, name: r.kind.name, parallel: values.parallel === true, section: r.sec.name, line: r.sec.line });
    else if (r.kind.kind === "resource" && r.manifest) {
      resources.push({
        rid: r.kind.rid,
        group: r.kind.group,
        manifest: r.manifest,
        section: r.sec.name,
        line: r.sec.line,
        text,
        values,
        subset: typeof values.subset === "string" ? values.subset : undefined,
        tags: Array.isArray(values.tags) ? (values.tags as string[]) : [],
        optional: values.optional === true,
        disabled: values.disable === true,
        standby: values.standby === true,
        monitored: values.monitor === true,
      });
    }
  }
  for (const s of subsets) {
    if (!resources.some((r) => r.group === s.group && r.subset === s.name)) {
      problem(s.line, s.section, undefined, `no ${s.group} resource has subset = ${s.name}`);
    }
  }
  const defaultRaw = raws.find((r) => r.kind.kind === "default");
  const privateEntry = defaultRaw?.entries.get("docker_daemon_private");
  if (defaultRaw && privateEntry && defaults.values.docker_daemon_private === false) {
    // these configure the private daemon, which the service is told not to have
    for (const key of PRIVATE_DAEMON_KEYWORDS) {
      const e = defaultRaw.entries.get(key);
      // one problem per line: a bad value is reported as such
      if (e && e.value.trim() !== "" && !problems.some((p) => p.line === e.line)) {
        problem(e.line, "DEFAULT", key, `configures the private daemon, but docker_daemon_private = false (line ${privateEntry.line}): remove one of them`);
      }
    }
  }
  const flexEntry = defaultRaw?.entries.get("flex_target");
  if (flexEntry && defaults.values.topology !== "flex" && !problems.some((p) => p.line === flexEntry.line)) {
    problem(flexEntry.line, "DEFAULT", "flex_target", `only for topology = flex${defaults.values.topology ? ` (this service is ${defaults.values.topology})` : ""}`);
  }
  const orchEntry = defaultRaw?.entries.get("orchestrate");
  if (orchEntry && !defaults.values.topology && !problems.some((p) => p.line === orchEntry.line)) {
    problem(orchEntry.line, "DEFAULT", "orchestrate", "only for a cluster service (set topology = failover or flex)");
  }
  problems.sort((a, b) => a.line - b.line);
  return { name, file, doc, defaults, resources, subsets, problems };
}
