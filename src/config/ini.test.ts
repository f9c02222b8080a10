import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIni, serializeIni, setValue, unsetValue, removeSection, type IniDocument } from "./ini.js";

const RUNS = 3000;

// ---- generators -----------------------------------------------------------

const ws = fc.constantFrom("", "", " ", "  ", "\t");
const sectionNames = ["DEFAULT", "container#1", "container#2", "ip#1", "subset#container.docker:01app", "fs#10"];
const keys = ["run_image", "run_args", "nodes", "type", "Image"];
const valueText = fc.string({ unit: fc.constantFrom("a", "b", "=", "#", ";", "[", "]", " ", "-", ":", ".", "é", "{", "}") });

const iniLine = fc.oneof(
  fc.constantFrom("", " ", "\t", "  \t"),
  fc.tuple(ws, fc.constantFrom("#", ";"), valueText).map(([w, c, t]) => w + c + t),
  fc.tuple(ws, ws, fc.constantFrom(...sectionNames), ws, fc.constantFrom("", " # c", "; x")).map(([a, b, n, c, d]) => `${a}[${b}${n}${c}]${d}`),
  fc.tuple(fc.constantFrom("", "", "", " "), fc.constantFrom(...keys), ws, ws, valueText).map(([i, k, a, b, v]) => `${i}${k}${a}=${b}${v}`),
  fc.tuple(fc.constantFrom(" ", "    ", "\t"), valueText.filter((s) => s.trim() !== "")).map(([w, t]) => w + t),
  fc.constantFrom("garbage", "[unclosed", "  stray", "[]", "= nokey", "[a]b]", "\r", "\uFEFF", "  [container#1]", "\u00a0x = 1"),
);

/** INI-like files: random lines, newline style (uniform or mixed), final newline, BOM. */
const iniFile = fc
  .record({
    lines: fc.array(iniLine, { maxLength: 30 }),
    eol: fc.constantFrom("\n", "\r\n", "mixed"),
    mixed: fc.array(fc.constantFrom("\n", "\r\n"), { minLength: 30, maxLength: 30 }),
    final: fc.boolean(),
    bom: fc.boolean(),
  })
  .map(({ lines, eol, mixed, final, bom }) => {
    const nl = (i: number): string => (eol === "mixed" ? mixed[i]! : eol);
    const body = lines.map((l, i) => l + (i < lines.length - 1 || final ? nl(i) : "")).join("");
    return (bom ? "\uFEFF" : "") + body;
  });

// A value INI can hold as is: trimmed non-empty lines (the first may be empty).
const valueLine = valueText.map((s) => s.trim()).filter((s) => s !== "");
const storableValue = fc
  .tuple(fc.oneof(fc.constant(""), valueLine), fc.array(valueLine, { maxLength: 3 }))
  .map(([first, rest]) => [first, ...rest].join("\n"));
const sectionArb = fc.constantFrom(...sectionNames, "new#1");
const keyArb = fc.constantFrom(...keys, "fresh_key");

// ---- helpers --------------------------------------------------------------

const linesOf = (text: string): string[] => text.split(/\r?\n/);
const allEntries = (doc: IniDocument): string[] =>
  doc.sections.flatMap((s) => s.entries.map((e) => `${s.name}|${e.key}|${e.value}`));

/** Lines that differ between two texts: [start, endOld) in a and [start, endNew) in b. */
function changed(a: string[], b: string[]): { start: number; endOld: number; endNew: number } {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return { start: p, endOld: a.length - s, endNew: b.length - s };
}

function edit(text: string, f: (doc: IniDocument) => unknown): string {
  const doc = parseIni(text);
  f(doc);
  return serializeIni(doc);
}

// ---- round trip -----------------------------------------------------------

void describe("round trip", () => {
  void test("any string survives parse + serialize byte for byte", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (t) => serializeIni(parseIni(t)) === t),
      { numRuns: RUNS },
    );
  });

  void test("strings dense in INI syntax survive parse + serialize", () => {
    const unit = fc.constantFrom("[", "]", "=", "#", ";", " ", "\t", "\r", "\n", "\uFEFF", "a", "k");
    fc.assert(fc.property(fc.string({ unit, maxLength: 200 }), (t) => serializeIni(parseIni(t)) === t), { numRuns: RUNS });
  });

  void test("generated INI files survive parse + serialize", () => {
    fc.assert(fc.property(iniFile, (t) => serializeIni(parseIni(t)) === t), { numRuns: RUNS });
  });

  void test("empty text, BOM, CRLF and no final newline", () => {
    for (const t of ["", "\n", "\r\n", "\uFEFF[a]\r\nk = v", "[a]\nk = v", "\r\r\n\r"]) assert.equal(serializeIni(parseIni(t)), t);
    assert.equal(parseIni("\uFEFF[a]\r\nk = v\r\n").get("a", "k")?.value, "v");
  });
});

