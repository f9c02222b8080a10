// Writes the configuration reference (generated from the keyword registry)
// between the markers in README.md; with --check, fails when it is stale.
import fs from "node:fs";
import { embedReference } from "../src/service/keyword-doc.js";

const file = new URL("../README.md", import.meta.url);
const text = fs.readFileSync(file, "utf8");
const next = embedReference(text);
if (process.argv.includes("--check")) {
  if (next !== text) {
    console.error("README.md's configuration reference is stale: run node --import tsx scripts/keyword-reference.ts");
    process.exitCode = 1;
  }
} else fs.writeFileSync(file, next);
