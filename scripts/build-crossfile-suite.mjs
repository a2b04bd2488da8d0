#!/usr/bin/env node
// Builds engine/eval-data/crossfile.jsonl: completion cases whose answer is defined in another file.
// Source: the HumanEval problems (Chen et al. 2021) as shipped in benchmarks/humaneval-infilling
// (MIT, see its LICENSE): each problem's full function (prompt + canonical solution) is a
// definition in a module `helpers.py` (file A); file B imports the module and calls the function
// from a small wrapper whose parameters and docstring are the problem's:
//
//   import helpers
//
//
//   def run(numbers, threshold):
//       """Check if in given list of numbers, are any two numbers closer to each other than"""
//       return helpers.|has_close_elements(numbers, threshold)
//
// The call's name is only in file A. Cursor kinds: 'after-dot' (the whole call is the answer) and
// 'mid-name' (the first three characters of the name are typed: a mid-token cursor). Each case
// carries its context chunks, oldest first: the target function and one other problem's function
// (a distractor), in a seeded order. Deterministic: problems sorted by id, a seeded PRNG.
//
//   node scripts/build-crossfile-suite.mjs [--out engine/eval-data/crossfile.jsonl] [--n 120] [--seed 20261129]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const OUT = path.resolve(repo, args.out ?? 'engine/eval-data/crossfile.jsonl');
const N = Number(args.n ?? 120);
const SEED = Number(args.seed ?? 20261129);

// mulberry32, as in engine/src/core/rng.ts (this script runs without a build)
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(SEED);
const randInt = (n) => Math.floor(rng() * n);

const file = path.join(repo, 'benchmarks', 'humaneval-infilling', 'HumanEval-SingleLineInfilling.jsonl.gz');
const records = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** Top-level comma split (annotations hold brackets with commas). */
function splitParams(s) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((p) => p.trim().split(/[:=]/)[0].trim()).filter((p) => p && p !== '*' && !p.startsWith('*'));
}

// One full program per problem (the first record of each task: prompt + solution + suffix).
const problems = new Map();
for (const r of records) {
  const task = /HumanEval\/\d+/.exec(r.task_id)[0];
  if (problems.has(task)) continue;
  const full = r.prompt + r.canonical_solution + r.suffix;
  const lines = full.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`def ${r.entry_point}(`));
  if (at < 0) continue;
  // The function: from its def to the next top-level statement.
  let end = at + 1;
  while (end < lines.length && (lines[end] === '' || /^\s/.test(lines[end]))) end++;
  const source = lines.slice(at, end).join('\n').replace(/\n+$/, '') + '\n';
  const header = /^def \w+\((.*)\)\s*(->.*)?:\s*$/.exec(lines[at]);
  if (!header) continue; // multi-line signatures: skipped
  const params = splitParams(header[1]);
  const doc = /"""\s*([^\n]*)|'''\s*([^\n]*)/.exec(source);
  const summary = (doc?.[1] ?? doc?.[2] ?? '').trim().replace(/"""$/, '').trim();
  // The name must not leak into file B (the wrapper's docstring).
  if (!summary || r.entry_point.length < 5 || summary.includes(r.entry_point)) continue;
  problems.set(task, { task, name: r.entry_point, params, summary, source });
}
const list = [...problems.values()].sort((a, b) => Number(a.task.split('/')[1]) - Number(b.task.split('/')[1]));

const out = [];
for (let i = 0; out.length < N && i < list.length; i++) {
  const p = list[i];
  const cursor = i % 2 === 0 ? 'after-dot' : 'mid-name';
  let other = list[randInt(list.length)];
  while (other === p) other = list[randInt(list.length)];
  const call = `${p.name}(${p.params.join(', ')})`;
  const head = `import helpers\n\n\ndef run(${p.params.join(', ')}):\n    """${p.summary}"""\n    return helpers.`;
  const typed = cursor === 'mid-name' ? p.name.slice(0, 3) : '';
  const target = { path: 'helpers.py', text: p.source };
  const distractor = { path: 'helpers.py', text: other.source };
  const targetNewest = rng() < 0.5;
  out.push({
    id: `${p.task}/${cursor}`,
    lang: 'python',
    cursor,
    path: 'main.py',
    prefix: head + typed,
    suffix: '\n',
    reference: call.slice(typed.length),
    name: p.name,
    // Oldest first.
    snippets: targetNewest ? [distractor, target] : [target, distractor],
  });
}
// A seeded shuffle, so that the first N are a fair sample.
for (let i = out.length - 1; i > 0; i--) {
  const j = randInt(i + 1);
  [out[i], out[j]] = [out[j], out[i]];
}
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, out.map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`${out.length} cases (${list.length} problems) -> ${path.relative(repo, OUT)}`);