// ---- reading --------------------------------------------------------------

void describe("parse", () => {
  void test("# : . inside a section name are part of it", () => {
    const doc = parseIni("[container#1]\nrun_image = busybox\n\n  [ subset#container.docker:01appservers ]  \nparallel = true\n[ip#1] # trailing\n");
    assert.deepEqual(doc.sections.map((s) => [s.name, s.line]), [
      ["container#1", 1],
      ["subset#container.docker:01appservers", 4],
      ["ip#1", 6],
    ]);
    assert.equal(doc.get("container#1", "run_image")?.value, "busybox");
    assert.equal(doc.section("subset#container.docker:01appservers")?.entries[0]?.value, "true");
    assert.deepEqual(doc.problems, []);
  });

  void test("a value is split at the first = only", () => {
    const doc = parseIni("[container#1]\nrun_args = --net=none -e A=B\nx==\n");
    assert.equal(doc.get("container#1", "run_args")?.value, "--net=none -e A=B");
    assert.equal(doc.get("container#1", "x")?.value, "=");
  });

  void test("keys and values are trimmed", () => {
    const doc = parseIni("[a]\n\t k \t=\t v w \t\n");
    assert.deepEqual(doc.get("a", "k"), { key: "k", value: "v w", line: 2, endLine: 2 });
  });

  void test("indented lines continue the value, a blank line ends it", () => {
    const doc = parseIni("[app#1]\nstart = one\n   two = 2\n\t# three\n\n  stray\nx = 1\n");
    assert.deepEqual(doc.get("app#1", "start"), { key: "start", value: "one\ntwo = 2\n# three", line: 2, endLine: 4 });
    assert.deepEqual(doc.get("app#1", "x"), { key: "x", value: "1", line: 7, endLine: 7 });
    assert.deepEqual(doc.problems.map((p) => p.line), [6]);
  });

  void test("comments and blank lines are not entries", () => {
    const doc = parseIni("# head\n[a]\n; c\n  # indented comment\nk = v\n");
    assert.deepEqual(allEntries(doc), ["a|k|v"]);
    assert.deepEqual(doc.problems, []);
  });

  void test("problems carry their line number and keep the line", () => {
    const text = [
      "k0 = outside", // 1
      "[a]", // 2
      "garbage", // 3
      "k = 1", // 4
      "k = 2", // 5
      "[unclosed", // 6
      "[a]", // 7
      "k = 3", // 8
      "= novalue", // 9
      "[]", // 10
      "[a]b]", // 11
    ].join("\n");
    const doc = parseIni(text);
    assert.equal(serializeIni(doc), text);
    const p = doc.problems;
    assert.deepEqual(p.map((x) => x.line), [1, 3, 5, 6, 7, 8, 9, 10, 11]);
    // The section and key the line is about go apart from the message (SPEC §5: [SECTION] KEY: message).
    assert.deepEqual(p, [
      { line: 1, key: "k0", message: "key outside of any section" },
      { line: 3, section: "a", message: 'invalid line "garbage" (expected [section], key = value, or a # comment)' },
      { line: 5, section: "a", key: "k", message: "duplicate key (first on line 4)" },
      { line: 6, message: "unclosed section header [unclosed (missing ])" },
      { line: 7, section: "a", message: "duplicate section (first on line 2)" },
      { line: 8, section: "a", key: "k", message: "duplicate key (first on line 4)" },
      { line: 9, section: "a", message: "missing key before =" },
      { line: 10, message: "empty section name" },
      { line: 11, message: "invalid section header [a]b] (expected [name])" },
    ]);
    // Duplicates are exposed, and lookups take the first occurrence.
    assert.equal(doc.sections.filter((s) => s.name === "a").length, 2);
    assert.equal(doc.get("a", "k")?.line, 4);
    assert.equal(doc.section("a")?.line, 2);
  });

  void test("continuation lines of a rejected key are not reported again", () => {
    assert.deepEqual(parseIni("k = v\n  more\n[a]\n").problems.map((p) => p.line), [1]);
  });

  void test("parseIni never throws", () => {
    fc.assert(
      fc.property(fc.oneof(iniFile, fc.string({ unit: "binary" })), (t) => {
        const doc = parseIni(t);
        return doc.sections.every((s) => s.entries.every((e) => e.line >= s.line && e.endLine >= e.line));
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- editing --------------------------------------------------------------

void describe("setValue / unsetValue / removeSection", () => {
  const conf = [
    "# service app1.dev",
    "[DEFAULT]",
    "app   =   APP1   ; not a comment: part of the value",
    "",
    "; containers",
    "[container#1]",
    "Run_Image=busybox",
    "run_args = -p 80:80",
    "    -e A=B",
    "# trailing comment of container#1",
    "",
    "",
    "[container#2]",
    "",
  ].join("\n");

  void test("replacing a value changes only its line, keeping the key spelling and = style", () => {
    const after = edit(conf, (d) => setValue(d, "container#1", "Run_Image", "nginx:1.25"));
    const want = linesOf(conf);
    want[6] = "Run_Image=nginx:1.25";
    assert.equal(after, want.join("\n"));
    const after2 = edit(conf, (d) => setValue(d, "DEFAULT", "app", "APP2"));
    assert.equal(after2, conf.replace("app   =   APP1   ; not a comment: part of the value", "app   =   APP2"));
  });

  void test("a new key goes after the section's last entry, before trailing comments and blanks", () => {
    const after = edit(conf, (d) => setValue(d, "container#1", "rm", "true"));
    assert.equal(after, conf.replace("    -e A=B\n", "    -e A=B\nrm = true\n"));
    const after2 = edit(conf, (d) => setValue(d, "container#2", "run_image", "x"));
    assert.equal(after2, conf.replace("[container#2]\n", "[container#2]\nrun_image = x\n"));
  });

  void test("a missing section is added at the end after a blank line", () => {
    const after = edit("[a]\nk = v\n", (d) => setValue(d, "ip#1", "ipname", "10.0.0.1"));
    assert.equal(after, "[a]\nk = v\n\n[ip#1]\nipname = 10.0.0.1\n");
    assert.equal(edit("", (d) => setValue(d, "DEFAULT", "nodes", "n1")), "[DEFAULT]\nnodes = n1\n");
    assert.equal(edit("[a]\n\n", (d) => setValue(d, "b", "k", "v")), "[a]\n\n[b]\nk = v\n");
  });

  void test("multi-line values are written as continuation lines and replaced whole", () => {
    const after = edit(conf, (d) => setValue(d, "container#1", "run_args", "-p 80:80\n  -e A=B\n\n-v /a:/b  "));
    assert.equal(after, conf.replace("    -e A=B\n", "    -e A=B\n    -v /a:/b\n"));
    assert.equal(parseIni(after).get("container#1", "run_args")?.value, "-p 80:80\n-e A=B\n-v /a:/b");
    const single = edit(conf, (d) => setValue(d, "container#1", "run_args", "--net=none"));
    assert.equal(single, conf.replace("run_args = -p 80:80\n    -e A=B\n", "run_args = --net=none\n"));
    assert.equal(edit("[a]\nk = v\n", (d) => setValue(d, "a", "k", "\nx")), "[a]\nk =\n    x\n");
  });

  void test("unset removes the entry with its continuation lines only", () => {
    const after = edit(conf, (d) => assert.equal(unsetValue(d, "container#1", "run_args"), true));
    assert.equal(after, conf.replace("run_args = -p 80:80\n    -e A=B\n", ""));
    const same = edit(conf, (d) => assert.equal(unsetValue(d, "container#1", "nope"), false));
    assert.equal(same, conf);
  });

  void test("with a `same` test, an entry under another spelling of the key is read, rewritten in place and removed", () => {
    const image = (k: string): boolean => ["run_image", "image"].includes(k.toLowerCase());
    assert.equal(parseIni(conf).get("container#1", "image"), undefined, "without the test, names are exact");
    assert.equal(parseIni(conf).get("container#1", "image", image)?.line, 7);
    // rewritten on its own line, keeping the key as written: the file is otherwise byte-identical
    assert.equal(
      edit(conf, (d) => setValue(d, "container#1", "image", "nginx", image)),
      conf.replace("Run_Image=busybox", "Run_Image=nginx"),
    );
    assert.equal(
      edit(conf, (d) => assert.equal(unsetValue(d, "container#1", "image", image), true)),
      conf.replace("Run_Image=busybox\n", ""),
    );
    // an entry of the exact key comes first, wherever it is
    const both = "[a]\nimage = x\nrun_image = y\n";
    assert.equal(edit(both, (d) => setValue(d, "a", "run_image", "z", image)), "[a]\nimage = x\nrun_image = z\n");
    assert.equal(edit(both, (d) => unsetValue(d, "a", "image", image)), "[a]\nrun_image = y\n");
    // no entry of any spelling: the key is added as asked
    assert.equal(edit("[a]\nk = v\n", (d) => setValue(d, "a", "image", "z", image)), "[a]\nk = v\nimage = z\n");
    assert.equal(edit("[a]\nk = v\n", (d) => assert.equal(unsetValue(d, "a", "image", image), false)), "[a]\nk = v\n");
  });

  void test("removeSection removes from its header to the next header", () => {
    const after = edit(conf, (d) => assert.equal(removeSection(d, "container#1"), true));
    assert.equal(after, conf.replace(/\[container#1\][^]*?(?=\[container#2\])/, ""));
    assert.equal(edit(conf, (d) => removeSection(d, "container#2")), conf.replace("[container#2]\n", ""));
    assert.equal(edit(conf, (d) => assert.equal(removeSection(d, "nope"), false)), conf);
  });

  void test("CRLF files get CRLF lines; a missing final newline stays missing", () => {
    const crlf = conf.replaceAll("\n", "\r\n");
    assert.equal(edit(crlf, (d) => setValue(d, "container#1", "rm", "a\nb")), crlf.replace("-e A=B\r\n", "-e A=B\r\nrm = a\r\n    b\r\n"));
    assert.equal(edit("[a]\r\nk = v", (d) => setValue(d, "b", "x", "1")), "[a]\r\nk = v\r\n\r\n[b]\r\nx = 1");
    assert.equal(edit("[a]\nk = v", (d) => setValue(d, "a", "x", "1")), "[a]\nk = v\nx = 1");
    assert.equal(edit("[a]\nk = v", (d) => setValue(d, "a", "k", "w\nz")), "[a]\nk = w\n    z");
  });

  void test("a key added to an entry-less section does not capture indented lines", () => {
    const text = "[a]\n  # indented comment\n  [b]\nk = v\n";
    const doc = setValue(parseIni(text), "a", "x", "1");
    assert.equal(serializeIni(doc), "[a]\n  # indented comment\nx = 1\n\n  [b]\nk = v\n");
    assert.deepEqual(allEntries(doc), ["a|x|1", "b|k|v"]);
  });

  void test("setValue returns the document and refuses names INI cannot hold", () => {
    const doc = parseIni("");
    assert.equal(setValue(doc, "a", "k", "v"), doc);
    for (const [s, k] of [["a]", "k"], ["", "k"], [" a", "k"], ["a", "k=x"], ["a", "#k"], ["a", "k\n"], ["a", ""]] as const) {
      assert.throws(() => setValue(doc, s, k, "v"), RangeError);
    }
  });

  void test("property: after setValue, get returns the value, other entries and lines are untouched", () => {
    fc.assert(
      fc.property(iniFile, sectionArb, keyArb, storableValue, (text, section, key, value) => {
        const doc = parseIni(text);
        const before = doc.get(section, key);
        const hadSection = doc.section(section) !== undefined;
        const others = allEntries(doc).filter((e) => !e.startsWith(`${section}|${key}|`));
        const problems = doc.problems.length;
        setValue(doc, section, key, value);
        const after = doc.get(section, key);
        assert.equal(after?.value, value);
        assert.deepEqual(allEntries(doc).filter((e) => !e.startsWith(`${section}|${key}|`)), others);
        assert.equal(doc.problems.length, problems);

        const out = serializeIni(doc);
        const a = linesOf(text);
        const b = linesOf(out);
        const d = changed(a, b);
        if (d.start === Math.max(d.endOld, d.endNew)) {
          assert.equal(after.line, before?.line, "only an in-place rewrite may leave the lines as they were");
        } else if (before) {
          assert.ok(d.start >= before.line - 1 && d.endOld <= before.endLine, "only the old entry's lines change");
          assert.ok(d.endNew <= after.endLine);
        } else if (hadSection) {
          assert.equal(d.endOld, d.start, "nothing removed");
          assert.ok(d.start >= after.line - 1 && d.endNew <= after.endLine + 1);
          if (d.endNew === after.endLine + 1) assert.equal(b[after.endLine], "");
        } else {
          assert.equal(d.endOld, d.start, "nothing removed");
          const tail = b.slice(d.start, d.endNew).filter((l) => l !== "");
          assert.equal(tail[0], `[${section}]`);
          assert.equal(doc.sections.at(-1)?.name, section);
        }
        assert.equal(out.endsWith("\n") || out === "", text.endsWith("\n") || text === "");
      }),
      { numRuns: RUNS },
    );
  });

  void test("property: unsetValue removes exactly the entry's lines", () => {
    fc.assert(
      fc.property(iniFile, sectionArb, keyArb, (text, section, key) => {
        const doc = parseIni(text);
        const e = doc.get(section, key);
        const others = allEntries(doc);
        const removed = unsetValue(doc, section, key);
        assert.equal(removed, e !== undefined);
        const want = linesOf(text);
        if (e) {
          want.splice(e.line - 1, e.endLine - e.line + 1);
          others.splice(others.indexOf(`${section}|${key}|${e.value}`), 1);
          // Removing a last line that had no newline leaves the one before it with its newline.
          if (e.endLine === want.length + e.endLine - e.line + 1 && text !== "" && !text.endsWith("\n")) want.push("");
        }
        assert.deepEqual(linesOf(serializeIni(doc)), want);
        assert.deepEqual(allEntries(doc), others);
      }),
      { numRuns: RUNS },
    );
  });
});
