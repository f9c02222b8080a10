// Lossless line-based INI reader/writer. Off-the-shelf parsers either read
// `[container#1]` as a comment or cut values at a second `=` (see
// DEPENDENCIES.md), and none keep comments and layout through an edit, so the
// document here is just its lines; sections, entries and problems are derived
// from them, and edits splice lines. serializeIni(parseIni(t)) === t for any t.
//
// Line kinds, in order of precedence:
// - blank: only whitespace. It ends a multi-line value.
// - continuation: starts with a space or tab, follows a key line or another
//   continuation line, and is not blank. Its trimmed text is appended to the
//   value with "\n", even when it starts with `#` or `[`.
// - comment: first non-blank char is `#` or `;`.
// - section header: `[name]`, surrounding whitespace and a trailing `# ...` /
//   `; ...` comment allowed. `#`, `:`, `.` inside the name are part of it.
// - key/value: split at the first `=`; key and value trimmed.
// - anything else is kept verbatim and reported in `problems`.
// Names are case-sensitive. Duplicate sections and keys are kept and reported;
// lookups and edits act on the first occurrence in the file. Lookups and edits
// may be given a `same` test for keys that name the same thing (keyword
// aliases, another case): without an entry of the exact key, the first entry
// whose key passes it is the one read, rewritten or removed.

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line of the key. */
  readonly line: number;
  /** 1-based last line of the value (its last continuation line). */
  readonly endLine: number;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly IniEntry[];
}

export interface IniProblem {
  readonly line: number;
  /** The section the line is in; none for a line before any section or a bad header. */
  readonly section?: string;
  /** The key of the line, when it has one. */
  readonly key?: string;
  readonly message: string;
}

/** Tells whether a key names the same thing as the one asked for (an alias, another case). */
export type SameKey = (key: string) => boolean;

type Kind = "blank" | "comment" | "section" | "entry" | "continuation" | "invalid";
interface Line {
  text: string;
  /** "\n", "\r\n", or "" for a last line without newline. */
  eol: string;
}
interface Analysis {
  sections: IniSection[];
  problems: IniProblem[];
  kinds: Kind[];
}

