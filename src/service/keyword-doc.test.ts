import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { embedReference, keywordReference } from "./keyword-doc.js";

test("README's configuration reference matches the keyword registry", () => {
  const readme = fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  assert.equal(embedReference(readme), readme, "run: node --import tsx scripts/keyword-reference.ts");
});

test("the reference names every driver section and mandatory keyword", () => {
  const ref = keywordReference();
  for (const s of ["[DEFAULT]", "[ip#N]", "[disk#N] type = loop", "[disk#N] type = vg", "[fs#N]", "[container#N] type = docker", "[app#N]", "[subset#GROUP:NAME]"]) assert.ok(ref.includes(s), s);
  assert.match(ref, /\| `run_image`, `image \(alias\)` \| \*\*mandatory\*\* \|/);
});
