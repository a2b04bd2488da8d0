#!/usr/bin/env node
// Prints BENCHMARKS.md tables from the eval JSON files written by scripts/eval-all.sh.
const fs = require('node:fs');
const path = require('node:path');
const { formatMarkdownTable } = require('../out/engine/src/eval');
const dir = path.join(__dirname, '..', '.bench');
for (const f of fs.readdirSync(dir).filter((f) => /^eval-.*\.json$/.test(f)).sort()) {
  const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  console.log(formatMarkdownTable(j.summary, f.replace(/^eval-|\.json$/g, '')));
  console.log();
}
