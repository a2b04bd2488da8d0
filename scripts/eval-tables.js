#!/usr/bin/env node
// Prints the BENCHMARKS.md tables from the eval JSON files written by scripts/eval-all.sh:
// one table per model (sets x modes) and the paired bootstrap differences of byte mode.
const fs = require('node:fs');
const path = require('node:path');
const { compareRuns } = require('../out/engine/src/index.js');
const dir = path.join(__dirname, '..', '.bench');
const pct = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x, d = 3) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
const sets = ['midtoken', 'single-line', 'random-span-light', 'random-span'];
for (const model of ['tiny-code-b', 'tiny-code-a']) {
  console.log(`**${model}**\n`);
  console.log('| set | mode | n | pass@1 | exact | first-line EM | edit sim | prefix match | ident. continued | bits/byte | p50 ms |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const cmp = [];
  for (const set of sets) {
    const f = path.join(dir, `eval-${model}-${set}.json`);
    if (!fs.existsSync(f)) continue;
    const j = JSON.parse(fs.readFileSync(f, 'utf8'));
    for (const s of j.summary) {
      console.log(`| ${set} | ${s.label} | ${s.n} | ${pct(s.pass1)} | ${pct(s.exactMatch)} | ${pct(s.firstLineEM)} | ${num(s.editSimilarity)} | ${num(s.prefixMatchLength, 1)} | ${pct(s.identifierContinuation)} | ${num(s.bitsPerByte?.mean ?? s.bitsPerByte)} | ${num(s.latency?.p50, 0)} |`);
    }
    const by = (l) => j.records.filter((r) => r.label === l);
    for (const base of ['token', 'heal']) {
      for (const row of compareRuns(by(base), by('byte'))) {
        if (['edit similarity', 'bits/byte', 'identifier continued', 'first-line EM'].includes(row.metric)) cmp.push(`| ${set} | byte − ${base} | ${row.metric} | ${row.n} | ${row.diff >= 0 ? '+' : ''}${row.diff.toFixed(3)} | [${row.lo.toFixed(3)}, ${row.hi.toFixed(3)}] |`);
      }
    }
  }
  console.log(`\nPaired differences (${model}), 95% bootstrap intervals (2000 resamples, seed 1):\n`);
  console.log('| set | comparison | metric | n | difference | 95% CI |\n|---|---|---|---:|---:|---|');
  console.log(cmp.join('\n'));
  console.log();
}
