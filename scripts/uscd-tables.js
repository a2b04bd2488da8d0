#!/usr/bin/env node
// Prints the BENCHMARKS.md USCD table: byte mode with USCD (scripts/eval-uscd.sh) against plain
// byte mode on the same cases (scripts/eval-all.sh), with paired bootstrap intervals.
const fs = require('node:fs');
const path = require('node:path');
const { compareRuns } = require('../out/engine/src/index.js');
const dir = path.join(__dirname, '..', '.bench');
const load = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
console.log('| model | set | setting | pass@1 | edit sim | prefix match | p50 ms | Δ edit sim vs plain [95% CI] | latency ratio (mean) |');
console.log('|---|---|---|---:|---:|---:|---:|---|---:|');
for (const m of ['tiny-code-b', 'tiny-code-a']) {
  for (const set of ['single-line', 'random-span']) {
    const base = load(`eval-${m}-${set}.json`);
    const plain = base.records.filter((r) => r.label === 'byte');
    const ps = base.summary.find((s) => s.label === 'byte');
    console.log(`| ${m} | ${set} | plain byte | ${(100 * ps.pass1).toFixed(1)}% | ${ps.editSimilarity.toFixed(3)} | ${ps.prefixMatchLength.toFixed(2)} | ${ps.latency.p50.toFixed(0)} | | 1.00 |`);
    for (const setting of ['a0.5-t0.2', 'a0.3-t0.4']) {
      const f = `uscd-${m}-${setting}-${set}.json`;
      if (!fs.existsSync(path.join(dir, f))) continue;
      const j = load(f);
      const s = j.summary[0];
      const es = compareRuns(plain, j.records).find((r) => r.metric === 'edit similarity');
      console.log(`| ${m} | ${set} | α ${setting.slice(1, 4)}, threshold ${setting.slice(6)} | ${(100 * s.pass1).toFixed(1)}% | ${s.editSimilarity.toFixed(3)} | ${s.prefixMatchLength.toFixed(2)} | ${s.latency.p50.toFixed(0)} | ${es.diff >= 0 ? '+' : ''}${es.diff.toFixed(3)} [${es.lo.toFixed(3)}, ${es.hi.toFixed(3)}] | ${(s.latency.mean / ps.latency.mean).toFixed(2)} |`);
    }
  }
}