const BOM = "\uFEFF";
const HEADER = /^\[([^\]]*)\]\s*(?:[#;].*)?$/;
const indented = (text: string): boolean => text.startsWith(" ") || text.startsWith("\t");

function analyze(lines: readonly Line[]): Analysis {
  const sections: { name: string; line: number; entries: IniEntry[] }[] = [];
  const problems: IniProblem[] = [];
  const kinds: Kind[] = [];
  const firstSection = new Map<string, number>();
  const firstKey = new Map<string, number>(); // `${section}\n${key}`: names hold no newline
  let current: (typeof sections)[number] | undefined;
  // The entry continuation lines extend; a rejected key line still absorbs its
  // continuation lines so that they are not reported a second time.
  let open: { key: string; value: string; line: number; endLine: number } | undefined;
  const problem = (line: number, message: string, section?: string, key?: string): void =>
    void problems.push({ line, message, ...(section !== undefined && { section }), ...(key !== undefined && { key }) });

  lines.forEach(({ text }, i) => {
    const n = i + 1;
    const raw = i === 0 && text.startsWith(BOM) ? text.slice(1) : text;
    const t = raw.trim();
    if (t === "") {
      kinds.push("blank");
      open = undefined;
      return;
    }
    if (open && indented(raw)) {
      kinds.push("continuation");
      open.value += "\n" + t;
      open.endLine = n;
      return;
    }
    open = undefined;
    if (t.startsWith("#") || t.startsWith(";")) {
      kinds.push("comment");
    } else if (t.startsWith("[")) {
      const name = HEADER.exec(t)?.[1]?.trim();
      if (!name) {
        kinds.push("invalid");
        if (name === "") problem(n, "empty section name");
        else problem(n, t.includes("]") ? `invalid section header ${t} (expected [name])` : `unclosed section header ${t} (missing ])`);
        return;
      }
      kinds.push("section");
      const first = firstSection.get(name);
      if (first !== undefined) problem(n, `duplicate section (first on line ${first})`, name);
      else firstSection.set(name, n);
      current = { name, line: n, entries: [] };
      sections.push(current);
    } else {
      const eq = t.indexOf("=");
      if (eq < 0) {
        kinds.push("invalid");
        problem(n, `invalid line "${t}" (expected [section], key = value, or a # comment)`, current?.name);
        return;
      }
      kinds.push("entry");
      open = { key: t.slice(0, eq).trim(), value: t.slice(eq + 1).trim(), line: n, endLine: n };
      if (!open.key) return problem(n, "missing key before =", current?.name);
      if (!current) return problem(n, "key outside of any section", undefined, open.key);
      const id = `${current.name}\n${open.key}`;
      const first = firstKey.get(id);
      if (first !== undefined) problem(n, `duplicate key (first on line ${first})`, current.name, open.key);
      else firstKey.set(id, n);
      current.entries.push(open); // `open` is then only mutated while still parsing
    }
  });
  return { sections, problems, kinds };
}

/** Trimmed lines of a value, without empty ones after the first: the only form INI can hold. */
function valueLines(value: string): string[] {
  const [first = "", ...rest] = value.split("\n").map((l) => l.trim());
  return [first, ...rest.filter((l) => l !== "")];
}

function checkName(what: string, name: string, bad: RegExp): void {
  if (name === "" || name !== name.trim() || bad.test(name)) throw new RangeError(`invalid INI ${what}: ${JSON.stringify(name)}`);
}

/**
 * A parsed INI file. Edits mutate it in place; `sections`, `problems` and the
 * entries they hold are snapshots, recomputed after each edit.
 */
export class IniDocument {
  readonly #lines: Line[];
  #analysis: Analysis | undefined;

  constructor(text: string) {
    this.#lines = [];
    let start = 0;
    for (const m of text.matchAll(/\r?\n/g)) {
      this.#lines.push({ text: text.slice(start, m.index), eol: m[0] });
      start = m.index + m[0].length;
    }
    if (start < text.length) this.#lines.push({ text: text.slice(start), eol: "" });
  }

  #analyze(): Analysis {
    return (this.#analysis ??= analyze(this.#lines));
  }

  get sections(): readonly IniSection[] {
    return this.#analyze().sections;
  }

  get problems(): readonly IniProblem[] {
    return this.#analyze().problems;
  }

  /** The newline of the file: CRLF if its first line break is one. */
  get eol(): "\n" | "\r\n" {
    return this.#lines.find((l) => l.eol !== "")?.eol === "\r\n" ? "\r\n" : "\n";
  }

  section(name: string): IniSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The first entry of the key in the sections of that name; else, with `same`, the first entry whose key passes it. */
  get(section: string, key: string, same?: SameKey): IniEntry | undefined {
    const find = (match: SameKey): IniEntry | undefined => {
      for (const s of this.sections) {
        const e = s.name === section ? s.entries.find((x) => match(x.key)) : undefined;
        if (e) return e;
      }
      return undefined;
    };
    return find((k) => k === key) ?? (same ? find(same) : undefined);
  }

  toString(): string {
    return this.#lines.map((l) => l.text + l.eol).join("");
  }

  /** Replace lines [start, end) (0-based); the last new line inherits the end of the last old one. */
  #splice(start: number, end: number, texts: readonly string[]): void {
    const eol = this.eol;
    const added: Line[] = texts.map((text) => ({ text, eol }));
    const lastOld = this.#lines[end - 1];
    const lastNew = added[added.length - 1];
    if (lastNew && lastOld && end > start) lastNew.eol = lastOld.eol;
    else if (lastNew && start === this.#lines.length && lastOld?.eol === "") {
      // Appending after a last line without newline: keep the file without one.
      // A text ending in "\r" needs "\r\n", or the "\r" would join the newline.
      lastOld.eol = lastOld.text.endsWith("\r") ? "\r\n" : eol;
      lastNew.eol = "";
    }
    this.#lines.splice(start, end - start, ...added);
    this.#analysis = undefined;
  }

  setValue(section: string, key: string, value: string, same?: SameKey): void {
    checkName("section name", section, /[\]\r\n]/);
    checkName("key", key, /[=\r\n]|^[#;[]/);
    const [first = "", ...rest] = valueLines(value);
    const more = rest.map((l) => "    " + l);
    const existing = this.get(section, key, same);
    if (existing) {
      // Keep the key's spelling, indentation and spacing around `=`.
      const old = this.#lines[existing.line - 1]!.text;
      const prefix = /^[^=]*=[ \t]*/.exec(old)![0];
      this.#splice(existing.line - 1, existing.endLine, [first ? prefix + first : prefix.trimEnd(), ...more]);
      return;
    }
    const entry = [first ? `${key} = ${first}` : `${key} =`, ...more];
    const sec = this.section(section);
    if (!sec) {
      const { kinds } = this.#analyze();
      const sep = kinds.length && kinds[kinds.length - 1] !== "blank" ? [""] : [];
      this.#splice(this.#lines.length, this.#lines.length, [...sep, `[${section}]`, ...entry]);
      return;
    }
    const { kinds } = this.#analyze();
    let at = sec.entries.at(-1)?.endLine ?? sec.line; // 0-based index of the line after
    // A section without entries may be followed by indented comments or junk: a key
    // put before them would turn them into continuation lines, so go past them.
    const isIndented = (i: number): boolean => kinds[i] !== "blank" && indented(this.#lines[i]!.text);
    while (at < kinds.length && kinds[at] !== "section" && isIndented(at)) at++;
    // Only an indented header can be left there; a blank line keeps it a header.
    this.#splice(at, at, at < kinds.length && isIndented(at) ? [...entry, ""] : entry);
  }

  unsetValue(section: string, key: string, same?: SameKey): boolean {
    const e = this.get(section, key, same);
    if (e) this.#splice(e.line - 1, e.endLine, []);
    return e !== undefined;
  }

  removeSection(name: string): boolean {
    const sec = this.section(name);
    if (!sec) return false;
    const next = this.sections.find((s) => s.line > sec.line);
    this.#splice(sec.line - 1, next ? next.line - 1 : this.#lines.length, []);
    return true;
  }
}

/** Never throws: unparsable lines are kept and listed in `problems`. */
export function parseIni(text: string): IniDocument {
  return new IniDocument(text);
}

export function serializeIni(doc: IniDocument): string {
  return doc.toString();
}

/**
 * Set a value, mutating `doc` (returned for chaining). An existing entry (of
 * the key, else of a key passing `same`) is rewritten in place, keeping the
 * key as written; a new key goes after the last entry of the (first)
 * section of that name; a missing section is added at the end of the file.
 * Value lines are trimmed and empty lines after the first dropped, since a
 * blank line ends a value; the rest become continuation lines indented by 4.
 * Throws RangeError for a section name or key that INI cannot hold.
 */
export function setValue(doc: IniDocument, section: string, key: string, value: string, same?: SameKey): IniDocument {
  doc.setValue(section, key, value, same);
  return doc;
}

/** Remove the entry's lines (key and continuation lines; the key, else a key passing `same`); false if there was none. */
export function unsetValue(doc: IniDocument, section: string, key: string, same?: SameKey): boolean {
  return doc.unsetValue(section, key, same);
}

/** Remove everything from the section's header to the next header; false if missing. */
export function removeSection(doc: IniDocument, name: string): boolean {
  return doc.removeSection(name);
}
