#!/usr/bin/env node
// Prints the BENCHMARKS.md ensemble infilling table: each ensemble (scripts/eval-ensemble.sh)
// against each member's byte mode on the same cases (scripts/eval-all.sh), paired bootstrap CIs.
const fs = require('node:fs');
const path = require('node:path');
const { compareRuns } = require('../out/engine/src/index.js');
const dir = path.join(__dirname, '..', '.bench');
const load = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
console.log('| set | run | n | pass@1 | first-line EM | edit sim | prefix match | Δ edit sim vs tiny-code-b [95% CI] | Δ vs tiny-code-a [95% CI] | p50 ms |');
console.log('|---|---|---:|---:|---:|---:|---:|---|---|---:|');
const fmt = (r) => `${r.diff >= 0 ? '+' : ''}${r.diff.toFixed(3)} [${r.lo.toFixed(3)}, ${r.hi.toFixed(3)}]`;
for (const set of ['single-line', 'random-span-light']) {
  const member = (m) => {
    const j = load(`eval-${m}-${set}.json`);
    return { s: j.summary.find((s) => s.label === 'byte'), r: j.records.filter((r) => r.label === 'byte') };
  };
  const b = member('tiny-code-b');
  const a = member('tiny-code-a');
  const row = (name, s, extra) => console.log(`| ${set} | ${name} | ${s.n} | ${(100 * s.pass1).toFixed(1)}% | ${(100 * s.firstLineEM).toFixed(1)}% | ${s.editSimilarity.toFixed(3)} | ${s.prefixMatchLength.toFixed(2)} | ${extra} | ${s.latency.p50.toFixed(0)} |`);
  row('tiny-code-b (byte)', b.s, ' | ');
  row('tiny-code-a (byte)', a.s, ' | ');
  // random-span-light also ran with a byte budget (280) near the members' mean output length.
  for (const [suffix, note] of [['', ''], ['-280b', ', 280 bytes']]) {
    for (const ens of ['mixture', 'product']) {
      const f = `ens-${ens}-${set}${suffix}.json`;
      if (!fs.existsSync(path.join(dir, f))) continue;
      const j = load(f);
      const es = (m) => compareRuns(m.r, j.records).find((r) => r.metric === 'edit similarity');
      row(`a+b ${ens}${note}`, j.summary[0], `${fmt(es(b))} | ${fmt(es(a))}`);
    }
  }
}
