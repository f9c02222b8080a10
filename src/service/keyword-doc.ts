// The configuration reference, generated from the keyword registry so that
// the README cannot drift from the code (a test compares them).
import { commonResourceKeywords, type KeywordDef } from "../config/keyword.js";
import { defaultKeywords, subsetKeywords } from "./default-keywords.js";
import { manifests } from "../drivers/registry.js";

function table(defs: readonly KeywordDef[]): string {
  const rows = defs.map((d) => {
    const names = [d.name, ...(d.aliases ?? []).map((a) => `${a} (alias)`)].map((n) => `\`${n}\``).join(", ");
    const dflt = d.required ? "**mandatory**" : d.default !== undefined && d.default !== "" ? `\`${d.default}\`` : "";
    return `| ${names} | ${dflt} | ${d.text.replace(/\|/g, "\\|")} |`;
  });
  return ["| keyword | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

export function keywordReference(): string {
  const parts = ["### `[DEFAULT]`", "", table(defaultKeywords), ""];
  for (const m of manifests) {
    const title = m.type ? `[${m.group}#N] type = ${m.type}` : `[${m.group}#N]`;
    const own = m.keywords;
    const common = commonResourceKeywords.filter((c) => !own.some((k) => k.name === c.name) && c.name !== "type");
    parts.push(`### \`${title}\``, "", table(own), "", `Also: ${common.map((c) => `\`${c.name}\``).join(", ")} (see below).`, "");
  }
  parts.push("### Every resource section", "", table(commonResourceKeywords.filter((c) => c.name !== "type")), "");
  parts.push("### `[subset#GROUP:NAME]` (also `[subset#GROUP.TYPE:NAME]`)", "", table(subsetKeywords), "");
  return parts.join("\n");
}

const START = /<!-- keyword-reference:start[^>]*-->\n/;
const END = "<!-- keyword-reference:end -->";

/** README text with the generated reference between its markers. */
export function embedReference(readme: string): string {
  const m = START.exec(readme);
  const end = readme.indexOf(END);
  if (!m || end < 0) throw new Error("README.md lacks the keyword-reference markers");
  return readme.slice(0, m.index + m[0].length) + "\n" + keywordReference() + "\n" + readme.slice(end);
}
